"""A local Telegram Bot API emulator: a Starlette app served by uvicorn on loopback.

``/bot{token}/{method}`` answers Bot API calls as Telegram does, ``/file/bot{token}/...``
serves downloads, ``/sandbox/...`` is the client API for tests and the web chat page
(``/`` and ``/chat``). Run it inside the current event loop with :func:`run_emulator`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.asgi import AsgiServer
from bot.sandbox.botapi import (
    Call,
    Described,
    Handler,
    Params,
    Upload,
    not_emulated,
    resolve_method,
)
from bot.sandbox.client import SandboxClient
from bot.sandbox.clientapi import client_routes, watch_disconnect
from bot.sandbox.state import (
    DEFAULT_TOKEN,
    ApiError,
    EmulatorState,
    Fault,
    JSONDict,
    PendingUpdate,
    Persona,
    RateLimits,
)

STATIC_DIR = Path(__file__).parent / "static"
_TRANSPORT_KEY = "sandbox.transport"
logger = logging.getLogger(__name__)


def api_error(exc: ApiError) -> JSONResponse:
    return JSONResponse(exc.payload(), status_code=exc.status)


async def read_params(request: Request) -> Params:
    """Parameters from the query string and a JSON, urlencoded or multipart body."""
    values: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith("application/json"):
        raw = await request.body()
        if raw.strip():
            try:
                body = json.loads(raw)
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON object") from None
            if not isinstance(body, dict):
                raise ApiError(400, "Bad Request: can't parse JSON object")
            values.update(body)
    elif content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        async with request.form(max_files=100, max_fields=1000) as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    values[key] = Upload(value.filename, value.content_type, await value.read())
                else:
                    values[key] = value
    else:
        await request.body()
    return Params(values)


class _DropConnection(Response):
    """Close the connection without answering, as a crashed or flaky server would."""

    def __init__(self) -> None:
        super().__init__(status_code=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = scope.get(_TRANSPORT_KEY)
        if transport is None:
            raise RuntimeError("dropping a connection needs the server's transport")
        transport.abort()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                while (await receive())["type"] != "http.disconnect":
                    pass


class _NoAnswer(Response):
    """For a client that is gone: send nothing."""

    def __init__(self) -> None:
        super().__init__(status_code=499)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        return None


class _ExposeTransport:
    """Outermost ASGI layer: lets a response reach uvicorn's transport to drop it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is not None:
                scope = {**scope, _TRANSPORT_KEY: transport}
        await self.app(scope, receive, send)


async def _run(call: Call, handler: Handler) -> Response:
    try:
        result = await handler(call)
    except ApiError as exc:
        return api_error(exc)
    if isinstance(result, Described):
        return JSONResponse(
            {"ok": True, "result": result.result, "description": result.description}
        )
    return JSONResponse({"ok": True, "result": result})


async def _serve_fault(call: Call, handler: Handler, fault: Fault) -> Response:
    state = call.state
    if fault.kind == "delay":
        gone = call.disconnected
        await state.wait_for(lambda: False, fault.delay, gone)
        if gone is not None and gone.done() and not fault.after_effect:
            return _NoAnswer()
        return await _run(call, handler)
    if fault.after_effect:
        await _run(call, handler)
    if fault.kind == "drop":
        return _DropConnection()
    retry_after = fault.retry_after
    if fault.status == 429 and retry_after is None:
        retry_after = 1
    if fault.status == 429:
        state.stats.too_many_requests += 1
    return api_error(ApiError(fault.status, fault.description, retry_after=retry_after))


def build_app(state: EmulatorState, info: Any = None) -> Starlette:
    """The emulator's ASGI app for ``state``. ``info`` returns the ``/sandbox/info`` body."""

    def default_info() -> JSONDict:
        return {
            "bot": state.get_me(),
            "personas": [p.to_json() for p in state.personas],
            "users": [u.to_json() for u in state.users.values()],
        }

    async def bot_method(request: Request) -> Response:
        if not secrets.compare_digest(request.path_params["token"], state.token):
            return api_error(ApiError(401, "Unauthorized"))
        resolved = resolve_method(request.path_params["method"])
        if resolved is None:
            unsupported = not_emulated(request.path_params["method"])
            return api_error(unsupported or ApiError(404, "Not Found"))
        name, handler = resolved
        state.stats.calls[name] += 1
        try:
            params = await read_params(request)
        except ApiError as exc:
            return api_error(exc)
        watcher = watch_disconnect(request)
        try:
            call = Call(state, name, params, watcher)
            fault = state.take_fault(name)
            if fault is not None:
                return await _serve_fault(call, handler, fault)
            return await _run(call, handler)
        finally:
            watcher.cancel()

    async def download(request: Request) -> Response:
        if not secrets.compare_digest(request.path_params["token"], state.token):
            return api_error(ApiError(401, "Unauthorized"))
        stored = state.files_by_path.get(request.path_params["file_path"])
        if stored is None:
            return api_error(ApiError(404, "Not Found"))
        return Response(stored.data, media_type=stored.mime_type or "application/octet-stream")

    async def index(request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-store"})

    routes: list[BaseRoute] = [
        Route("/", index, methods=["GET"]),
        Route("/chat", index, methods=["GET"]),
        Route("/bot{token}/{method}", bot_method, methods=["GET", "POST"]),
        Route("/file/bot{token}/{file_path:path}", download, methods=["GET"]),
        *client_routes(state, info or default_info),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    return Starlette(routes=routes)


class WebhookDeliverer:
    """POSTs queued updates, in order, to the webhook URL while one is set."""

    def __init__(self, state: EmulatorState, retry_delays: Sequence[float], timeout: float) -> None:
        self.state = state
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout

    def _due(self) -> bool:
        return bool(self.state.webhook.url and self.state.updates)

    async def run(self) -> None:
        state = self.state
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            while not state.closing:
                if not await state.wait_for(self._due, 3600.0):
                    continue
                await self._deliver(http, state.updates[0], state.webhook.generation)

    async def _deliver(
        self, http: httpx.AsyncClient, update: PendingUpdate, generation: int
    ) -> None:
        state = self.state
        hook = state.webhook
        headers = {"Content-Type": "application/json"}
        if hook.secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        body = json.dumps(update.to_json(), ensure_ascii=False).encode()

        def stale() -> bool:
            return (
                state.closing
                or state.webhook.generation != generation
                or not state.updates
                or state.updates[0] is not update
            )

        for attempt in range(len(self.retry_delays) + 1):
            if stale():
                return
            try:
                response = await http.post(hook.url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                error = f"Connection failed: {type(exc).__name__}"
            else:
                if 200 <= response.status_code < 300:
                    if not stale():
                        state.updates.pop(0)
                    state.stats.webhook_deliveries += 1
                    state.notify()
                    return
                error = (
                    f"Wrong response from the webhook: {response.status_code} "
                    f"{response.reason_phrase}"
                )
            state.stats.webhook_failures += 1
            hook.last_error_date = state.now()
            hook.last_error_message = error
            if attempt < len(self.retry_delays):
                await state.wait_for(stale, self.retry_delays[attempt])
        if not stale():
            logger.warning(
                "webhook gave up on update %s: %s", update.update_id, hook.last_error_message
            )
            state.updates.pop(0)
            state.notify()


class Emulator:
    """One emulator: its state, its app and, once started, its server and client."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        personas: Iterable[Persona] = (),
        rate_limits: RateLimits | None = None,
        bot_username: str = "stegvis_sandbox_bot",
        bot_first_name: str = "Stegvis",
        webhook_retry_delays: Sequence[float] = (0.05, 0.1, 0.2, 0.4),
        webhook_timeout: float = 5.0,
    ) -> None:
        self.state = EmulatorState(
            token,
            bot_username=bot_username,
            bot_first_name=bot_first_name,
            personas=personas,
            rate_limits=rate_limits,
        )
        self.app = build_app(self.state, self.info)
        self._deliverer = WebhookDeliverer(self.state, webhook_retry_delays, webhook_timeout)
        self._server = AsgiServer(_ExposeTransport(self.app))
        self._deliver_task: asyncio.Task[None] | None = None
        self._client: SandboxClient | None = None

    @property
    def token(self) -> str:
        return self.state.token

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        return self._server.base_url

    @property
    def bot_api_url(self) -> str:
        """What python-telegram-bot's ``base_url`` takes; it appends the token."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        """What python-telegram-bot's ``base_file_url`` takes; it appends the token."""
        return f"{self.base_url}/file/bot"

    @property
    def client(self) -> SandboxClient:
        if self._client is None:
            raise RuntimeError("the emulator is not running")
        return self._client

    def info(self) -> JSONDict:
        limits = self.state.rate_limits
        return {
            "bot": self.state.get_me(),
            "personas": [p.to_json() for p in self.state.personas],
            "users": [u.to_json() for u in self.state.users.values()],
            "base_url": self.base_url,
            "bot_api_url": self.bot_api_url,
            "file_url": self.file_url,
            "rate_limits": {
                "per_second": limits.per_second,
                "per_chat_per_second": limits.per_chat_per_second,
                "per_chat_per_minute": limits.per_chat_per_minute,
            },
        }

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state.closing = False
        await self._server.start(host, port)
        self._deliver_task = asyncio.create_task(self._deliverer.run(), name="sandbox-webhook")
        self._client = SandboxClient(self.base_url)

    async def stop(self) -> None:
        if not self._server.running:
            return
        # Wake long polls first so the server's graceful shutdown does not wait on them.
        self.state.close()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._deliver_task is not None:
            self._deliver_task.cancel()
            await asyncio.gather(self._deliver_task, return_exceptions=True)
            self._deliver_task = None
        await self._server.stop()


@contextlib.asynccontextmanager
async def run_emulator(
    token: str = DEFAULT_TOKEN,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    rate_limits: RateLimits | None = None,
    personas: Iterable[Persona] = (),
    bot_username: str = "stegvis_sandbox_bot",
    bot_first_name: str = "Stegvis",
    webhook_retry_delays: Sequence[float] = (0.05, 0.1, 0.2, 0.4),
    webhook_timeout: float = 5.0,
) -> AsyncIterator[Emulator]:
    """Serve an emulator in the running event loop for the duration of the block."""
    emulator = Emulator(
        token,
        personas=personas,
        rate_limits=rate_limits,
        bot_username=bot_username,
        bot_first_name=bot_first_name,
        webhook_retry_delays=webhook_retry_delays,
        webhook_timeout=webhook_timeout,
    )
    await emulator.start(host, port)
    try:
        yield emulator
    finally:
        await emulator.stop()
