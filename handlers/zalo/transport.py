"""The outbox's Zalo transport: one Message to one Zalo chat, and how it went.

Zalo bots have no buttons and cannot upload: an outbox message's choices become instructions with the text commands
(a reminder's "I will attend" / "I can't come" → /attend, /absent: the household's typed number belongs to its
current step, not to a reminder); a QR code becomes its check-in code as text; a photo goes only as an image URL
(a Telegram file id or a local chart cannot); a file is named with a note. Texts over 2,000 UTF-16 units are split
(the limit's unit is not stated; an emoji counts two to be safe). Zalo's 403 is "internal server error": retried.

This is Zalo's one send path: the outbox's sender and the conversation's replies (rendered as text by the channel)
both send here. The sender paces and retries rows itself, so its transport never waits (``NO_RETRY``); the
conversation's transport waits out a quota refusal or a connection that was never made (``reply_retry``). Once Zalo
rejected the token, every message answers RETRY with a long pause without calling Zalo: the rows wait for a restart
with a valid token instead of failing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from bot.core.config import Settings
from bot.core.i18n import t
from bot.core.types import Choice, Message
from bot.dialogues.service import parse_checkin
from bot.outbox.enqueue import SendResult, SendStatus
from bot.outbox.sender import ChannelLimits
from handlers.base import NO_RETRY, Backoff, Retry, RetryRule, split_text, utf16_len
from handlers.zalo.client import INVALID_TOKEN, MAX_TEXT, QUOTA_EXCEEDED, SERVER_ERROR_403, ZaloClient, ZaloError

TOKEN_PAUSE = 3600.0  # seconds the Zalo outbox holds still once the token was rejected
BAD_CHAT_MARKERS = ("chat", "user", "recipient")
ATTENDANCE = re.compile(r"^att:\d+:(yes|no)$")
ATTENDANCE_COMMANDS = {"yes": "/attend", "no": "/absent"}
REPLY_ATTEMPTS = 3     # a reply refused with 429 or not connected is tried twice more
MAX_RETRY_WAIT = 30.0  # seconds; a longer quota wait gives up on this reply
Call = tuple[str, dict[str, Any]]


def reply_retry(backoff: Backoff) -> RetryRule:
    return RetryRule(attempts=REPLY_ATTEMPTS, max_wait=MAX_RETRY_WAIT, backoff=backoff)


def retryable(exc: Exception) -> Retry | None:
    """A quota refusal (its retry-after, else the back-off), Zalo's 403 ("internal server error": not a block) or a
    connection never made: the message did not go."""
    if isinstance(exc, ZaloError):
        return Retry(exc.retry_after) if exc.code in (QUOTA_EXCEEDED, SERVER_ERROR_403) else None
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return Retry()
    return None


def zalo_limits(settings: Settings) -> ChannelLimits:
    zalo = settings.zalo
    return ChannelLimits(rate=zalo.send_rate, per_chat_interval=zalo.per_chat_interval, max_attempts=zalo.max_attempts)


def is_url(value: str) -> bool:
    return value.startswith(("https://", "http://"))


def command_for(value: str) -> str | None:
    """The text command that does what an outbox choice does (None: the choice has no typed equivalent)."""
    match = ATTENDANCE.match(value)
    return ATTENDANCE_COMMANDS[match.group(1)] if match else None


def choices_text(choices: tuple[Choice, ...], lang: str) -> list[str]:
    commands = {command_for(choice.value) for choice in choices}
    if commands == set(ATTENDANCE_COMMANDS.values()) and len(choices) == len(commands):
        return [t("zalo.reply_attendance", lang)]
    lines = []
    for choice in choices:
        command = command_for(choice.value)
        lines.append(t("zalo.choice_command", lang, command=command, label=choice.label) if command
                     else f"• {choice.label}")
    return lines


def message_text(message: Message, lang: str) -> str:
    """What Zalo can show of a message, as text: the text, then what stands in for choices, QR, image and file."""
    lines = [message.text.strip()] if message.text.strip() else []
    if message.choices:
        lines += choices_text(message.choices, lang)
    if message.qr:
        lines.append(t("zalo.checkin_code", lang, code=parse_checkin(message.qr)))
    if message.photo_path or (message.photo and not is_url(message.photo)):
        lines.append(t("zalo.image_elsewhere", lang))
    if message.document_path:
        name = message.document_name or Path(message.document_path).name
        lines.append(t("zalo.file_elsewhere", lang, name=name))
    return "\n\n".join(lines)


def calls_for(message: Message, lang: str) -> list[Call]:
    """The API calls for one message: an image URL with the text as caption when it fits, else texts first."""
    text = message_text(message, lang)
    photo = message.photo if is_url(message.photo) else ""
    if photo and utf16_len(text) <= MAX_TEXT:
        return [("sendPhoto", {"photo": photo, "caption": text} if text else {"photo": photo})]
    texts = split_text(text, MAX_TEXT, utf16=True) if text.strip() else []
    calls: list[Call] = [("sendMessage", {"text": part}) for part in texts]
    if photo:
        calls.append(("sendPhoto", {"photo": photo}))
    return calls


class ZaloTransport:
    """A message that needs several calls (a long text, a text and an image) is sent as one unit: if a later part
    fails and the row is retried, the earlier parts arrive twice. Reminders are a single call."""

    channel = "zalo"

    def __init__(self, client: ZaloClient, lang: str = "vi", *, retry: RetryRule = NO_RETRY) -> None:
        self._client = client
        self._lang = lang
        self._retry = retry

    async def send(self, chat_id: str, message: Message) -> SendResult:
        if self._client.token_rejected:
            return SendResult(SendStatus.RETRY, retry_after=TOKEN_PAUSE, error="Zalo token rejected (401)")
        calls = calls_for(message, self._lang)
        if not calls:
            return SendResult(SendStatus.FAILED, error="empty message")
        try:
            for method, params in calls:
                await self._call(method, {"chat_id": chat_id, **params})
        except ZaloError as exc:
            return self._result(exc)
        except httpx.HTTPError as exc:  # network, timeout: the message may be tried again
            return SendResult(SendStatus.RETRY, error=type(exc).__name__)
        return SendResult(SendStatus.SENT)

    async def _call(self, method: str, params: dict[str, Any]) -> object:
        return await self._retry.run(lambda: self._client.call(method, params), retryable)

    def _result(self, exc: ZaloError) -> SendResult:
        error = self._client.scrub(str(exc))[:300]
        if exc.code == INVALID_TOKEN:
            return SendResult(SendStatus.RETRY, retry_after=TOKEN_PAUSE, error=error)
        if exc.code == QUOTA_EXCEEDED:
            return SendResult(SendStatus.RETRY, retry_after=exc.retry_after, error=error)
        if exc.code == SERVER_ERROR_403:  # Zalo's "internal server error", never "the user blocked the bot"
            return SendResult(SendStatus.RETRY, error=error)
        if exc.code == 400:
            bad_chat = any(marker in exc.description.lower() for marker in BAD_CHAT_MARKERS)
            return SendResult(SendStatus.BAD_CHAT if bad_chat else SendStatus.FAILED, error=error)
        if exc.code >= 500 or exc.code in (0, 408):
            return SendResult(SendStatus.RETRY, error=error)
        return SendResult(SendStatus.FAILED, error=error)
