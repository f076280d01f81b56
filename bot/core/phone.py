"""Vietnamese mobile numbers in every common written form (+84, 84, 0; spaces, dots, dashes)."""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s.\-()]")
# Mobile prefixes since the 2018 renumbering: 03x, 05x, 07x, 08x, 09x.
_MOBILE = re.compile(r"^0[35789]\d{8}$")


def normalize_phone(raw: str) -> str | None:
    """Return the number as ``0xxxxxxxxx`` or ``None`` if it is not a Vietnamese mobile number."""
    digits = _SEPARATORS.sub("", raw.strip())
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("0084"):
        digits = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    elif len(digits) == 9 and digits[0] in "35789":
        digits = "0" + digits
    return digits if _MOBILE.match(digits) else None


def display_phone(phone: str) -> str:
    """0912345678 → 0912 345 678, as Vietnamese write it."""
    return f"{phone[:4]} {phone[4:7]} {phone[7:]}" if len(phone) == 10 else phone
