"""Scripts for the commune loudspeaker (loa phát thanh xã): an announcement as the radio officer reads it aloud.

Seed 000: "Thông báo trên trạm truyền thanh xã về thời gian tổ chức và ý nghĩa của cuộc đối thoại". The reader
should not have to work out "15:30 20/6/2023" on air, so numbers, times, dates and phone numbers are spelled out
as Vietnamese read them: "mười lăm giờ ba mươi phút, thứ ba, ngày hai mươi tháng sáu năm hai nghìn không trăm hai
mươi ba"; links and emoji are left out. Scripts are always Vietnamese: it is the loudspeaker's language.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.config import Settings
from bot.core.i18n import t
from bot.core.text import clean, fold
from bot.dialogues.service import require
from storage import Connection
from storage import dialogues as repo

LANG = "vi"
DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
SCALES = ("", "nghìn", "triệu", "tỷ", "nghìn tỷ", "triệu tỷ")
WEEKDAYS = ("thứ hai", "thứ ba", "thứ tư", "thứ năm", "thứ sáu", "thứ bảy", "chủ nhật")
COMMUNE_KINDS = ("xa", "phuong", "thi tran")

# ---- numbers ---------------------------------------------------------------------------------------------------


def _below_thousand(number: int, inner: bool) -> list[str]:
    """0..999; ``inner``: a higher group came before, so "không trăm" and "linh" are read (2005, 1.000.020)."""
    hundreds, rest = divmod(number, 100)
    tens, units = divmod(rest, 10)
    words = [DIGITS[hundreds], "trăm"] if hundreds or inner else []
    if tens == 0:
        if units and words:
            words.append("linh")
        return [*words, DIGITS[units]] if units else words
    words += ["mười"] if tens == 1 else [DIGITS[tens], "mươi"]
    if units == 1 and tens > 1:
        words.append("mốt")
    elif units == 5:
        words.append("lăm")
    elif units:
        words.append(DIGITS[units])
    return words


def spell_number(number: int) -> str:
    """21 → "hai mươi mốt", 15 → "mười lăm", 105 → "một trăm linh năm", 2023 → "hai nghìn không trăm hai mươi ba"."""
    if number < 0:
        return "âm " + spell_number(-number)
    if number == 0:
        return DIGITS[0]
    groups = []
    rest = number
    while rest:
        rest, group = divmod(rest, 1000)
        groups.append(group)
    if len(groups) > len(SCALES):  # beyond "triệu tỷ": digit by digit
        return " ".join(DIGITS[int(d)] for d in str(number))
    words: list[str] = []
    for index in range(len(groups) - 1, -1, -1):
        if groups[index]:
            words += _below_thousand(groups[index], inner=bool(words))
            words += [SCALES[index]] if SCALES[index] else []
    return " ".join(words)


def spell_digits(text: str) -> str:
    """A phone number, digit by digit, with a pause between its groups: "không chín một hai, ba bốn năm..."."""
    groups = [g for g in re.split(r"[\s.]+", text.strip()) if g]
    if len(groups) == 1 and len(groups[0]) == 10:
        groups = [groups[0][:4], groups[0][4:7], groups[0][7:]]
    return ", ".join(" ".join(DIGITS[int(d)] for d in group) for group in groups)


# ---- times and dates -------------------------------------------------------------------------------------------


def spell_clock(hour: int, minute: int) -> str:
    spoken = f"{spell_number(hour)} giờ"
    return f"{spoken} {spell_number(minute)} phút" if minute else spoken


def spell_date(day: int, month: int, year: int | None = None) -> str:
    """"ngày" is left to the caller; days 1-10 are "mùng", April is "tháng tư"."""
    spoken = ("mùng " if day <= 10 else "") + spell_number(day)
    spoken += " tháng " + ("tư" if month == 4 else spell_number(month))
    return f"{spoken} năm {spell_number(year)}" if year is not None else spoken


def spell_datetime(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return (f"{spell_clock(local.hour, local.minute)}, {WEEKDAYS[local.weekday()]}, "
            f"ngày {spell_date(local.day, local.month, local.year)}")


# ---- free text -------------------------------------------------------------------------------------------------

_URL = re.compile(r"(?:https?://|www\.)\S+?(?=[.,;:!?)]*(?:\s|$))", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\d.,])(?:\+84|0)\d{2,3}[ .]?\d{3}[ .]?\d{3,4}(?![\d.,])")
_DATE = re.compile(r"(?P<before>ngày\s+)?(?<![\d/.,])(?P<d>\d{1,2})\s*(?P<sep>[/.-])\s*(?P<m>\d{1,2})"
                   r"(?:\s*(?P=sep)\s*(?P<y>\d{4}))?(?![\d/]|[.,]\d)", re.IGNORECASE)
_TIME = re.compile(r"(?<![\d:])(?P<h>[01]?\d|2[0-3])\s*(?::|h|g|\s+giờ)\s*"
                   r"(?:(?P<m>[0-5]\d)(?:\s*(?:phút|p)\b)?(?![\d:])|(?!\w))", re.IGNORECASE)
_ORDINAL = re.compile(r"\b(thứ|tháng)\s+(\d{1,2})\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![\w,])(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d+))?(\s*%)?(?!\w)")


def _phone(match: re.Match[str]) -> str:
    return spell_digits(match.group(0).replace("+84", "0"))


def _date(match: re.Match[str]) -> str:
    day, month, year = int(match["d"]), int(match["m"]), match["y"]
    if not (1 <= day <= 31 and 1 <= month <= 12) or (year is None and match["sep"] != "/"):
        return match.group(0)  # "1.5" or "3-4" are not dates
    return (match["before"] or "ngày ") + spell_date(day, month, int(year) if year else None)


def _time(match: re.Match[str]) -> str:
    return spell_clock(int(match["h"]), int(match["m"] or 0))


def _ordinal(match: re.Match[str]) -> str:
    word, number = match.group(1), int(match.group(2))
    if word.lower() == "thứ":
        return f"{word} " + {1: "nhất", 4: "tư"}.get(number, spell_number(number))
    return f"{word} " + ("tư" if number == 4 else spell_number(number))


def _number(match: re.Match[str]) -> str:
    whole, decimals, percent = match.group(1), match.group(2), match.group(3)
    spoken = spell_number(int(whole.replace(".", "")))
    if decimals and decimals.startswith("0"):
        spoken += " phẩy " + " ".join(DIGITS[int(d)] for d in decimals)
    elif decimals:
        spoken += " phẩy " + spell_number(int(decimals))
    return spoken + (" phần trăm" if percent else "")


def _readable(char: str) -> bool:
    """Not an emoji or a pictograph (no sound on air)."""
    return unicodedata.category(char) not in ("So", "Sk", "Co", "Cs") and char not in "\ufe0f\u200d\u20e3"


def _tidy(line: str) -> str:
    """Spaces and punctuation left behind by what was taken out ("Xem bản đồ: ." → "Xem bản đồ.")."""
    line = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(line.split()))
    return re.sub(r"[,;:]+([.!?])", r"\1", line)


def spell_text(text: str) -> str:
    """Free text as read aloud: links and emoji out; phones, dates, times, ordinals and numbers spelled out."""
    spoken = _URL.sub("", clean(text))
    spoken = "".join(ch for ch in spoken if _readable(ch))
    for pattern, replace in ((_PHONE, _phone), (_DATE, _date), (_TIME, _time), (_ORDINAL, _ordinal),
                             (_NUMBER, _number)):
        spoken = pattern.sub(replace, spoken)
    lines = [_tidy(line) for line in spoken.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# ---- scripts ---------------------------------------------------------------------------------------------------


def commune_name(settings: Settings) -> str:
    """The unit whose loudspeaker it is: the first commune (xã, phường, thị trấn) of the config, else the top unit,
    as said mid-sentence ("xã Tân Thuận Tây")."""
    units = list(settings.iter_units())
    unit = next((u for u in units if fold(u.kind) in COMMUNE_KINDS), settings.units[0])
    return spell_text(_mid_sentence(unit.name))


def _mid_sentence(name: str) -> str:
    first, _, rest = name.partition(" ")
    return f"{first.lower()} {rest}" if rest and first[:1].isupper() and first[1:].islower() else name


def broadcast_script(settings: Settings, text: str) -> str:
    commune = commune_name(settings)
    return "\n\n".join((t("broadcast.radio_open", LANG, unit=commune), t("broadcast.radio_greeting", LANG),
                        spell_text(text), t("broadcast.radio_close", LANG, unit=commune)))


async def dialogue_script(conn: Connection, settings: Settings, dialogue_id: str) -> str:
    """The dialogue's title, time, place and meaning, and who is invited, hamlet by hamlet (seed 000)."""
    dialogue = await require(conn, dialogue_id)
    commune = commune_name(settings)
    when = spell_datetime(dialogue.starts_at, settings.tz) if dialogue.starts_at else t("broadcast.radio_tba", LANG)
    place = spell_text(dialogue.place) if dialogue.place else t("broadcast.radio_tba", LANG)
    parts = [t("broadcast.radio_open", LANG, unit=commune), t("broadcast.radio_greeting", LANG),
             t("broadcast.radio_dialogue", LANG, title=spell_text(dialogue.title), when=when, place=place),
             t("broadcast.radio_meaning", LANG)]
    quotas = await repo.quotas(conn, dialogue.id)
    if quotas:
        hamlets = ", ".join(t("broadcast.radio_hamlet_seats", LANG, hamlet=_hamlet(settings, hamlet_id),
                              count=spell_number(seats)) for hamlet_id, seats in quotas.items())
        parts.append(t("broadcast.radio_invited", LANG, count=spell_number(sum(quotas.values())), hamlets=hamlets))
    deadline = dialogue.deadline
    if deadline is not None:
        local = deadline.astimezone(settings.tz)
        parts.append(t("broadcast.radio_questions_by", LANG, date=spell_date(local.day, local.month, local.year)))
    else:
        parts.append(t("broadcast.radio_questions", LANG))
    parts.append(t("broadcast.radio_close_dialogue", LANG, unit=commune))
    return "\n\n".join(parts)


def _hamlet(settings: Settings, hamlet_id: str) -> str:
    unit = settings.unit(hamlet_id)
    return spell_text(_mid_sentence(unit.name)) if unit else hamlet_id
