"""The Telegram channel: python-telegram-bot updates in, the engine's replies out as messages and keyboards.

The conversation lives in the engine and its database, not here: this module maps an update to an ``Incoming``
event and renders ``Message`` objects. Updates are handled concurrently; the engine's transaction lock and the
versioned state keep each household's turns consistent, and the engine commits before anything is sent, so a
failed send never loses what a household entered.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from telegram import Bot, BotCommand, CallbackQuery, Update
from telegram import Message as TgMessage
from telegram import User as TgUser
from telegram.constants import ChatType
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters
from telegram.request import BaseRequest

from bot.core.config import TOKEN_ENV, ConfigError, Settings
from bot.core.i18n import t
from bot.core.types import Incoming, InputKind, Message, decode_callback
from bot.dialogues.service import parse_checkin
from bot.outbox.enqueue import SendStatus
from bot.outbox.sender import ChannelLimits
from handlers.base import Backoff, Channel, ChannelFacts, ChannelUnavailable, Undelivered, WebhookRoute, deliver
from handlers.telegram.format import MAX_TEXT, in_place, utf16_len
from handlers.telegram.transport import REPLY_RETRY, TelegramTransport, api
from handlers.telegram.webhook import TelegramWebhook

if TYPE_CHECKING:
    from bot.core.engine import Engine

CHANNEL = "telegram"
COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?=\s|$)")
COMMANDS = ("start", "myquestions", "dialogue", "mydata", "link", "cancel", "help", "forget")
CHOSEN = "\n\n➡️ "

log = logging.getLogger(__name__)
# Updates handled at once. A turn holds the engine for ~0.3 ms (its SQL runs on the loop, no hop), so more gains
# nothing; but every update in flight makes Bot API calls, and httpx's pool scans all its connections at every
# request: 256 updates at once (PTB's default) opened ~100 connections and made each call cost milliseconds.
CONCURRENT_UPDATES = 16
START_ATTEMPTS = 6                            # getMe at start: about a minute of tries
START_BACKOFF = Backoff(base=2.0, cap=30.0)
# httpx logs every request URL at INFO, and Bot API URLs contain the token.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)


# ---- updates → Incoming ---------------------------------------------------------------------------------------


def message_incoming(message: TgMessage, event_id: str = "") -> Incoming | None:
    """A new private message as the engine's input; None for what the bot ignores. ``event_id`` (the update's id)
    lets the engine handle an update redelivered after a crash only once."""
    user = message.from_user
    if user is None or user.is_bot or message.chat.type != ChatType.PRIVATE:
        return None
    return _incoming(user, message, event_id, **_message_content(message, user))


def edited_incoming(message: TgMessage, event_id: str = "") -> Incoming | None:
    user = message.from_user
    if user is None or user.is_bot or message.chat.type != ChatType.PRIVATE:
        return None
    return _incoming(user, message, event_id, kind=InputKind.EDITED)


def callback_incoming(query: CallbackQuery, event_id: str = "") -> Incoming | None:
    """A tap; data that does not decode (forged, foreign) still reaches the engine, as version -1."""
    message = query.message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return None
    decoded = decode_callback(query.data) if isinstance(query.data, str) else None
    version, value = decoded if decoded is not None else (-1, "")
    return Incoming(CHANNEL, str(query.from_user.id), str(message.chat.id), InputKind.CHOICE, choice=value,
                    version=version, display_name=query.from_user.full_name, event_id=event_id)


def _incoming(user: TgUser, message: TgMessage, event_id: str, **fields: Any) -> Incoming:
    return Incoming(CHANNEL, str(user.id), str(message.chat.id), display_name=user.full_name, event_id=event_id,
                    **fields)


def _message_content(message: TgMessage, user: TgUser) -> dict[str, Any]:
    if message.text is not None:
        command = parse_command(message)
        if command is not None:
            return {"kind": InputKind.COMMAND, "command": command[0], "text": command[1]}
        return {"kind": InputKind.TEXT, "text": message.text}
    if message.contact is not None:
        if message.contact.user_id == user.id:
            return {"kind": InputKind.CONTACT, "phone": message.contact.phone_number}
        return {"kind": InputKind.FOREIGN_CONTACT}  # someone else's, or a phone-book card: not the household's
    media = _media(message)
    if media is not None:
        return {"kind": InputKind.MEDIA, "media_kind": media[0], "media_id": media[1],
                "text": message.caption or ""}
    if message.document is not None:
        return {"kind": InputKind.DOCUMENT, "media_id": message.document.file_id,
                "file_name": message.document.file_name or "", "text": message.caption or ""}
    return {"kind": InputKind.UNSUPPORTED}


def parse_command(message: TgMessage) -> tuple[str, str] | None:
    """``/Start@doithoai_bot tan-hau`` → ("start", "tan-hau"); None if the text does not begin with a command.

    Read from the text itself (a-z, 0-9 and _, up to 32 characters, as Telegram defines commands), not from the
    entity offsets, which a malformed update can point anywhere."""
    text = message.text or ""
    match = COMMAND.match(text)
    if match is None:
        return None
    return match.group(1).lower(), text[match.end():].strip()


def _media(message: TgMessage) -> tuple[str, str] | None:
    if message.voice is not None:
        return "voice", message.voice.file_id
    if message.audio is not None:
        return "audio", message.audio.file_id
    if message.photo:
        return "photo", max(message.photo, key=lambda size: size.width * size.height).file_id
    if message.video is not None:
        return "video", message.video.file_id
    if message.video_note is not None:
        return "video", message.video_note.file_id
    return None


# ---- the conversation's replies ---------------------------------------------------------------------------------


def chat_messages(reply: Message, lang: str = "vi") -> list[Message]:
    """A reply as it is sent in a chat: its QR code follows it as a photo, captioned in words with the code."""
    if not reply.qr:
        return [reply]
    caption = t("registration.qr_caption", lang, code=parse_checkin(reply.qr))
    return [replace(reply, qr=""), Message(caption, qr=reply.qr)]


def button_label(message: TgMessage, data: str | None) -> str | None:
    """The label of the button of ``message`` that carried ``data``."""
    markup = message.reply_markup
    if markup is None or data is None:
        return None
    return next((b.text for row in markup.inline_keyboard for b in row if b.callback_data == data), None)


# ---- the conversation: updates in, replies out ------------------------------------------------------------------


class TelegramConversation:
    """The callbacks python-telegram-bot calls, sharing the settings, the engine and the replies' transport."""

    def __init__(self, settings: Settings, engine: Engine, replies: TelegramTransport) -> None:
        self.settings = settings
        self.engine = engine
        self.replies = replies

    def register(self, app: Application) -> None:
        """Every handler of the bot, in one place. Only private chats are served."""
        private = filters.ChatType.PRIVATE
        app.add_handler(CallbackQueryHandler(self.on_callback))
        # Service messages (a pin, a new photo of the chat) are not the household's words. A text never is one, and
        # most messages are text: checked first, it spares the forty checks of StatusUpdate.ALL.
        household_message = filters.TEXT | ~filters.StatusUpdate.ALL
        app.add_handler(MessageHandler(private & filters.UpdateType.MESSAGE & household_message, self.on_message))
        app.add_handler(MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, self.on_edited))
        app.add_error_handler(self.on_error)

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        incoming = message_incoming(update.message, str(update.update_id)) if update.message else None
        if incoming is not None:
            await self._send(incoming.chat_id, await self.engine.handle(incoming))

    async def on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.edited_message
        incoming = edited_incoming(message, str(update.update_id)) if message else None
        if incoming is not None:
            await self._send(incoming.chat_id, await self.engine.handle(incoming))

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        # Always answered, whatever happens next: it stops the spinner on the button. Answered alongside the turn,
        # not before it, so that the turn queues for the engine in the order the updates came.
        answering = asyncio.ensure_future(_answer(query, update.update_id))
        try:
            incoming = callback_incoming(query, str(update.update_id))
            if incoming is None:
                return
            replies = await self.engine.handle(incoming)
            settle = False
            if isinstance(query.message, TgMessage):
                if replies and await self._turn_into(context, query.message, replies[0]):
                    replies = replies[1:]
                else:
                    settle = True
            try:
                await self._send(incoming.chat_id, replies)
            finally:  # the answer first, then the tapped message marked: the household sees the answer sooner
                if settle and isinstance(query.message, TgMessage):
                    refused = bool(replies) and replies[0].refused
                    await self._settle_tapped(context, query.message, None if refused else query.data)
        finally:
            await answering

    async def _turn_into(self, context: ContextTypes.DEFAULT_TYPE, message: TgMessage, reply: Message) -> bool:
        """A tap that only moved on: the tapped message becomes the next step (its text and its buttons), so the
        screen keeps one message, not two. False when it cannot (then the tapped message is settled and the reply
        sent as a new message, as for any other tap)."""
        edit = in_place(reply)
        if edit is None or message.text is None:
            return False
        try:
            await api(context.bot, "editMessageText", text=edit.text, chat_id=message.chat.id,
                      message_id=message.message_id, reply_markup=edit.markup)
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return True  # the same screen again: it is already shown
            log.debug("could not turn the tapped message into the next step: %s", exc)
            return False
        except TelegramError as exc:
            log.debug("could not turn the tapped message into the next step: %s", exc)
            return False
        return True

    async def _settle_tapped(self, context: ContextTypes.DEFAULT_TYPE, message: TgMessage, data: Any) -> None:
        """Show under the tapped message what was chosen and take its keyboard away: an old keyboard cannot be
        tapped twice. Best effort: the message may be too old, already edited, or gone."""
        label = button_label(message, data if isinstance(data, str) else None)
        if label is not None and message.text is not None:
            edited = f"{message.text}{CHOSEN}{label}"
            if utf16_len(edited) <= MAX_TEXT:
                try:
                    await api(context.bot, "editMessageText", text=edited, chat_id=message.chat.id,
                              message_id=message.message_id)
                    return
                except TelegramError as exc:
                    log.debug("could not mark the choice: %s", exc)
        if message.reply_markup is None:
            return
        try:
            await api(context.bot, "editMessageReplyMarkup", chat_id=message.chat.id,
                      message_id=message.message_id)
        except TelegramError as exc:
            log.debug("could not remove the keyboard: %s", exc)

    async def _send(self, chat_id: str, replies: Sequence[Message]) -> None:
        """Send a turn's replies in order; a chat that blocked the bot is noted and nothing more is sent. Any other
        failure goes to ``on_error``, which apologises (what the household entered is saved already)."""
        lang = self.settings.bot.language
        messages = [message for reply in replies for message in chat_messages(reply, lang)]
        result = await deliver(self.engine, self.replies, chat_id, messages)
        if result.status not in (SendStatus.SENT, SendStatus.BLOCKED):
            raise Undelivered(chat_id, result)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log without the token or the message text; tell the household (its entries are already saved)."""
        chat = update.effective_chat if isinstance(update, Update) else None
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("handling Telegram update %s in chat %s failed", update_id, chat.id if chat else None,
                  exc_info=context.error)
        if chat is None or chat.type != ChatType.PRIVATE:
            return
        apology = Message(t("common.error", self.settings.bot.language))
        result = await deliver(self.engine, self.replies, str(chat.id), [apology])
        if result.status not in (SendStatus.SENT, SendStatus.BLOCKED):
            log.warning("could not tell chat %s about the error: %s", chat.id, result.status)


async def download(bot: Bot, file_id: str, limit: int = 20 * 1024 * 1024) -> bytes:
    """A file a person sent (an organizer's roster), as bytes; refused above ``limit``."""
    file = await bot.get_file(file_id)
    if file.file_size and file.file_size > limit:
        raise ValueError("file too large")
    return bytes(await file.download_as_bytearray())


async def _answer(query: CallbackQuery, update_id: int) -> None:
    try:
        await api(query.get_bot(), "answerCallbackQuery", callback_query_id=query.id)
    except TelegramError as exc:
        log.warning("could not answer the callback query of update %s: %s", update_id, type(exc).__name__)


# ---- the channel: building, preparing, running --------------------------------------------------------------------


class TelegramChannel(Channel):
    """The PTB Application of the bot. ``prepare()`` initialises it (getMe: the bot's username) and sets the
    commands menu; ``start(engine)`` serves updates (polling, or a webhook server in webhook mode)."""

    name = CHANNEL

    def __init__(self, settings: Settings, *, request: BaseRequest | None = None,
                 get_updates_request: BaseRequest | None = None, start_backoff: Backoff = START_BACKOFF) -> None:
        self.settings = settings
        self.start_backoff = start_backoff
        self.app = build_application(settings, request=request, get_updates_request=get_updates_request)
        self._transport = TelegramTransport(self.app.bot)
        self.replies = TelegramTransport(self.app.bot, retry=REPLY_RETRY)
        self.conversation: TelegramConversation | None = None
        self.facts = ChannelFacts()  # what prepare() learned
        self.webhook = TelegramWebhook(self.app, settings) if settings.telegram.mode == "webhook" else None

    @property
    def transport(self) -> TelegramTransport:
        return self._transport

    def webhook_routes(self) -> list[WebhookRoute]:
        return [self.webhook.route] if self.webhook is not None else []

    @property
    def limits(self) -> ChannelLimits:
        tg = self.settings.telegram
        return ChannelLimits(rate=tg.send_rate, per_chat_interval=tg.per_chat_interval, max_attempts=tg.max_attempts)

    async def prepare(self) -> ChannelFacts:
        await self._reach()
        lang = self.settings.bot.language
        commands = [BotCommand(name, t(f"telegram.cmd_{name}", lang)) for name in COMMANDS]
        try:
            await self.app.bot.set_my_commands(commands)
        except TelegramError as exc:  # the menu is a convenience: the bot works without it
            log.warning("could not set the bot's commands: %s", type(exc).__name__)
        bot = self.app.bot
        self.facts = ChannelFacts(file_fetcher=lambda file_id: download(bot, file_id), bot_username=bot.username)
        return self.facts

    async def _reach(self) -> None:
        """getMe, tried again with back-off while Telegram cannot be reached (one log line a try); a rejected token
        is not retried. After ``START_ATTEMPTS`` the channel is unavailable and the others serve without it."""
        for attempt in range(1, START_ATTEMPTS + 1):
            try:
                await self.app.initialize()
                return
            except InvalidToken:
                raise
            except (NetworkError, TimedOut) as exc:
                wait = self.start_backoff.delay(attempt)
                log.warning("Telegram cannot be reached (%s), try %d of %d; again in %.0f s", type(exc).__name__,
                            attempt, START_ATTEMPTS, wait)
                if attempt < START_ATTEMPTS:
                    await asyncio.sleep(wait)
        raise ChannelUnavailable(CHANNEL)

    async def start(self, engine: Engine) -> None:
        self.conversation = TelegramConversation(self.settings, engine, self.replies)
        self.conversation.register(self.app)
        await self.app.start()
        if self.webhook is not None:
            await self.webhook.register()  # served on the one HTTP server (``webhook_routes``)
        else:
            await self.app.updater.start_polling(**polling_options(self.settings))

    async def stop(self) -> None:
        """Stop fetching updates, let the updates in hand finish, shut down. Idempotent."""
        app = self.app
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await app.shutdown()


def build_application(settings: Settings, *, request: BaseRequest | None = None,
                      get_updates_request: BaseRequest | None = None) -> Application:
    """The bot's Application, without handlers (``TelegramConversation.register`` adds them)."""
    token = settings.telegram.resolved_token()
    if not token:
        raise ConfigError("telegram.token", f"is required to run on Telegram (or set {TOKEN_ENV})")
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram.base_url)
        .base_file_url(settings.telegram.base_file_url)
        .concurrent_updates(CONCURRENT_UPDATES)
    )
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    return builder.build()


def polling_options(settings: Settings) -> dict[str, Any]:
    return {"timeout": dtm.timedelta(seconds=settings.telegram.poll_timeout), "allowed_updates": Update.ALL_TYPES,
            "drop_pending_updates": False}
