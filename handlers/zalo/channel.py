"""The Zalo channel (Zalo Bot Platform): updates in by long polling or webhook, the engine's replies out as text.

Zalo has no buttons: a reply's choices are a numbered list (the same screens as the terminal, ``text_render``), and
the household answers with the number or the words. Like the Telegram channel, this module only maps an update to
an ``Incoming`` event and renders ``Message`` objects; the conversation lives in the engine and its database.

- **Polling**: one update per getUpdates; ``408`` (or an empty result) means nothing yet and the next poll starts
  at once; network errors and refusals back off. deleteWebhook first: polling and webhook are exclusive.
- **Webhook**: a route on the one HTTP server (``webhook_routes``); the secret header is compared in constant
  time (403 and nothing done otherwise);
  the request is acknowledged at once and the update handled after, in a task.
- **At least once**: Zalo may deliver an update again. Each update carries ``event_name:message_id`` as its event
  id, which the engine records in the turn's own transaction: a redelivery is handled once, also after a restart or
  a crash in the middle of a turn.
- **One chat at a time**: updates of one chat are handled in the order they came; other chats go in parallel.
- **Invalid token**: when Zalo answers 401 (here or to the outbox transport) the client logs one line and this
  channel stops; the other channels keep running.
- **As Zalo really behaves** (../shared/reference/zalo-bot-api.md, corrections): the bot's own sends come back and
  are dropped (its id from getMe); an image or voice note is downloaded when it arrives and kept as a private file
  (``bot/datacare/media.py``: Zalo's URL expires); a reaction is ignored silently, a link is text; the name may be
  ``first_name``, ``display_name`` or ``name``; getUpdates' ``timeout`` is sent as a string and the HTTP timeout
  exceeds it by ``POLL_MARGIN``; texts are split on UTF-16 length.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import httpx

from bot.core.config import ZALO_TOKEN_ENV, ZALO_WEBHOOK_SECRET_ENV, ConfigError, Settings
from bot.core.i18n import t
from bot.core.types import Incoming, InputKind, Message
from bot.datacare import media
from bot.dialogues.service import parse_checkin
from bot.outbox.enqueue import SendStatus
from bot.outbox.sender import ChannelLimits
from handlers.base import Backoff, Channel, ChannelFacts, PerChat, WebhookRoute, deliver, split_text, webhook_secret
from handlers.text_render import render_text, typed_incoming
from handlers.zalo.client import EMPTY_POLL, INVALID_TOKEN, MAX_TEXT, ZaloClient, ZaloError
from handlers.zalo.transport import ZaloTransport, reply_retry, zalo_limits

CHANNEL = "zalo"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_EVENT = "message.text.received"
IMAGE_EVENT = "message.image.received"
LINK_EVENT = "message.link.received"
VOICE_EVENT = "message.voice.received"
REACTION_EVENT = "message.reaction.received"
CALL_TIMEOUT = 15.0     # seconds, every call but getUpdates
POLL_MARGIN = 15        # seconds the HTTP timeout of getUpdates exceeds the poll timeout (10-20 s advised)
MAX_MEDIA = 20 * 1024 * 1024  # bytes of an image or voice note kept
STOP_GRACE = 10.0       # seconds for the updates in hand to finish at stop
MAX_MEDIA_URL = 2000


if TYPE_CHECKING:
    from bot.core.engine import Engine

log = logging.getLogger(__name__)
Observer = Callable[[dict[str, Any], bool], None]


# ---- updates → Incoming -------------------------------------------------------------------------------------------


def updates_of(body: Any) -> list[dict[str, Any]]:
    """The updates in a getUpdates result or a webhook body (``{"ok": true, "result": {...}}`` or bare)."""
    if isinstance(body, dict) and "event_name" not in body and "result" in body:
        body = body["result"]
    items = body if isinstance(body, list) else [body]
    return [item for item in items if isinstance(item, dict) and isinstance(item.get("event_name"), str)]


def update_key(update: dict[str, Any]) -> tuple[str, str] | None:
    """(event_name, message_id): what a redelivery of the same update repeats."""
    message, event = update.get("message"), update.get("event_name")
    message_id = _id(message.get("message_id")) if isinstance(message, dict) else ""
    return (event, message_id[:200]) if isinstance(event, str) and message_id else None


def incoming(update: dict[str, Any], bot_id: str = "") -> Incoming | None:
    """A private message as the engine's input, stamped with its event id; None for what the bot ignores (groups,
    bots, the bot's own sends that Zalo delivers back, reactions, no sender)."""
    found = _incoming(update)
    if found is not None and bot_id and found.user_id == bot_id:
        return None
    key = update_key(update)
    return replace(found, event_id=":".join(key)) if found is not None and key is not None else found


def _incoming(update: dict[str, Any]) -> Incoming | None:
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    sender = message.get("from") if isinstance(message.get("from"), dict) else {}
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    user_id = _id(sender.get("id"))
    chat_id = _id(chat.get("id")) or user_id
    if not user_id or sender.get("is_bot") is True or str(chat.get("chat_type") or "PRIVATE").upper() != "PRIVATE":
        return None
    name = str(sender.get("display_name") or sender.get("first_name") or sender.get("name") or "")
    event = update.get("event_name")
    if event == REACTION_EVENT:
        return None  # a reaction is not an answer: ignored silently
    text = message.get("text")
    if event == LINK_EVENT and not (isinstance(text, str) and text.strip()):
        text = _url(message, ("url", "link", "href"))
    if event in (TEXT_EVENT, LINK_EVENT) and isinstance(text, str) and text.strip():
        return typed_incoming(CHANNEL, user_id, chat_id, text, name)
    kind, url = _media(event, message)
    if kind:
        caption = message.get("caption")
        return Incoming(CHANNEL, user_id, chat_id, InputKind.MEDIA, media_kind=kind, media_id=url,
                        text=caption if isinstance(caption, str) else "", display_name=name)
    return Incoming(CHANNEL, user_id, chat_id, InputKind.UNSUPPORTED, display_name=name)  # sticker, unsupported


def _id(value: object) -> str:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) and str(value) else ""


def _media(event: object, message: dict[str, Any]) -> tuple[str, str]:
    """(media kind, URL) of an image or a voice note; ("", "") for anything else."""
    if event == IMAGE_EVENT:
        url = _url(message, ("photo_url", "photo", "url"))
        return ("photo", url) if url else ("", "")
    if event == VOICE_EVENT:
        url = _url(message, ("voice_url", "voice", "audio_url", "audio", "url"))
        return ("voice", url) if url else ("", "")
    return "", ""


def _url(message: dict[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = message.get(key)
        if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= MAX_MEDIA_URL:
            return value
    return ""


# ---- Message → text --------------------------------------------------------------------------------------------------


def render(reply: Message, lang: str) -> list[str]:
    """A reply as Zalo messages: the numbered list like the terminal; the QR code as its check-in code."""
    text = render_text(reply, lang, lambda qr: t("zalo.checkin_code", lang, code=parse_checkin(qr)))
    return split_text(text, MAX_TEXT, utf16=True)


# ---- the channel --------------------------------------------------------------------------------------------------


class ZaloChannel(Channel):
    """``await start(engine)`` … ``await stop()``; ``stopped`` is set when it stops (also by an invalid token)."""

    name = CHANNEL

    def __init__(self, settings: Settings, *, client: ZaloClient | None = None, retry_base: float = 1.0,
                 retry_max: float = 30.0) -> None:
        self.settings = settings
        self.client = client if client is not None else build_client(settings)
        self.lang = settings.bot.language
        self._backoff = Backoff(retry_base, retry_max)
        self._transport = ZaloTransport(self.client, self.lang)
        self.replies = ZaloTransport(self.client, self.lang, retry=reply_retry(self._backoff))
        self.observers: list[Observer] = []  # told after each update: (update, given to the engine); tests wait
        self.stopped = asyncio.Event()
        self.bot_id = ""  # from getMe: updates from this id are the bot's own sends, delivered back
        self._engine: Engine | None = None
        self._worker: asyncio.Task[None] | None = None  # the poll loop, or the webhook registration
        self._secret = self._webhook_secret() if settings.zalo.mode == "webhook" else b""
        self._per_chat = PerChat()
        self.client.on_token_rejected(self._halt)

    @property
    def transport(self) -> ZaloTransport:
        return self._transport

    async def prepare(self) -> ChannelFacts:
        """Learn the bot's own id (getMe): Zalo delivers the bot's own sends back, and they are dropped."""
        await self._learn_me()
        return ChannelFacts()

    async def _learn_me(self) -> None:
        if self.bot_id:
            return
        try:
            me = await self.client.call("getMe", http_timeout=CALL_TIMEOUT)
        except (ZaloError, httpx.HTTPError) as exc:
            log.warning("Zalo getMe failed (%s): the bot's own id is asked again when updates start",
                        type(exc).__name__)
            return
        self.bot_id = _id(me.get("id")) if isinstance(me, dict) else ""

    @property
    def limits(self) -> ChannelLimits:
        return zalo_limits(self.settings)

    def webhook_routes(self) -> list[WebhookRoute]:
        if self.settings.zalo.mode != "webhook":
            return []
        return [WebhookRoute(self.settings.zalo.webhook_path, self.on_webhook)]

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the Zalo channel is not started")
        return self._engine

    # ---- life cycle ---------------------------------------------------------------------------------------------

    async def start(self, engine: Engine) -> None:
        self._engine = engine
        if self.settings.zalo.mode == "webhook":  # served on the one HTTP server (``webhook_routes``)
            self._worker = asyncio.create_task(self._register_webhook(), name="zalo-webhook")
        else:
            self._worker = asyncio.create_task(self._poll(), name="zalo-polling")

    async def stop(self) -> None:
        """Stop fetching updates, let the updates in hand finish (up to STOP_GRACE), close the client."""
        self._halt()
        if self._worker is not None:
            await asyncio.gather(self._worker, return_exceptions=True)
        await self._per_chat.finish(STOP_GRACE)
        await self.client.aclose()

    def _halt(self) -> None:
        """No more updates: stop polling (from the outside, or because the token was rejected)."""
        self.stopped.set()
        worker = self._worker
        if worker is not None and not worker.done() and worker is not asyncio.current_task():
            worker.cancel()

    # ---- polling ------------------------------------------------------------------------------------------------

    async def _poll(self) -> None:
        await self._learn_me()
        if not await self._until_done("deleteWebhook", {}):
            return
        timeout = self.settings.zalo.poll_timeout
        failures = 0
        while not self.stopped.is_set():
            try:
                result = await self.client.call("getUpdates", {"timeout": str(timeout)},  # the doc types it string
                                                http_timeout=timeout + POLL_MARGIN)
            except ZaloError as exc:
                if exc.code == EMPTY_POLL:
                    failures = 0
                    continue
                if exc.code == INVALID_TOKEN:
                    return
                failures += 1
                await self._back_off(failures, exc.retry_after, f"getUpdates refused: error {exc.code}")
                continue
            except httpx.HTTPError as exc:
                failures += 1
                await self._back_off(failures, None, f"getUpdates failed: {type(exc).__name__}")
                continue
            failures = 0
            for update in updates_of(result):  # an empty result is "nothing yet", like 408
                self._per_chat.spawn(self.handle_update(update))

    async def _until_done(self, method: str, params: dict[str, Any]) -> bool:
        """Call ``method`` until it succeeds (backing off); False if the channel stopped meanwhile."""
        failures = 0
        while not self.stopped.is_set():
            try:
                await self.client.call(method, params, http_timeout=CALL_TIMEOUT)
                return True
            except ZaloError as exc:
                if exc.code == INVALID_TOKEN:
                    return False
                failures += 1
                await self._back_off(failures, exc.retry_after, f"{method} refused: error {exc.code}")
            except httpx.HTTPError as exc:
                failures += 1
                await self._back_off(failures, None, f"{method} failed: {type(exc).__name__}")
        return False

    async def _back_off(self, failures: int, retry_after: float | None, why: str) -> None:
        delay = retry_after if retry_after is not None else self._delay(failures)
        log.warning("Zalo %s; trying again in %.1f s", why, delay)
        await asyncio.sleep(delay)

    def _delay(self, failures: int) -> float:
        return self._backoff.delay(failures)

    # ---- webhook ------------------------------------------------------------------------------------------------

    def _webhook_secret(self) -> bytes:
        zalo = self.settings.zalo
        return webhook_secret(zalo.resolved_webhook_secret(), "zalo.webhook_secret", env=ZALO_WEBHOOK_SECRET_ENV,
                              length=(8, 256)).encode()

    async def _register_webhook(self) -> None:
        await self._learn_me()
        params = {"url": self.settings.zalo.webhook_url, "secret_token": self._secret.decode()}
        if await self._until_done("setWebhook", params):
            log.info("Zalo webhook set")

    async def on_webhook(self, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        given = headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret):
            return 403, b""
        if self.stopped.is_set() or self._engine is None:
            return 503, b""  # not serving (yet, or any more): Zalo delivers it again later
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, absurd nesting: Zalo must not retry it
            log.warning("Zalo webhook: a body that is not JSON was refused (%s)", type(exc).__name__)
            return 400, b""
        for update in updates_of(data):  # acknowledged at once; handled after
            self._per_chat.spawn(self.handle_update(update))
        return 200, b'{"ok": true}'

    # ---- one update ---------------------------------------------------------------------------------------------

    async def handle_update(self, update: dict[str, Any]) -> None:
        """Handle one update: in order within its chat, replies sent (a redelivery gets none: see above)."""
        msg = incoming(update, self.bot_id)
        try:
            if msg is not None:
                async with self._per_chat.one_at_a_time(msg.chat_id):
                    if msg.kind is InputKind.MEDIA:
                        msg = await self._keep_media(msg)
                    await self._send(msg.chat_id, await self._turn(msg))
        finally:
            for observer in self.observers:
                observer(update, msg is not None)

    async def _keep_media(self, msg: Incoming) -> Incoming:
        """An image or voice note is downloaded now and kept as a file (its URL expires); the URL if that failed."""
        try:
            data = await self.client.download(msg.media_id, MAX_MEDIA)
        except (ZaloError, httpx.HTTPError) as exc:
            log.warning("a Zalo %s could not be downloaded (%s): only its link is kept", msg.media_kind,
                        type(exc).__name__)
            return msg
        ref = await media.keep(self.engine.db, channel=CHANNEL, external_id=msg.user_id, kind=msg.media_kind,
                               data=data, now=self.engine.clock())
        return replace(msg, media_id=ref)

    async def _turn(self, msg: Incoming) -> list[Message]:
        try:
            return await self.engine.handle(msg)
        except Exception:  # the household's entries so far are saved: tell them, never crash the channel
            log.exception("handling a Zalo message in chat %s failed", msg.chat_id)
            return [Message(t("common.error", self.lang))]

    async def _send(self, chat_id: str, replies: list[Message]) -> None:
        """Send a turn's replies in order through the one send path; stop at the first that cannot go (the rest
        would not make sense). A refused chat is noted blocked; an invalid token was logged once already."""
        texts = [Message(text) for reply in replies for text in render(reply, self.lang)]  # already split
        result = await deliver(self.engine, self.replies, chat_id, texts)
        if result.status not in (SendStatus.SENT, SendStatus.BLOCKED) and not self.client.token_rejected:
            log.warning("could not answer Zalo chat %s: %s", chat_id, result.error)



# ---- building and running -----------------------------------------------------------------------------------------


def build_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> ZaloClient:
    token = settings.zalo.resolved_token()
    if not token:
        raise ConfigError("zalo.token", f"is required to run on Zalo (or set {ZALO_TOKEN_ENV})")
    return ZaloClient(token, settings.zalo.base_url, timeout=CALL_TIMEOUT, transport=transport)
