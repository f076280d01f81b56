"""ZNS (Zalo Notification Service): a reminder or a change notice as a registered template to the household's phone.

The template's parameters are filled from the outbox row's fields by the mapping in ``[zalo_oa.zns.<kind>]``; the
``tracking_id`` is the row's de-duplication key, so a receipt finds its row, and our outbox (not ZNS, which may not
de-duplicate) makes sure it is sent once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.config import ZnsTemplate
from bot.core.phone import normalize_phone

MAX_PARAM = 100  # characters of one template parameter (ZNS refuses longer values in most templates)


def zns_phone(phone: str) -> str | None:
    """``84…`` without ``+``, as ZNS wants it."""
    local = normalize_phone(phone)
    return "84" + local[1:] if local else None


def zns_body(template: ZnsTemplate, *, phone: str, key: str, fields: Mapping[str, str]) -> dict[str, Any] | None:
    """The request body, or None when the phone is not usable or a parameter has no value."""
    number = zns_phone(phone)
    values = {"phone": phone, **fields}
    data = {param: str(values.get(ours, "")).strip()[:MAX_PARAM] for param, ours in template.params.items()}
    if number is None or not all(data.values()):
        return None
    return {"phone": number, "template_id": template.template_id, "template_data": data, "tracking_id": key}
