"""What every channel adapter shares: the Channel interface and the rules the platforms have in common.

A channel lives in three stages, driven by the composition root (``bot/cli``):

1. ``await channel.prepare()``: learn from the platform what the engine needs (the bot's username, how to fetch a
   file a person sent) and return it as ``ChannelFacts``; no update is handled yet.
2. ``await channel.start(engine)``: serve updates with an engine built from those facts (the engine is complete
   before any update arrives; no channel changes it afterwards).
3. ``await channel.stop()``: stop fetching updates and let the ones in hand finish. Idempotent, and safe after a
   failed or missing ``prepare``/``start``.

The database is not a channel's business: the composition root opens and closes it.

Each channel has ONE way to send: its ``transport`` (the outbox's ``Transport``: one ``Message`` to one chat →
``SendResult``). The conversation's replies go through the same function (``deliver``), with a retry rule that
waits out a short flood limit; the outbox sender does its own pacing, so its transport does not wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from bot.core.config import ConfigError
from bot.core.types import Message
from bot.outbox.enqueue import SendResult, SendStatus, Transport
from bot.outbox.sender import ChannelLimits

if TYPE_CHECKING:
    from bot.core.engine import Engine

log = logging.getLogger(__name__)
T = TypeVar("T")
FileFetcher = Callable[[str], Awaitable[bytes]]
SENT = SendResult(SendStatus.SENT)
BLANK_TEXT = "…"  # what a text with nothing to show is sent as: platforms refuse empty messages


# ---- the interface ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChannelFacts:
    """What a prepared channel learned that the engine needs: how to fetch a file a person sent, the bot's name."""

    file_fetcher: FileFetcher | None = None
    bot_username: str = ""


def engine_options(channels: Iterable[tuple[str, ChannelFacts]]) -> dict[str, object]:
    """The keyword options of ``build_engine`` from the prepared channels' facts (by channel name)."""
    found = list(channels)
    fetchers = {name: facts.file_fetcher for name, facts in found if facts.file_fetcher is not None}
    username = next((facts.bot_username for _, facts in found if facts.bot_username), "")
    return {"file_fetchers": fetchers, "bot_username": username}


class Channel(ABC):
    """One platform: ``prepare()`` → ``start(engine)`` → ``stop()``; ``transport`` sends for the outbox."""

    name: ClassVar[str]

    async def prepare(self) -> ChannelFacts:
        return ChannelFacts()

    @abstractmethod
    async def start(self, engine: Engine) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @property
    @abstractmethod
    def transport(self) -> Transport: ...

    @property
    @abstractmethod
    def limits(self) -> ChannelLimits:
        """How fast the outbox may send on this channel."""

    def webhook_routes(self) -> list[WebhookRoute]:
        """The webhooks this channel takes on the one HTTP server (none when it polls)."""
        return []


# ---- sending a turn's replies ---------------------------------------------------------------------------------------


class ChannelUnavailable(Exception):
    """A channel could not reach its platform at start, after its tries (told in one log line each)."""


class Undelivered(Exception):
    """A reply the platform did not take (neither sent nor blocked); its text is the transport's, token-free."""

    def __init__(self, chat_id: str, result: SendResult) -> None:
        super().__init__(f"{result.status}: {result.error}" if result.error else str(result.status))
        self.chat_id = chat_id
        self.result = result


async def deliver(engine: Engine, transport: Transport, chat_id: str, replies: Iterable[Message]) -> SendResult:
    """Send a turn's replies in order through the channel's one send path; stop at the first that does not go (the
    rest would not make sense). A chat that blocked the bot is noted (``engine.note_blocked``) until it writes again.
    """
    for reply in replies:
        result = await transport.send(chat_id, reply)
        if result.status is not SendStatus.SENT:
            await note_unreachable(engine, transport.channel, chat_id, result)
            return result
    return SENT


async def note_unreachable(engine: Engine, channel: str, chat_id: str, result: SendResult) -> None:
    """The shared "unreachable" rule for replies: a chat that blocked the bot is noted by the engine, and nothing
    more goes to it until it writes again. Any other failure (a bad chat, a server error) is the channel's to report:
    the household's entries are saved already."""
    if result.status is SendStatus.BLOCKED:
        log.info("%s chat %s blocked the bot; its replies are dropped", channel, chat_id)
        await engine.note_blocked(channel, chat_id)


# ---- the retry rule -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential: ``base``, 2×, 4×… seconds, never more than ``cap``."""

    base: float = 1.0
    cap: float = 30.0

    def delay(self, failures: int) -> float:
        return min(self.cap, self.base * 2 ** max(failures - 1, 0))


@dataclass(frozen=True, slots=True)
class Retry:
    """A platform error that may be tried again, and the wait the platform asked for (None: back off)."""

    wait: float | None = None


@dataclass(frozen=True, slots=True)
class RetryRule:
    """Up to ``attempts`` tries of one platform call; between them the platform's retry-after (or the back-off),
    but never a wait over ``max_wait``: a longer wait is the caller's failure. ``attempts=1`` never waits."""

    attempts: int = 1
    max_wait: float = 30.0
    backoff: Backoff = field(default_factory=Backoff)

    async def run(self, call: Callable[[], Awaitable[T]], retryable: Callable[[Exception], Retry | None]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return await call()
            except Exception as exc:
                retry = retryable(exc)
                if retry is None or attempt >= self.attempts:
                    raise
                wait = retry.wait if retry.wait is not None else self.backoff.delay(attempt)
                if wait > self.max_wait:
                    raise
                log.info("%s: trying again in %.1f s", type(exc).__name__, wait)
                await asyncio.sleep(wait)
        raise AssertionError("attempts must be at least 1")


NO_RETRY = RetryRule()


# ---- webhook secret --------------------------------------------------------------------------------------------------


WebhookHandle = Callable[[Mapping[str, str], bytes], Awaitable[tuple[int, bytes]]]
DEFAULT_MAX_BODY = 1024 * 1024


@dataclass(frozen=True, slots=True)
class WebhookRoute:
    """A channel's webhook as the one HTTP server of ``doithoai run`` serves it (``handlers/web/app.py``): POSTs on
    ``path`` go to ``handle(headers, body) -> (status, body)``; a body over ``max_body`` gets 413 before ``handle``
    runs. No web framework leaks into a channel: it sees headers and bytes."""

    path: str
    handle: WebhookHandle
    max_body: int = DEFAULT_MAX_BODY

    @property
    def url_path(self) -> str:
        return "/" + self.path.strip("/")


def webhook_secret(configured: str | None, key: str, *, env: str = "", length: tuple[int, int] | None = None) -> str:
    """The configured secret, or a random one for this run (with a warning): the platform then proves each
    request is its own. A configured secret outside ``length`` (if given) is a config error naming ``key``."""
    if not configured:
        log.warning("%s is not set: using a random secret for this run", key)
        return secrets.token_urlsafe(32)
    if length is None:
        return configured
    low, high = length
    if not low <= len(configured) <= high:
        also = f" (also {env})" if env else ""
        raise ConfigError(key, f"must be {low} to {high} characters{also}")
    return configured


# ---- text -----------------------------------------------------------------------------------------------------------


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int, *, utf16: bool = False) -> list[str]:
    """Cut a text into messages of at most ``limit`` characters (or UTF-16 code units, as Telegram counts), on line
    boundaries; a line too long on its own is cut at its last space that fits (else where the limit falls).

    No part is blank or begins or ends with a newline (platforms refuse empty messages); a blank text gives
    ``[BLANK_TEXT]``.
    """
    measure = utf16_len if utf16 else len
    if measure(text) <= limit:  # nearly every message: one part, as the loop below would give it
        return [text.strip("\n")] if text.strip() else [BLANK_TEXT]
    parts: list[str] = []
    lines: list[str] = []
    size = 0
    for line in (piece for raw in text.split("\n") for piece in _cut_line(raw, limit, utf16)):
        cost = measure(line) + (1 if lines else 0)
        if lines and size + cost > limit:
            parts.append("\n".join(lines))
            lines, size, cost = [], 0, measure(line)
        lines.append(line)
        size += cost
    parts.append("\n".join(lines))
    kept = [part.strip("\n") for part in parts if part.strip()]
    return kept or [BLANK_TEXT]


def _cut_line(line: str, limit: int, utf16: bool) -> list[str]:
    pieces = []
    while (utf16_len(line) if utf16 else len(line)) > limit:
        end = _prefix_within(line, limit, utf16)
        space = line.rfind(" ", 0, end + 1)
        cut = space if space > 0 else max(end, 1)  # one character wider than the limit still moves on
        pieces.append(line[:cut])
        line = line[cut:].lstrip(" ")
    pieces.append(line)
    return pieces


def _prefix_within(text: str, limit: int, utf16: bool) -> int:
    """How many characters of ``text`` fit in ``limit``."""
    if not utf16:
        return min(limit, len(text))
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


# ---- updates handled per chat ----------------------------------------------------------------------------------------


class PerChat:
    """The updates of one chat handled one at a time, in the order they came; other chats in parallel. Each update
    runs in a tracked task, so that stopping lets the ones in hand finish (``finish``)."""

    def __init__(self) -> None:
        self.tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()

    @contextlib.asynccontextmanager
    async def one_at_a_time(self, chat_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        self._users[chat_id] += 1
        try:
            async with lock:
                yield
        finally:
            self._users[chat_id] -= 1
            if not self._users[chat_id]:
                del self._users[chat_id]
                del self._locks[chat_id]

    def spawn(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def finish(self, grace: float) -> None:
        """Let the tasks in hand end (up to ``grace`` seconds), then cancel the rest."""
        if not self.tasks:
            return
        _, late = await asyncio.wait(set(self.tasks), timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


async def download_limited(http: Any, url: str, limit: int, too_large: Callable[[], Exception]) -> bytes:
    """The bytes at ``url`` (an image or voice note a message carried; such links expire), at most ``limit``: past
    it ``too_large()`` is raised without reading the rest."""
    async with http.stream("GET", url) as response:
        response.raise_for_status()
        chunks, size = [], 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise too_large()
            chunks.append(chunk)
    return b"".join(chunks)


def json_object(response: Any) -> dict[str, Any] | None:
    """An HTTP response's body as a JSON object, or None (not JSON, or JSON that is no object)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
