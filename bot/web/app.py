"""The one wiring point of the dashboard: its pages, in navigation order, and what wraps them.

Each page module exports `routes()` and `NAV`; a new page adds its module to
`PAGE_MODULES`, as bot flows are added to `FLOW_MODULES`.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Protocol

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.clock import Clock, Randomness, SystemClock, SystemRandomness
from bot.config import Settings
from bot.web.core import NavItem, Web, WebDeps, handler, template_environment
from bot.web.pages import (
    account,
    audit,
    campaigns,
    escalations,
    invites,
    overview,
    participants,
    reports,
)
from bot.web.sessions import SessionCodec, SessionExpiry
from storage.db import Database

STATIC = Path(__file__).parent / "static"


class PageModule(Protocol):
    NAV: list[NavItem]

    def routes(self) -> list[Route]: ...


# Page modules; their NAV items are sorted by `order`.
PAGE_MODULES: tuple[PageModule, ...] = (
    account,  # sign-in, sign-out, language
    overview,
    escalations,  # requests for help: the queue, one case, take / give on / done
    participants,
    invites,
    campaigns,
    reports,
    audit,
)

# No script or style from anywhere else, no framing, no form posting elsewhere, and no
# address (which may carry a participant's id) sent to another site.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
}


class SecurityHeaders:
    """Headers on every response; pages with personal data are never cached."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                if not static:
                    headers["cache-control"] = "no-store"
                if self.https:
                    headers.setdefault("strict-transport-security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, with_headers)


@handler(public=True)
async def not_found(web: Web) -> Response:
    return web.refuse(404, web.t("There is no such page."))


async def _not_found(request: Request, exc: Exception) -> Response:
    if isinstance(exc, HTTPException) and exc.status_code == 405:
        return PlainTextResponse("Method Not Allowed", status_code=405)
    return await not_found(request)


async def health(request: Request) -> Response:
    """For a load balancer or monitor: the process answers. Says nothing else."""
    return PlainTextResponse("ok")


def create_app(
    settings: Settings,
    database: Database,
    *,
    secret: str,
    clock: Clock | None = None,
    randomness: Randomness | None = None,
    bot_username: str = "stegvis_bot",
) -> ASGIApp:
    nav = sorted(
        (item for module in PAGE_MODULES for item in module.NAV), key=lambda item: item.order
    )
    deps = WebDeps(
        settings=settings,
        database=database,
        clock=clock or SystemClock(),
        randomness=randomness or SystemRandomness(),
        bot_username=bot_username,
        codec=SessionCodec(secret),
        expiry=SessionExpiry(
            idle=timedelta(minutes=settings.web_idle_minutes),
            lifetime=timedelta(hours=settings.web_session_hours),
        ),
        templates=template_environment(),
        nav=nav,
    )
    routes: list[BaseRoute] = [Route("/healthz", health, methods=["GET"])]
    for module in PAGE_MODULES:
        routes.extend(module.routes())
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC), name="static"))
    app = Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
    app.state.deps = deps
    return SecurityHeaders(app, https=settings.web_secure_cookies)
