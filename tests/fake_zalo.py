"""A fake Zalo Bot Platform API server for tests: real HTTP on 127.0.0.1, no network, no mocks of the bot.

Usage::

    fake = await FakeZalo().start()                  # binds 127.0.0.1 on a free port
    # ZaloSection(token=fake.token, base_url=fake.base_url)
    fake.track(channel)                              # lets the helpers wait until an update was handled
    user = fake.user("a1b2c3", "Bình")
    texts = await fake.say(user, "Xin chào")         # queue a text, wait until handled, get the bot's answers
    fake.fail("sendMessage", code=429)               # the next sendMessage is refused with "Quota exceeded"
    await fake.stop()

Behaviour copied from docs/zalo.md (../shared/reference/zalo-bot-api.md) where tests depend on it:

- ``<base_url><token>/<method>``, parameters as JSON, form or query string; every answer is
  ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": "..."}`` and, as Zalo may,
  failures come with HTTP 200 (a fault can ask for another status, or for a non-JSON body like a proxy's 502 page);
- getUpdates answers **one** update per call (no offset: a handed-out update is gone), waits up to ``timeout``
  seconds (capped by ``max_poll_wait``) and then answers error 408; getUpdates while a webhook is set is refused;
- ids are strings, ``date`` is in milliseconds, the sender's name is ``display_name`` (or ``name``/``first_name``
  for a user made with that ``name_key``); images carry ``photo_url`` (or ``photo``), voice notes ``voice_url``;
  received media are served by the fake CDN (``host_media``) until ``media_expired``; the bot's own sends come
  back (``own_send``);
- texts and captions are 1..2000 characters; sendPhoto takes an image URL only; chats must be known;
- setWebhook wants an https URL (http on 127.0.0.1 is allowed here) and a secret of 8..256 characters; a webhook
  delivery POSTs ``{"ok": true, "result": update}`` with the header ``X-Bot-Api-Secret-Token``;
- an invalid token is error 401 on every call (``reject_token``).

What the bot did is in ``calls`` (every request: method, decoded params, result or error) and ``sent`` (the messages
per chat). Faults: ``fail(method, ...)`` queues canned failures (code, description, retry_after, delay, HTTP status,
raw body) for the next calls of a method, optionally only for one chat; ``block(user)`` refuses every send to that
chat with 403.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

DEFAULT_TOKEN = "2718281828:zalo-TEST-secret_ABCdef"
BOT_ID = "7391000000000000001"
MAX_TEXT = 2000
SECRET_HEADER = "X-Bot-Api-Secret-Token"
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendSticker"})
CHAT_METHODS = frozenset({"sendMessage", "sendPhoto", "sendSticker", "sendChatAction"})


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: float | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(frozen=True, slots=True)
class ZaloUser:
    id: str
    name: str
    chat_id: str
    name_key: str = "display_name"

    def sender(self) -> dict[str, Any]:
        return {"id": self.id, self.name_key: self.name, "is_bot": False}

    def chat(self, chat_type: str = "PRIVATE") -> dict[str, Any]:
        return {"id": self.chat_id, "chat_type": chat_type}


@dataclass(slots=True)
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when it arrived
    result: Any = None
    error: dict[str, Any] | None = None

    @property
    def chat_id(self) -> str | None:
        value = self.params.get("chat_id")
        return str(value) if value is not None else None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(slots=True)
class Fault:
    """A canned failure; ``code=None`` only delays; ``http_status`` is the HTTP status of the answer (Zalo's
    failures often come with 200); ``raw`` answers a non-JSON page instead of the API's JSON."""

    method: str
    code: int | None = 500
    description: str = ""
    retry_after: float | None = None
    delay: float = 0.0
    chat_id: str | None = None
    http_status: int = 200
    raw: bool = False

    def matches(self, method: str, chat_id: str | None) -> bool:
        return self.method == method and (self.chat_id is None or self.chat_id == chat_id)


DESCRIPTIONS = {400: "Bad Request", 401: "Unauthorized: invalid token", 403: "Forbidden", 404: "Not Found",
                429: "Quota exceeded", 500: "Internal Server Error", 502: "Bad Gateway"}


class FakeZalo:
    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.sent: dict[str, list[dict[str, Any]]] = {}   # chat id → messages the bot sent, in order
        self.chats: set[str] = set()
        self.blocked: set[str] = set()
        self.webhook: dict[str, Any] = {}
        self.faults: list[Fault] = []
        self.max_poll_wait: float | None = None            # cap on a getUpdates wait (seconds)
        self.empty_results = 0                             # answer this many getUpdates with ok:true, no update
        self.observed: list[tuple[str, bool]] = []         # (message id, given to the engine) as the channel tells
        self.pushes: list[tuple[str, int]] = []            # (message id, HTTP status) of webhook deliveries
        self.token_valid = True
        self.media: dict[str, bytes] = {}                  # files the fake CDN serves (received images, voice)
        self.media_expired = False                         # the CDN's URLs stopped working (they expire)
        self._queue: list[dict[str, Any]] = []
        self._marks: dict[str, int] = {}
        self._message_ids = itertools.count(0xA11CE)
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self._push_tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    # ---- life cycle ---------------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeZalo:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/media/{name}", self._media)
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

    def track(self, channel: Any) -> None:
        """Record every update the channel has finished with (``channel.observers``)."""
        channel.observers.append(self._observe)

    def _observe(self, update: dict[str, Any], handled: bool) -> None:
        self.observed.append((str(update.get("message", {}).get("message_id", "")), handled))

    # ---- people and updates -------------------------------------------------------------------------------------

    def user(self, id: str, name: str = "Nguyễn Thị Bình", *, name_key: str = "display_name") -> ZaloUser:
        user = ZaloUser(id, name, chat_id=f"chat-{id}", name_key=name_key)
        self.chats.add(user.chat_id)
        return user

    def chat_with(self, user: ZaloUser) -> ZaloChat:
        return ZaloChat(self, user)

    def block(self, user: ZaloUser) -> None:
        self.blocked.add(user.chat_id)

    def reject_token(self) -> None:
        """From now on every call answers 401, as for a revoked token (a waiting getUpdates too)."""
        self.token_valid = False
        self._poke()

    def fail(self, method: str, *, code: int | None = 500, description: str | None = None,
             retry_after: float | None = None, delay: float = 0.0, chat_id: str | None = None, times: int = 1,
             http_status: int = 200, raw: bool = False) -> None:
        text = description if description is not None else DESCRIPTIONS.get(code or 0, "Error")
        for _ in range(times):
            self.faults.append(Fault(method, code, text, retry_after, delay, chat_id, http_status, raw))

    def update(self, user: ZaloUser, event_name: str, *, chat_type: str = "PRIVATE", deliver: bool = True,
               **content: Any) -> dict[str, Any]:
        message_id = f"{next(self._message_ids):032x}"
        message = {"message_id": message_id, "date": int(time.time() * 1000), "from": user.sender(),
                   "chat": user.chat(chat_type), **content}
        update = {"event_name": event_name, "message": message}
        self._marks[message_id] = len(self.calls)
        if deliver:
            self.deliver(update)
        return update

    def send_text(self, user: ZaloUser, text: str, **kwargs: Any) -> dict[str, Any]:
        return self.update(user, "message.text.received", text=text, **kwargs)

    def send_image(self, user: ZaloUser, url: str = "https://photo.zalo.example/hinh/so-ho-ngheo.jpg", *,
                   caption: str | None = None, key: str = "photo_url", **kwargs: Any) -> dict[str, Any]:
        content: dict[str, Any] = {key: url}
        if caption is not None:
            content["caption"] = caption
        return self.update(user, "message.image.received", **content, **kwargs)

    def host_media(self, name: str, content: bytes) -> str:
        """A file on the fake CDN; its URL (it stops working once ``media_expired`` is set)."""
        self.media[name] = content
        return f"http://127.0.0.1:{self.port}/media/{name}"

    def send_voice(self, user: ZaloUser, url: str, **kwargs: Any) -> dict[str, Any]:
        return self.update(user, "message.voice.received", voice_url=url, **kwargs)

    def own_send(self, text: str, chat_id: str) -> dict[str, Any]:
        """The bot's own message delivered back to it, as Zalo does (``from.id`` is the bot's id)."""
        bot = ZaloUser(BOT_ID, "doithoai_bot", chat_id=chat_id)
        return self.update(bot, "message.text.received", text=text)

    def send_sticker(self, user: ZaloUser, **kwargs: Any) -> dict[str, Any]:
        return self.update(user, "message.sticker.received", sticker="b7f1c0ffee", url="https://zalo.example/s.webp",
                           **kwargs)

    def send_unsupported(self, user: ZaloUser, **kwargs: Any) -> dict[str, Any]:
        return self.update(user, "message.unsupported.received", **kwargs)

    def deliver(self, update: dict[str, Any]) -> None:
        """Hand an update to the bot: by webhook when one is set, else to getUpdates."""
        if self.webhook.get("url"):
            task = asyncio.get_running_loop().create_task(self._push_and_record(update))
            self._push_tasks.add(task)
            task.add_done_callback(self._push_tasks.discard)
            return
        self._queue.append(update)
        self._poke()

    async def push(self, update: dict[str, Any], *, secret: str | None = None, header: bool = True) -> int:
        """POST an update to the webhook as Zalo does, with the registered secret unless ``secret`` is given
        (``header=False``: no secret header at all). Returns the HTTP status the bot answered."""
        token = secret if secret is not None else self.webhook.get("secret_token")
        headers = {SECRET_HEADER: token} if header and token is not None else {}
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=10))
        async with self._session.post(self.webhook["url"], json={"ok": True, "result": update},
                                      headers=headers) as response:
            return response.status

    async def _push_and_record(self, update: dict[str, Any]) -> None:
        self.pushes.append((update["message"]["message_id"], await self.push(update)))

    # ---- waiting ------------------------------------------------------------------------------------------------

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

    def observations(self, update: dict[str, Any]) -> list[bool]:
        """How the channel reported this update each time it got it: True given to the engine, False ignored."""
        message_id = update["message"]["message_id"]
        return [handled for seen, handled in self.observed if seen == message_id]

    async def processed(self, update: dict[str, Any], times: int = 1, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await self.wait_for(lambda: len(self.observations(update)) >= times, timeout,
                            f"update {update['message']['message_id']} to be handled")

    async def replies(self, update: dict[str, Any], timeout: float = 5.0) -> list[str]:  # noqa: ASYNC109
        """Wait until ``update`` was handled; the texts the bot sent to its chat meanwhile."""
        await self.processed(update, timeout=timeout)
        chat_id = update["message"]["chat"]["id"]
        mark = self._marks[update["message"]["message_id"]]
        return [text_of(c.result) for c in self.calls[mark:]
                if c.method in SEND_METHODS and c.ok and c.chat_id == chat_id]

    async def say(self, user: ZaloUser, text: str) -> list[str]:
        return await self.replies(self.send_text(user, text))

    # ---- reading what happened ----------------------------------------------------------------------------------

    def calls_to(self, method: str, chat_id: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and (chat_id is None or c.chat_id == chat_id)]

    def texts(self, chat_id: str) -> list[str]:
        return [text_of(m) for m in self.sent.get(chat_id, [])]

    # ---- the HTTP side ------------------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token or not self.token_valid:
            return web.json_response(ApiError(401, DESCRIPTIONS[401]).body(), status=401)
        call = Call(method, await _read_params(request), time.monotonic())
        self.calls.append(call)
        try:
            raw = await self._apply_fault(method, call.chat_id)
            if raw is not None:
                call.error = {"error_code": raw}
                return web.Response(status=raw, text=f"<html><body>{raw} Bad Gateway</body></html>",
                                    content_type="text/html")
            handler = getattr(self, f"_api_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found: unknown method")
            if method in CHAT_METHODS:
                self._check_chat(call.chat_id)
            call.result = await handler(call.params)
        except _StatusError as exc:
            call.error = exc.error.body()
            return web.json_response(call.error, status=exc.http_status)
        except ApiError as exc:
            call.error = exc.body()
            return web.json_response(call.error)  # Zalo's failures come with HTTP 200
        return web.json_response({"ok": True, "result": call.result})

    async def _apply_fault(self, method: str, chat_id: str | None) -> int | None:
        """Raise the queued failure for this call; returns an HTTP status for a raw (non-JSON) answer."""
        fault = next((f for f in self.faults if f.matches(method, chat_id)), None)
        if fault is None:
            return None
        self.faults.remove(fault)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.raw:
            return fault.http_status
        if fault.code is None:
            return None
        error = ApiError(fault.code, fault.description, fault.retry_after)
        if fault.http_status != 200:
            raise _StatusError(error, fault.http_status)
        raise error

    def _check_chat(self, chat_id: str | None) -> None:
        if chat_id is None or chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: the user has blocked the bot")

    async def _media(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if self.media_expired or name not in self.media:
            return web.Response(status=403, text="expired")
        return web.Response(body=self.media[name], content_type="application/octet-stream")

    def _poke(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # ---- API methods --------------------------------------------------------------------------------------------

    async def _api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "account_name": "doithoai_bot", "account_type": "BASIC", "can_join_groups": False}

    async def _api_getupdates(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.webhook.get("url"):
            raise ApiError(400, "Bad Request: webhook is active, use deleteWebhook first")
        wait = float(params.get("timeout") or 30)
        if self.max_poll_wait is not None:
            wait = min(wait, self.max_poll_wait)
        if self.empty_results:
            self.empty_results -= 1
            return {}
        deadline = time.monotonic() + wait
        while not self._queue:
            if not self.token_valid:
                raise _StatusError(ApiError(401, DESCRIPTIONS[401]), 401)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._closing:
                raise ApiError(408, "Request Timeout")
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                pass
        return self._queue.pop(0)

    async def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        _check_text(params.get("text"), "text", required=True)
        return self._store(params, text=params["text"])

    async def _api_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("https://", "http://")):
            raise ApiError(400, "Bad Request: photo must be an image URL")
        content = {"photo": photo}
        if params.get("caption") is not None:
            _check_text(params["caption"], "caption", required=False)
            content["caption"] = params["caption"]
        return self._store(params, **content)

    async def _api_sendchataction(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_setwebhook(self, params: dict[str, Any]) -> dict[str, Any]:
        url, secret = str(params.get("url") or ""), params.get("secret_token")
        if not (url.startswith("https://") or url.startswith("http://127.0.0.1:")):
            raise ApiError(400, "Bad Request: the webhook URL must be https")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise ApiError(400, "Bad Request: secret_token must be 8-256 characters")
        self.webhook = {"url": url, "secret_token": secret, "updated_at": _ms()}
        return {"url": url, "updated_at": self.webhook["updated_at"]}

    async def _api_deletewebhook(self, params: dict[str, Any]) -> dict[str, Any]:
        self.webhook = {}
        return {"url": "", "updated_at": _ms()}

    async def _api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.webhook.get("url", ""), "updated_at": self.webhook.get("updated_at", 0)}

    def _store(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat_id = str(params["chat_id"])
        message = {"message_id": f"{next(self._message_ids):032x}", "date": _ms(), "chat_id": chat_id, **content}
        self.sent.setdefault(chat_id, []).append(message)
        return message


class _StatusError(Exception):
    def __init__(self, error: ApiError, http_status: int) -> None:
        super().__init__(error.description)
        self.error = error
        self.http_status = http_status


@dataclass
class ZaloChat:
    """One user writing to the bot; every call waits until the channel handled it and returns the bot's texts."""

    fake: FakeZalo
    user: ZaloUser
    replies: list[str] = field(default_factory=list)

    async def say(self, text: str) -> list[str]:
        self.replies = await self.fake.say(self.user, text)
        return self.replies

    async def send(self, update: dict[str, Any]) -> list[str]:
        self.replies = await self.fake.replies(update)
        return self.replies

    @property
    def last(self) -> str:
        return self.replies[-1]

    @property
    def texts(self) -> list[str]:
        return self.fake.texts(self.user.chat_id)


def text_of(message: dict[str, Any]) -> str:
    return message.get("text") or message.get("caption") or ""


def _check_text(value: Any, what: str, *, required: bool) -> None:
    if not isinstance(value, str) or len(value) > MAX_TEXT or (required and not value):
        raise ApiError(400, f"Bad Request: {what} must be 1-{MAX_TEXT} characters")


def _ms() -> int:
    return int(time.time() * 1000)


async def _read_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        else:
            params.update(await request.post())
    return params

