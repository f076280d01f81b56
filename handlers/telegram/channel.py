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
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from telegram import (
    Bot,
    BotCommand,
    CallbackQuery,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram import (
    Message as TgMessage,
)
from telegram import User as TgUser
from telegram.constants import ChatType
from telegram.error import Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters
from telegram.request import BaseRequest

from bot.core.config import TOKEN_ENV, ConfigError, Settings
from bot.core.engine import Engine
from bot.core.i18n import t
from bot.core.qr import qr_png
from bot.core.types import Incoming, InputKind, Message, decode_callback
from handlers.telegram.format import MAX_TEXT, button_rows, retry_after_seconds, split_text, utf16_len
from handlers.telegram.format import inline_keyboard as keyboard_for

CHANNEL = "telegram"
COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?=\s|$)")
COMMANDS = ("start", "myquestions", "dialogue", "mydata", "link", "cancel", "help", "forget")
CHOSEN = "\n\n➡️ "
MAX_RETRY_WAIT = 30.0  # seconds; a longer flood wait is an error for this turn
RETRIES = 2

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO, and Bot API URLs contain the token.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

T = TypeVar("T")
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


# ---- updates → Incoming ---------------------------------------------------------------------------------------


def message_incoming(message: TgMessage) -> Incoming | None:
    """A new private message as the engine's input; None for what the bot ignores."""
    user = message.from_user
    if user is None or user.is_bot or message.chat.type != ChatType.PRIVATE:
        return None
    return _incoming(user, message, **_message_content(message, user))


def edited_incoming(message: TgMessage) -> Incoming | None:
    user = message.from_user
    if user is None or user.is_bot or message.chat.type != ChatType.PRIVATE:
        return None
    return _incoming(user, message, kind=InputKind.EDITED)


def callback_incoming(query: CallbackQuery) -> Incoming | None:
    """A tap; data that does not decode (forged, foreign) still reaches the engine, as version -1."""
    message = query.message
    if message is None or message.chat.type != ChatType.PRIVATE:
        return None
    decoded = decode_callback(query.data) if isinstance(query.data, str) else None
    version, value = decoded if decoded is not None else (-1, "")
    return Incoming(CHANNEL, str(query.from_user.id), str(message.chat.id), InputKind.CHOICE, choice=value,
                    version=version, display_name=query.from_user.full_name)


def with_event(update: Update, incoming: Incoming | None) -> Incoming | None:
    """Stamp the update id so that an update redelivered after a crash is handled only once."""
    return replace(incoming, event_id=str(update.update_id)) if incoming is not None else None


def _incoming(user: TgUser, message: TgMessage, **fields: Any) -> Incoming:
    return Incoming(CHANNEL, str(user.id), str(message.chat.id), display_name=user.full_name, **fields)


def _message_content(message: TgMessage, user: TgUser) -> dict[str, Any]:
    if message.text is not None:
        command = parse_command(message)
        if command is not None:
            return {"kind": InputKind.COMMAND, "command": command[0], "text": command[1]}
        return {"kind": InputKind.TEXT, "text": message.text}
    if message.contact is not None:
        if message.contact.user_id == user.id:
            return {"kind": InputKind.CONTACT, "phone": message.contact.phone_number}
        return {"kind": InputKind.TEXT, "text": message.contact.phone_number}  # someone else's: unverified
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


# ---- Message → messages -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Outgoing:
    """One Telegram message; ``then_inline`` is added by editMessageReplyMarkup after sending (a message cannot
    both remove the reply keyboard and carry an inline one)."""

    text: str
    markup: Markup | None = None
    then_inline: InlineKeyboardMarkup | None = None


def render(reply: Message) -> list[Outgoing]:
    parts = [Outgoing(part) for part in split_text(reply.text)]
    if reply.remove_keyboard and not reply.ask_contact:
        parts[0].markup = ReplyKeyboardRemove()
    keyboard = contact_keyboard(reply) if reply.ask_contact else inline_keyboard(reply)
    if keyboard is not None:
        last = parts[-1]
        if last.markup is None:
            last.markup = keyboard
        elif isinstance(keyboard, InlineKeyboardMarkup):
            last.then_inline = keyboard
    return parts


def inline_keyboard(reply: Message) -> InlineKeyboardMarkup | None:
    return keyboard_for(reply.choices, reply.version, reply.columns)


def contact_keyboard(reply: Message) -> ReplyKeyboardMarkup:
    """The share-my-number button first, then the choices as text buttons (the engine matches typed labels)."""
    rows = [[KeyboardButton(c.label) for c in row] for row in button_rows(reply.choices, reply.columns)]
    share = KeyboardButton(reply.contact_label or t("form.share_phone"), request_contact=True)
    return ReplyKeyboardMarkup([[share], *rows], resize_keyboard=True, one_time_keyboard=True)


def button_label(message: TgMessage, data: str | None) -> str | None:
    """The label of the button of ``message`` that carried ``data``."""
    markup = message.reply_markup
    if markup is None or data is None:
        return None
    return next((b.text for row in markup.inline_keyboard for b in row if b.callback_data == data), None)


# ---- the channel -------------------------------------------------------------------------------------------------


class TelegramChannel:
    """The callbacks python-telegram-bot calls, sharing the settings and the engine."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine

    def register(self, app: Application) -> None:
        """Every handler of the bot, in one place. Only private chats are served."""
        private = filters.ChatType.PRIVATE
        app.add_handler(CallbackQueryHandler(self.on_callback))
        app.add_handler(MessageHandler(private & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL,
                                       self.on_message))
        app.add_handler(MessageHandler(private & filters.UpdateType.EDITED_MESSAGE, self.on_edited))
        app.add_error_handler(self.on_error)

    async def post_init(self, app: Application) -> None:
        await self.engine.db.open()
        self.engine.file_fetchers[CHANNEL] = lambda file_id: download(app.bot, file_id)
        self.engine.bot_username = app.bot.username
        lang = self.settings.bot.language
        commands = [BotCommand(name, t(f"telegram.cmd_{name}", lang)) for name in COMMANDS]
        try:
            await app.bot.set_my_commands(commands)
        except TelegramError as exc:  # the menu is a convenience: the bot works without it
            log.warning("could not set the bot's commands: %s", type(exc).__name__)

    async def post_shutdown(self, app: Application) -> None:
        await self.engine.db.close()

    async def on_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        incoming = with_event(update, message_incoming(update.message) if update.message else None)
        if incoming is not None:
            await self._send(context, incoming.chat_id, await self.engine.handle(incoming))

    async def on_edited(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        incoming = with_event(update, edited_incoming(update.edited_message) if update.edited_message else None)
        if incoming is not None:
            await self._send(context, incoming.chat_id, await self.engine.handle(incoming))

    async def on_callback(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        if query is None:
            return
        # Always answered, whatever happens next: it stops the spinner on the button. Answered alongside the turn,
        # not before it, so that the turn queues for the engine in the order the updates came.
        answering = asyncio.ensure_future(_answer(query, update.update_id))
        try:
            incoming = with_event(update, callback_incoming(query))
            if incoming is None:
                return
            replies = await self.engine.handle(incoming)
            if isinstance(query.message, TgMessage):
                refused = bool(replies) and replies[0].refused
                await self._settle_tapped(context, query.message, None if refused else query.data)
            await self._send(context, incoming.chat_id, replies)
        finally:
            await answering

    async def _settle_tapped(self, context: ContextTypes.DEFAULT_TYPE, message: TgMessage, data: Any) -> None:
        """Show under the tapped message what was chosen and take its keyboard away: an old keyboard cannot be
        tapped twice. Best effort: the message may be too old, already edited, or gone."""
        label = button_label(message, data if isinstance(data, str) else None)
        if label is not None and message.text is not None:
            edited = f"{message.text}{CHOSEN}{label}"
            if utf16_len(edited) <= MAX_TEXT:
                try:
                    await context.bot.edit_message_text(edited, chat_id=message.chat.id,
                                                        message_id=message.message_id)
                    return
                except TelegramError as exc:
                    log.debug("could not mark the choice: %s", exc)
        if message.reply_markup is None:
            return
        try:
            await context.bot.edit_message_reply_markup(chat_id=message.chat.id, message_id=message.message_id,
                                                        reply_markup=None)
        except TelegramError as exc:
            log.debug("could not remove the keyboard: %s", exc)

    async def _send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: str, replies: Sequence[Message]) -> None:
        """Send a turn's replies in order; a chat that blocked the bot is noted and nothing more is sent."""
        try:
            for reply in replies:
                for out in render(reply):
                    await self._send_one(context, chat_id, out)
                if reply.qr:
                    await self._send_qr(context, chat_id, reply.qr)
        except Forbidden:
            await self._note_blocked(chat_id)

    async def _send_qr(self, context: ContextTypes.DEFAULT_TYPE, chat_id: str, text: str) -> None:
        png = qr_png(text)
        await with_retry(lambda: context.bot.send_photo(chat_id, png, caption=text))

    async def _send_one(self, context: ContextTypes.DEFAULT_TYPE, chat_id: str, out: Outgoing) -> None:
        bot = context.bot
        sent = await with_retry(lambda: bot.send_message(chat_id, out.text, reply_markup=out.markup))
        if out.then_inline is not None:
            markup = out.then_inline
            await with_retry(lambda: bot.edit_message_reply_markup(
                chat_id=chat_id, message_id=sent.message_id, reply_markup=markup))

    async def _note_blocked(self, chat_id: str) -> None:
        log.info("chat %s blocked the bot; its replies are dropped", chat_id)
        await self.engine.note_blocked(CHANNEL, chat_id)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log without the token or the message text; tell the household (its entries are already saved)."""
        chat = update.effective_chat if isinstance(update, Update) else None
        update_id = update.update_id if isinstance(update, Update) else None
        if isinstance(context.error, Forbidden) and chat is not None:
            await self._note_blocked(str(chat.id))
            return
        log.error("handling Telegram update %s in chat %s failed", update_id, chat.id if chat else None,
                  exc_info=context.error)
        if chat is None or chat.type != ChatType.PRIVATE:
            return
        try:
            await context.bot.send_message(chat.id, t("common.error", self.settings.bot.language))
        except Forbidden:
            await self._note_blocked(str(chat.id))
        except TelegramError as exc:
            log.warning("could not tell chat %s about the error: %s", chat.id, type(exc).__name__)


async def download(bot: Bot, file_id: str, limit: int = 20 * 1024 * 1024) -> bytes:
    """A file a person sent (an organizer's roster), as bytes; refused above ``limit``."""
    file = await bot.get_file(file_id)
    if file.file_size and file.file_size > limit:
        raise ValueError("file too large")
    return bytes(await file.download_as_bytearray())


async def _answer(query: CallbackQuery, update_id: int) -> None:
    try:
        await query.answer()
    except TelegramError as exc:
        log.warning("could not answer the callback query of update %s: %s", update_id, type(exc).__name__)


async def with_retry(call: Callable[[], Awaitable[T]]) -> T:
    """Call the Bot API, waiting out a short flood limit (429 retry_after) a couple of times."""
    for attempt in range(RETRIES + 1):
        try:
            return await call()
        except RetryAfter as exc:
            wait = retry_after_seconds(exc)
            if attempt == RETRIES or wait > MAX_RETRY_WAIT:
                raise
            log.info("Telegram flood limit: waiting %.1f s", wait)
            await asyncio.sleep(wait)
    raise AssertionError("unreachable")


# ---- building and running ---------------------------------------------------------------------------------------


def build_application(
    settings: Settings, engine: Engine, *, request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> Application:
    """The bot's Application; post_init opens the engine's database, post_shutdown closes it."""
    token = settings.telegram.resolved_token()
    if not token:
        raise ConfigError("telegram.token", f"is required to run on Telegram (or set {TOKEN_ENV})")
    channel = TelegramChannel(settings, engine)
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(settings.telegram.base_url)
        .base_file_url(settings.telegram.base_file_url)
        .concurrent_updates(True)
        .post_init(channel.post_init)
        .post_shutdown(channel.post_shutdown)
    )
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    app = builder.build()
    channel.register(app)
    return app


def polling_options(settings: Settings) -> dict[str, Any]:
    return {"timeout": dtm.timedelta(seconds=settings.telegram.poll_timeout), "allowed_updates": Update.ALL_TYPES,
            "drop_pending_updates": False}


def webhook_options(settings: Settings) -> dict[str, Any]:
    """Without a configured secret, a random one for this run: Telegram then proves each request is its own."""
    tg = settings.telegram
    secret = tg.resolved_webhook_secret()
    if not secret:
        log.warning("telegram.webhook_secret is not set: using a random secret for this run")
        secret = secrets.token_urlsafe(32)
    return {"listen": tg.webhook_listen, "port": tg.webhook_port, "url_path": tg.webhook_path,
            "webhook_url": tg.webhook_url, "secret_token": secret, "allowed_updates": Update.ALL_TYPES,
            "drop_pending_updates": False}


def run_telegram(settings: Settings, engine: Engine) -> None:
    """Run the bot until interrupted (polling, or a webhook server in webhook mode). Opens the database itself."""
    app = build_application(settings, engine)
    if settings.telegram.mode == "webhook":
        app.run_webhook(**webhook_options(settings))
    else:
        app.run_polling(**polling_options(settings))


async def start_telegram(
    settings: Settings, engine: Engine, *, request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
) -> Application:
    """Start the bot inside a running event loop (next to other channels); stop it with ``stop_telegram``."""
    app = build_application(settings, engine, request=request, get_updates_request=get_updates_request)
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        if settings.telegram.mode == "webhook":
            await app.updater.start_webhook(**webhook_options(settings))
        else:
            await app.updater.start_polling(**polling_options(settings))
    except BaseException:
        await stop_telegram(app)
        raise
    return app


async def stop_telegram(app: Application) -> None:
    """Stop fetching updates, let the updates in hand finish, shut down, close the database. Idempotent."""
    if app.updater is not None and app.updater.running:
        await app.updater.stop()
    if app.running:
        await app.stop()
        if app.post_stop is not None:
            await app.post_stop(app)
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)
