"""Small pure pieces: the catalogue, text cleaning, phone numbers, Vietnamese dates, message splitting."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.core.choices import match_choice
from bot.core.i18n import LANGUAGES, catalogue, placeholders, t
from bot.core.phone import normalize_phone
from bot.core.text import clean, fold
from bot.core.types import Choice, decode_callback, encode_callback
from bot.core.vntime import vn_datetime
from handlers.base import split_text


def test_every_message_has_vietnamese_and_english_with_the_same_placeholders() -> None:
    for key, texts in catalogue().items():
        assert set(texts) == set(LANGUAGES), key
        assert placeholders(texts["vi"]) == placeholders(texts["en"]), key


def test_clean_makes_nfc_and_drops_control_and_direction_characters() -> None:
    assert clean("Ta\u0302n Ha\u0323\u0302u") == "Tân Hậu"
    assert clean("  a\u202eb\x00c\u200b \r\n\r\n\r\n\r\nd  ") == "abc\n\nd"


def test_fold_ignores_accents_case_and_d_stroke() -> None:
    assert fold("Ấp Tân Hậu") == fold("ap TAN hau") == "ap tan hau"
    assert fold("Đồng Tháp") == "dong thap"


@pytest.mark.parametrize(("raw", "expected"), [
    ("0912345678", "0912345678"), ("+84912345678", "0912345678"), ("84 912 345 678", "0912345678"),
    ("0912.345.678", "0912345678"), ("(+84) 387-654-321", "0387654321"), ("912345678", "0912345678"),
    ("0212345678", None), ("091234567", None), ("09123456789", None), ("abc", None), ("", None),
])
def test_vietnamese_mobile_numbers_in_every_common_form(raw: str, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


def test_dates_and_times_are_written_as_vietnamese_write_them() -> None:
    moment = datetime(2023, 6, 20, 8, 30, tzinfo=UTC)
    assert vn_datetime(moment, ZoneInfo("Asia/Ho_Chi_Minh")) == "15 giờ 30 phút, thứ Ba, ngày 20/6/2023"


def test_typed_choice_by_number_words_or_unique_part() -> None:
    choices = [Choice("u:tan-dan", "Ấp Tân Dân"), Choice("u:tan-hau", "Ấp Tân Hậu")]
    assert match_choice("2", choices, loose=True).value == "u:tan-hau"
    assert match_choice("tan hau", choices, loose=True).value == "u:tan-hau"
    assert match_choice("tan", choices, loose=True) is None
    assert match_choice("tan hau", choices, loose=False) is None
    assert match_choice("9", choices, loose=True) is None


@pytest.mark.parametrize(("lang", "typed", "expected"), [
    ("vi", "đồng ý", "yes"), ("vi", "dong y", "yes"), ("vi", "Đồng ý!", "yes"), ("vi", "tôi đồng ý", "yes"),
    ("vi", "không đồng ý", "no"), ("vi", "khong dong y", "no"), ("vi", "ko dong y", None), ("vi", "chi tiết", "more"),
    ("en", "agree", "yes"), ("en", "do not agree", "no"), ("en", "not agree", "no"),
])
def test_typed_consent_words_pick_the_choice_they_mean(lang: str, typed: str, expected: str | None) -> None:
    """"đồng ý" is in both "Tôi đồng ý" and "Không đồng ý": without a "not" of its own it means yes."""
    choices = [Choice("yes", t("form.consent_yes", lang)), Choice("no", t("form.consent_no", lang)),
               Choice("more", t("form.consent_more", lang))]
    picked = match_choice(typed, choices, loose=True)
    assert (picked.value if picked else None) == expected


def test_callback_data_round_trips_and_rejects_forgeries() -> None:
    assert decode_callback(encode_callback(12, "u:tan-hau")) == (12, "u:tan-hau")
    for forged in ("", "submit", "x:submit", ":submit", "12:", "1:" + "a" * 80):
        assert decode_callback(forged) is None


def test_long_text_is_split_on_lines_and_every_part_fits() -> None:
    text = "\n".join(f"Dòng {i} " + "chữ " * 40 for i in range(300))
    parts = split_text(text, 4096)
    assert all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    assert all(len(p) <= 2000 for p in split_text("x" * 5000, 2000))


def test_a_superscript_digit_is_not_read_as_a_choice_number() -> None:
    from bot.core.choices import match_choice
    from bot.core.types import Choice

    choices = [Choice("a", "Một"), Choice("b", "Hai")]
    assert match_choice("²", choices, loose=True) is None
    assert match_choice("２", choices, loose=True) == choices[1]  # a full-width 2 is a number


def test_a_limit_narrower_than_one_character_still_ends() -> None:
    """An emoji is two UTF-16 units: with a limit of one, each goes alone rather than the split never ending."""
    assert split_text("😀😀 a", 1, utf16=True) == ["😀", "😀", "a"]
