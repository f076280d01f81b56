"""Words an elderly farmer reads at a glance (issue 13, points 4 to 14).

Point 14: every household-facing string of the Vietnamese catalogue is at most 60 words, each sentence at most 25,
with no English word in it; the English catalogue has the same keys. The other points are checked on the screens a
household really sees (the engine, the terminal and Zalo renderings, Telegram's QR photo)."""

from __future__ import annotations

import io
import re
import tomllib
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

import pytest

from bot.cli.runtime import seed_dialogues
from bot.core.clock import FrozenClock
from bot.core.config import Settings
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.core.types import Message
from bot.core.wording import comparison_key
from handlers.console import chat as console_chat
from handlers.telegram.channel import chat_messages
from storage import Database
from tests.support import Household

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
# The catalogues a household reads, and the keys in them that only staff see. (answers.toml and dialogues.toml mix
# staff and household strings: they are checked by their own tests.)
HOUSEHOLD_AREAS = ("form", "common", "registration", "reminders", "linking", "zalo", "telegram")
STAFF_KEYS = frozenset({"common.help_staff", "common.staff_welcome"})
MAX_WORDS, MAX_SENTENCE = 60, 25
# Names and loanwords a Vietnamese household reads as its own.
ALLOWED = frozenset({"zalo", "telegram", "qr", "ok", "bot", "video", "emoji"})
# A Vietnamese syllable once accents are folded away: onset, vowels, coda. An English word rarely fits.
SYLLABLE = re.compile(r"^(?:ngh|ng|nh|ch|gh|gi|kh|ph|th|tr|qu|[bcdghklmnpqrstvx])?[aeiouy]{1,3}(?:ch|ng|nh|[cmnpt])?$")


def household_strings() -> dict[str, dict[str, str]]:
    found = {}
    for area in HOUSEHOLD_AREAS:
        raw = (resources.files("bot.messages") / f"{area}.toml").read_text(encoding="utf-8")
        for key, texts in tomllib.loads(raw).items():
            if f"{area}.{key}" not in STAFF_KEYS:
                found[f"{area}.{key}"] = texts
    return found


def readable(text: str) -> str:
    """The words a household reads: placeholders, commands and codes taken out."""
    text = re.sub(r"\{[^}]*\}", " ", text)
    return re.sub(r"(?<!\w)/[a-z_]+", " ", text)


def words(text: str) -> list[str]:
    return [w for w in re.findall(r"[\w/'’-]+", readable(text)) if any(ch.isalpha() for ch in w)]


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"[.!?;:\n]+", readable(text)) if s.strip()]


def english_words(text: str) -> list[str]:
    found = []
    for word in re.findall(r"[^\W\d_]+", readable(text)):
        if word.isupper() and len(word) > 1:
            continue  # acronyms and words to type: BHYT, NĐ, HỦY
        folded = comparison_key(word) or word.lower()
        if word.isascii() and folded not in ALLOWED and not SYLLABLE.match(folded):
            found.append(word)
    return found


STRINGS = household_strings()


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_every_household_string_is_short_plain_vietnamese(key: str) -> None:
    vi = STRINGS[key]["vi"]
    assert len(words(vi)) <= MAX_WORDS, f"{key}: {len(words(vi))} words"
    for sentence in sentences(vi):
        assert len(words(sentence)) <= MAX_SENTENCE, f"{key}: a sentence of {len(words(sentence))} words"
    assert english_words(vi) == [], f"{key}: English words {english_words(vi)}"
    assert STRINGS[key].get("en"), f"{key}: no English text"


def test_the_checker_catches_english_and_long_sentences() -> None:
    assert english_words("Bấm nút Submit để gửi form") == ["Submit", "form"]
    assert english_words("Gõ HỦY để dừng, mã QR, Zalo, /start, {code}") == []
    assert len(words(" ".join(["chữ"] * 26))) > MAX_SENTENCE


def test_both_catalogues_have_the_same_keys() -> None:
    for area in HOUSEHOLD_AREAS:
        raw = tomllib.loads((resources.files("bot.messages") / f"{area}.toml").read_text(encoding="utf-8"))
        for key, texts in raw.items():
            assert set(texts) == {"vi", "en"}, f"{area}.{key}: {sorted(texts)}"


# ---- point 4: the welcome and the example config agree; no year in a name ---------------------------------------

async def test_the_welcome_names_no_year(engine: Engine, settings: Settings) -> None:
    example = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert not re.search(r"\b(19|20)\d\d\b", example["bot"]["name"])
    hh = Household(engine)
    await hh.command("start")
    assert settings.bot.name in hh.prompt.text
    assert not re.search(r"\b(19|20)\d\d\b", hh.prompt.text)


# ---- point 5: the consent in at most 40 plain words, the rest behind "Xem chi tiết" -----------------------------

async def test_consent_is_short_with_the_details_one_tap_away(engine: Engine) -> None:
    assert len(words(t("form.consent"))) <= 40
    hh = Household(engine)
    await hh.command("start")
    await hh.pick("Xem chi tiết")
    assert hh.prompt.text == t("form.consent_details")
    assert "Nghị định 13/2023/NĐ-CP" in hh.prompt.text
    await hh.tap("yes")
    assert hh.prompt.text == t("form.ask_name")


# ---- point 6 and 11: free-text steps on the terminal and Zalo ---------------------------------------------------

async def typed(engine: Engine, *lines: str) -> str:
    async def feed() -> AsyncIterator[str]:
        for line in lines:
            yield line

    out = io.StringIO()
    await console_chat(engine, feed(), out)
    return out.getvalue()


async def test_free_text_steps_say_what_to_type_and_the_way_out_as_a_word(engine: Engine) -> None:
    out = await typed(engine, "/start", "1")
    name_screen = out[out.rindex(t("form.ask_name")):]
    assert "Gõ QUAY LẠI để về bước trước." in name_screen and "Gõ HỦY để dừng." in name_screen
    assert t("form.choose_number") not in name_screen and "1. " not in name_screen

    out = await typed(engine, "1")  # "1" at the name step is no choice: it is a (bad) name
    assert t("form.bad_name") in out and t("form.paused") not in out
    out = await typed(engine, "HỦY")
    assert t("form.paused") in out


async def test_the_name_step_has_back_like_every_step(engine: Engine) -> None:
    hh = Household(engine)
    await hh.command("start")
    await hh.tap("yes")
    assert hh.labels == ["⬅️ Quay lại", "✖️ Hủy"]


# ---- point 7 and 8: characters, numbers, "Chủ đề" ---------------------------------------------------------------

async def test_lengths_are_in_characters_and_numbers_read_as_vietnamese(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.tap("k:question")
    await hh.tap("f:khac")
    await hh.tap("t:khac")
    assert "tối đa 3.000 ký tự" in hh.prompt.text
    await hh.type("ư" * 3001)
    assert "3.001 ký tự, quá giới hạn 3.000 ký tự" in hh.text and "gửi phần đầu trước" in hh.text
    assert " chữ" not in hh.text


async def test_the_review_and_the_edit_menu_call_the_topic_chu_de(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.tap("k:question")
    await hh.tap("f:giam-ngheo")
    await hh.tap("t:nha-o")
    await hh.type("Nhà tôi dột nát")
    assert "🏷 Chủ đề: Nhà ở" in hh.prompt.text
    await hh.tap("edit")
    assert hh.labels[:3] == ["Loại (câu hỏi, ý kiến...)", "Chủ đề", "Lời ông/bà viết"]
    assert sum("nội dung" in label.lower() for label in hh.labels) == 0


# ---- point 9: /forget says what goes, warns about the seat, and /myquestions afterwards --------------------------

async def test_forget_says_name_and_phone_go_and_the_seat_is_released(
        engine: Engine, database: Database, settings: Settings, clock: FrozenClock) -> None:
    await seed_dialogues(database, settings, clock)
    hh = Household(engine)
    await hh.identify()
    await hh.tap("cancel")
    await hh.tap("dialogue")
    await hh.tap("register")
    await hh.command("forget")
    assert "Họ tên, số điện thoại" in hh.prompt.text and "không giữ lại" in hh.prompt.text
    assert "số đếm, không tên tuổi" not in hh.prompt.text
    assert t("common.forget_seat") in hh.prompt.text
    await hh.tap("yes")
    await hh.command("myquestions")
    assert "đã được xóa hết" in hh.text and "chưa đồng ý" not in hh.text


async def test_forget_does_not_warn_about_a_seat_never_taken(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    await hh.command("forget")
    assert t("common.forget_seat") not in hh.prompt.text


# ---- point 10: /mydata, /help, "Sửa thông tin" ------------------------------------------------------------------

async def test_mydata_lists_the_registration_and_its_code(
        engine: Engine, database: Database, settings: Settings, clock: FrozenClock) -> None:
    await seed_dialogues(database, settings, clock)
    hh = Household(engine)
    await hh.identify()
    await hh.command("mydata")
    assert t("common.mydata_no_seat") in hh.text
    await hh.command("dialogue")
    await hh.tap("register")
    code = re.search(r"Mã đăng ký: (\w+)", hh.text).group(1)
    await hh.command("mydata")
    assert t("common.mydata_registered", code=code) in hh.text


async def test_help_lists_menu_and_says_tap_only_where_there_are_buttons(engine: Engine) -> None:
    telegram, zalo = Household(engine, "1001"), Household(engine, "2001", channel="zalo")
    for hh in (telegram, zalo):
        await hh.identify() if hh is telegram else None
        await hh.command("help")
        assert "/menu" in hh.text
    assert "Bấm nút" in telegram.text
    assert "bấm" not in zalo.text.lower() and "HỦY" in zalo.text


async def test_changing_details_shows_each_current_value_first(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify(name="Nguyễn Văn Bình", hamlet="Tân Hậu")
    await hh.tap("cancel")
    await hh.tap("profile")
    assert hh.prompt.text.startswith(t("form.current_value", value="Nguyễn Văn Bình"))
    await hh.tap("keep")  # the name stays
    assert hh.prompt.text.startswith(t("form.current_value", value="Ấp Tân Hậu"))
    await hh.pick("Tân Hậu")
    assert hh.prompt.text.startswith(t("form.current_value", value=t("form.category_poor")))
    await hh.tap("c:poor")
    await hh.type("0912345678")
    await hh.tap("cancel")
    await hh.tap("profile")
    for _ in range(3):
        await hh.tap(hh.prompt.choices[0].value)
    assert hh.prompt.text.startswith(t("form.current_value", value="0912 345 678"))
    assert t("form.keep") in hh.labels


# ---- point 12: the QR photo's caption says what it is -----------------------------------------------------------

def test_the_qr_photo_is_captioned_in_words() -> None:
    text, photo = chat_messages(Message("✅ Đã đăng ký. Mã đăng ký: EBPKHS.", qr="DOITHOAI-CHECKIN:EBPKHS"))
    assert photo.qr == "DOITHOAI-CHECKIN:EBPKHS"
    assert photo.text == "Mã QR để điểm danh khi đến dự: EBPKHS"
    assert not text.qr


# ---- point 13: the waitlist notice and the menu's words ---------------------------------------------------------

async def test_the_waitlist_notice_does_not_repeat_the_preview(
        engine: Engine, database: Database, settings: Settings, clock: FrozenClock) -> None:
    await seed_dialogues(database, settings, clock)
    async with database.transaction() as conn:
        from bot.dialogues import service as dialogues

        await dialogues.set_quota(conn, settings, "tan-thuan-tay-2027", "tan-hau", 1, clock())
    first = Household(engine, "1001")
    await first.identify()
    await first.command("dialogue")
    await first.tap("register")
    second = Household(engine, "1002")
    await second.identify(name="Trần Thị Hoa")
    await second.command("dialogue")
    preview = second.prompt.text
    await second.tap("register")
    notice = second.replies[0].text
    assert "danh sách chờ, thứ 1" in notice
    shared = set(re.split(r"[.;]\s*", preview)) & set(re.split(r"[.;]\s*", notice))
    assert not {s for s in shared if len(s.split()) > 3}, shared
    assert "khi có chỗ, bot sẽ báo ngay" not in notice


async def test_the_menu_words_cannot_be_taken_for_the_kind_buttons(engine: Engine) -> None:
    hh = Household(engine)
    await hh.identify()
    kinds = set(hh.labels)
    await hh.tap("cancel")
    menu = hh.labels
    assert not set(menu) & kinds
    assert not any("Câu hỏi" in label or "❓" in label for label in menu)  # "❓ Câu hỏi" is a kind, not a menu item
