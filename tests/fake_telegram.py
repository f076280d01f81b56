"""A fake Telegram Bot API server for tests: real HTTP on 127.0.0.1, no network, no mocks of the bot.

Usage::

    fake = FakeTelegram()
    await fake.start()                      # binds 127.0.0.1 on a free port
    # ApplicationBuilder().token(fake.token).base_url(fake.base_url).base_file_url(fake.base_file_url)
    fake.track(application)                 # optional: lets the helpers wait until an update was handled
    user = fake.user(1001, "Bình")
    replies = await fake.say(user, "Xin chào")       # queue a text, wait until handled, get the bot's answers
    replies = await fake.press(user, "Tôi đồng ý")   # tap a button of the latest inline keyboard
    fake.fail("sendMessage", status=403, chat_id=user.id)   # the next sendMessage to that chat is refused
    await fake.stop()

What the bot did is in ``calls`` (every request: method, decoded params, result or error) and in the chat
histories (``chat``, ``bot_messages``: the messages as they are now, edits applied).

Updates: the ``send_*`` helpers build an update as Telegram would, keep the user's message in the chat history and
deliver it: queued for getUpdates, or POSTed to the webhook when one is set (``deliver=False`` only builds it).
``tap`` sends a callback query carrying the message as it is now.

Behaviour copied from the real Bot API where tests depend on it:

- getUpdates long-polls: it answers at once when updates are pending, else waits up to ``timeout`` seconds; an
  ``offset`` confirms (drops) every update below it; a newer getUpdates ends a waiting one with 409 Conflict, and
  getUpdates while a webhook is set is a 409;
- message ids are per chat and shared by both directions; a sent message keeps only an inline keyboard (a reply
  keyboard is remembered per chat in ``keyboards``); editMessageText without reply_markup drops the inline
  keyboard; an edit that changes nothing is a 400 "message is not modified";
- texts must be 1..4096 UTF-16 code units, callback_data at most 64 bytes, chats must be known (a user made with
  ``user`` or a chat seen in an update), callback queries are answered once;
- errors are ``{"ok": false, "error_code": N, "description": "..."}`` with HTTP status N; a 429 carries
  ``parameters.retry_after``; an unknown method is a 404 (python-telegram-bot reads it as InvalidToken).

Faults: ``fail(method, ...)`` queues a canned failure (status, description, retry_after, delay) for the next call
of a method, optionally only for one chat; ``slow`` only delays; ``block(user)`` refuses every send to that user
with 403 until ``unblock``. A delayed call is recorded when it arrives; if the client gives up (times out) the
request is cancelled and nothing is stored, like a message Telegram never got.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web
from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

DEFAULT_TOKEN = "123456789:TEST-fake-token_ABCdef"
BOT_ID = 123456789
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TRACK_GROUP = 1_000_000  # after every handler group of the application under test
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendVoice"})
# Telegram's method names are case-insensitive ("All methods in the Bot API are case-insensitive"): a call is recorded
# under the canonical name, whatever case the client used.
KNOWN_METHODS = ("getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo", "setMyCommands", "getFile",
                 "sendMessage", "sendPhoto", "sendDocument", "sendVoice", "sendChatAction", "editMessageText",
                 "editMessageReplyMarkup", "answerCallbackQuery", "close", "logOut")
CANONICAL = {name.lower(): name for name in KNOWN_METHODS}
CHAT_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendChatAction", "editMessageText",
                          "editMessageReplyMarkup", "sendVoice"})
STRING_PARAMS = frozenset({
    "text", "caption", "callback_query_id", "file_id", "url", "secret_token", "parse_mode", "inline_message_id",
    "language_code", "action", "photo", "document", "ip_address", "business_connection_id", "message_effect_id",
})
DESCRIPTIONS = {
    400: "Bad Request",
    403: "Forbidden: bot was blocked by the user",
    409: "Conflict",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are exactly"
                " the same as a current content and reply markup of the message")


WEBHOOK_TIMEOUT = 60.0  # seconds Telegram waits for a webhook's answer before it counts the delivery failed
MAX_CONNECTIONS = 40    # setWebhook's default max_connections: deliveries open at once

class ApiError(Exception):
    """Answered as a Bot API error: HTTP status ``status`` and the usual JSON body."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(frozen=True, slots=True)
class User:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str = "vi"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name,
                                "language_code": self.language_code}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data

    def chat(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        return data


@dataclass(slots=True)
class Upload:
    """A file the bot uploaded in a multipart request."""

    filename: str
    content: bytes
    content_type: str


@dataclass(slots=True)
class Call:
    """One request the bot made: the method, its decoded parameters and what it got back."""

    method: str
    params: dict[str, Any]
    http_method: str
    at: float
    result: Any = None
    error: dict[str, Any] | None = None

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    @property
    def ok(self) -> bool:
        return self.error is None and self.result is not None


@dataclass(slots=True)
class Fault:
    """A canned failure for the next matching call; ``status=None`` only delays the real answer."""

    method: str
    status: int | None = 500
    description: str = ""
    retry_after: int | None = None
    delay: float = 0.0
    chat_id: int | None = None
    reset: bool = False  # drop the connection without an answer, as a network fault would

    def matches(self, method: str, chat_id: int | None) -> bool:
        return self.method == method and (self.chat_id is None or self.chat_id == chat_id)


@dataclass(slots=True)
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes

    def to_json(self) -> dict[str, Any]:
        return {"file_id": self.file_id, "file_unique_id": self.file_unique_id, "file_size": len(self.content),
                "file_path": self.file_path}


@dataclass(slots=True)
class _Pending:
    update: dict[str, Any]
    mark: int  # len(calls) when it was queued: the bot's answers are the calls after it


def _new_screen(call: Call) -> bool:
    """An edit that turned a tapped message into the next step (its text and new buttons), not one that only took
    the keyboard away or marked the choice."""
    return call.method == "editMessageText" and bool((call.params.get("reply_markup") or {}).get("inline_keyboard"))


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The inline buttons of a message, row after row."""
    markup = message.get("reply_markup") or {}
    return [button for row in markup.get("inline_keyboard", []) for button in row]


def find_button(message: dict[str, Any], label: str) -> dict[str, Any]:
    """The button whose text is ``label`` (or, failing that, the only one containing it)."""
    wanted = unicodedata.normalize("NFC", label).casefold()
    found = buttons(message)
    exact = [b for b in found if unicodedata.normalize("NFC", b["text"]).casefold() == wanted]
    partial = [b for b in found if wanted in unicodedata.normalize("NFC", b["text"]).casefold()]
    if exact or len(partial) == 1:
        return (exact or partial)[0]
    raise AssertionError(f"no single button {label!r} in {[b['text'] for b in found]}")


# A step of a scripted conversation: (Chat method: "command", "say", "press" or "share_contact", its argument,
# the name of the place it leads to).
PathStep = tuple[str, str, str]


class Chat:
    """One user talking to the bot in their private chat; every call waits until the bot handled the update
    (the application must be tracked, see ``FakeTelegram.track``) and returns the messages the bot sent.
    ``path`` is an optional script that ``reach`` follows."""

    def __init__(self, fake: FakeTelegram, user: User, path: Sequence[PathStep] = ()) -> None:
        self.fake = fake
        self.user = user
        self.path = path

    async def reach(self, step: str) -> list[dict[str, Any]]:
        """Walk ``path`` from its start until the step called ``step``; the bot's replies to the last input."""
        replies: list[dict[str, Any]] = []
        for action, arg, reached in self.path:
            replies = await getattr(self, action)(arg)
            if reached == step:
                return replies
        raise ValueError(f"{step!r} is not on the path")

    async def say(self, text: str) -> list[dict[str, Any]]:
        return await self.fake.say(self.user, text)

    async def command(self, name: str, args: str = "") -> list[dict[str, Any]]:
        return await self.fake.command(self.user, name, args)

    async def press(self, label: str) -> list[dict[str, Any]]:
        return await self.fake.press(self.user, label)

    async def share_contact(self, phone: str, *, own: bool = True) -> list[dict[str, Any]]:
        return await self.send(self.fake.send_contact(self.user, phone, own=own))

    async def send(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        """Wait for an update made with one of the ``send_*`` helpers."""
        return await self.fake.replies(update)

    @property
    def texts(self) -> list[str]:
        return self.fake.texts(self.user.id)

    @property
    def last(self) -> dict[str, Any]:
        return self.fake.bot_messages(self.user.id)[-1]

    @property
    def keyboard(self) -> dict[str, Any] | None:
        """The reply keyboard the user sees now, if any."""
        return self.fake.keyboards.get(self.user.id)


class FakeTelegram:
    def __init__(self, token: str = DEFAULT_TOKEN, *, bot_username: str = "doithoai_test_bot") -> None:
        self.token = token
        self.bot_user = {"id": BOT_ID, "is_bot": True, "first_name": "Đối thoại", "username": bot_username,
                         "can_join_groups": True, "can_read_all_group_messages": False,
                         "supports_inline_queries": False}
        self.calls: list[Call] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[int, dict[str, Any]]] = {}  # chat id → message id → message as it is now
        self.keyboards: dict[int, dict[str, Any] | None] = {}     # chat id → the reply keyboard shown, if any
        self.files: dict[str, StoredFile] = {}
        self.commands: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] = {}
        self.callback_queries: dict[str, dict[str, Any]] = {}  # id → the query, in the order they were sent
        self.answered: dict[str, dict[str, Any]] = {}          # id → answerCallbackQuery params
        self.processed_ids: set[int] = set()
        self.pushes: list[tuple[int, int]] = []                # (update id, HTTP status) of webhook deliveries
        self.blocked: set[int] = set()
        self.faults: list[Fault] = []
        self._pending: list[_Pending] = []
        self._marks: dict[int, int] = {}
        self._update_ids = itertools.count(10_001)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._poll_generation = 0
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._push_tasks: set[asyncio.Task[None]] = set()
        self._connections = asyncio.Semaphore(MAX_CONNECTIONS)
        self.port = 0

    # ---- life cycle -------------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeTelegram:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the port the system chose (asked for 0)
        return self

    async def stop(self) -> None:
        self._closing = True
        self._poke()
        for task in list(self._push_tasks):
            task.cancel()
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    def track(self, application: Application) -> None:
        """Record every update the application has finished with (the helpers wait on it)."""

        async def done(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
            self.processed_ids.add(update.update_id)

        application.add_handler(TypeHandler(Update, done), group=TRACK_GROUP)

    # ---- people and chats ---------------------------------------------------------------------------------------

    def user(self, id: int, first_name: str = "Bình", last_name: str | None = "Nguyễn Thị", *,
             username: str | None = None, language_code: str = "vi") -> User:
        user = User(id, first_name, last_name, username, language_code)
        self.chats[user.id] = user.chat()
        return user

    def group(self, id: int = -100_555, title: str = "Ấp Tân Hậu") -> dict[str, Any]:
        chat = {"id": id, "type": "supergroup" if id < -1_000_000_000 else "group", "title": title}
        self.chats[id] = chat
        return chat

    def chat_with(self, user: User, path: Sequence[PathStep] = ()) -> Chat:
        return Chat(self, user, path)

    def block(self, user: User) -> None:
        self.blocked.add(user.id)

    def unblock(self, user: User) -> None:
        self.blocked.discard(user.id)

    # ---- faults -------------------------------------------------------------------------------------------------

    def fail(self, method: str, *, status: int | None = 500, description: str | None = None,
             retry_after: int | None = None, delay: float = 0.0, chat_id: int | None = None, times: int = 1) -> None:
        """Queue ``times`` failures for the next calls of ``method`` (to ``chat_id`` only, if given)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        text = description or DESCRIPTIONS.get(status or 0, "Error").format(retry_after=retry_after)
        for _ in range(times):
            self.faults.append(Fault(method, status, text, retry_after, delay, chat_id))

    def reset(self, method: str, *, chat_id: int | None = None, times: int = 1) -> None:
        """Drop the connection of the next calls of ``method`` without answering (a connection reset)."""
        for _ in range(times):
            self.faults.append(Fault(method, None, "", None, 0.0, chat_id, reset=True))

    def slow(self, method: str, delay: float, *, chat_id: int | None = None, times: int = 1) -> None:
        """Answer the next calls of ``method`` normally but only after ``delay`` seconds."""
        self.fail(method, status=None, delay=delay, chat_id=chat_id, times=times)

    # ---- updates from users ---------------------------------------------------------------------------------

    def send_message(self, user: User, *, chat: dict[str, Any] | None = None, deliver: bool = True,
                     **content: Any) -> dict[str, Any]:
        """An update with a new message from ``user`` (in their private chat unless ``chat`` is given)."""
        chat = chat or user.chat()
        self.chats.setdefault(chat["id"], chat)
        message = {"message_id": self._next_message_id(chat["id"]), "date": int(time.time()), "chat": chat,
                   "from": user.to_json(), **content}
        self.messages.setdefault(chat["id"], {})[message["message_id"]] = message
        return self._update({"message": copy.deepcopy(message)}, deliver)

    def send_text(self, user: User, text: str, **kwargs: Any) -> dict[str, Any]:
        """Text as a Telegram client sends it: a leading /command gets its bot_command entity."""
        content: dict[str, Any] = {"text": text}
        if text.startswith("/") and len(text) > 1 and not text[1].isspace():
            length = utf16_len(text.split(maxsplit=1)[0])
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self.send_message(user, **content, **kwargs)

    def send_command(self, user: User, command: str, args: str = "", **kwargs: Any) -> dict[str, Any]:
        return self.send_text(user, f"/{command} {args}".rstrip(), **kwargs)

    def send_contact(self, user: User, phone: str, *, own: bool = True, **kwargs: Any) -> dict[str, Any]:
        contact: dict[str, Any] = {"phone_number": phone, "first_name": user.first_name if own else "Lan"}
        contact["user_id"] = user.id if own else user.id + 7_777
        return self.send_message(user, contact=contact, **kwargs)

    def send_voice(self, user: User, *, duration: int = 4, caption: str | None = None, **kwargs: Any
                   ) -> dict[str, Any]:
        stored = self.add_file("voice", b"OggS fake voice", "voice/file_1.oga")
        voice = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "duration": duration,
                 "mime_type": "audio/ogg", "file_size": len(stored.content)}
        return self.send_message(user, voice=voice, **self._caption(caption), **kwargs)

    def send_audio(self, user: User, **kwargs: Any) -> dict[str, Any]:
        stored = self.add_file("audio", b"ID3 fake audio", "music/file_2.mp3")
        audio = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "duration": 30}
        return self.send_message(user, audio=audio, **kwargs)

    def send_photo(self, user: User, *, caption: str | None = None, **kwargs: Any) -> dict[str, Any]:
        sizes = []
        for width, height in ((90, 67), (320, 240), (1280, 960)):
            stored = self.add_file("photo", b"\xff\xd8 fake jpeg" * width, f"photos/file_{width}.jpg")
            sizes.append({"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "width": width,
                          "height": height, "file_size": len(stored.content)})
        return self.send_message(user, photo=sizes, **self._caption(caption), **kwargs)

    def send_video(self, user: User, *, note: bool = False, caption: str | None = None, **kwargs: Any
                   ) -> dict[str, Any]:
        stored = self.add_file("video", b"fake mp4", "videos/file_3.mp4")
        base = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "duration": 5}
        if note:
            return self.send_message(user, video_note={**base, "length": 240}, **kwargs)
        return self.send_message(user, video={**base, "width": 640, "height": 480}, **self._caption(caption),
                                 **kwargs)

    def send_sticker(self, user: User, **kwargs: Any) -> dict[str, Any]:
        sticker = {"file_id": "sticker-1", "file_unique_id": "u-sticker-1", "type": "regular", "width": 512,
                   "height": 512, "is_animated": False, "is_video": False, "emoji": "👍"}
        return self.send_message(user, sticker=sticker, **kwargs)

    def send_location(self, user: User, latitude: float = 10.36, longitude: float = 106.36, **kwargs: Any
                      ) -> dict[str, Any]:
        return self.send_message(user, location={"latitude": latitude, "longitude": longitude}, **kwargs)

    def send_document(self, user: User, *, file_name: str = "don-de-nghi.pdf", caption: str | None = None,
                      **kwargs: Any) -> dict[str, Any]:
        stored = self.add_file("doc", b"%PDF-1.4 fake", f"documents/{file_name}")
        document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_name": file_name,
                    "mime_type": "application/pdf", "file_size": len(stored.content)}
        return self.send_message(user, document=document, **self._caption(caption), **kwargs)

    def tap(self, user: User, message: dict[str, Any], data: str, *, deliver: bool = True) -> dict[str, Any]:
        """A callback query: ``user`` tapped a button carrying ``data`` on ``message`` (as it is now)."""
        current = self.messages.get(message["chat"]["id"], {}).get(message["message_id"], message)
        query_id = str(4_000_000 + next(self._ids))
        query = {"id": query_id, "from": user.to_json(), "message": copy.deepcopy(current),
                 "chat_instance": f"ci-{message['chat']['id']}", "data": data}
        self.callback_queries[query_id] = query
        return self._update({"callback_query": query}, deliver)

    def edit_message(self, user: User, message: dict[str, Any], text: str, *, deliver: bool = True
                     ) -> dict[str, Any]:
        """The user edited one of their own messages."""
        stored = self.messages[message["chat"]["id"]][message["message_id"]]
        stored.update(text=text, edit_date=int(time.time()))
        return self._update({"edited_message": copy.deepcopy(stored)}, deliver)

    def add_file(self, prefix: str, content: bytes, file_path: str) -> StoredFile:
        number = next(self._ids)
        stored = StoredFile(f"{prefix}-file-{number}", f"u-{prefix}-{number}", file_path, content)
        self.files[stored.file_id] = stored
        return stored

    @staticmethod
    def _caption(caption: str | None) -> dict[str, Any]:
        return {"caption": caption} if caption is not None else {}

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def _update(self, payload: dict[str, Any], deliver: bool) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **payload}
        self._marks[update["update_id"]] = len(self.calls)
        if deliver:
            self.deliver(update)
        return update

    def deliver(self, update: dict[str, Any]) -> None:
        """Hand an update to the bot: by webhook when one is set, else to getUpdates."""
        self._marks.setdefault(update["update_id"], len(self.calls))
        if self.webhook.get("url"):
            task = asyncio.get_running_loop().create_task(self._push_and_record(update))
            self._push_tasks.add(task)
            task.add_done_callback(self._push_tasks.discard)
            return
        self._pending.append(_Pending(update, self._marks[update["update_id"]]))
        self._poke()

    async def push(self, update: dict[str, Any], *, secret: str | None = None, header: bool = True) -> int:
        """POST an update to the webhook as Telegram does, with the registered secret unless ``secret`` is given
        (``header=False``: no secret header at all). Returns the HTTP status the bot answered."""
        token = secret if secret is not None else self.webhook.get("secret_token")
        headers = {SECRET_HEADER: token} if header and token is not None else {}
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=WEBHOOK_TIMEOUT))
        self._marks.setdefault(update["update_id"], len(self.calls))
        async with self._session.post(self.webhook["url"], json=update, headers=headers) as response:
            return response.status

    async def _push_and_record(self, update: dict[str, Any]) -> None:
        async with self._connections:  # Telegram keeps at most max_connections deliveries open at once
            self.pushes.append((update["update_id"], await self.push(update)))

    # ---- waiting --------------------------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:  # noqa: ASYNC109
        """Poll ``predicate`` every few ms until it is truthy; its value, or AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
            await asyncio.sleep(0.005)

    async def processed(self, *updates: dict[str, Any], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until the tracked application has finished with these updates (see ``track``)."""
        ids = {u["update_id"] for u in updates}
        await self.wait_for(lambda: ids <= self.processed_ids, timeout, f"updates {sorted(ids)} to be handled")

    async def replies(self, update: dict[str, Any], timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        """Wait until ``update`` was handled; copies of the messages the bot sent to its chat meanwhile."""
        await self.processed(update, timeout=timeout)
        return self.sent_since(self._marks[update["update_id"]], self._chat_of(update))

    async def say(self, user: User, text: str) -> list[dict[str, Any]]:
        return await self.replies(self.send_text(user, text))

    async def command(self, user: User, command: str, args: str = "") -> list[dict[str, Any]]:
        return await self.replies(self.send_command(user, command, args))

    async def press(self, user: User, label: str) -> list[dict[str, Any]]:
        """Tap the button ``label`` on the latest message with an inline keyboard in the user's chat."""
        message = self.last_keyboard_message(user.id)
        if message is None:
            raise AssertionError(f"no inline keyboard in chat {user.id}")
        return await self.replies(self.tap(user, message, find_button(message, label)["callback_data"]))

    # ---- reading what happened ----------------------------------------------------------------------------------

    def calls_to(self, method: str, chat_id: int | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and (chat_id is None or c.chat_id == chat_id)]

    def chat(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message of a chat, both directions, in order, as it is now."""
        return [self.messages[chat_id][key] for key in sorted(self.messages.get(chat_id, {}))]

    def bot_messages(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for m in self.chat(chat_id) if m["from"]["id"] == BOT_ID]

    def texts(self, chat_id: int) -> list[str]:
        return [m.get("text") or m.get("caption") or "" for m in self.bot_messages(chat_id)]

    def last_keyboard_message(self, chat_id: int) -> dict[str, Any] | None:
        return next((m for m in reversed(self.bot_messages(chat_id)) if buttons(m)), None)

    def sent_since(self, mark: int, chat_id: int | None) -> list[dict[str, Any]]:
        """The messages the bot sent since ``mark``, and those it turned into a new screen (a tapped message edited
        into the next step: an editMessageText carrying buttons), in the order it did so."""
        sent = [c.result for c in self.calls[mark:] if (c.method in SEND_METHODS or _new_screen(c)) and c.ok
                and (chat_id is None or c.chat_id == chat_id)]
        return [copy.deepcopy(self.messages[m["chat"]["id"]][m["message_id"]]) for m in sent]

    def unanswered_callbacks(self) -> list[str]:
        """Callback queries the bot was given but never answered."""
        return [q for q in self.callback_queries if q not in self.answered]

    @staticmethod
    def _chat_of(update: dict[str, Any]) -> int | None:
        for key in ("message", "edited_message"):
            if key in update:
                return update[key]["chat"]["id"]
        query = update.get("callback_query")
        return query["message"]["chat"]["id"] if query and query.get("message") else None

    # ---- the HTTP side -------------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = CANONICAL.get(request.match_info["method"].lower(), request.match_info["method"])
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        params = await _read_params(request)
        call = Call(method, params, request.method, time.time())
        self.calls.append(call)
        try:
            if self._take_reset(method, call.chat_id):
                call.error = {"reset": True}
                request.transport.close()  # the client sees the connection drop mid-request
                raise ConnectionResetError
            await self._apply_fault(method, call.chat_id)
            handler = getattr(self, f"_api_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            if method in CHAT_METHODS:
                self._check_chat(call.chat_id)
            call.result = await handler(params)
        except ApiError as exc:
            call.error = exc.body()
            return web.json_response(call.error, status=exc.status)
        return web.json_response({"ok": True, "result": call.result})

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        path = request.match_info["path"]
        stored = next((f for f in self.files.values() if f.file_path == path), None)
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    def _take_reset(self, method: str, chat_id: int | None) -> bool:
        fault = next((f for f in self.faults if f.reset and f.matches(method, chat_id)), None)
        if fault is not None:
            self.faults.remove(fault)
        return fault is not None

    async def _apply_fault(self, method: str, chat_id: int | None) -> None:
        fault = next((f for f in self.faults if not f.reset and f.matches(method, chat_id)), None)
        if fault is None:
            return
        self.faults.remove(fault)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.status is not None:
            raise ApiError(fault.status, fault.description, fault.retry_after)

    def _check_chat(self, chat_id: int | None) -> None:
        if chat_id is None or chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise ApiError(403, DESCRIPTIONS[403])

    def _poke(self) -> None:
        """Wake every waiting getUpdates."""
        self._changed.set()
        self._changed = asyncio.Event()

    # ---- Bot API methods -----------------------------------------------------------------------------------

    async def _api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    async def _api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook.get("url"):
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active;"
                                " use deleteWebhook to delete the webhook first")
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        allowed = params.get("allowed_updates") or []
        if offset:
            self._pending = [p for p in self._pending if p.update["update_id"] >= offset]
        self._poll_generation += 1
        generation = self._poll_generation
        self._poke()
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, "Conflict: terminated by other getUpdates request;"
                                    " make sure that only one bot instance is running")
            ready = [p.update for p in self._pending if not allowed or _kind(p.update) in allowed][:limit]
            remaining = deadline - time.monotonic()
            if ready or remaining <= 0 or self._closing:
                return ready
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                pass

    async def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        text = str(params.get("text", ""))
        _check_text(text, "message text")
        return self._store_bot_message(params, text=text)

    async def _api_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._received_file(params.get("photo"), "photo", "photos/sent.jpg")
        size = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "width": 800, "height": 600,
                "file_size": len(stored.content)}
        return self._store_bot_message(params, photo=[size], **self._caption(params.get("caption")))

    async def _api_senddocument(self, params: dict[str, Any]) -> dict[str, Any]:
        upload = params.get("document")
        name = upload.filename if isinstance(upload, Upload) else "document"
        stored = self._received_file(upload, "doc", f"documents/{name}")
        document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "file_name": name,
                    "file_size": len(stored.content)}
        return self._store_bot_message(params, document=document, **self._caption(params.get("caption")))

    async def _api_sendvoice(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self._received_file(params.get("voice"), "voice", "voice/sent.oga")
        voice = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id, "duration": 4}
        return self._store_bot_message(params, voice=voice, **self._caption(params.get("caption")))

    async def _api_sendchataction(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params)
        text = str(params.get("text", ""))
        _check_text(text, "text")
        markup = _inline_only(params.get("reply_markup"))
        if text == message.get("text") and markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        message["text"] = text
        return self._edited(message, markup)

    async def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._own_message(params)
        markup = _inline_only(params.get("reply_markup"))
        if markup == message.get("reply_markup"):
            raise ApiError(400, NOT_MODIFIED)
        return self._edited(message, markup)

    async def _api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if query_id not in self.callback_queries or query_id in self.answered:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self.answered[query_id] = params
        return True

    async def _api_getfile(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(str(params.get("file_id", "")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return stored.to_json()

    async def _api_setmycommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands") or []
        if not all(1 <= len(c.get("description", "")) <= 256 and c.get("command") for c in commands):
            raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        self.commands = commands
        return True

    async def _api_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _api_setwebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {key: params.get(key) for key in ("url", "secret_token", "allowed_updates",
                                                         "max_connections")}
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self._poke()
        return True

    async def _api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook.get("url") or "", "has_custom_certificate": False,
                "pending_update_count": len(self._pending)}

    async def _api_close(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_logout(self, params: dict[str, Any]) -> bool:
        return True

    # ---- message store ---------------------------------------------------------------------------------------

    def _store_bot_message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        markup = params.get("reply_markup")
        _check_markup(markup)
        message: dict[str, Any] = {"message_id": self._next_message_id(chat_id), "date": int(time.time()),
                                   "chat": self.chats[chat_id], "from": self.bot_user, **content}
        if markup and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        elif markup and "keyboard" in markup:
            self.keyboards[chat_id] = markup
        elif markup and markup.get("remove_keyboard"):
            self.keyboards[chat_id] = None
        self.messages.setdefault(chat_id, {})[message["message_id"]] = message
        return copy.deepcopy(message)

    def _own_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = int(params.get("chat_id") or 0)
        message = self.messages.get(chat_id, {}).get(int(params.get("message_id") or 0))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if message["from"]["id"] != BOT_ID:
            raise ApiError(400, "Bad Request: message can't be edited")
        return message

    @staticmethod
    def _edited(message: dict[str, Any], markup: dict[str, Any] | None) -> dict[str, Any]:
        _check_markup(markup)
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _received_file(self, value: Any, prefix: str, path: str) -> StoredFile:
        if isinstance(value, Upload):
            return self.add_file(prefix, value.content, path)
        if isinstance(value, str) and value in self.files:
            return self.files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return self.add_file(prefix, value.encode(), path)
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")


def _kind(update: dict[str, Any]) -> str:
    return next(key for key in update if key != "update_id")


def _check_text(text: str, what: str) -> None:
    if not text.strip():
        raise ApiError(400, f"Bad Request: {what} is empty")
    if utf16_len(text) > MAX_TEXT:
        raise ApiError(400, "Bad Request: message is too long")


def _inline_only(markup: Any) -> dict[str, Any] | None:
    if markup and "inline_keyboard" not in markup:
        raise ApiError(400, "Bad Request: inline keyboard expected")
    return markup or None


def _check_markup(markup: Any) -> None:
    if not markup:
        return
    rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
    for button in (b for row in rows for b in row):
        if not button.get("text"):
            raise ApiError(400, "Bad Request: button text is empty")
        data = button.get("callback_data")
        if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
            raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
    if "inline_keyboard" in markup and not all(b.get("callback_data") or b.get("url") for row in rows for b in row):
        raise ApiError(400, "Bad Request: inline keyboard button needs callback_data or url")


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Query string, JSON body, url-encoded or multipart form: python-telegram-bot sends JSON-encoded values."""
    params: dict[str, Any] = {key: _decode(key, value) for key, value in request.query.items()}
    if request.method != "POST" or not request.can_read_body:
        return params
    if request.content_type == "application/json":
        params.update(await request.json())
        return params
    form = await request.post()
    uploads = {key: value for key, value in form.items() if isinstance(value, web.FileField)}
    for key, value in form.items():
        if isinstance(value, web.FileField):
            params[key] = Upload(value.filename, value.file.read(), value.content_type)
        else:
            params[key] = _decode(key, str(value))
    for key, value in list(params.items()):
        if isinstance(value, str) and value.startswith("attach://") and value[9:] in uploads:
            params[key] = params.pop(value[9:])
    return params


def _decode(key: str, value: str) -> Any:
    if key in STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


__all__ = ["DEFAULT_TOKEN", "ApiError", "Call", "Chat", "FakeTelegram", "Fault", "PathStep", "User", "buttons",
           "find_button", "utf16_len"]
