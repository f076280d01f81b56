"""Fuzzing (hypothesis): random interleaved inputs from several households never raise, never leave an invalid
row, and never show one household another's data; random Telegram updates always map to a valid input or none."""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Bot, Update

from bot.cli.wiring import build_engine
from bot.core.config import DatabaseSection, load_settings
from bot.core.types import Incoming, InputKind, Message
from bot.form.states import KINDS
from handlers.telegram.channel import callback_incoming, edited_incoming, message_incoming
from storage import Database

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = load_settings(ROOT / "config.example.toml")
COMMANDS = ["start", "help", "cancel", "myquestions", "forget", "menu", "dialogue", "mydata", "attend", "absent",
            "settime", "checkin", "dialogues", "xyz", "START", ""]
NAMES = ["Nguyễn Văn Bình", "Trần Thị Hoa", "Lê Văn Tám", "Phạm Thị Lan"]
SECRETS = ["Nhà tôi số bảy mươi hai bị dột", "Con tôi học lớp chín cần học bổng", "Vay vốn ba mươi triệu",
           "Giếng nước nhà tôi bị nhiễm phèn"]
texts = st.one_of(
    st.text(max_size=40), st.text(min_size=3000, max_size=5000).map(lambda t: t[:4500]),
    st.sampled_from(["", "   ", "\u200b", "1", "2", "3", "9", "0", "tan hau", "Tân Hậu", "Ta\u0302n Ha\u0323\u0302u",
                     "bo qua", "0912345678", "+84 912 345 678", "'; DROP TABLE persons; --", "🙏🏠", "/start"]),
)


@st.composite
def actions(draw: st.DrawFn) -> tuple[int, str, object]:
    who = draw(st.integers(0, len(NAMES) - 1))
    # Half the moves are the sensible next step, so households get deep into the form between the odd ones.
    kind = draw(st.sampled_from(["script"] * 7 + ["text", "tap", "tap", "command", "media", "contact", "other"]))
    if kind == "text":
        return who, kind, draw(texts)
    if kind == "tap":
        return who, kind, (draw(st.integers(0, 12)), draw(st.sampled_from(["current", "old", "forged"])),
                           draw(st.text(max_size=70)))
    if kind == "command":
        return who, kind, (draw(st.sampled_from(COMMANDS)), draw(st.text(max_size=30)))
    if kind == "other":
        return who, kind, draw(st.sampled_from([InputKind.UNSUPPORTED, InputKind.EDITED, InputKind.DOCUMENT]))
    return who, kind, None


async def play(steps: list[tuple[int, str, object]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        config = SETTINGS.model_copy(update={"database": DatabaseSection(path=f"{folder}/fuzz.sqlite3")})
        async with Database(config.database.path) as db:
            engine = build_engine(config, db)
            last: dict[int, list[Message]] = {}
            seen: dict[int, list[str]] = {i: [] for i in range(len(NAMES))}
            for who, kind, arg in steps:
                replies = await engine.handle(incoming(who, kind, arg, last.get(who, [])))
                assert replies and all(isinstance(r, Message) and r.text.strip() for r in replies)
                last[who] = replies
                seen[who] += [r.text for r in replies]
        check_rows(config.database.path, seen)


def incoming(who: int, kind: str, arg: object, last: list[Message]) -> Incoming:
    user = str(5000 + who)
    base = {"channel": "telegram", "user_id": user, "chat_id": user}
    prompt = last[-1] if last else Message("")
    if kind == "script":  # the sensible move: helps the fuzzer get deep into the form
        script = {"name": NAMES[who], "q_content": SECRETS[who]}
        step_text = script.get(_step_of(prompt))
        if step_text:
            return Incoming(**base, kind=InputKind.TEXT, text=step_text)
        value = prompt.choices[0].value if prompt.choices else "yes"
        return Incoming(**base, kind=InputKind.CHOICE, choice=value, version=prompt.version)
    if kind == "text":
        return Incoming(**base, kind=InputKind.TEXT, text=str(arg))
    if kind == "tap":
        index, which, forged = arg  # type: ignore[misc]
        value = prompt.choices[index % len(prompt.choices)].value if prompt.choices else forged
        version = {"current": prompt.version, "old": max(prompt.version - 1, 0), "forged": -1}[which]
        return Incoming(**base, kind=InputKind.CHOICE, choice=forged if which == "forged" else value, version=version)
    if kind == "command":
        name, args = arg  # type: ignore[misc]
        return Incoming(**base, kind=InputKind.COMMAND, command=name.lower(), text=args)
    if kind == "media":
        return Incoming(**base, kind=InputKind.MEDIA, media_kind="voice", media_id="AwACAgUAAxk")
    if kind == "contact":
        return Incoming(**base, kind=InputKind.CONTACT, phone="+84912345678")
    return Incoming(**base, kind=arg, media_id="BQACAgUAAxk", file_name="x.pdf")  # type: ignore[arg-type]


def _step_of(prompt: Message) -> str:
    if prompt.text.startswith("Họ và tên"):
        return "name"
    if prompt.text.startswith("Xin gõ nội dung"):
        return "q_content"
    return ""


def check_rows(path: str, seen: dict[int, list[str]]) -> None:
    with sqlite3.connect(path) as db:
        subs = db.execute("SELECT code, kind, topic_id, content, media_file_id, person_id FROM submissions").fetchall()
        steps = {r[0] for r in db.execute("SELECT step FROM conversations")}
        owners = dict(db.execute("SELECT p.id, CAST(i.external_id AS INTEGER) - 5000 FROM persons p"
                                 " JOIN identities i ON i.person_id = p.id").fetchall())
    known_steps = set(build_engine(SETTINGS, Database(":memory:")).registry.steps)
    assert steps <= known_steps, steps - known_steps
    for code, kind, topic, content, media, person in subs:
        assert code and code.startswith("DT-") and kind in KINDS and SETTINGS.topic(topic)
        assert content or media or person is None
    for who, replies in seen.items():
        shown = "\n".join(replies)
        for other, secret in enumerate(SECRETS):
            if other != who and secret in shown:
                raise AssertionError(f"household {who} was shown household {other}'s question")
    assert all(0 <= owner < len(NAMES) for owner in owners.values())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(actions(), min_size=30, max_size=120))
def test_random_interleaved_households_never_break_the_engine(steps: list[tuple[int, str, object]]) -> None:
    asyncio.run(play(steps))


BOT = Bot("123:fuzz")
entity_types = st.sampled_from(["bot_command", "mention", "url", "bold", "hashtag"])
message_bodies = st.fixed_dictionaries({}, optional={
    "text": st.text(max_size=60),
    "caption": st.text(max_size=30),
    "entities": st.lists(st.fixed_dictionaries({"type": entity_types, "offset": st.integers(0, 70),
                                                "length": st.integers(0, 70)}), max_size=3),
    "sticker": st.just({"file_id": "s", "file_unique_id": "u", "width": 1, "height": 1, "is_animated": False,
                        "is_video": False, "type": "regular"}),
    "contact": st.fixed_dictionaries({"phone_number": st.text(max_size=20), "first_name": st.just("A")},
                                     optional={"user_id": st.integers(1, 3000)}),
    "document": st.just({"file_id": "d", "file_unique_id": "u", "file_name": "ds.xlsx"}),
    "location": st.just({"latitude": 10.3, "longitude": 106.3}),
    "voice": st.just({"file_id": "v", "file_unique_id": "u", "duration": 3}),
})


@settings(max_examples=150, deadline=None)
@given(body=message_bodies, chat_type=st.sampled_from(["private", "group", "supergroup", "channel"]),
       data=st.one_of(st.none(), st.text(max_size=80), st.sampled_from(["3:submit", "0:att:1:no", "9" * 70])))
def test_random_telegram_updates_map_to_a_valid_input_or_nothing(body: dict, chat_type: str, data: str | None
                                                                 ) -> None:
    user = {"id": 1001, "is_bot": False, "first_name": "Bình"}
    message = {"message_id": 7, "date": 1687246200, "chat": {"id": 1001, "type": chat_type}, "from": user, **body}
    for update in ({"update_id": 1, "message": message}, {"update_id": 2, "edited_message": message},
                   {"update_id": 3, "callback_query": {"id": "q", "from": user, "chat_instance": "c",
                                                      "message": message, "data": data}}):
        parsed = Update.de_json(update, BOT)
        results = [message_incoming(parsed.message) if parsed.message else None,
                   edited_incoming(parsed.edited_message) if parsed.edited_message else None,
                   callback_incoming(parsed.callback_query) if parsed.callback_query else None]
        for result in results:
            assert result is None or (isinstance(result, Incoming) and result.user_id == "1001")
            if result is not None and chat_type != "private":
                raise AssertionError("only private chats are served")
