"""Injected faults, rate limits and webhook delivery, seen through python-telegram-bot."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import telegram
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.asgi import serve_asgi
from bot.sandbox import RateLimits, SandboxUser, run_emulator
from bot.sandbox.emulator import Emulator
from tests.sandbox.conftest import make_bot, seconds

pytestmark = [
    pytest.mark.e2e,
    # RetryAfter warns that retry_after becomes a timedelta; seconds() reads both.
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]


async def test_injected_errors_surface_as_ptb_exceptions(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser
) -> None:
    client = emu.client
    await client.inject_fault("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as flood:
        await bot.send_message(user.id, "x")
    assert seconds(flood.value.retry_after) == 7
    await client.inject_fault("sendMessage", status=500)
    with pytest.raises(NetworkError) as server_error:
        await bot.send_message(user.id, "x")
    assert type(server_error.value) is NetworkError
    await client.inject_fault(None, status=502, description="Bad Gateway")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.get_me()
    await client.inject_fault("SENDMESSAGE", status=400, description="Bad Request: injected")
    with pytest.raises(BadRequest, match="Injected"):
        await bot.send_message(user.id, "x")
    await client.inject_fault(
        "sendMessage", status=403, description="Forbidden: bot was blocked by the user"
    )
    with pytest.raises(Forbidden):
        await bot.send_message(user.id, "x")
    # Nothing reached the chat, and each fault served once.
    assert await client.bot_messages(user.id) == []
    await bot.send_message(user.id, "now it works")
    stats = await client.stats()
    assert stats.faults_served == 5
    assert stats.too_many_requests == 1
    assert stats.calls["sendMessage"] == 5
    assert await client.faults() == []


async def test_dropped_connection_and_timeout(emu: Emulator, user: SandboxUser) -> None:
    async with make_bot(emu, read_timeout=0.5) as bot:
        await emu.client.inject_fault("sendMessage", kind="drop")
        with pytest.raises(NetworkError) as dropped:
            await bot.send_message(user.id, "x")
        assert not isinstance(dropped.value, TimedOut)
        await emu.client.inject_fault("sendMessage", kind="delay", delay=3.0)
        with pytest.raises(TimedOut):
            await bot.send_message(user.id, "slow")
        # The client gave up, so the slow call never took effect.
        await emu.client.inject_fault("sendMessage", kind="drop", after_effect=True)
        with pytest.raises(NetworkError):
            await bot.send_message(user.id, "delivered, answer lost")
        assert [m.text for m in await emu.client.bot_messages(user.id)] == [
            "delivered, answer lost"
        ]
        assert (await bot.get_me()).is_bot


async def test_rate_limits_answer_429() -> None:
    limits = RateLimits(per_second=3, per_chat_per_second=1)
    async with run_emulator(rate_limits=limits) as emu, make_bot(emu) as bot:
        users = [await emu.client.create_user(name, started=True) for name in ("A", "B", "C", "D")]
        await bot.send_message(users[0].id, "1")
        with pytest.raises(RetryAfter) as per_chat:
            await bot.send_message(users[0].id, "2")
        assert seconds(per_chat.value.retry_after) == 1
        await bot.send_message(users[1].id, "1")
        await bot.send_message(users[2].id, "1")
        with pytest.raises(RetryAfter):
            await bot.send_message(users[3].id, "1")
        stats = await emu.client.stats()
        assert stats.too_many_requests == 2
        assert stats.messages_per_chat == {users[0].id: 1, users[1].id: 1, users[2].id: 1}


@dataclass
class Receiver:
    """A webhook endpoint that fails the first ``failures`` deliveries."""

    failures: int = 0
    received: asyncio.Queue[tuple[str | None, dict[str, object]]] = field(
        default_factory=asyncio.Queue
    )
    attempts: int = 0

    async def endpoint(self, request: Request) -> Response:
        self.attempts += 1
        if self.failures > 0:
            self.failures -= 1
            return Response("try later", status_code=500)
        body = json.loads(await request.body())
        await self.received.put((request.headers.get("x-telegram-bot-api-secret-token"), body))
        return Response(status_code=200)


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    hook = Receiver(failures=1)
    app = Starlette(routes=[Route("/hook", hook.endpoint, methods=["POST"])])
    async with serve_asgi(app) as server:
        yield hook, f"{server.base_url}/hook"


async def test_webhook_delivery_with_secret_and_retry(
    emu: Emulator, bot: telegram.Bot, user: SandboxUser, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    assert await bot.set_webhook(url, secret_token="s3cret-Token_1")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates()
    await emu.client.send_text(user.id, "första")
    await emu.client.send_text(user.id, "andra")
    async with asyncio.timeout(5):
        first = await hook.received.get()
        second = await hook.received.get()
    assert first[0] == second[0] == "s3cret-Token_1"
    updates = [telegram.Update.de_json(body, bot) for _, body in (first, second)]
    assert [u.message.text for u in updates if u.message] == ["första", "andra"]
    assert hook.attempts == 3  # one refused, retried in order
    info = await bot.get_webhook_info()
    assert info.url == url and info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
    assert (await emu.client.stats()).webhook_deliveries == 2

    assert await bot.delete_webhook()
    await emu.client.send_text(user.id, "tredje")
    polled = await bot.get_updates()
    assert [u.message.text for u in polled if u.message] == ["tredje"]
    assert hook.received.empty()
