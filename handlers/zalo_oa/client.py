"""A small client for the Zalo OA Open API, OAuth and ZNS, over httpx.

Every answer carries ``error`` in its body and failures come with HTTP 200: the body decides (``error`` 0 is
success). The access token travels in a header, never in a URL; httpx's request log is kept at WARNING anyway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from handlers.base import download_limited, json_object

logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

# Error codes (docs/zalo.md, ../shared/reference/zalo-oa-api.md: the sources disagree, every variant is handled).
TOKEN_ERRORS = frozenset({-216, -217, -220, -124})   # the access token is invalid or expired: refresh, retry once
DEAD_REFRESH = frozenset({-118, -14014})             # the refresh token is dead: the admin must grant access again
WINDOW_ERRORS = frozenset({-230, -218, -232})        # outside the interaction window / past the free count
RATE_ERRORS = frozenset({-32, -429})
MESSAGE_CS = "/v3.0/oa/message/cs"
UPLOAD_IMAGE = "/v2.0/oa/upload/image"
UPLOAD_FILE = "/v2.0/oa/upload/file"
REFRESH = "/v4/oa/access_token"
ZNS_TEMPLATE = "/message/template"


class OAError(Exception):
    """Zalo refused a call: its ``error`` code (or the HTTP status when the body was not JSON) and message."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(f"{code} {message}".strip())
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Urls:
    api: str = "https://openapi.zalo.me"
    oauth: str = "https://oauth.zaloapp.com"
    zns: str = "https://business.openapi.zalo.me"


class OAClient:
    def __init__(self, urls: Urls, *, timeout: float = 15.0, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.urls = urls
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def post_json(self, base: str, path: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        return _checked(await self._http.post(base + path, json=body, headers={"access_token": token}))

    async def upload(self, path: str, token: str, name: str, content: bytes, mime: str) -> dict[str, Any]:
        files = {"file": (name, content, mime)}
        return _checked(await self._http.post(self.urls.api + path, files=files, headers={"access_token": token}))

    async def refresh(self, app_id: str, app_secret: str, refresh_token: str) -> dict[str, Any]:
        """The OAuth answer to a refresh: ``access_token``, ``refresh_token``, ``expires_in`` (a string)."""
        response = await self._http.post(
            self.urls.oauth + REFRESH, headers={"secret_key": app_secret},
            data={"app_id": app_id, "grant_type": "refresh_token", "refresh_token": refresh_token},
        )
        body = json_object(response)
        if body is None:
            raise OAError(response.status_code, "unreadable answer")
        if body.get("access_token") and body.get("refresh_token"):
            return body
        raise OAError(_code(body, response.status_code), str(body.get("message") or body.get("error_name") or ""))

    async def download(self, url: str, limit: int) -> bytes:
        """The bytes at a URL a household's message carried (an image, a voice note), up to ``limit``."""
        return await download_limited(self._http, url, limit, lambda: OAError(413, "file too large"))

    async def aclose(self) -> None:
        await self._http.aclose()



def _code(body: dict[str, Any], status: int) -> int:
    code = body.get("error")
    if isinstance(code, str) and code.lstrip("-").isdigit():
        code = int(code)
    return code if isinstance(code, int) and code else (status if status >= 400 else -1)


def _checked(response: httpx.Response) -> dict[str, Any]:
    body = json_object(response)
    if body is None:
        raise OAError(response.status_code, "unreadable answer")
    code = body.get("error", 0)
    if code in (0, "0") and response.status_code < 400:
        data = body.get("data")
        return data if isinstance(data, dict) else {}
    raise OAError(_code(body, response.status_code), str(body.get("message") or ""))
