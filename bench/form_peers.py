"""The same form as a python-telegram-bot developer would build it: ``ConversationHandler`` and a persistence.

Two peers for ``python -m bench form``, built honestly: the same steps, the same prompts (from our catalogue), the
same keyboards and the same Bot API calls per update as doithoai makes (answer + settle or edit-in-place for a tap,
one ``sendMessage`` per reply), written in PTB's own idiom (``query.answer()``, ``query.edit_message_text``,
``message.reply_text`` parsing every result into a ``Message``).

- ``PicklePersistence``: PTB's own, flushed only at shutdown (not crash-safe: a kill loses every open form).
- ``SqlitePersistence``: a small ``BasePersistence`` on one SQLite file (WAL, ``synchronous=NORMAL`` as ours), and
  ``Application.update_persistence()`` after every update, so each update's state is committed before the next.
"""

from __future__ import annotations

import json
import sqlite3
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BasePersistence,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PersistenceInput,
    PicklePersistence,
    TypeHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot.core.config import Settings
from bot.core.i18n import t
from bot.core.types import decode_callback, encode_callback
from bot.form.flow import vn_number

CONSENT, NAME, HAMLET, CATEGORY, PHONE, KIND, FIELD, TOPIC, CONTENT, REVIEW, SUBMITTED = range(11)
CATEGORIES = ("poor", "near_poor", "escaped", "other")
KINDS = ("question", "opinion", "petition", "proposal")
CHOSEN = "\n\n➡️ "
Ctx = ContextTypes.DEFAULT_TYPE


class PeerForm:
    """The form's steps as ConversationHandler callbacks; prompts and keyboards as doithoai draws them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lang = settings.bot.language

    def t(self, key: str, **values: Any) -> str:
        return t(key, self.lang, **values)

    # -- keyboards ------------------------------------------------------------------------------------------------

    def keyboard(self, context: Ctx, choices: list[tuple[str, str]], columns: int = 1) -> InlineKeyboardMarkup:
        version = context.user_data["version"] = context.user_data.get("version", 0) + 1
        nav = [("back", self.t("form.back")), ("cancel", self.t("form.cancel"))]
        rows: list[list[InlineKeyboardButton]] = []
        row: list[InlineKeyboardButton] = []
        for value, label in [*choices, *nav]:
            button = InlineKeyboardButton(label, callback_data=encode_callback(version, value))
            if len(label) > 30:
                rows.extend([row, [button]] if row else [[button]])
                row = []
                continue
            row.append(button)
            if len(row) >= columns:
                rows.append(row)
                row = []
        if row:
            rows.append(row)
        return InlineKeyboardMarkup(rows)

    @staticmethod
    def value(update: Update) -> str:
        decoded = decode_callback(update.callback_query.data or "")
        return decoded[1] if decoded else ""

    @staticmethod
    async def settle(update: Update) -> None:
        """As doithoai: the tapped message shows what was chosen and loses its keyboard."""
        query = update.callback_query
        label = next(b.text for row in query.message.reply_markup.inline_keyboard for b in row
                     if b.callback_data == query.data)
        await query.edit_message_text(f"{query.message.text}{CHOSEN}{label}")

    # -- the steps ------------------------------------------------------------------------------------------------

    async def start(self, update: Update, context: Ctx) -> int:
        text = self.t("form.welcome", bot_name=self.settings.bot.name) + "\n\n" + self.t("form.consent")
        version = context.user_data["version"] = context.user_data.get("version", 0) + 1
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(self.t(f"form.{key}"), callback_data=f"{version}:{v}")]
                                       for v, key in (("yes", "consent_yes"), ("no", "consent_no"),
                                                      ("details", "consent_more"))])
        await update.message.reply_text(text, reply_markup=markup)
        return CONSENT

    async def consent(self, update: Update, context: Ctx) -> int:
        await update.callback_query.answer()
        await self.settle(update)
        context.user_data["consent"] = self.value(update) == "yes"
        await update.effective_message.reply_text(self.t("form.consent_thanks"))
        await update.effective_message.reply_text(self.t("form.ask_name"), reply_markup=self.keyboard(context, []))
        return NAME

    async def name(self, update: Update, context: Ctx) -> int:
        context.user_data["name"] = update.message.text.strip()
        choices = [(f"u:{u.id}", u.name) for u in self.settings.hamlets()]
        await update.message.reply_text(self.t("form.ask_unit", kind=self.t("form.unit_kind_default")),
                                        reply_markup=self.keyboard(context, choices, 2))
        return HAMLET

    async def hamlet(self, update: Update, context: Ctx) -> int:
        await update.callback_query.answer()
        context.user_data["hamlet"] = self.value(update)[2:]
        choices = [(f"c:{c}", self.t(f"form.category_{c}")) for c in CATEGORIES]
        await update.callback_query.edit_message_text(self.t("form.ask_category"),
                                                      reply_markup=self.keyboard(context, choices))
        return CATEGORY

    async def category(self, update: Update, context: Ctx) -> int:
        await update.callback_query.answer()
        await self.settle(update)
        context.user_data["category"] = self.value(update)[2:]
        rows = [[KeyboardButton(self.t("form.share_phone"), request_contact=True)],
                *[[KeyboardButton(self.t(f"form.{key}"))] for key in ("skip", "back", "cancel")]]
        await update.effective_message.reply_text(self.t("form.ask_phone"), reply_markup=ReplyKeyboardMarkup(
            rows, resize_keyboard=True, one_time_keyboard=True))
        return PHONE

    async def phone(self, update: Update, context: Ctx) -> int:
        context.user_data["phone"] = ""
        await update.message.reply_text(self.t("form.phone_skipped"), reply_markup=ReplyKeyboardRemove())
        await update.message.reply_text(self.t("form.profile_saved"))
        choices = [(f"k:{k}", self.t(f"form.kind_{k}")) for k in KINDS]
        await update.message.reply_text(self.t("form.ask_kind"), reply_markup=self.keyboard(context, choices, 2))
        return KIND

    async def kind(self, update: Update, context: Ctx) -> int:
        await update.callback_query.answer()
        context.user_data["kind"] = self.value(update)[2:]
        choices = [(f"f:{f.id}", f.name) for f in self.settings.fields]
        await update.callback_query.edit_message_text(self.t("form.ask_field"),
                                                      reply_markup=self.keyboard(context, choices))
        return FIELD

    async def field(self, update: Update, context: Ctx) -> int:
        await update.callback_query.answer()
        field_id = context.user_data["field"] = self.value(update)[2:]
        fld = next(f for f in self.settings.fields if f.id == field_id)
        choices = [(f"t:{topic.id}", topic.name) for topic in fld.topics]
        await update.callback_query.edit_message_text(self.t("form.ask_topic", field=fld.name),
                                                      reply_markup=self.keyboard(context, choices))
        return TOPIC

    async def topic(self, update: Update, context: Ctx) -> int:
        await update.callback_query.answer()
        context.user_data["topic"] = self.value(update)[2:]
        kind = self.t(f"form.kind_{context.user_data['kind']}")
        text = self.t("form.ask_content", kind_lower=kind.split(" ", 1)[-1].lower(),
                      limit=vn_number(self.settings.bot.max_text_length))
        await update.callback_query.edit_message_text(text, reply_markup=self.keyboard(context, []))
        return CONTENT

    async def content(self, update: Update, context: Ctx) -> int:
        data = context.user_data
        data["content"] = update.message.text.strip()
        fld, topic = self.settings.topic(data["topic"]) or (None, None)
        hamlet = self.settings.unit(data["hamlet"])
        text = self.t("form.review", name=data["name"], hamlet=hamlet.name if hamlet else "",
                      kind=self.t(f"form.kind_{data['kind']}"), field=fld.name if fld else "—",
                      topic=topic.name if topic else "—", content=data["content"])
        choices = [("submit", self.t("form.submit")), ("edit", self.t("form.edit"))]
        await update.message.reply_text(text, reply_markup=self.keyboard(context, choices, 2))
        return REVIEW

    async def review(self, update: Update, context: Ctx) -> int:
        await update.callback_query.answer()
        await self.settle(update)
        data = context.user_data
        number = context.bot_data["submissions"] = context.bot_data.get("submissions", 0) + 1
        data.setdefault("submitted", []).append({key: data[key] for key in ("kind", "topic", "content")}
                                                | {"code": f"DT-{number:04d}"})
        await update.effective_message.reply_text(self.t("form.receipt", code=f"DT-{number:04d}"))
        found = self.settings.topic(data["topic"])
        again = [("again", self.t("form.ask_again", topic=found[1].name))] if found else []
        markup = self.keyboard(context, [*again, ("another", self.t("form.another")),
                                         ("mine", self.t("form.menu_mine")), ("done", self.t("form.finished"))])
        await update.effective_message.reply_text(self.t("form.ask_after_submit"), reply_markup=markup)
        return SUBMITTED

    def handler(self) -> ConversationHandler:
        warnings.filterwarnings("ignore", "If 'per_message=False'", PTBUserWarning)  # one chat, one form: intended
        text = filters.TEXT & ~filters.COMMAND
        return ConversationHandler(
            entry_points=[CommandHandler("start", self.start)],
            states={
                CONSENT: [CallbackQueryHandler(self.consent)],
                NAME: [MessageHandler(text, self.name)],
                HAMLET: [CallbackQueryHandler(self.hamlet)],
                CATEGORY: [CallbackQueryHandler(self.category)],
                PHONE: [MessageHandler(text, self.phone)],
                KIND: [CallbackQueryHandler(self.kind)],
                FIELD: [CallbackQueryHandler(self.field)],
                TOPIC: [CallbackQueryHandler(self.topic)],
                CONTENT: [MessageHandler(text, self.content)],
                REVIEW: [CallbackQueryHandler(self.review)],
                SUBMITTED: [],
            },
            fallbacks=[CommandHandler("start", self.start)],
            name="form", persistent=True, per_message=False,
        )


class SqlitePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """A small persistence on one SQLite file: user data, bot data and conversations as JSON, one commit per
    ``update_*`` call (PTB calls them from ``Application.update_persistence``)."""

    def __init__(self, path: Path) -> None:
        super().__init__(store_data=PersistenceInput(chat_data=False, callback_data=False), update_interval=3600)
        self.conn = sqlite3.connect(path)
        for sql in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                    "CREATE TABLE IF NOT EXISTS user_data (user_id INTEGER PRIMARY KEY, data TEXT NOT NULL)",
                    "CREATE TABLE IF NOT EXISTS bot_data (id INTEGER PRIMARY KEY CHECK (id = 1), data TEXT NOT NULL)",
                    "CREATE TABLE IF NOT EXISTS conversations (name TEXT, key TEXT, state INTEGER,"
                    " PRIMARY KEY (name, key))"):
            self.conn.execute(sql)

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        with self.conn:  # one transaction, committed
            self.conn.execute(sql, params)

    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        rows = self.conn.execute("SELECT user_id, data FROM user_data").fetchall()
        return defaultdict(dict, {user_id: json.loads(data) for user_id, data in rows})

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return defaultdict(dict)

    async def get_bot_data(self) -> dict[Any, Any]:
        row = self.conn.execute("SELECT data FROM bot_data").fetchone()
        return json.loads(row[0]) if row else {}

    async def get_callback_data(self) -> None:
        return None

    async def get_conversations(self, name: str) -> dict[tuple[int | str, ...], object]:
        rows = self.conn.execute("SELECT key, state FROM conversations WHERE name = ?", (name,)).fetchall()
        return {tuple(json.loads(key)): state for key, state in rows}

    async def update_conversation(self, name: str, key: tuple[int | str, ...], new_state: object | None) -> None:
        if new_state is None:
            self._write("DELETE FROM conversations WHERE name = ? AND key = ?", (name, json.dumps(key)))
        else:
            self._write("INSERT OR REPLACE INTO conversations VALUES (?, ?, ?)", (name, json.dumps(key), new_state))

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        self._write("INSERT OR REPLACE INTO user_data VALUES (?, ?)", (user_id, json.dumps(data)))

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        return None

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        self._write("INSERT OR REPLACE INTO bot_data VALUES (1, ?)", (json.dumps(data),))

    async def update_callback_data(self, data: Any) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def drop_user_data(self, user_id: int) -> None:
        self._write("DELETE FROM user_data WHERE user_id = ?", (user_id,))

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        return None

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        return None

    async def flush(self) -> None:
        self.conn.close()


async def _commit_every_update(update: object, context: Ctx) -> None:
    await context.application.update_persistence()


def peer_app(settings: Settings, request: Any, get_updates_request: Any, token: str, *,
             persistence: BasePersistence[Any, Any, Any], commit_every_update: bool) -> Application:
    """The peer application; with ``commit_every_update`` the persistence is written after each update."""
    app = (ApplicationBuilder().token(token).request(request).get_updates_request(get_updates_request)
           .persistence(persistence).build())
    app.add_handler(PeerForm(settings).handler())
    if commit_every_update:
        app.add_handler(TypeHandler(Update, _commit_every_update), group=1)
    return app


def pickle_peer(settings: Settings, request: Any, get_updates_request: Any, token: str, folder: Path) -> Application:
    persistence = PicklePersistence(folder / "peer.pickle", update_interval=3600)
    return peer_app(settings, request, get_updates_request, token, persistence=persistence, commit_every_update=False)


def sqlite_peer(settings: Settings, request: Any, get_updates_request: Any, token: str, folder: Path) -> Application:
    return peer_app(settings, request, get_updates_request, token, persistence=SqlitePersistence(
        folder / "peer.sqlite3"), commit_every_update=True)


def peer_submissions(app: Application) -> int:
    """Forms the peer stored (in its user data)."""
    return sum(len(data.get("submitted", [])) for data in app.user_data.values())

