"""Serving an ASGI app with uvicorn inside a running event loop.

The bot's webhook endpoint, the staff dashboard and the sandbox emulator all run as tasks
of the bot process's loop, so one process (or one test) owns them all and stops them
together; uvicorn's own signal handling is left to the program around it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: it lives inside someone else's loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Any:
        yield


class AsgiServer:
    """Serves an ASGI app with uvicorn as tasks of the running event loop.

    ``start`` returns once the socket listens (port 0 picks a free port); ``stop``
    closes it. Also handy for tests that need a second HTTP endpoint, such as a webhook.
    """

    def __init__(self, app: ASGIApp, *, graceful_timeout: float = 3.0) -> None:
        self.app = app
        self.graceful_timeout = graceful_timeout
        self.host = "127.0.0.1"
        self.port = 0
        self._server: _Server | None = None
        self._socket: socket.socket | None = None
        self._main: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._server is not None:
            raise RuntimeError("the server is already running")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # With proto 0, asyncio would not set TCP_NODELAY on accepted connections, and
        # every answer would wait ~40 ms for a delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            http="h11",
            ws="none",
            log_config=None,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=int(self.graceful_timeout) or 1,
        )
        config.load()
        server = _Server(config)
        server.lifespan = config.lifespan_class(config)
        try:
            await server.startup(sockets=[sock])
        except BaseException:
            sock.close()
            raise
        self.host, self.port = host, sock.getsockname()[1]
        self._server, self._socket = server, sock
        self._main = asyncio.create_task(server.main_loop(), name="asgi-server")

    async def stop(self) -> None:
        server, sock, main = self._server, self._socket, self._main
        if server is None:
            return
        self._server = self._socket = self._main = None
        if main is not None:
            main.cancel()
            await asyncio.gather(main, return_exceptions=True)
        server.should_exit = True
        await server.shutdown(sockets=[sock] if sock else None)


@contextlib.asynccontextmanager
async def serve_asgi(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[AsgiServer]:
    """Serve ``app`` on ``host:port`` in the running loop for the duration of the block."""
    server = AsgiServer(app)
    await server.start(host, port)
    try:
        yield server
    finally:
        await server.stop()
