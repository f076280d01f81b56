"""The OA webhook as a plain function: ``on_post(headers, body) -> (status, body)``.

Zalo signs each event: ``X-ZEvent-Signature`` is ``mac=`` (or nothing) and the lowercase hex SHA-256 of
``app_id + raw body + timestamp + OA secret key``, the timestamp being the event's own. Anything else gets 403 and
nothing is processed. A good event is acknowledged at once (Zalo wants an answer within about 2 s) and handed to
``dispatch``, which processes it after, in a task. The server serving this shape is the composition root's choice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-ZEvent-Signature"
OK = b'{"error":0}'
PostHandler = Callable[[Mapping[str, str], bytes], Any]


def signature(app_id: str, body: bytes, timestamp: str, secret_key: str) -> str:
    return hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret_key.encode()).hexdigest()


def timestamp_of(event: Any) -> str:
    value = event.get("timestamp") if isinstance(event, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value)


def header(headers: Mapping[str, str], name: str) -> str:
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), "")


def verified(headers: Mapping[str, str], body: bytes, event: Any, app_id: str, secret_key: str) -> bool:
    given = header(headers, SIGNATURE_HEADER).strip()
    given = given[4:] if given.lower().startswith("mac=") else given
    expected = signature(app_id, body, timestamp_of(event), secret_key)
    return bool(given) and hmac.compare_digest(given.lower().encode("utf-8", "replace"), expected.encode())


def make_on_post(app_id: str, secret_key: str, dispatch: Callable[[dict[str, Any]], None]) -> PostHandler:
    async def on_post(headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        try:
            event = json.loads(body)
        except (ValueError, RecursionError):  # no event, so no timestamp to check a signature with
            return 403, b""
        if not verified(headers, body, event, app_id, secret_key):
            log.warning("Zalo OA webhook: an event with a wrong signature was refused")
            return 403, b""
        if isinstance(event, dict):
            dispatch(event)  # acknowledged at once; processed after
        return 200, OK

    return on_post
