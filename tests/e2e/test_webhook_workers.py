"""Webhook mode: the secret header is checked, and two worker processes share one bot.

The workers are real `stegvis run --webhook` processes on one PostgreSQL database; a small
round-robin proxy in front of them plays the reverse proxy, and the emulator plays
Telegram, posting every update to the proxy with the secret header.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.asgi import serve_asgi
from bot.clock import ManualClock
from bot.domain import onboarding as domain
from bot.runtime import SANDBOX_TOKEN
from bot.sandbox.emulator import run_emulator
from bot.webhook import SECRET_HEADER, build_webhook_app, webhook_secret
from storage import migrate
from storage.db import Database
from storage.models import InboxUpdate, OutboxMessage, OutboxStatus, Participant
from storage.uow import UnitOfWork
from tests.conftest import POSTGRES_URL, TEST_KEY, CountingRandomness
from tests.e2e.harness import BOT_USERNAME, Person, Stack

PARTICIPANTS = 8


async def test_the_webhook_refuses_requests_without_the_secret_token(stack: Stack) -> None:
    assert stack.runtime is not None
    secret = webhook_secret(stack.settings, SANDBOX_TOKEN)
    app = build_webhook_app(stack.runtime, secret, "/telegram")
    update = {
        "update_id": 777,
        "message": {
            "message_id": 1,
            "date": 0,
            "text": "hej",
            "chat": {"id": 1, "type": "private"},
        },
    }
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
        missing = await client.post("/telegram", json=update)
        wrong = await client.post("/telegram", json=update, headers={SECRET_HEADER: "guess"})
        junk = await client.post("/telegram", content=b"{", headers={SECRET_HEADER: secret})
        right = await client.post("/telegram", json=update, headers={SECRET_HEADER: secret})
    assert (missing.status_code, wrong.status_code, junk.status_code) == (403, 403, 400)
    assert right.status_code == 200
    async with stack.database.session() as session:
        stored = await session.scalar(select(func.count()).select_from(InboxUpdate))
    # Refused requests stored nothing; the accepted one was stored (and maybe handled).
    assert stored in (0, 1)


async def test_an_update_the_database_could_not_take_is_refused_so_telegram_sends_it_again(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 503 (not a 200, not a traceback) while the database is away: Telegram keeps the
    update and delivers it again, and then it is stored."""
    from sqlalchemy.exc import OperationalError

    assert stack.runtime is not None
    secret = webhook_secret(stack.settings, SANDBOX_TOKEN)
    app = build_webhook_app(stack.runtime, secret, "/telegram")
    update = {
        "update_id": 778,
        "message": {
            "message_id": 1,
            "date": 0,
            "text": "/start",
            "chat": {"id": 4242, "type": "private"},
            "from": {"id": 4242, "is_bot": False, "first_name": "Sara"},
        },
    }
    accept = stack.runtime.accept

    async def database_away(updates: list[dict[str, object]]) -> None:
        raise OperationalError("INSERT", {}, ConnectionRefusedError(), connection_invalidated=True)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
        monkeypatch.setattr(stack.runtime, "accept", database_away)
        away = await client.post("/telegram", json=update, headers={SECRET_HEADER: secret})
        monkeypatch.setattr(stack.runtime, "accept", accept)
        again = await client.post("/telegram", json=update, headers={SECRET_HEADER: secret})
    assert (away.status_code, away.text) == (503, "database unavailable")
    assert again.status_code == 200
    sara = await stack.person(4242, "Sara")
    await sara.expect("Stegvis")  # the update was stored and handled: the bot answered


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def dedicated_postgres_database() -> AsyncIterator[str]:
    """A database of its own: the workers are separate processes with their own engines."""
    name = f"stegvis_workers_{uuid.uuid4().hex[:10]}"
    admin = Database(POSTGRES_URL)
    async with admin.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        async with admin.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


class RoundRobin:
    """The reverse proxy: each request goes to the next worker."""

    def __init__(self, workers: list[str]) -> None:
        self.workers = workers
        self.sent: Counter[str] = Counter()
        self._next = 0
        self.http = httpx.AsyncClient(timeout=10)

    async def forward(self, request: Request) -> Response:
        worker = self.workers[self._next % len(self.workers)]
        self._next += 1
        self.sent[worker] += 1
        answer = await self.http.post(
            worker + request.url.path,
            content=await request.body(),
            headers={
                "content-type": "application/json",
                SECRET_HEADER: request.headers.get(SECRET_HEADER, ""),
            },
        )
        return Response(answer.content, status_code=answer.status_code)


async def start_worker(
    listen: int, proxy_url: str, database_url: str, bot_api: str, data_dir: Path
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "STEGVIS_BOT_TOKEN": SANDBOX_TOKEN,
        "STEGVIS_TELEGRAM_BASE_URL": bot_api,
        "STEGVIS_DATABASE_URL": database_url,
        "STEGVIS_ENCRYPTION_KEY": TEST_KEY,
        "STEGVIS_BOT_USERNAME": BOT_USERNAME,
        "STEGVIS_DATA_DIR": str(data_dir),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--webhook",
        f"{proxy_url}/telegram",
        "--listen",
        f"127.0.0.1:{listen}",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    async with asyncio.timeout(60):
        while True:
            line = await process.stdout.readline()
            if not line:
                raise RuntimeError("the worker stopped before it served")
            if b"serves @" in line:
                return process


@pytest.mark.skipif(not POSTGRES_URL, reason="needs STEGVIS_TEST_DATABASE_URL (PostgreSQL)")
async def test_two_workers_serve_the_same_participants_without_losing_or_doubling(
    tmp_path: Path,
) -> None:
    async with dedicated_postgres_database() as url:
        database = Database(url)
        await migrate.upgrade(database)
        clock = ManualClock(datetime.now(UTC))
        codes = []
        async with UnitOfWork(database) as uow:
            await domain.create_cohort(uow, "Alis", clock.now())
            mentor = await domain.create_mentor(
                uow,
                name="Amina Haddad",
                languages=["sv", "ar"],
                now=clock.now(),
                telegram_user_id=7001,
            )
            randomness = CountingRandomness()
            for _ in range(PARTICIPANTS):
                invite = await domain.create_invite(
                    uow,
                    now=clock.now(),
                    randomness=randomness,
                    valid_for=timedelta(days=1),
                    cohort_name="Alis",
                    mentor_id=mentor.id,
                )
                codes.append(invite.code)
            await uow.commit()

        ports = [free_port(), free_port()]
        proxy = RoundRobin([f"http://127.0.0.1:{port}" for port in ports])
        proxy_app = Starlette(routes=[Route("/telegram", proxy.forward, methods=["POST"])])
        async with (
            run_emulator(SANDBOX_TOKEN, bot_username=BOT_USERNAME) as emulator,
            serve_asgi(proxy_app) as proxy_server,
        ):
            workers = [
                await start_worker(port, proxy_server.base_url, url, emulator.bot_api_url, tmp_path)
                for port in ports
            ]
            try:
                client = emulator.client
                await client.create_user("Amina", user_id=7001, started=True)
                people = []
                for index in range(PARTICIPANTS):
                    user_id = 8100 + index
                    await client.create_user(f"Deltagare{index}", user_id=user_id, started=True)
                    people.append(Person(client, user_id, f"Deltagare{index}"))

                async def join(person: Person, code: str) -> None:
                    await person.command("start", code)
                    await person.press("Svenska")
                    await person.press("Ja, jag godkänner")
                    await person.expect(f"Välkommen, {person.first_name}!", timeout=30)

                await asyncio.gather(*(join(p, c) for p, c in zip(people, codes, strict=True)))

                for person in people:
                    texts = [m.body for m in await person.bot_messages()]
                    assert len(texts) == 3, texts  # picker, notice, welcome: nothing doubled
                    assert texts[2].startswith(f"Välkommen, {person.first_name}!")
                news = await client.wait_for(
                    7001, lambda chat: len(chat) >= PARTICIPANTS, timeout=30
                )
                assert len(news) == PARTICIPANTS
                assert all(count > 0 for count in proxy.sent.values()) and len(proxy.sent) == 2
            finally:
                for worker in workers:
                    worker.send_signal(signal.SIGTERM)
                for worker in workers:
                    await asyncio.wait_for(worker.wait(), timeout=30)
                await proxy.http.aclose()

        async with database.session() as session:
            assert (
                await session.scalar(select(func.count()).select_from(Participant)) == PARTICIPANTS
            )
            assert await session.scalar(select(func.count()).select_from(InboxUpdate)) == 0
            statuses = (await session.scalars(select(OutboxMessage.status))).all()
            assert set(statuses) == {OutboxStatus.SENT}
        await database.dispose()
