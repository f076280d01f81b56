"""A channel's webhooks served the way ``doithoai run`` serves them: on the one uvicorn server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from handlers.base import Channel
from handlers.web.app import webhooks_only
from handlers.web.server import WebServer


@asynccontextmanager
async def serving_webhooks(channel: Channel, port: int) -> AsyncIterator[WebServer]:
    server = WebServer(webhooks_only(channel.webhook_routes()), "127.0.0.1", port)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
