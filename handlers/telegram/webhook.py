"""Telegram's webhook, served by us on the one HTTP server (as python-telegram-bot's own ``customwebhookbot``
example does): Telegram POSTs an update, we check its secret header, read it and put it on the Application's update
queue.

Why not PTB's built-in server: a body that is not JSON (bad UTF-8, absurd nesting) makes it answer 500, and
Telegram retries a 5xx for ever. Here such a body gets 400 and one log line, an oversized one 413, a wrong secret
403; an update is acknowledged at once and handled after.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Mapping
from typing import Any

from telegram import Update
from telegram.ext import Application

from bot.core.config import Settings
from handlers.base import WebhookRoute, webhook_secret

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # an update is a few kilobytes; Telegram's largest stay far below this

log = logging.getLogger(__name__)


class TelegramWebhook:
    """The route (``route``), and ``register()`` at Telegram once the channel serves updates."""

    def __init__(self, app: Application, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        tg = settings.telegram
        self._secret_text = webhook_secret(tg.resolved_webhook_secret(), "telegram.webhook_secret")
        self._secret = self._secret_text.encode()
        self.route = WebhookRoute(tg.webhook_path, self.on_update, MAX_BODY)

    async def register(self) -> None:
        await self.app.bot.set_webhook(self.settings.telegram.webhook_url or "", secret_token=self._secret_text,
                                       allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
        log.info("Telegram webhook set")

    async def on_update(self, headers: Mapping[str, str], body: bytes) -> tuple[int, bytes]:
        given = headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret):
            return 403, b""
        if not self.app.running:
            return 503, b""  # not serving yet (or any more): Telegram delivers it again later
        try:
            data: Any = json.loads(body)
            update = Update.de_json(data, self.app.bot) if isinstance(data, dict) else None
        except (ValueError, RecursionError, TypeError, KeyError) as exc:
            log.warning("Telegram webhook: a body that is not an update was refused (%s)", type(exc).__name__)
            return 400, b""
        if update is None:
            log.warning("Telegram webhook: a body that is not an update was refused (not an object)")
            return 400, b""
        # Handled before Telegram (or the load balancer in front of several workers) gets its 200: a worker killed
        # mid-turn answers nothing, the update is delivered again, and the processed-events key keeps it once.
        await self.app.process_update(update)
        return 200, b""
