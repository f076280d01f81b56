"""A small client for the Zalo Bot Platform API (Telegram-like; see docs/zalo.md), over httpx.

The token is part of every URL (``<base_url><token>/<method>``): URLs are never logged, and httpx's own request
log is turned down to WARNING. Failures may arrive with HTTP 200, so the body decides: ``{"ok": true, "result"}``
or ``{"ok": false, "error_code", "description"}``. A 401 (invalid token) is remembered: it is logged once, every
listener is told once (the channel stops polling, the transport holds the outbox), and later calls fail at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx

from handlers.base import download_limited, json_object

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO, and Zalo Bot API URLs contain the token.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

INVALID_TOKEN = 401
EMPTY_POLL = 408
QUOTA_EXCEEDED = 429
SERVER_ERROR_403 = 403  # Zalo's own table: "Internal server error" (not "the user blocked the bot")
MAX_TEXT = 2000  # characters, text and caption alike


class ZaloError(Exception):
    """The API refused a call: Zalo's error code (or the HTTP status when the body was not JSON)."""

    def __init__(self, code: int, description: str = "", retry_after: float | None = None) -> None:
        super().__init__(f"{code} {description}".strip())
        self.code = code
        self.description = description
        self.retry_after = retry_after


class ZaloClient:
    def __init__(self, token: str, base_url: str, *, timeout: float = 10.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._prefix = f"{base_url}{token}/"
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport,
                                       limits=httpx.Limits(max_connections=32, max_keepalive_connections=16))
        self._token = token
        self._listeners: list[Callable[[], None]] = []
        self.token_rejected = False

    def on_token_rejected(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` once when Zalo rejects the token (at once if it already has)."""
        if self.token_rejected:
            listener()
        else:
            self._listeners.append(listener)

    async def call(self, method: str, params: dict[str, Any] | None = None, *,
                   http_timeout: float | None = None) -> Any:
        """The method's result; raises ZaloError (refused) or httpx.HTTPError (network, timeout)."""
        if self.token_rejected:
            raise ZaloError(INVALID_TOKEN, "invalid token (rejected earlier)")
        extra = {} if http_timeout is None else {"timeout": http_timeout}
        response = await self._http.post(self._prefix + method, json=params or {}, **extra)
        body = json_object(response)
        if body is None:
            raise ZaloError(response.status_code, "unreadable answer")
        if body.get("ok") is True:
            return body.get("result")
        error = _error(body, response.status_code)
        if error.code == INVALID_TOKEN:
            self._reject_token()
        raise error

    async def download(self, url: str, limit: int) -> bytes:
        """The bytes at a URL an update carried (an image, a voice note; they expire), up to ``limit``."""
        return await download_limited(self._http, url, limit, lambda: ZaloError(413, "file too large"))

    def scrub(self, text: str) -> str:
        """Error texts end up in the database and the logs: never with the token in them."""
        return text.replace(self._token, "***") if self._token else text

    async def aclose(self) -> None:
        await self._http.aclose()

    def _reject_token(self) -> None:
        if self.token_rejected:
            return
        self.token_rejected = True
        log.error("Zalo rejected the bot token (401 invalid token): the Zalo channel is stopped, the other channels"
                  " keep running; Zalo messages stay queued. Set a valid DOITHOAI_ZALO_TOKEN (or zalo.token) and"
                  " restart the bot.")
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener()



def _error(body: dict[str, Any], status: int) -> ZaloError:
    code = body.get("error_code")
    code = code if isinstance(code, int) else (status if status >= 400 else 0)
    parameters = body.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    retry = float(retry_after) if isinstance(retry_after, int | float) and retry_after >= 0 else None
    return ZaloError(code, str(body.get("description") or ""), retry)
