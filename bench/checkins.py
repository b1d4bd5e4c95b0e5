"""Check-ins for many participants: scheduling, the due query, opening them, and memory.

    python -m bench checkins [--participants 100000] [--compare 10000] [--database-url URL]

Runs the bot's own periodic job (`CheckinJob`) against a fresh database (SQLite in a
temporary folder, or a new schema on the PostgreSQL at --database-url) and reports:
  - computing next occurrences alone, and computing and storing a schedule per participant;
  - the due query when nothing is due and when everyone is due, with its query plan;
  - opening every participant's check-in at once (Monday 10:00 for all: the worst case),
    which writes the check-in, its outbox message and the conversation row; then one
    nudge for everyone (nobody answers) and closing every check-in;
  - memory: traced Python allocations per job tick (tracemalloc) and the process's
    resident size, at two sizes, to show that memory follows the batch, not the caseload.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import time
import tracemalloc
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock, SystemRandomness
from bot.config import load_settings
from bot.domain.checkin import CheckinPolicy, checkin_spec, next_due
from bot.flows.checkin import CheckinJob
from bot.flows.registry import FlowRegistry
from bot.turn import Deps
from storage import migrate
from storage.crypto import Keyring, generate_key, install_keyring
from storage.db import Database
from storage.models import (
    Cadence,
    Checkin,
    CheckinStatus,
    Cohort,
    OutboxMessage,
    Participant,
    ParticipantSchedule,
    ParticipantStatus,
    ScheduleKind,
)
from storage.models.progress import Checkins, Schedules

MONDAY_BEFORE = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # Monday 09:00 in Stockholm
MONDAY_TEN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # when everyone's check-in is due
INSERT_CHUNK = 5_000
QUERY_REPEATS = 200
TRACED_TICKS = 3
MIB = 1024 * 1024


@dataclass
class Figures:
    participants: int
    backend: str
    insert_s: float = 0.0
    compute_s: float = 0.0
    schedule_s: float = 0.0
    schedules: int = 0
    idle_due_ms: float = 0.0
    busy_due_ms: float = 0.0
    plans: dict[str, list[str]] = field(default_factory=dict)
    open_s: float = 0.0
    opened: int = 0
    nudge_s: float = 0.0
    nudges: int = 0
    expire_s: float = 0.0
    expired: int = 0
    outbox_rows: int = 0
    ticks: int = 0
    tick_peak_mib: list[float] = field(default_factory=list)
    rss_mib: dict[str, float] = field(default_factory=dict)
    database_mib: float | None = None


def rss_mib() -> float:
    """The process's resident memory now (not the high-water mark)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def fresh_database(url: str | None, folder: Path) -> Database:
    if url is None:
        database = Database(f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}")
    else:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        admin = Database(url)
        async with admin.engine.begin() as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        await admin.dispose()
        database = Database(url, schema=schema)
    await migrate.upgrade(database)
    return database


async def drop_database(database: Database, url: str | None) -> None:
    await database.dispose()
    if url is not None and database.schema:
        admin = Database(url)
        async with admin.engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{database.schema}" CASCADE'))
        await admin.dispose()


async def add_participants(database: Database, count: int, now: datetime) -> None:
    """Participants as joining makes them (names sealed), in bulk."""
    locales = ("sv", "ar", "en")
    async with database.session() as session, session.begin():
        cohort_id = (
            await session.execute(
                insert(Cohort).values(name="Bench", created_at=now).returning(Cohort.id)
            )
        ).scalar_one()
    for start in range(0, count, INSERT_CHUNK):
        rows = [
            {
                "public_id": f"B{number:07d}",
                "telegram_user_id": 10_000_000 + number,
                "chat_id": 10_000_000 + number,
                "display_name": "Deltagare",
                "cohort_id": cohort_id,
                "locale": locales[number % 3],
                "status": ParticipantStatus.ACTIVE,
                "consent_at": now,
                "joined_at": now,
            }
            for number in range(start, min(start + INSERT_CHUNK, count))
        ]
        async with database.session() as session, session.begin():
            await session.execute(insert(Participant), rows)


async def explain(session: AsyncSession, database: Database, query: Any) -> list[str]:
    compiled = query.compile(
        dialect=database.engine.dialect, compile_kwargs={"literal_binds": True}
    )
    if database.is_sqlite:
        rows = await session.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        return [str(row[-1]) for row in rows]
    rows = await session.execute(text(f"EXPLAIN ANALYZE {compiled}"))
    return [str(row[0]) for row in rows]


async def analyze(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text("ANALYZE"))


async def time_query(database: Database, query: Any) -> float:
    """Milliseconds per run of `query`, averaged, in one open session."""
    async with database.session() as session:
        await session.execute(query)  # warm
        started = time.perf_counter()
        for _ in range(QUERY_REPEATS):
            (await session.execute(query)).all()
        return (time.perf_counter() - started) / QUERY_REPEATS * 1000


async def count(database: Database, model: type) -> int:
    async with database.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def count_nudges(database: Database) -> int:
    async with database.session() as session:
        query = select(func.count()).where(Checkin.nudged_at.is_not(None))
        return int(await session.scalar(query) or 0)


async def count_expired(database: Database) -> int:
    async with database.session() as session:
        query = select(func.count()).where(Checkin.status == CheckinStatus.EXPIRED)
        return int(await session.scalar(query) or 0)


async def measure(participants: int, url: str | None) -> Figures:
    figures = Figures(participants, "PostgreSQL" if url else "SQLite")
    with tempfile.TemporaryDirectory() as folder:
        clock = ManualClock(MONDAY_BEFORE)
        database = await fresh_database(url, Path(folder))
        settings = load_settings(data_dir=Path(folder))
        deps = Deps(
            settings=settings,
            database=database,
            clock=clock,
            randomness=SystemRandomness(),
            registry=FlowRegistry(),
        )
        policy = CheckinPolicy.from_settings(settings)
        zone = settings.zone
        try:
            gc.collect()
            figures.rss_mib["start"] = rss_mib()
            started = time.perf_counter()
            await add_participants(database, participants, clock.now())
            figures.insert_s = time.perf_counter() - started

            spec = checkin_spec(Cadence.WEEKLY, policy.weekday, policy.at)
            started = time.perf_counter()
            for number in range(participants):
                next_due(spec, zone, MONDAY_BEFORE + timedelta(seconds=number % 3600))
            figures.compute_s = time.perf_counter() - started

            job = CheckinJob()
            started = time.perf_counter()
            while True:  # each tick schedules at most 20 batches; go until all have one
                await job(deps)
                async with database.session() as session:
                    last = await Schedules(session).last_participant_id()
                if job.scheduled_up_to >= last:
                    break
            figures.schedule_s = time.perf_counter() - started
            figures.schedules = await count(database, ParticipantSchedule)
            await analyze(database)  # as autovacuum would after a load this size
            gc.collect()
            figures.rss_mib["scheduled"] = rss_mib()

            async with database.session() as session:
                figures.plans["due (nothing due)"] = await explain(
                    session,
                    database,
                    Schedules.due_query(ScheduleKind.CHECKIN, MONDAY_BEFORE, policy.batch_size),
                )
                figures.plans["due (everyone due)"] = await explain(
                    session,
                    database,
                    Schedules.due_query(ScheduleKind.CHECKIN, MONDAY_TEN, policy.batch_size),
                )
            figures.idle_due_ms = await time_query(
                database,
                Schedules.due_query(ScheduleKind.CHECKIN, MONDAY_BEFORE, policy.batch_size),
            )
            figures.busy_due_ms = await time_query(
                database, Schedules.due_query(ScheduleKind.CHECKIN, MONDAY_TEN, policy.batch_size)
            )

            clock.set(MONDAY_TEN)
            started = time.perf_counter()
            while await job(deps):
                figures.ticks += 1
            figures.open_s = time.perf_counter() - started
            figures.opened = await count(database, Checkin)
            figures.outbox_rows = await count(database, OutboxMessage)
            await analyze(database)
            async with database.session() as session:
                figures.plans["nudges due"] = await explain(
                    session, database, Checkins.nudges_query(MONDAY_TEN, policy.batch_size)
                )
                figures.plans["expiries due"] = await explain(
                    session, database, Checkins.expiries_query(MONDAY_TEN, policy.batch_size)
                )
            gc.collect()
            figures.rss_mib["opened"] = rss_mib()

            # Nobody answers: everyone is nudged on Tuesday, every check-in closes Thursday.
            clock.set(MONDAY_TEN + timedelta(days=1))
            started = time.perf_counter()
            while await job(deps):
                pass
            figures.nudge_s = time.perf_counter() - started
            figures.nudges = await count_nudges(database)
            clock.set(MONDAY_TEN + timedelta(days=3))
            started = time.perf_counter()
            while await job(deps):
                pass
            figures.expire_s = time.perf_counter() - started
            figures.expired = await count_expired(database)

            # A week later everyone is due again: trace the Python allocations of the first
            # ticks (tracing slows Python down several times), then run the rest untraced.
            clock.set(MONDAY_TEN + timedelta(weeks=1))
            tracemalloc.start()
            while len(figures.tick_peak_mib) < TRACED_TICKS:
                tracemalloc.reset_peak()
                before, _ = tracemalloc.get_traced_memory()
                done = await job(deps)
                _, peak = tracemalloc.get_traced_memory()
                if not done:
                    break
                figures.tick_peak_mib.append((peak - before) / MIB)
            tracemalloc.stop()
            while await job(deps):
                pass
            gc.collect()
            figures.rss_mib["second week"] = rss_mib()
            if url is None:
                path = Path(folder) / "bench.sqlite3"
                figures.database_mib = (
                    sum(candidate.stat().st_size for candidate in path.parent.glob(path.name + "*"))
                    / MIB
                )
        finally:
            await drop_database(database, url)
    return figures


def report(figures: Figures, batch: int) -> str:
    n = figures.participants
    per_tick = batch * 20
    lines = [
        f"== {n:,} participants on {figures.backend} ({os.cpu_count()} cores) ==",
        f"inserting participants (setup)              {figures.insert_s:8.2f} s",
        f"computing {n:,} next occurrences (no I/O)    {figures.compute_s:8.2f} s"
        f"  ({figures.compute_s / n * 1e6:.1f} µs each)",
        f"computing and storing schedules             {figures.schedule_s:8.2f} s"
        f"  ({figures.schedules:,} rows, {figures.schedules / figures.schedule_s:,.0f}/s)",
        f"due query, nothing due                      {figures.idle_due_ms:8.3f} ms",
        f"due query, everyone due (first {batch})       {figures.busy_due_ms:8.3f} ms",
        f"opening every check-in (Monday 10:00)       {figures.open_s:8.2f} s"
        f"  ({figures.opened:,} check-ins, {figures.outbox_rows:,} outbox rows,"
        f" {figures.opened / figures.open_s:,.0f}/s,"
        f" in {figures.ticks} job ticks of at most {per_tick:,})",
        f"one nudge each (Tuesday 10:00)              {figures.nudge_s:8.2f} s"
        f"  ({figures.nudges:,} nudges, {figures.nudges / figures.nudge_s:,.0f}/s)",
        f"closing the unanswered (Thursday 10:00)     {figures.expire_s:8.2f} s"
        f"  ({figures.expired:,} expired, {figures.expired / figures.expire_s:,.0f}/s)",
        "traced Python memory per job tick (peak)   "
        + ", ".join(f"{peak:.1f}" for peak in figures.tick_peak_mib)
        + f" MiB (first {len(figures.tick_peak_mib)} ticks of the second week)",
        "resident memory (MiB)                      "
        + ", ".join(f"{phase} {value:.0f}" for phase, value in figures.rss_mib.items()),
    ]
    if figures.database_mib is not None:
        lines.append(f"database on disk                            {figures.database_mib:8.1f} MiB")
    for name, plan in figures.plans.items():
        lines.append(f"plan, {name}:")
        lines.extend(f"    {line}" for line in plan)
    return "\n".join(lines)


async def run(participants: int, compare: int | None, url: str | None) -> None:
    install_keyring(Keyring(generate_key()))
    batch = CheckinPolicy().batch_size
    sizes = [size for size in (compare, participants) if size]
    results = []
    for size in sizes:
        figures = await measure(size, url)
        results.append(figures)
        print(report(figures, batch), flush=True)
        print(flush=True)
    if len(results) == 2:
        small, large = results
        print(
            f"memory per tick: {max(small.tick_peak_mib):.1f} MiB at {small.participants:,},"
            f" {max(large.tick_peak_mib):.1f} MiB at {large.participants:,} participants"
            f" ({large.participants // small.participants}x the participants)"
        )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench checkins", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument(
        "--compare", type=int, default=10_000, help="a smaller run to compare memory with (0: none)"
    )
    parser.add_argument("--database-url", default=None, help="PostgreSQL URL (default: SQLite)")
    options = parser.parse_args(argv)
    asyncio.run(run(options.participants, options.compare or None, options.database_url))
    return 0
