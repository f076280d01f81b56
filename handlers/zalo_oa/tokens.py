"""The OA's access token, kept fresh with the single-use refresh token, the pair stored before it is used.

- **Ahead of expiry**: ``access_token()`` refreshes once the token has less than ``refresh_ahead`` seconds left
  (``expires_in`` comes as a string; its length is trusted, never assumed).
- **Single-use refresh token**: one refresh at a time (a lock: a broadcast's parallel sends must not refresh twice,
  the second would spend a used token); the new pair is committed to the database in one transaction *before* the
  new access token is used, so a crash after that loses nothing, and a crash before it keeps the previous pair.
- **Refused token** (-216/-217/-220/-124 on a call): ``refresh(stale)`` renews unless another call already did.
- **Dead refresh token** (-118/-14014): the admin must grant access again. ``dead`` is set, the listener (the
  channel) is told once; later calls fail at once with ``TokenDead``.
- **First grant**: the refresh token in the environment seeds the chain. A new one there (its hash differs from
  the one the stored chain started from) replaces a dead pair. Tokens never reach a log line.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.core.clock import Clock, iso, system_clock
from bot.core.config import ZALO_OA_REFRESH_TOKEN_ENV, ZaloOASection
from handlers.zalo_oa.client import DEAD_REFRESH, OAClient, OAError
from storage import Database, zalo_oa_tokens
from storage.zalo_oa_tokens import TokenPair

log = logging.getLogger(__name__)
NEVER = "1970-01-01T00:00:00+00:00"


class TokenDead(Exception):
    """The refresh token is dead (or there is none): the OA admin must grant the app access again."""


def seed_hash(refresh_token: str) -> str:
    return hashlib.sha256(refresh_token.encode()).hexdigest()[:32]


class TokenKeeper:
    def __init__(self, db: Database, client: OAClient, config: ZaloOASection, *, clock: Clock = system_clock) -> None:
        self._db = db
        self._client = client
        self._config = config
        self._clock = clock
        self._lock = asyncio.Lock()
        self._pair: TokenPair | None = None
        self._listeners: list[Callable[[], None]] = []
        self.dead = False

    def on_dead(self, listener: Callable[[], None]) -> None:
        if self.dead:
            listener()
        else:
            self._listeners.append(listener)

    async def load(self) -> None:
        """The stored pair, or the environment's first grant when there is none (or a new grant was given)."""
        async with self._db.transaction() as conn:
            stored = await zalo_oa_tokens.load(conn)
            given = self._config.resolved_refresh_token()
            if given and (stored is None or stored.seeded_from != seed_hash(given)):
                stored = TokenPair("", given, NEVER, seed_hash(given))
                await zalo_oa_tokens.store(conn, stored, iso(self._clock()))
                log.info("Zalo OA: a new grant from %s is used", ZALO_OA_REFRESH_TOKEN_ENV)
        self._pair = stored
        if stored is None:
            self._die(f"no token: set {ZALO_OA_REFRESH_TOKEN_ENV} to the refresh token of the OA's grant")

    async def access_token(self) -> str:
        if self.dead or self._pair is None:
            raise TokenDead
        if self._expiring(self._pair):
            return await self.refresh(self._pair.access_token)
        return self._pair.access_token

    async def refresh(self, stale: str) -> str:
        """A fresh access token in place of ``stale`` (unless another call renewed it meanwhile)."""
        async with self._lock:
            pair = self._pair
            if self.dead or pair is None:
                raise TokenDead
            if pair.access_token != stale and pair.access_token and not self._expiring(pair):
                return pair.access_token
            try:
                answer = await self._client.refresh(self._config.app_id or "", self._config.resolved_app_secret()
                                                    or "", pair.refresh_token)
            except OAError as exc:
                if exc.code in DEAD_REFRESH:
                    self._die(f"Zalo refused the refresh token (error {exc.code})")
                    raise TokenDead from None
                raise
            fresh = TokenPair(str(answer["access_token"]), str(answer["refresh_token"]),
                              iso(self._clock() + timedelta(seconds=_seconds(answer.get("expires_in")))),
                              pair.seeded_from)
            async with self._db.transaction() as conn:  # stored and committed before it is used
                await zalo_oa_tokens.store(conn, fresh, iso(self._clock()))
            self._pair = fresh
            log.info("Zalo OA access token renewed (valid until %s)", fresh.expires_at)
            return fresh.access_token

    def _expiring(self, pair: TokenPair) -> bool:
        if not pair.access_token:
            return True
        left = datetime.fromisoformat(pair.expires_at) - self._clock()
        return left <= timedelta(seconds=self._config.refresh_ahead)

    def _die(self, why: str) -> None:
        if self.dead:
            return
        self.dead = True
        log.error("Zalo OA channel stopped: %s. The other channels keep running and the OA's messages stay queued."
                  " The OA admin must grant the app access again (docs/zalo.md, \"Cấp quyền\"), put the new refresh"
                  " token in %s and restart the bot.", why, ZALO_OA_REFRESH_TOKEN_ENV)
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener()


def _seconds(value: object) -> int:
    """``expires_in`` as Zalo sends it (a string, sometimes a number); an unreadable one counts as one hour."""
    try:
        seconds = int(str(value))
    except ValueError:
        return 3600
    return seconds if seconds > 0 else 3600
