"""A campaign to 10 000 participants through the Bot API emulator, over loopback.

The emulator runs in this process; the dispatcher is `stegvis dispatch --until-empty` in
a child process, exactly as it would run beside the bot, so the two share the machine's
cores as they would. Three runs:

1. limits off, SQLite: raw messages a second;
2. limits off, PostgreSQL (when a server answers): the same;
3. default limits (30 a second overall, 1 a second per chat) against an emulator that
   enforces Telegram's limits: the achieved rate against the ceiling, and its 429 count.

    python -m bench outbox [--recipients 10000] [--paced 10000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.domain import campaigns
from bot.runtime import SANDBOX_TOKEN
from bot.sandbox import RateLimits
from bot.sandbox.emulator import run_emulator
from bot.schedule import QuietHours
from storage import migrate
from storage.crypto import Keyring, generate_key, install_keyring
from storage.db import Database
from storage.models import Cohort, Participant, ParticipantStatus
from storage.uow import UnitOfWork

ROOT = Path(__file__).resolve().parent.parent
FIRST_CHAT = 8_000_000
ZONE = ZoneInfo("Europe/Stockholm")
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@dataclass
class Result:
    name: str
    messages: int
    seconds: float
    too_many_requests: int
    write_seconds: float

    @property
    def rate(self) -> float:
        return (self.messages - 1) / self.seconds if self.seconds > 0 else 0.0


async def prepare(database: Database, recipients: int) -> float:
    """Participants in three languages and a campaign written to the outbox; the seconds
    writing the occurrence took."""
    await migrate.upgrade(database)
    now = datetime.now(UTC)
    async with database.session() as session, session.begin():
        cohort = Cohort(name="Bench", created_at=now)
        session.add(cohort)
        await session.flush()
        await session.execute(
            insert(Participant),
            [
                {
                    "public_id": f"B{index}",
                    "telegram_user_id": FIRST_CHAT + index,
                    "chat_id": FIRST_CHAT + index,
                    "cohort_id": cohort.id,
                    "locale": ("sv", "ar", "en")[index % 3],
                    "status": ParticipantStatus.ACTIVE,
                    "joined_at": now,
                }
                for index in range(recipients)
            ],
        )
    async with UnitOfWork(database) as uow:
        await campaigns.create_campaign(
            uow,
            name="Bench",
            cohorts=["Bench"],
            texts={
                "sv": "Hej! Glöm inte informationsträffen på torsdag kl. 10.",
                "ar": "مرحبًا! يُرجى تذكّر اللقاء الإعلامي يوم الخميس الساعة 10.",
                "en": "Hello! Remember the information meeting on Thursday at 10.",
            },
            schedule={"kind": "date", "at": (now + timedelta(seconds=1)).isoformat()},
            now=now,
            zone=ZONE,
            quiet=QuietHours(datetime.min.time(), datetime.min.time()),
        )
        await uow.commit()
    started = time.perf_counter()
    async with UnitOfWork(database) as uow:
        written = await campaigns.materialise_due(uow, now=now, zone=ZONE)
        await uow.commit()
    assert written.rows == recipients, written
    return time.perf_counter() - started


async def run(
    name: str, url: str, recipients: int, key: str, *, paced: bool, data_dir: Path
) -> Result:
    database = Database(url)
    try:
        write_seconds = await prepare(database, recipients)
    finally:
        await database.dispose()
    limits = RateLimits(per_second=30, per_chat_per_second=1) if paced else None
    async with run_emulator(SANDBOX_TOKEN, rate_limits=limits) as emulator:
        for index in range(recipients):
            emulator.state.upsert_user(
                user_id=FIRST_CHAT + index, first_name=f"B{index}", started=True
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith("STEGVIS_")}
        env.update(
            STEGVIS_DATABASE_URL=url,
            STEGVIS_TELEGRAM_BASE_URL=emulator.bot_api_url,
            STEGVIS_BOT_TOKEN=SANDBOX_TOKEN,
            STEGVIS_ENCRYPTION_KEY=key,
            STEGVIS_DATA_DIR=str(data_dir),
            STEGVIS_LOG_LEVEL="WARNING",
        )
        if not paced:
            env.update(STEGVIS_DISPATCH_RATE="0", STEGVIS_DISPATCH_CHAT_RATE="0")
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "dispatch",
            "--until-empty",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await child.communicate()
        if child.returncode != 0:
            raise RuntimeError(err.decode()[-3000:])
        sent = sorted(
            message.sent_at
            for chat in emulator.state.chats.values()
            for message in chat.messages.values()
            if message.from_bot
        )
        stats = emulator.state.stats
        if len(sent) != recipients:
            raise RuntimeError(f"{name}: {len(sent)} of {recipients} arrived\n{out.decode()}")
        return Result(name, len(sent), sent[-1] - sent[0], stats.too_many_requests, write_seconds)


async def postgres_database(url: str) -> str | None:
    """A database of its own on the server, or None when no server answers."""
    name = f"stegvis_bench_{uuid.uuid4().hex[:8]}"
    try:
        engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        await engine.dispose()
    except Exception as error:
        print(f"PostgreSQL at {url} not used: {type(error).__name__}")
        return None
    return url.rsplit("/", 1)[0] + f"/{name}"


async def drop_postgres(admin_url: str, url: str) -> None:
    engine = create_async_engine(admin_url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}"'))
    await engine.dispose()


async def bench(recipients: int, paced_recipients: int, postgres: str | None) -> list[Result]:
    key = generate_key()
    install_keyring(Keyring(key))
    results = []
    with tempfile.TemporaryDirectory(prefix="stegvis-bench-") as folder:
        root = Path(folder)
        url = f"sqlite+aiosqlite:///{root / 'raw.sqlite3'}"
        results.append(
            await run("limits off, SQLite", url, recipients, key, paced=False, data_dir=root)
        )
        report(results[-1])
        if postgres:
            pg_url = await postgres_database(postgres)
            if pg_url is not None:
                try:
                    results.append(
                        await run(
                            "limits off, PostgreSQL",
                            pg_url,
                            recipients,
                            key,
                            paced=False,
                            data_dir=root,
                        )
                    )
                    report(results[-1])
                finally:
                    await drop_postgres(postgres, pg_url)
        if paced_recipients:
            url = f"sqlite+aiosqlite:///{root / 'paced.sqlite3'}"
            results.append(
                await run(
                    "default limits (30/s, 1/s per chat), SQLite",
                    url,
                    paced_recipients,
                    key,
                    paced=True,
                    data_dir=root,
                )
            )
            report(results[-1], ceiling=30.0)
    return results


def report(result: Result, ceiling: float | None = None) -> None:
    line = (
        f"{result.name}: {result.messages} messages in {result.seconds:.2f} s = "
        f"{result.rate:.0f} messages/s; the emulator answered 429 {result.too_many_requests} "
        f"times; writing the occurrence took {result.write_seconds:.2f} s"
    )
    if ceiling:
        line += f"; {100 * result.rate / ceiling:.1f} % of the {ceiling:g}/s ceiling"
    print(line, flush=True)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench outbox", description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument(
        "--paced", type=int, default=10_000, help="recipients of the paced run (0: skip it)"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("STEGVIS_TEST_DATABASE_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL server to make a scratch database on ('' to skip)",
    )
    args = parser.parse_args(argv)
    print(f"outbox benchmark on {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    asyncio.run(bench(args.recipients, args.paced, args.postgres or None))
