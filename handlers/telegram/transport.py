"""The outbox's Telegram transport: one Message to one chat through python-telegram-bot, and how it went.

Only delivery lives here; pacing, retries and bookkeeping are the sender's (``bot/sender.py``). The bot's HTTP
pool must allow the sender's concurrent calls (up to 16; python-telegram-bot's default pool holds 256).

A message that needs several Bot API calls (a text over 4096 characters, a QR code with a caption over 1024) is
sent as one unit: if a later part fails and the row is retried, the earlier parts arrive twice. Such messages are
rare (reports, long digests) and never reminders.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from telegram import Bot, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.core.qr import qr_png
from bot.core.types import Message
from bot.outbox.enqueue import SendResult, SendStatus
from handlers.telegram.format import MAX_CAPTION, inline_keyboard, retry_after_seconds, split_text, utf16_len

BAD_CHAT_ERRORS = ("chat not found", "user is deactivated", "peer_id_invalid")
Send = Callable[[InlineKeyboardMarkup | None], Awaitable[object]]


class TelegramTransport:
    channel = "telegram"

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

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
        keyboard = inline_keyboard(message.choices, 0, message.columns)
        media = await self._media_call(chat_id, message)
        caption_fits = media is not None and utf16_len(message.text) <= MAX_CAPTION
        texts = [] if caption_fits or not message.text.strip() else split_text(message.text)
        for index, part in enumerate(texts):
            last = index == len(texts) - 1 and media is None
            await self._bot.send_message(chat_id, part, reply_markup=keyboard if last else None)
        if media is not None:
            await media(keyboard)

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
