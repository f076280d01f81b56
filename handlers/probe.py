"""Asking a platform's Bot API one question from the command line (``doithoai doctor``): getMe, getWebhookInfo.

The token is part of the URL (``<base_url><token>/<method>``, for Telegram and the Zalo Bot Platform alike), so
nothing returned here holds the URL.
"""

from __future__ import annotations

from typing import Any

import httpx

TIMEOUT_S = 10.0


def bot_api(base_url: str, token: str, method: str, *, timeout: float = TIMEOUT_S) -> dict[str, Any]:
    """The call's JSON body; ``{"error": <exception name>}`` when the platform cannot be reached."""
    try:
        response = httpx.get(f"{base_url}{token}/{method}", timeout=timeout)
        body = response.json()
    except httpx.HTTPError as exc:
        return {"error": type(exc).__name__}
    except ValueError:
        return {"ok": False, "description": "not JSON"}
    return body if isinstance(body, dict) else {"ok": False, "description": "not a JSON object"}
