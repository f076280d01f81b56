"""Telegram's one send path: one Message to one chat through python-telegram-bot, and how it went.

The outbox's sender and the conversation's replies both send here. The sender paces and retries rows itself, so
its transport never waits (``NO_RETRY``); the conversation's transport waits out a short flood limit
(``REPLY_RETRY``). The bot's HTTP pool must allow the sender's concurrent calls (up to 16; python-telegram-bot's
default pool holds 256).

A message that needs several Bot API calls (a text over 4096 characters, a QR code with a caption over 1024) is
sent as one unit: if a later part fails and the row is retried, the earlier parts arrive twice. Such messages are
rare (reports, long digests) and never reminders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from telegram import Bot, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.core.qr import qr_png
from bot.core.types import Message
from bot.outbox.enqueue import SendResult, SendStatus
from handlers.base import NO_RETRY, Retry, RetryRule
from handlers.telegram.format import (
    MAX_CAPTION,
    InlineMarkup,
    Outgoing,
    message_keyboard,
    render,
    retry_after_seconds,
    split_message,
    utf16_len,
)

BAD_CHAT_ERRORS = ("chat not found", "user is deactivated", "peer_id_invalid")
REPLY_RETRY = RetryRule(attempts=3, max_wait=30.0)  # a turn's replies wait out a flood limit of up to 30 s twice
Send = Callable[[InlineMarkup | None], Awaitable[object]]
T = TypeVar("T")


async def api(bot: Bot, method: str, **params: object) -> Any:
    """One Bot API call whose result is kept as Telegram sent it (a dict, or True): python-telegram-bot's public
    ``do_api_request`` without turning the answer into a ``Message`` the caller never reads (only its
    ``message_id``). Errors are raised as by the typed methods; None values are left out, as they do.

    The method goes in lower case: the Bot API's method names are case-insensitive, and under its typed name
    (``sendMessage``) python-telegram-bot would raise a warning on every call, to be filtered out again (a tenth of
    the call's own cost, measured)."""
    return await bot.do_api_request(method.lower(), api_kwargs={k: v for k, v in params.items() if v is not None})


def retryable(exc: Exception) -> Retry | None:
    """Only a flood limit (429) is worth waiting for within a call; everything else is the caller's to judge."""
    return Retry(retry_after_seconds(exc)) if isinstance(exc, RetryAfter) else None


class TelegramTransport:
    channel = "telegram"

    def __init__(self, bot: Bot, *, retry: RetryRule = NO_RETRY) -> None:
        self._bot = bot
        self._retry = retry

    async def send(self, chat_id: str, message: Message) -> SendResult:
        if not message.text.strip() and not (message.photo or message.photo_path or message.qr
                                             or message.document_path or message.voice):
            return SendResult(SendStatus.FAILED, error="empty message")
        try:
            await self._deliver(chat_id, message)
        except FileNotFoundError:
            return SendResult(SendStatus.FAILED, error="document not found")
        except TelegramError as exc:
            return self._result(exc)
        return SendResult(SendStatus.SENT)

    async def _deliver(self, chat_id: str, message: Message) -> None:
        media = await self._media_call(chat_id, message)
        if media is None:
            for out in render(message):
                await self._send_text(chat_id, out)
            return
        if utf16_len(message.text) > MAX_CAPTION and message.text.strip():  # too long for a caption: text first
            for part in split_message(message.text):
                await self._call(lambda part=part: self._bot.send_message(chat_id, part))
        keyboard = message_keyboard(message)
        await self._call(lambda: media(keyboard))

    async def _send_text(self, chat_id: str, out: Outgoing) -> None:
        sent = await self._call(lambda: api(self._bot, "sendMessage", chat_id=chat_id, text=out.text,
                                            reply_markup=out.markup))
        if out.then_inline is not None:
            markup = out.then_inline
            await self._call(lambda: api(self._bot, "editMessageReplyMarkup", chat_id=chat_id,
                                         message_id=sent["message_id"], reply_markup=markup))

    async def _call(self, call: Callable[[], Awaitable[T]]) -> T:
        return await self._retry.run(call, retryable)

    async def _media_call(self, chat_id: str, message: Message) -> Send | None:
        """The photo/QR/document call, with the text as caption when it fits (else the text goes first)."""
        caption = message.text if message.text and utf16_len(message.text) <= MAX_CAPTION else None
        if message.document_path:
            path = Path(message.document_path)
            content = await asyncio.to_thread(path.read_bytes)
            upload = InputFile(content, filename=message.document_name or path.name)
            return lambda markup: self._bot.send_document(chat_id, upload, caption=caption, reply_markup=markup)
        if message.qr:
            png = InputFile(qr_png(message.qr), filename="qr.png")
            return lambda markup: self._bot.send_photo(chat_id, png, caption=caption, reply_markup=markup)
        if message.photo_path:
            image = InputFile(await asyncio.to_thread(Path(message.photo_path).read_bytes),
                              filename=Path(message.photo_path).name)
            return lambda markup: self._bot.send_photo(chat_id, image, caption=caption, reply_markup=markup)
        if message.photo:
            return lambda markup: self._bot.send_photo(chat_id, message.photo, caption=caption, reply_markup=markup)
        if message.voice:
            return lambda markup: self._bot.send_voice(chat_id, message.voice, caption=caption, reply_markup=markup)
        return None

    def _result(self, exc: TelegramError) -> SendResult:
        error = self._scrub(str(exc))
        if isinstance(exc, RetryAfter):
            return SendResult(SendStatus.RETRY, retry_after=retry_after_seconds(exc), error=error)
        if isinstance(exc, Forbidden):
            return SendResult(SendStatus.BLOCKED, error=error)
        if isinstance(exc, BadRequest):  # a subclass of NetworkError: test it first
            lowered = error.lower()
            bad_chat = any(marker in lowered for marker in BAD_CHAT_ERRORS)
            return SendResult(SendStatus.BAD_CHAT if bad_chat else SendStatus.FAILED, error=error)
        if isinstance(exc, NetworkError):  # TimedOut included; 5xx arrive as NetworkError too
            return SendResult(SendStatus.RETRY, error=error)
        return SendResult(SendStatus.RETRY, error=type(exc).__name__)

    def _scrub(self, text: str) -> str:
        """Error texts end up in the database and logs: never with the token in them."""
        token = self._bot.token
        return text.replace(token, "***") if token else text
