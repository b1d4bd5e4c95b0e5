"""Which errors mean "the database could not be reached" (tried again, not counted as an
attempt) and which are errors in the handling (counted, given up after the attempts)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from telegram.error import NetworkError

from bot.clock import ManualClock
from bot.inbox import InboxProcessor, store
from storage import migrate
from storage.db import Database, DatabaseUnavailable, Outage, report_failure, unreachable


def wrapped(
    orig: BaseException, *, invalidated: bool = False, statement: str | None = "SELECT 1"
) -> sa_exc.DBAPIError:
    error = sa_exc.DBAPIError.instance(
        statement, {}, orig, Exception, connection_invalidated=invalidated
    )
    assert isinstance(error, sa_exc.DBAPIError)
    return error


class FakePostgresError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def sqlite_error(code: int) -> sqlite3.OperationalError:
    error = sqlite3.OperationalError("sqlite")
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "refused"),
        wrapped(RuntimeError("cannot switch state"), invalidated=True),
        wrapped(FakePostgresError("55000"), statement=None),  # while connecting
        wrapped(FakePostgresError("57P01")),  # terminated by an administrator
        wrapped(FakePostgresError("08006")),
        wrapped(sqlite_error(5)),  # busy
        wrapped(sqlite_error(13)),  # disk full
        sa_exc.TimeoutError("no pooled connection"),
        DatabaseUnavailable(1),
    ],
    ids=lambda error: type(error).__name__ + ":" + str(error)[:20],
)
def test_an_unreachable_database_is_recognised(error: BaseException) -> None:
    assert unreachable(error)
    try:
        raise RuntimeError("handler") from error
    except RuntimeError as outer:
        assert unreachable(outer)  # also beneath the handler's own error


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug"),
        wrapped(FakePostgresError("23505")),  # unique violation: bad data
        wrapped(sqlite_error(1)),  # no such table
        sa_exc.IntegrityError("INSERT", {}, Exception("duplicate")),
    ],
    ids=lambda error: type(error).__name__ + ":" + str(error)[:20],
)
def test_errors_in_the_handling_count(error: BaseException) -> None:
    assert not unreachable(error)


def test_telegram_network_errors_are_not_the_database() -> None:
    try:
        raise NetworkError("dropped") from ConnectionResetError(104, "reset")
    except NetworkError as error:
        assert not unreachable(error)


def test_the_backoff_doubles_to_its_cap() -> None:
    outage = Outage(first=0.2, cap=5.0)
    assert [outage.delay(n) for n in range(1, 8)] == [0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]


async def test_an_update_that_met_an_unreachable_database_is_tried_again_not_counted(
    tmp_path: Path,
) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}")
    await migrate.upgrade(database)
    clock = ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    seen: list[int] = []

    async def handle(update_id: int, payload: dict[str, Any], attempt: int) -> bool:
        seen.append(attempt)
        if len(seen) <= 6:  # six tries while the database is out: more than attempts
            raise DatabaseUnavailable(update_id)
        return True

    processor = InboxProcessor(database, clock, handle, outage=Outage(first=0.001, cap=0.004))
    await store(database, [{"update_id": 1, "message": {"chat": {"id": 5}}}], clock)
    finished = processor.done(1)
    stop = asyncio.Event()
    running = asyncio.create_task(processor.run_forever(stop))
    await asyncio.wait_for(finished, timeout=10)
    stop.set()
    processor.close()
    await asyncio.wait_for(running, timeout=10)
    await processor.drain()
    await database.dispose()
    assert seen == [1] * 7  # the same first attempt, never counted up
    assert not processor.outage.down


async def test_closing_stops_waiting_for_the_database(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'inbox.db'}")
    await migrate.upgrade(database)
    clock = ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))

    entered = asyncio.Event()

    async def handle(update_id: int, payload: dict[str, Any], attempt: int) -> bool:
        entered.set()
        raise DatabaseUnavailable(update_id)

    processor = InboxProcessor(database, clock, handle, outage=Outage(first=60.0, cap=60.0))
    await store(database, [{"update_id": 1, "message": {"chat": {"id": 5}}}], clock)
    finished = processor.done(1)
    stop = asyncio.Event()
    running = asyncio.create_task(processor.run_forever(stop))
    await asyncio.wait_for(entered.wait(), timeout=10)
    stop.set()
    processor.close()
    await asyncio.wait_for(running, timeout=10)
    await asyncio.wait_for(processor.drain(), timeout=5)  # not the 60 s backoff
    assert finished.done()
    await database.dispose()


def test_a_loop_that_meets_an_unreachable_database_logs_one_line_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An outage would otherwise fill the log with the same traceback every second; a fault
    of our own keeps its traceback."""
    logger = logging.getLogger("stegvis.test.loop")
    away = sa_exc.OperationalError(
        "SELECT", {}, ConnectionRefusedError(), connection_invalidated=True
    )
    with caplog.at_level(logging.WARNING, logger=logger.name):
        report_failure(logger, away, "claiming outbox rows failed; trying again")
        report_failure(logger, ValueError("a bug"), "job %s failed", "checkins")
    unreachable_line, bug_line = caplog.records
    assert unreachable_line.levelno == logging.WARNING and unreachable_line.exc_info is None
    assert unreachable_line.getMessage() == (
        "claiming outbox rows failed; trying again (the database is unreachable: OperationalError)"
    )
    assert bug_line.levelno == logging.ERROR and bug_line.exc_info is not None
    assert bug_line.getMessage() == "job checkins failed"
