"""Serving the dashboard: its signing secret, and uvicorn inside the caller's event loop.

`stegvis web` runs it alone; `stegvis run` and the sandbox run it beside the bot in the
same loop (one process, one database pool). Uvicorn's own signal handling is turned off
there, because the caller already owns SIGINT and SIGTERM and stops everything together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import uvicorn
from starlette.types import ASGIApp

from bot.config import Settings, SettingsError

log = logging.getLogger(__name__)

MIN_SECRET_LENGTH = 32


def web_secret(settings: Settings) -> str:
    """STEGVIS_WEB_SECRET; the sandbox makes its own and keeps it in the data folder."""
    if settings.web_secret is not None and settings.web_secret.get_secret_value():
        secret = settings.web_secret.get_secret_value()
        if len(secret) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"STEGVIS_WEB_SECRET: use at least {MIN_SECRET_LENGTH} random characters "
                "(`stegvis keys generate` makes one)"
            )
        return secret
    if settings.sandbox:
        return _sandbox_secret(settings.data_dir)
    raise SettingsError(
        "STEGVIS_WEB_SECRET: required for the dashboard when a bot token is set "
        "(make one with `stegvis keys generate` and keep it safe)"
    )


def _sandbox_secret(data_dir: Path) -> str:
    path = data_dir / "web.secret"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


class EmbeddedServer(uvicorn.Server):
    """Uvicorn without its own signal handlers: the process's owner stops it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def listening_socket(host: str, port: int) -> socket.socket:
    """Bound before serving, so port 0 gives a free port whose number we know."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


@contextlib.asynccontextmanager
async def serving(app: ASGIApp, host: str, port: int) -> AsyncIterator[str]:
    """Serve `app` on host:port in this event loop; yields the dashboard's address."""
    sock = listening_socket(host, port)
    bound = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="off", server_header=False
    )
    server = EmbeddedServer(config)
    config.load()
    server.lifespan = config.lifespan_class(config)
    await server.startup(sockets=[sock])
    task = asyncio.create_task(server.main_loop(), name="dashboard")
    shown = f"[{host}]" if ":" in host else host
    try:
        yield f"http://{shown}:{bound}"
    finally:
        server.should_exit = True
        await task
        await server.shutdown(sockets=[sock])
        sock.close()
