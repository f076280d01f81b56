"""Serving the one ASGI application under uvicorn, inside the bot's own event loop (started and stopped with it)."""

from __future__ import annotations

import asyncio
import logging
import socket

import uvicorn
from starlette.applications import Starlette

log = logging.getLogger(__name__)


class WebServer:
    """``await start()`` binds and serves; ``port`` is the bound one (the config's, or the system's pick for 0);
    ``await stop()`` lets requests in hand finish."""

    def __init__(self, app: Starlette, listen: str, port: int) -> None:
        config = uvicorn.Config(app, host=listen, port=port, log_config=None, access_log=False, lifespan="off",
                                proxy_headers=True, forwarded_allow_ips="127.0.0.1", server_header=False,
                                timeout_graceful_shutdown=5)
        self.server = uvicorn.Server(config)
        self.listen = listen
        self.port = port
        self._socket: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.listen else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.listen, self.port))  # an address in use fails here, at start, with a clear error
        sock.set_inheritable(True)
        self._socket = sock
        self.port = sock.getsockname()[1]
        self._task = asyncio.create_task(self.server.serve(sockets=[sock]), name="web-server")
        while not self.server.started:
            if self._task.done():
                await self._task
                raise RuntimeError("the web server stopped at start")
            await asyncio.sleep(0.01)
        log.info("web desk and webhooks on http://%s:%d", self.listen, self.port)

    async def stop(self) -> None:
        if self._task is not None:
            self.server.should_exit = True
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
