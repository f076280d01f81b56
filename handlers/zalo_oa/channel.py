"""The Zalo OA channel: webhook events in, consultation replies with buttons out; the outbox routes the rest.

- **In**: ``on_post`` (``webhook.py``) checks the signature, acknowledges at once, and the event is handled after in
  a task: in order within a household, de-duplicated on its ``msg_id`` (here for quick repeats, and by the engine
  in the turn's own transaction across restarts). An image or a voice note is downloaded and kept as a file first
  (its URL expires). A household's event opens its interaction window (``bot/outbox/window.py``); its waiting
  messages go at once.
- **Out**: the turn's replies are consultation messages (``transport.py``): choices as buttons, the phone step's
  share-info form; each counts toward the window's free messages.
- **Tokens**: ``tokens.py``. When the refresh token dies, this channel stops (the others keep running), its
  messages stay queued, the organizers are told through the outbox and the log says what to do.
- **Receipts** update the outbox row; ``unfollow`` marks the household unreachable until it writes again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from bot.core.clock import Clock, iso, system_clock
from bot.core.config import ZALO_OA_REFRESH_TOKEN_ENV, Settings
from bot.core.events import OUTBOX_QUEUED
from bot.core.i18n import t
from bot.core.types import Incoming, Message
from bot.datacare import media
from bot.outbox import window
from bot.outbox.enqueue import Priority, SendStatus, enqueue
from bot.outbox.sender import ChannelLimits
from bot.outbox.window import WindowPolicy
from bot.reports.delivery import organizer_recipients
from handlers.base import Channel, ChannelFacts, ChannelUnavailable, PerChat, WebhookRoute, note_unreachable
from handlers.zalo_oa.client import OAClient, OAError, Urls
from handlers.zalo_oa.events import CHANNEL, Event, Kind, incoming, media_url, read_event, receipt_ids
from handlers.zalo_oa.tokens import TokenKeeper
from handlers.zalo_oa.transport import OATransport
from handlers.zalo_oa.webhook import PostHandler, make_on_post
from storage import outbox

if TYPE_CHECKING:
    from bot.core.engine import Engine

log = logging.getLogger(__name__)
Observer = Callable[[dict[str, Any], bool], None]
STOP_GRACE = 10.0
RECENT = 2000                 # msg_ids remembered in memory (a quick repeat is dropped before any work)
MAX_MEDIA = 20 * 1024 * 1024  # bytes of an image or voice note kept
MAX_DOCUMENT = 20 * 1024 * 1024


def window_policy(settings: Settings) -> WindowPolicy:
    config = settings.zalo_oa
    return WindowPolicy(hours=config.window_hours, free_messages=config.free_messages,
                        proactive_monthly=config.proactive_monthly, zns_kinds=frozenset(config.zns), tz=settings.tz)


class ZaloOAChannel(Channel):
    name = CHANNEL

    def __init__(self, settings: Settings, *, client: OAClient | None = None, clock: Clock = system_clock) -> None:
        config = settings.zalo_oa
        self.settings = settings
        self.config = config
        self.lang = settings.bot.language
        self.clock = clock
        self.client = client or OAClient(Urls(config.api_url, config.oauth_url, config.zns_url))
        self.observers: list[Observer] = []   # told after each event: (event, given to the engine); tests wait on it
        self.stopped = asyncio.Event()
        self.tokens: TokenKeeper | None = None
        self._transport: OATransport | None = None
        self._engine: Engine | None = None
        self._ready = False          # tokens loaded: events can be handled (until then the webhook answers 503)
        self._per_chat = PerChat()
        self._recent: OrderedDict[str, None] = OrderedDict()

    # ---- the Channel interface ---------------------------------------------------------------------------------

    async def prepare(self) -> ChannelFacts:
        missing = self.config.missing()
        if missing:
            log.error("the Zalo OA channel cannot run without %s (see docs/zalo.md)", ", ".join(missing))
            raise ChannelUnavailable(CHANNEL)
        return ChannelFacts(file_fetcher=self._fetch_document)

    async def start(self, engine: Engine) -> None:
        self._engine = engine
        self.tokens = TokenKeeper(engine.db, self.client, self.config, clock=self.clock)
        self.tokens.on_dead(self._dead)
        self._transport = OATransport(self.client, self.tokens, self.config, self.lang)
        await self.tokens.load()
        self._ready = not self.tokens.dead

    async def stop(self) -> None:
        self.stopped.set()
        await self._per_chat.finish(STOP_GRACE)
        await self.client.aclose()

    @property
    def transport(self) -> OATransport:
        if self._transport is None:
            raise RuntimeError("the Zalo OA channel is not started")
        return self._transport

    @property
    def limits(self) -> ChannelLimits:
        config = self.config
        return ChannelLimits(rate=config.send_rate, per_chat_interval=config.per_chat_interval,
                             max_attempts=config.max_attempts, window=window_policy(self.settings))

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            raise RuntimeError("the Zalo OA channel is not started")
        return self._engine

    # ---- the webhook ---------------------------------------------------------------------------------------------

    def webhook_routes(self) -> list[WebhookRoute]:
        """The OA's events come by webhook only, on the one HTTP server of ``doithoai run``."""
        return [WebhookRoute(self.config.webhook_path, self._route)]

    async def _route(self, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        """503 until the tokens are loaded and after the channel stopped (Zalo delivers the event again later)."""
        if not self._ready or self.stopped.is_set():
            return 503, b""
        return await self.on_post(headers, body)

    @property
    def on_post(self) -> PostHandler:
        """``(headers, body) -> (status, body)``: what any web server can serve on the webhook path."""
        return make_on_post(self.config.app_id or "", self.config.resolved_secret_key() or "", self.dispatch)

    def dispatch(self, body: dict[str, Any]) -> None:
        """A verified event: handled after the acknowledgement, in a task (a quick repeat is dropped here)."""
        event = read_event(body)
        if event is None or self.stopped.is_set() or self._seen(event):
            for observer in self.observers:
                observer(body, False)
            return
        self._per_chat.spawn(self.handle_event(event))

    # ---- one event -------------------------------------------------------------------------------------------------

    async def handle_event(self, event: Event) -> None:
        given = False
        try:
            if event.kind is Kind.RECEIPT:
                await self._receipt(event)
            elif event.kind is Kind.UNFOLLOW:
                await self.engine.note_blocked(CHANNEL, event.user_id)
            elif event.kind in (Kind.INPUT, Kind.MEDIA):
                async with self._per_chat.one_at_a_time(event.user_id):
                    given = await self._input(event)
        except Exception:
            log.exception("handling a Zalo OA event (%s) failed", event.name)
        finally:
            for observer in self.observers:
                observer(event.body, given)

    async def _input(self, event: Event) -> bool:
        engine = self.engine
        await window.note_inbound(engine.db, CHANNEL, event.user_id, self.clock(), engine.events)
        ref = await self._keep_media(event) if event.kind is Kind.MEDIA else ""
        msg = incoming(event, ref)
        await self._reply(msg, await self._turn(msg))
        return True

    async def _turn(self, msg: Incoming) -> list[Message]:
        try:
            return await self.engine.handle(msg)
        except Exception:  # the household's entries so far are saved: tell them, never crash the channel
            log.exception("handling a Zalo OA message of %s failed", msg.chat_id)
            return [Message(t("common.error", self.lang))]

    async def _reply(self, msg: Incoming, replies: list[Message]) -> None:
        """The replies in order, each a consultation message counted toward the window; stop at the first that
        does not go (the rest would not make sense)."""
        sent = 0
        for reply in replies:
            result = await self.transport.send(msg.chat_id, reply)
            if result.status is not SendStatus.SENT:
                await note_unreachable(self.engine, CHANNEL, msg.chat_id, result)
                log.warning("could not answer Zalo OA follower %s: %s", msg.chat_id, result.error)
                break
            sent += result.parts
        await window.note_sent(self.engine.db, CHANNEL, msg.chat_id, sent)

    async def _keep_media(self, event: Event) -> str:
        """The image or voice note, downloaded now and kept as a file; its URL when the download failed."""
        url = media_url(event.body)
        try:
            data = await self.client.download(url, MAX_MEDIA)
        except (OAError, httpx.HTTPError) as exc:
            log.warning("Zalo OA: a %s could not be downloaded (%s); only its link is kept", event.name,
                        type(exc).__name__)
            return url
        return await media.keep(self.engine.db, channel=CHANNEL, external_id=event.user_id, kind=event.name,
                                data=data, now=self.clock())

    async def _fetch_document(self, url: str) -> bytes:
        return await self.client.download(url, MAX_DOCUMENT)

    async def _receipt(self, event: Event) -> None:
        msg_id, tracking = receipt_ids(event)
        async with self.engine.db.transaction() as conn:
            await outbox.mark_delivered(conn, iso(self.clock()), platform_msg_id=msg_id, key=tracking)

    # ---- a dead refresh token --------------------------------------------------------------------------------------

    def _dead(self) -> None:
        """Stop only this channel; its messages stay queued; the organizers are told (once per grant)."""
        self.stopped.set()
        if self._engine is not None:
            self._per_chat.spawn(self._tell_organizers())

    async def _tell_organizers(self) -> None:
        engine, now = self.engine, self.clock()
        async with engine.db.transaction() as conn:
            queued = 0
            for recipient in await organizer_recipients(conn, self.settings):
                if recipient.channel == CHANNEL:
                    continue  # this channel is the one that stopped
                text = t("zalo_oa.token_dead", recipient.language, env=ZALO_OA_REFRESH_TOKEN_ENV)
                queued += await enqueue(conn, key=f"zalo_oa:token_dead:{now.date()}:{recipient.chat_id}",
                                        recipient=recipient, kind="notice", message=Message(text),
                                        priority=Priority.NOTICE, now=now)
        if queued:
            await engine.events.emit(OUTBOX_QUEUED)

    # ---- helpers -----------------------------------------------------------------------------------------------------

    def _seen(self, event: Event) -> bool:
        key = f"{event.kind}:{event.event_id}"
        if key in self._recent:
            return True
        self._recent[key] = None
        while len(self._recent) > RECENT:
            self._recent.popitem(last=False)
        return False

