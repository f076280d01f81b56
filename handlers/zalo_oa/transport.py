"""The OA's one send path: one Message to one follower by the route the outbox chose, and how it went.

- **Consultation / proactive**: ``message/cs`` calls (a text, buttons, the share-info form, an uploaded image or
  file). Consultation is what a conversation's replies use too (``send``); the outbox's sender chooses the route
  per message from the household's window (``send_routed``, see ``bot/outbox/window.py``).
- **ZNS**: the registered template of the message's kind, to the household's phone (``zns.py``).
- **Token**: a refused access token (-216/-217/-220/-124) is renewed and the call tried once more; a dead refresh
  token answers WAIT with a long pause without calling Zalo: the rows wait for a new grant (no attempt spent).
- **Window**: a consultation refused for the window answers WAIT (the sender routes the row again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx

from bot.core.config import ZaloOASection
from bot.core.i18n import t
from bot.core.qr import qr_png
from bot.core.types import Message
from bot.dialogues.service import parse_checkin
from bot.outbox.enqueue import Envelope, Route, SendResult, SendStatus
from handlers.zalo_oa.client import (
    MESSAGE_CS,
    RATE_ERRORS,
    TOKEN_ERRORS,
    UPLOAD_FILE,
    UPLOAD_IMAGE,
    WINDOW_ERRORS,
    ZNS_TEMPLATE,
    OAClient,
    OAError,
)
from handlers.zalo_oa.format import Attachments, bodies
from handlers.zalo_oa.tokens import TokenDead, TokenKeeper
from handlers.zalo_oa.zns import zns_body

log = logging.getLogger(__name__)
T = TypeVar("T")
TOKEN_PAUSE = 3600.0           # seconds the OA outbox holds still once the refresh token died
MAX_IMAGE = 1024 * 1024        # bytes: upload/image takes JPG/PNG up to 1 MB
MAX_FILE = 5 * 1024 * 1024     # bytes: upload/file takes PDF/DOC/DOCX up to 5 MB
FILE_TYPES = {".pdf": "application/pdf", ".doc": "application/msword",
              ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
BAD_USER = frozenset({-213, -201, -214})  # not a follower / unknown user id


class OATransport:
    channel = "zalo_oa"

    def __init__(self, client: OAClient, tokens: TokenKeeper, config: ZaloOASection, lang: str = "vi") -> None:
        self._client = client
        self._tokens = tokens
        self._config = config
        self._lang = lang

    async def send(self, chat_id: str, message: Message) -> SendResult:
        """A consultation message (a conversation's reply, inside the window the household just opened)."""
        return await self._guard(self._consult(chat_id, message, Route.CONSULTATION))

    async def send_routed(self, chat_id: str, message: Message, envelope: Envelope) -> SendResult:
        if envelope.route is Route.ZNS:
            return await self._guard(self._zns(envelope))
        if envelope.route is Route.WAIT:
            return SendResult(SendStatus.WAIT, route=Route.WAIT, error="outside the window")
        return await self._guard(self._consult(chat_id, message, envelope.route))

    # ---- routes ---------------------------------------------------------------------------------------------------

    async def _consult(self, chat_id: str, message: Message, route: Route) -> SendResult:
        notes: list[str] = []
        sent = await self._attachments(message, notes)
        calls = bodies(message, self._lang, max_buttons=self._config.max_buttons, sent=sent, notes=tuple(notes))
        if not calls:
            return SendResult(SendStatus.FAILED, error="empty message")
        last_id = ""
        for body in calls:
            data = await self._with_token(lambda token, body=body: self._client.post_json(
                self._client.urls.api, MESSAGE_CS, token, {"recipient": {"user_id": chat_id}, "message": body}))
            last_id = str(data.get("message_id") or last_id)
        return SendResult(SendStatus.SENT, route=route, platform_id=last_id, parts=len(calls))

    async def _zns(self, envelope: Envelope) -> SendResult:
        template = self._config.zns.get(envelope.kind)
        body = zns_body(template, phone=envelope.phone, key=envelope.key, fields=envelope.fields) if template else None
        if body is None:
            return SendResult(SendStatus.WAIT, route=Route.ZNS, error="no ZNS template data")
        data = await self._with_token(lambda token: self._client.post_json(
            self._client.urls.zns, ZNS_TEMPLATE, token, body))
        return SendResult(SendStatus.SENT, route=Route.ZNS, platform_id=str(data.get("msg_id") or ""))

    # ---- uploads ----------------------------------------------------------------------------------------------------

    async def _attachments(self, message: Message, notes: list[str]) -> Attachments:
        image_id = file_token = image_url = ""
        image = await self._image_bytes(message, notes)
        if image is not None:
            name, content, mime = image
            data = await self._with_token(lambda token: self._client.upload(UPLOAD_IMAGE, token, name, content, mime))
            image_id = str(data.get("attachment_id") or "")
        elif message.photo.startswith(("https://", "http://")):
            image_url = message.photo
        if message.document_path:
            path = Path(message.document_path)
            mime = FILE_TYPES.get(path.suffix.lower())
            content = await asyncio.to_thread(path.read_bytes) if mime else b""
            if mime and len(content) <= MAX_FILE:
                name = message.document_name or path.name
                data = await self._with_token(lambda token: self._client.upload(UPLOAD_FILE, token, name, content,
                                                                                mime or ""))
                file_token = str(data.get("token") or "")
            else:
                notes.append(t("zalo.file_elsewhere", self._lang, name=message.document_name or path.name))
        return Attachments(image_id=image_id, image_url=image_url, file_token=file_token)

    async def _image_bytes(self, message: Message, notes: list[str]) -> tuple[str, bytes, str] | None:
        if message.qr:
            notes.append(t("zalo.checkin_code", self._lang, code=parse_checkin(message.qr)))
            return "qr.png", qr_png(message.qr), "image/png"
        if message.photo_path:
            content = await asyncio.to_thread(Path(message.photo_path).read_bytes)
            if len(content) <= MAX_IMAGE:
                mime = "image/jpeg" if content[:3] == b"\xff\xd8\xff" else "image/png"
                return Path(message.photo_path).name, content, mime
            notes.append(t("zalo.image_elsewhere", self._lang))
        elif (message.photo and not message.photo.startswith(("https://", "http://"))) or message.voice:
            notes.append(t("zalo.image_elsewhere", self._lang))
        return None

    # ---- tokens and errors ------------------------------------------------------------------------------------------

    async def _with_token(self, call: Callable[[str], Awaitable[T]]) -> T:
        """The call with the current access token; a refused token is renewed and the call tried once more."""
        token = await self._tokens.access_token()
        try:
            return await call(token)
        except OAError as exc:
            if exc.code not in TOKEN_ERRORS:
                raise
        return await call(await self._tokens.refresh(token))

    async def _guard(self, work: Awaitable[SendResult]) -> SendResult:
        try:
            return await work
        except TokenDead:
            return SendResult(SendStatus.WAIT, retry_after=TOKEN_PAUSE, error="Zalo OA token dead: grant again")
        except OAError as exc:
            return _result(exc)
        except FileNotFoundError:
            return SendResult(SendStatus.FAILED, error="file not found")
        except httpx.HTTPError as exc:  # network, timeout: the message may be tried again
            return SendResult(SendStatus.RETRY, error=type(exc).__name__)


def _result(exc: OAError) -> SendResult:
    error = str(exc)[:300]
    if exc.code in WINDOW_ERRORS:
        return SendResult(SendStatus.WAIT, route=Route.CONSULTATION, error=error)
    if exc.code in RATE_ERRORS or exc.code == 429:
        return SendResult(SendStatus.RETRY, retry_after=30.0, error=error)
    if exc.code in BAD_USER:
        return SendResult(SendStatus.BAD_CHAT, error=error)
    if exc.code in TOKEN_ERRORS:  # refused again right after a refresh: try the row later
        return SendResult(SendStatus.RETRY, error=error)
    if exc.code >= 500 or exc.code == -1:
        return SendResult(SendStatus.RETRY, error=error)
    return SendResult(SendStatus.FAILED, error=error)
