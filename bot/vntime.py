"""Dates and times as Vietnamese write them: "15 giờ 30 phút, thứ Ba, ngày 20/6/2023"."""

from __future__ import annotations

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
