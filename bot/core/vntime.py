"""Dates and times as Vietnamese write them: "15 giờ 30 phút, thứ Ba, ngày 20/6/2023"."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

_WEEKDAYS_VI = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


def vn_date(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{local.day}/{local.month}/{local.year}"


def vn_datetime(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    clock = f"{local.hour} giờ" if local.minute == 0 else f"{local.hour} giờ {local.minute:02d} phút"
    return f"{clock}, {_WEEKDAYS_VI[local.weekday()]}, ngày {local.day}/{local.month}/{local.year}"


_TIME = r"(?P<h>\d{1,2})\s*(?:[:hg]|giờ)\s*(?:(?P<m>\d{1,2})(?![/.\-\d])\s*(?:phút|p)?)?"
_DATE = r"(?P<d>\d{1,2})\s*[/.-]\s*(?P<mo>\d{1,2})\s*[/.-]\s*(?P<y>\d{4})"
_FORMS = [
    re.compile(rf"^{_TIME}[\s,]*(?:ngày\s*)?{_DATE}$", re.IGNORECASE),
    re.compile(rf"^(?:ngày\s*)?{_DATE}[\s,]*(?:lúc\s*)?{_TIME}$", re.IGNORECASE),
    re.compile(r"^(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})[ T](?P<h>\d{1,2}):(?P<m>\d{2})(?::\d{2})?$"),
]


def parse_vn_datetime(text: str, tz: ZoneInfo) -> datetime | None:
    """Read a local date and time as officers type it: "15:30 20/6/2027", "20/6/2027 15h30",
    "15 giờ 30 phút ngày 20/6/2027", "2027-06-20 15:30". Returns an aware datetime, or None."""
    cleaned = " ".join(text.strip().split())
    for form in _FORMS:
        match = form.match(cleaned)
        if match:
            parts = match.groupdict()
            try:
                return datetime(int(parts["y"]), int(parts["mo"]), int(parts["d"]), int(parts["h"]),
                                int(parts["m"] or 0), tzinfo=tz)
            except ValueError:
                return None
    return None


def parse_offset(text: str) -> int:
    """A reminder offset such as "3d", "1d", "2h", "30m" (or "1d12h") in minutes."""
    total = 0
    matched = ""
    for amount, unit in re.findall(r"(\d+)\s*([dhm])", text.strip().lower()):
        total += int(amount) * {"d": 1440, "h": 60, "m": 1}[unit]
        matched += amount + unit
    if not matched or matched != re.sub(r"\s", "", text.strip().lower()) or total <= 0:
        raise ValueError(f"not an offset like '3d', '2h' or '30m': {text!r}")
    return total
