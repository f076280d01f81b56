"""The Zalo Bot Platform as it really behaves (../shared/reference/zalo-bot-api.md, corrections):

the bot's own sends come back and are dropped (getMe at start); received images and voice notes are downloaded at
once and kept as private files (their URLs expire), removed with /forget; a reaction is ignored silently, a link is
text; the sender's name may be ``first_name``; texts are split on UTF-16 length; getUpdates' timeout is a string.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from bot.cli.wiring import build_engine
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.i18n import t
from bot.core.types import InputKind, Message
from bot.datacare.media import keep
from bot.datacare.service import purge_before
from handlers.base import utf16_len
from handlers.zalo.channel import ZaloChannel, render
from handlers.zalo.transport import calls_for
from storage import Database, media
from tests.fake_zalo import BOT_ID, FakeZalo
from tests.support import Household

VOICE = b"#!AMR\n" + b"\x01" * 300
IMAGE = b"\xff\xd8\xff\xe0" + b"\x02" * 500


async def rows(database: Database, sql: str) -> list[tuple]:
    async with database.reading() as conn, conn.execute(sql) as cur:
        return [tuple(row) for row in await cur.fetchall()]


async def to_content_step(fake: FakeZalo, user_id: str = "5c1a7e") -> object:
    chat = fake.chat_with(fake.user(user_id, "Nguyễn Thị Bình"))
    for text in ("/start", "1", "Nguyễn Thị Bình", "tan hau", "1", "0912 345 678", "1", "giam ngheo",
                 "vay von ho ngheo"):
        await chat.say(text)
    return chat


async def test_the_bots_own_sends_delivered_back_are_dropped(zalo_channel: ZaloChannel, fake_zalo: FakeZalo,
                                                              database: Database) -> None:
    assert zalo_channel.bot_id == BOT_ID
    user = fake_zalo.user("5c1a7e")
    echo = fake_zalo.own_send("Xin chào! Đây là Đối thoại chính sách...", user.chat_id)
    await fake_zalo.processed(echo)
    assert fake_zalo.observations(echo) == [False]
    assert fake_zalo.calls_to("sendMessage") == [] and await rows(database, "SELECT * FROM persons") == []


async def test_an_image_and_a_voice_note_are_kept_as_private_files_and_open_after_the_urls_expired(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo, database: Database,
) -> None:
    chat = await to_content_step(fake_zalo)
    await chat.send(fake_zalo.send_voice(chat.user, fake_zalo.host_media("ghi-am.amr", VOICE)))
    await chat.say("1")  # submit
    await chat.say("2")  # "📝 Hỏi việc khác" (1 is "Hỏi tiếp" about the same topic)
    for text in ("1", "giam ngheo", "vay von ho ngheo"):
        await chat.say(text)
    url = fake_zalo.host_media("so-ho-ngheo.jpg", IMAGE)
    await chat.send(fake_zalo.send_image(chat.user, url, caption="Sổ hộ nghèo của tôi"))
    await chat.say("1")
    fake_zalo.media_expired = True

    kept = await rows(database, "SELECT media_kind, media_file_id FROM submissions ORDER BY id")
    assert [kind for kind, _ in kept] == ["voice", "photo"]
    assert [media.path_of(database, ref).read_bytes() for _, ref in kept] == [VOICE, IMAGE]  # type: ignore[union-attr]

    await chat.say("/forget")
    await chat.say("1")
    assert all(media.path_of(database, ref) is None for _, ref in kept)
    assert list(media.folder_of(database).iterdir()) == []


async def test_an_image_that_cannot_be_downloaded_keeps_its_link(zalo_channel: ZaloChannel, fake_zalo: FakeZalo,
                                                                 database: Database) -> None:
    chat = await to_content_step(fake_zalo)
    fake_zalo.media_expired = True
    url = fake_zalo.host_media("mat.jpg", IMAGE)
    await chat.send(fake_zalo.send_image(chat.user, url, caption="Xin hỏi về vay vốn"))
    await chat.say("1")
    assert await rows(database, "SELECT media_file_id FROM submissions") == [(url,)]


async def test_a_reaction_is_ignored_silently_and_a_link_is_text(zalo_channel: ZaloChannel, fake_zalo: FakeZalo,
                                                                 database: Database) -> None:
    chat = fake_zalo.chat_with(fake_zalo.user("5c1a7e"))
    await chat.say("/start")
    await chat.say("1")
    reaction = fake_zalo.update(chat.user, "message.reaction.received", reaction="❤️")
    await fake_zalo.processed(reaction)
    assert await fake_zalo.replies(reaction) == [] and fake_zalo.observations(reaction) == [False]
    link = fake_zalo.update(chat.user, "message.link.received", url="https://zalo.me/p/123")
    replies = await chat.send(link)  # read as the text it is: not a valid name, said so (not "unsupported")
    assert replies[0] != t("form.unsupported") and "Họ tên" in replies[0]


async def test_the_senders_name_may_be_first_name(zalo_channel: ZaloChannel, fake_zalo: FakeZalo,
                                                  database: Database) -> None:
    chat = fake_zalo.chat_with(fake_zalo.user("5c1a7e", "Lê Thị Hậu", name_key="first_name"))
    await chat.say("/start")
    assert await rows(database, "SELECT display_name FROM identities") == [("Lê Thị Hậu",)]


def test_long_texts_are_split_on_utf16_length() -> None:
    text = "🌾 Lúa tốt. " * 250  # an emoji counts two UTF-16 units: 2,750 characters, 3,000 units
    parts = render(Message(text), "vi")
    assert len(parts) == 2 and all(utf16_len(part) <= 2000 for part in parts)
    assert all(utf16_len(params["text"]) <= 2000 for _, params in calls_for(Message(text), "vi"))
    assert t("form.choose_number")  # the catalogue is loaded


async def test_an_officer_on_telegram_opens_a_zalo_households_kept_image_weeks_later(
    database: Database, settings: Settings, clock: FrozenClock,
) -> None:
    admin_settings = settings.model_copy(update={"bot": settings.bot.model_copy(update={"admins": [9001]})})
    engine = build_engine(admin_settings, database, clock=clock)
    household = Household(engine, "5c1a7e", channel="zalo")
    await household.identify()
    await household.tap("k:question")
    await household.tap("f:giam-ngheo")
    await household.tap("t:nha-o")
    ref = await keep(database, channel="zalo", external_id="5c1a7e", kind="photo", data=IMAGE, now=clock())
    await household.send(InputKind.MEDIA, media_kind="photo", media_id=ref, text="Nhà tôi dột nát")
    await household.tap("submit")
    clock.advance(days=30)

    officer = Household(engine, "9001")
    await officer.command("answer", "DT-0001")
    assert t("answers.media_follows", media=t("form.media_photo")) in officer.text
    [(payload,)] = await rows(database, "SELECT payload FROM outbox WHERE kind = 'media'")
    sent = Message.from_json(payload)
    assert sent.photo_path and await asyncio.to_thread(Path(sent.photo_path).read_bytes) == IMAGE


async def test_the_purge_removes_kept_media_no_submission_names_any_more(
    zalo_channel: ZaloChannel, fake_zalo: FakeZalo, database: Database, clock: FrozenClock,
) -> None:
    chat = await to_content_step(fake_zalo)
    await chat.send(fake_zalo.send_image(chat.user, fake_zalo.host_media("a.jpg", IMAGE), caption="Hộ nghèo"))
    await chat.say("/cancel")  # the draft with its image is dropped: nothing names the file
    [(media_id,)] = await rows(database, "SELECT id FROM kept_media")
    assert (media.folder_of(database) / media_id).is_file()
    await purge_before(database, clock() - timedelta(days=1), clock())
    assert await rows(database, "SELECT id FROM kept_media") == [(media_id,)]  # kept after the cut-off: it stays
    await purge_before(database, clock() + timedelta(days=1), clock() + timedelta(days=1))
    assert await rows(database, "SELECT id FROM kept_media") == []
    assert list(media.folder_of(database).iterdir()) == []
