"""Webhook mode: Telegram posts updates to an ASGI endpoint; the endpoint stores them.

The endpoint does the least it can before answering 200: it checks Telegram's secret
token header (python-telegram-bot's own Starlette example does not), reads the JSON, and
writes the update to the inbox. Handling happens after, in whichever worker claims it,
so several worker processes behind one reverse proxy can share the same bot and the same
PostgreSQL database. Anything without the right header is refused and logged by address
only; the body is never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.config import Settings
from storage.db import unreachable

if TYPE_CHECKING:
    from bot.runtime import BotRuntime

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_UPDATE_BYTES = 1_000_000


def webhook_secret(settings: Settings, token: str) -> str:
    """The secret Telegram echoes in every request: set, or derived from the bot token so
    that every worker of one deployment agrees on it without sharing another value."""
    if settings.webhook_secret is not None and settings.webhook_secret.get_secret_value():
        return str(settings.webhook_secret.get_secret_value())
    return hmac.new(token.encode(), b"stegvis-webhook", hashlib.sha256).hexdigest()


def build_webhook_app(runtime: BotRuntime, secret: str, path: str) -> Starlette:
    expected = secret.encode()

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        client = request.client.host if request.client else "?"
        if not hmac.compare_digest(given, expected):
            log.warning("webhook refused a request without the secret token from %s", client)
            return PlainTextResponse("forbidden", status_code=403)
        length = int(request.headers.get("content-length") or 0)
        if length > MAX_UPDATE_BYTES:
            return PlainTextResponse("too large", status_code=413)
        body = await request.body()
        if len(body) > MAX_UPDATE_BYTES:
            return PlainTextResponse("too large", status_code=413)
        try:
            payload = json.loads(body)
        except ValueError:
            return PlainTextResponse("not json", status_code=400)
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            return PlainTextResponse("not an update", status_code=400)
        try:
            await runtime.accept([payload])
        except Exception as error:
            # Not stored: any answer but 2xx makes Telegram deliver the update again.
            if unreachable(error):
                log.warning(
                    "webhook could not store update=%s: the database is unreachable; "
                    "Telegram will deliver it again",
                    payload["update_id"],
                )
                return PlainTextResponse("database unavailable", status_code=503)
            log.exception("webhook could not store update=%s", payload["update_id"])
            return PlainTextResponse("not stored", status_code=500)
        return JSONResponse({"ok": True})

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route(path, receive, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
        ]
    )
