"""A fake Zalo OA Open API, OAuth and ZNS endpoint for tests: real HTTP on 127.0.0.1, no network.

Usage::

    fake = await FakeZaloOA(clock).start()         # clock: the bot's FrozenClock (the window follows it)
    # [zalo_oa] api_url = oauth_url = zns_url = fake.url; app_id, oa_id, secrets: FakeZaloOA.APP_ID...
    fake.track(channel); fake.hook = channel's webhook URL (``fake.webhook_url(port, path)``)
    user = fake.follower("8000000000000000001")
    replies = await fake.say(user, "Xin chào")    # a signed user_send_text; waits until handled; the OA's answers
    await fake.tap(user, "Đồng ý")                 # the button of that title on the last message with buttons

Behaviour from ../shared/reference/zalo-oa-api.md, where tests depend on it:

- every answer is HTTP 200 with ``error`` in the body (0 is success);
- OAuth refresh: header ``secret_key`` = the app secret; form ``app_id``, ``grant_type=refresh_token``,
  ``refresh_token``; the refresh token is **single-use** and rotates; a used or revoked one answers -118;
  ``expires_in`` is a string; only the newest access token works, until it expires (-216 invalid, -217 expired);
- ``message/cs`` needs a follower that wrote within ``window_hours`` and fewer than ``free_messages`` OA messages
  since it wrote (else -230 unless ``proactive_left`` > 0: then it goes as a proactive message and is counted);
  a text is 1..2000 characters; a template carries at most 5 buttons of at most 35 characters;
- ``upload/image`` and ``upload/file`` take multipart files and answer ``attachment_id`` / ``token``;
- ZNS ``/message/template`` needs a registered template, every parameter it names, a phone ``84…``; it answers a
  ``msg_id`` and records the ``tracking_id``;
- webhook events are signed: ``X-ZEvent-Signature: mac=<sha256(app_id + body + timestamp + secret key)>``.

What the bot did: ``calls`` (path, JSON or form, error), ``sent`` per user (the ``message`` objects), ``zns``.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

APP_ID = "4318000000000000001"
OA_ID = "2791000000000000002"
APP_SECRET = "app-SECRET-for_tests-7Qk"
SECRET_KEY = "oa-secret-KEY-for_tests-9Zp"
FIRST_REFRESH = "refresh-0-GRANT-abcdefghijklmnop"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass(slots=True)
class OACall:
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    error: int = 0


@dataclass(slots=True)
class Follower:
    id: str
    name: str = "Nguyễn Thị Bình"
    phone: str = "84912345678"
    last_wrote: datetime | None = None
    sent_since: int = 0


@dataclass(slots=True)
class Template:
    params: tuple[str, ...]


class FakeZaloOA:
    APP_ID = APP_ID
    OA_ID = OA_ID
    APP_SECRET = APP_SECRET
    SECRET_KEY = SECRET_KEY
    FIRST_REFRESH = FIRST_REFRESH

    def __init__(self, clock: Callable[[], datetime], *, expires_in: int = 90000) -> None:
        self.clock = clock
        self.expires_in = expires_in
        self.window_hours = 48
        self.free_messages = 8
        self.proactive_left = 0
        self.calls: list[OACall] = []
        self.sent: dict[str, list[dict[str, Any]]] = {}
        self.zns: list[dict[str, Any]] = []
        self.templates: dict[str, Template] = {}
        self.followers: dict[str, Follower] = {}
        self.refresh_token = FIRST_REFRESH
        self.access_token = ""
        self.access_expires: datetime | None = None
        self.refreshes = 0
        self.refresh_delay = 0.0
        self.expire_after_sends: int | None = None  # the access token expires after this many messages went
        self.send_delay = 0.0
        self.media: dict[str, bytes] = {}
        self.media_expired = False
        self.hook = ""                      # the bot's webhook URL
        self.observed: list[tuple[str, bool]] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None
        self.port = 0

    # ---- life cycle ---------------------------------------------------------------------------------------------

    async def start(self) -> FakeZaloOA:
        app = web.Application()
        app.router.add_post("/v4/oa/access_token", self._refresh)
        app.router.add_post("/v3.0/oa/message/cs", self._message_cs)
        app.router.add_post("/v2.0/oa/upload/image", self._upload)
        app.router.add_post("/v2.0/oa/upload/file", self._upload)
        app.router.add_post("/message/template", self._zns)
        app.router.add_get("/media/{name}", self._media)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the port the system chose (asked for 0)
        return self

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def track(self, channel: Any) -> None:
        channel.observers.append(lambda body, handled: self.observed.append((_msg_id(body), handled)))

    # ---- people and events ----------------------------------------------------------------------------------------

    def follower(self, user_id: str, name: str = "Nguyễn Thị Bình", phone: str = "84912345678") -> Follower:
        return self.followers.setdefault(user_id, Follower(user_id, name, phone))

    def register_template(self, template_id: str, *params: str) -> None:
        self.templates[template_id] = Template(params)

    def event(self, user: Follower, name: str, **extra: Any) -> dict[str, Any]:
        msg_id = f"msg{next(self._ids):012d}"
        event = {"app_id": APP_ID, "event_name": name, "sender": {"id": user.id}, "recipient": {"id": OA_ID},
                 "timestamp": str(int(self.clock().timestamp() * 1000)), "user_id_by_app": user.id}
        message = {"msg_id": msg_id, **extra.pop("message", {})}
        event["message"] = message
        event.update(extra)
        return event

    def text_event(self, user: Follower, text: str) -> dict[str, Any]:
        return self.event(user, "user_send_text", message={"text": text})

    def image_event(self, user: Follower, caption: str = "", content: bytes = PNG) -> dict[str, Any]:
        name = f"img{next(self._ids)}.png"
        self.media[name] = content
        attachment = {"type": "image", "payload": {"url": f"{self.url}/media/{name}", "thumbnail": ""}}
        return self.event(user, "user_send_image", message={"text": caption, "attachments": [attachment]})

    def submit_info_event(self, user: Follower) -> dict[str, Any]:
        return self.event(user, "user_submit_info", info={"name": user.name, "phone": user.phone,
                                                          "address": "", "city": "", "district": ""})

    def signed(self, event: dict[str, Any], *, secret: str = SECRET_KEY, app_id: str = APP_ID,
               prefix: str = "mac=") -> tuple[bytes, dict[str, str]]:
        body = json.dumps(event, ensure_ascii=False).encode()
        mac = hashlib.sha256(app_id.encode() + body + str(event.get("timestamp", "")).encode()
                             + secret.encode()).hexdigest()
        return body, {"X-ZEvent-Signature": prefix + mac, "Content-Type": "application/json"}

    async def post(self, body: bytes, headers: dict[str, str]) -> int:
        """POST to the bot's webhook as Zalo does; returns the HTTP status the bot answered."""
        if self._session is None:
            self._session = ClientSession(timeout=ClientTimeout(total=10))
        async with self._session.post(self.hook, data=body, headers=headers) as response:
            return response.status

    async def push(self, event: dict[str, Any], **signing: Any) -> int:
        """A household's event reaches the bot (it opens the window, as the real OA does)."""
        user = self.followers.get(event.get("sender", {}).get("id", ""))
        name = event["event_name"]
        if user is not None and (name.startswith("user_") or name == "follow") and "received" not in name:
            user.last_wrote, user.sent_since = self.clock(), 0
        return await self.post(*self.signed(event, **signing))

    async def send(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Push an event, wait until the channel handled it; the OA's messages to that user meanwhile."""
        user_id = event["sender"]["id"]
        mark = len(self.sent.get(user_id, []))
        assert await self.push(event) == 200
        await self.handled(event)
        return self.sent.get(user_id, [])[mark:]

    async def say(self, user: Follower, text: str) -> list[dict[str, Any]]:
        return await self.send(self.text_event(user, text))

    async def tap(self, user: Follower, title: str) -> list[dict[str, Any]]:
        """Tap the button titled ``title`` on the last message with buttons (its payload comes back as text)."""
        return await self.say(user, self.button(user, title)["payload"])

    def button(self, user: Follower, title: str) -> dict[str, str]:
        for message in reversed(self.sent.get(user.id, [])):
            found = [b for b in buttons_of(message) if b["title"] == title]
            if found:
                return found[0]
        raise AssertionError(f"no button {title!r} in {[buttons_of(m) for m in self.sent.get(user.id, [])]}")

    async def handled(self, event: dict[str, Any], times: int = 1, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        msg_id = event["message"]["msg_id"]
        await wait_for(lambda: len([1 for seen, _ in self.observed if seen == msg_id]) >= times, timeout,
                       f"event {msg_id} to be handled")

    # ---- tokens -----------------------------------------------------------------------------------------------------

    def expire_access(self) -> None:
        self.access_expires = self.clock() - timedelta(seconds=1)

    def revoke(self) -> None:
        """The admin removed the app's access: the refresh token is dead (-118)."""
        self.refresh_token = "revoked"
        self.access_token = "revoked"

    def _token_error(self, headers: Any, *, zns: bool = False) -> int:
        given = headers.get("access_token", "")
        if not given or given != self.access_token:
            return -124 if zns else -216
        if self.access_expires is not None and self.clock() >= self.access_expires:
            return -124 if zns else -217
        return 0

    # ---- HTTP -------------------------------------------------------------------------------------------------------

    async def _refresh(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        call = OACall("refresh", {k: str(v) for k, v in form.items()}, dict(request.headers))
        self.calls.append(call)
        if self.refresh_delay:
            await asyncio.sleep(self.refresh_delay)
        if request.headers.get("secret_key") != APP_SECRET or form.get("app_id") != APP_ID:
            return self._error(call, -14002, "invalid app")
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token \
                or self.refresh_token == "revoked":
            return self._error(call, -118, "Refresh token is invalid")
        self.refreshes += 1
        self.refresh_token = f"refresh-{self.refreshes}-{next(self._ids)}-xyz"
        self.access_token = f"access-{self.refreshes}-{next(self._ids)}-abc"
        self.access_expires = self.clock() + timedelta(seconds=self.expires_in)
        return web.json_response({"access_token": self.access_token, "refresh_token": self.refresh_token,
                                  "expires_in": str(self.expires_in)})

    async def _message_cs(self, request: web.Request) -> web.Response:
        body = await request.json()
        call = OACall("message/cs", body, dict(request.headers))
        self.calls.append(call)
        code = self._token_error(request.headers)
        if code:
            return self._error(call, code, "access token invalid or expired")
        user = self.followers.get(str(body.get("recipient", {}).get("user_id", "")))
        if user is None:
            return self._error(call, -213, "User has not followed OA")
        problem = _check_message(body.get("message"))
        if problem:
            return self._error(call, -201, problem)
        if not self._inside(user):
            if self.proactive_left <= 0:
                return self._error(call, -230, "User has not interacted with the OA in the last 7 days")
            self.proactive_left -= 1
            body["message"]["_proactive"] = True
        else:
            user.sent_since += 1
        if self.send_delay:
            await asyncio.sleep(self.send_delay)
        self.sent.setdefault(user.id, []).append(body["message"])
        if self.expire_after_sends is not None:
            self.expire_after_sends -= 1
            if self.expire_after_sends <= 0:
                self.expire_after_sends = None
                self.expire_access()
        return web.json_response({"error": 0, "message": "Success",
                                  "data": {"message_id": f"oa{next(self._ids)}", "user_id": user.id}})

    async def _upload(self, request: web.Request) -> web.Response:
        call = OACall(request.path, {}, dict(request.headers))
        self.calls.append(call)
        code = self._token_error(request.headers)
        if code:
            return self._error(call, code, "access token invalid or expired")
        form = await request.post()
        upload = form.get("file")
        if upload is None or not hasattr(upload, "file"):
            return self._error(call, -201, "file is required")
        content = upload.file.read()
        call.body = {"name": upload.filename, "size": len(content)}
        if request.path.endswith("/image"):
            if len(content) > 1024 * 1024:
                return self._error(call, -210, "image too large")
            return web.json_response({"error": 0, "data": {"attachment_id": f"att{next(self._ids)}"}})
        return web.json_response({"error": 0, "data": {"token": f"file{next(self._ids)}"}})

    async def _zns(self, request: web.Request) -> web.Response:
        body = await request.json()
        call = OACall("zns", body, dict(request.headers))
        self.calls.append(call)
        code = self._token_error(request.headers, zns=True)
        if code:
            return self._error(call, code, "access token invalid")
        template = self.templates.get(str(body.get("template_id")))
        if template is None:
            return self._error(call, -1124, "template not found")
        data = body.get("template_data") or {}
        if sorted(data) != sorted(template.params) or not all(str(v) for v in data.values()):
            return self._error(call, -1126, "template data invalid")
        if not str(body.get("phone", "")).startswith("84"):
            return self._error(call, -108, "phone invalid")
        msg_id = f"zns{next(self._ids)}"
        self.zns.append({**body, "msg_id": msg_id})
        return web.json_response({"error": 0, "message": "Success", "data": {"msg_id": msg_id,
                                                                             "sent_time": str(int(time.time()))}})

    async def _media(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if self.media_expired or name not in self.media:
            return web.Response(status=403, text="expired")
        return web.Response(body=self.media[name], content_type="image/png")

    def _inside(self, user: Follower) -> bool:
        return (user.last_wrote is not None and self.clock() - user.last_wrote < timedelta(hours=self.window_hours)
                and user.sent_since < self.free_messages)

    @staticmethod
    def _error(call: OACall, code: int, message: str) -> web.Response:
        call.error = code
        return web.json_response({"error": code, "message": message})  # HTTP 200, as Zalo answers

    # ---- reading ----------------------------------------------------------------------------------------------------

    def texts(self, user: Follower) -> list[str]:
        return [m["text"] for m in self.sent.get(user.id, []) if m.get("text")]

    def calls_to(self, path: str) -> list[OACall]:
        return [c for c in self.calls if c.path == path]


def buttons_of(message: dict[str, Any]) -> list[dict[str, str]]:
    payload = (message.get("attachment") or {}).get("payload") or {}
    return list(payload.get("buttons") or [])


def template_type(message: dict[str, Any]) -> str:
    return ((message.get("attachment") or {}).get("payload") or {}).get("template_type", "")


def _check_message(message: Any) -> str:
    if not isinstance(message, dict):
        return "message is required"
    text = message.get("text")
    if text is not None and (not isinstance(text, str) or not 1 <= len(text) <= 2000):
        return "text must be 1-2000 characters"
    found = buttons_of(message)
    if len(found) > 5 or any(len(b.get("title", "")) > 35 or b.get("type") not in
                             ("oa.query.hide", "oa.query.show", "oa.open.url", "oa.open.phone") for b in found):
        return "buttons invalid"
    if text is None and not message.get("attachment"):
        return "message is empty"
    return ""


def _msg_id(body: dict[str, Any]) -> str:
    message = body.get("message") if isinstance(body.get("message"), dict) else {}
    return str(message.get("msg_id", ""))


async def wait_for(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "") -> Any:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(0.005)


@dataclass
class OAChat:
    """One follower writing to the OA: each call waits until handled and returns the OA's messages."""

    fake: FakeZaloOA
    user: Follower
    replies: list[dict[str, Any]] = field(default_factory=list)

    async def say(self, text: str) -> list[dict[str, Any]]:
        self.replies = await self.fake.say(self.user, text)
        return self.replies

    async def tap(self, title: str) -> list[dict[str, Any]]:
        self.replies = await self.fake.tap(self.user, title)
        return self.replies

    async def send(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        self.replies = await self.fake.send(event)
        return self.replies

    async def choose(self, label: str) -> list[dict[str, Any]]:
        """Tap the option's button when the screen has buttons, else type its number in the numbered list."""
        if label in self.titles:
            return await self.tap(label)
        lines = [line for line in self.last_text.splitlines() if line.endswith(f". {label}")]
        assert lines, f"no option {label!r} in {self.last_text!r}"
        return await self.say(lines[0].split(".", 1)[0])

    @property
    def last_text(self) -> str:
        return next(m["text"] for m in reversed(self.replies) if m.get("text"))

    @property
    def titles(self) -> list[str]:
        return [b["title"] for m in self.replies for b in buttons_of(m)]
