"""Telegram's webhook, served by us (as python-telegram-bot's own ``customwebhookbot`` example does): Telegram POSTs
an update, we check its secret header, read it and put it on the Application's update queue.

Why not PTB's built-in server: a body that is not JSON (bad UTF-8, absurd nesting) makes it answer 500, and
Telegram retries a 5xx for ever. Here such a body gets 400 and one log line, an oversized one 413, a wrong secret
403; an update is acknowledged at once and handled after.
"""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.ext import Application

from bot.core.config import Settings
from handlers.base import serve_posts, webhook_secret

if TYPE_CHECKING:
    from aiohttp import web

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1024 * 1024  # an update is a few kilobytes; Telegram's largest stay far below this

log = logging.getLogger(__name__)


class TelegramWebhook:
    def __init__(self, app: Application, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._runner: web.AppRunner | None = None  # aiohttp is loaded in webhook mode only
        self._secret = b""

    async def start(self) -> None:
        tg = self.settings.telegram
        secret = webhook_secret(tg.resolved_webhook_secret(), "telegram.webhook_secret")
        self._secret = secret.encode()
        self._runner = await serve_posts(tg.webhook_listen, tg.webhook_port, tg.webhook_path, self._on_update,
                                         max_body=MAX_BODY)
        await self.app.bot.set_webhook(tg.webhook_url or "", secret_token=secret, allowed_updates=Update.ALL_TYPES,
                                       drop_pending_updates=False)
        log.info("Telegram webhook set")

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _on_update(self, request: web.Request) -> web.Response:
        from aiohttp import web

        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self._secret):
            return web.Response(status=403)
        try:
            body: Any = await request.json()
            update = Update.de_json(body, self.app.bot) if isinstance(body, dict) else None
        except (ValueError, RecursionError, TypeError, KeyError) as exc:
            log.warning("Telegram webhook: a body that is not an update was refused (%s)", type(exc).__name__)
            return web.Response(status=400)
        if update is None:
            log.warning("Telegram webhook: a body that is not an update was refused (not an object)")
            return web.Response(status=400)
        await self.app.update_queue.put(update)  # handled after; Telegram gets its answer at once
        return web.Response(status=200)
