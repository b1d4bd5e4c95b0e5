"""The database: one async engine per process, SQLite by default, PostgreSQL to scale out.

SQLite gets WAL, foreign keys and `BEGIN IMMEDIATE` transactions: it has one writer at a
time anyway, and taking the write lock at the start of a transaction (instead of at its
first write) means two handlers never both read a state and then both try to move it.
Sessions that only read (`read_session`) begin without the lock, so they never queue
behind the writers.
PostgreSQL gets row locks (`FOR UPDATE`, `SKIP LOCKED`) from the repositories instead.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

# An execution option: the session only reads (see `Database.read_session`).
READ_ONLY = "stegvis_read_only"

# PostgreSQL answers that mean "not reachable now": the connection exception class, an
# administrator or crash shutdown, a server starting up, too many connections.
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03", "53300")
# SQLite answers that mean the same: busy, locked, I/O error, disk full, cannot open.
_UNREACHABLE_SQLITE = {5, 6, 10, 13, 14}
# Errors of these packages are about Telegram, never the database, whatever they wrap.
_NOT_THE_DATABASE = {"telegram", "httpx", "httpcore"}


class DatabaseUnavailable(Exception):
    """An attempt failed because the database could not be reached; not a failed attempt."""


def _causes(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [error]
    while todo:
        current = todo.pop()
        if current is None or any(current is known for known in seen):
            continue
        if type(current).__module__.split(".")[0] in _NOT_THE_DATABASE:
            continue
        seen.append(current)
        orig = getattr(current, "orig", None)
        todo.extend(
            [
                orig if isinstance(orig, BaseException) else None,
                current.__cause__,
                current.__context__,
            ]
        )
    return seen


def report_failure(logger: logging.Logger, error: BaseException, message: str, *args: Any) -> None:
    """Log a failed step of a loop that tries again: one line without a traceback when the
    database is away (an outage would otherwise fill the log with identical tracebacks),
    the whole traceback when it is a fault of our own."""
    if unreachable(error):
        logger.warning(message + " (the database is unreachable: %s)", *args, type(error).__name__)
    else:
        logger.error(message, *args, exc_info=error)


def unreachable(error: BaseException) -> bool:
    """Whether an error means the database could not be reached (refused, cut off, shut
    down, busy), as opposed to an error in what was asked of it (a bug, bad data)."""
    for cause in _causes(error):
        if isinstance(cause, DatabaseUnavailable | sa_exc.DisconnectionError):
            return True
        if isinstance(cause, sa_exc.TimeoutError):  # no pooled connection came in time
            return True
        if isinstance(cause, sa_exc.DBAPIError) and (
            cause.connection_invalidated or cause.statement is None  # None: while connecting
        ):
            return True
        if isinstance(cause, OSError):  # refused, reset, timed out in the driver
            return True
        if isinstance(cause, sqlite3.OperationalError):
            code = getattr(cause, "sqlite_errorcode", None)
            if isinstance(code, int) and code & 0xFF in _UNREACHABLE_SQLITE:
                return True
            continue
        module = type(cause).__module__.split(".")[0]
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str) and state.startswith(_UNREACHABLE_STATES):
            return True
        if module == "asyncpg" and type(cause).__name__ in (
            "ConnectionDoesNotExistError",
            "ConnectionFailureError",
            "ClientCannotConnectError",
        ):
            return True
        if module == "psycopg" and type(cause).__name__ == "OperationalError" and state is None:
            return True  # psycopg's own "connection failed" / "server closed the connection"
    return False


class Outage:
    """What one process knows of the database being out: logged once when it starts
    (WARNING, ids only) and once when it answers again (INFO), and a capped backoff for
    whoever waits for it."""

    def __init__(self, first: float = 0.2, cap: float = 5.0) -> None:
        self.first = first
        self.cap = cap
        self.since: float | None = None
        self.outages = 0

    @property
    def down(self) -> bool:
        return self.since is not None

    def delay(self, tries: int) -> float:
        """The wait before try number `tries` (from 1): first, doubling, at most cap."""
        return float(min(self.cap, self.first * 2 ** min(max(tries - 1, 0), 16)))

    def failed(self, error: BaseException, where: str) -> None:
        if self.since is None:
            self.since = asyncio.get_running_loop().time()
            self.outages += 1
            log.warning(
                "database unreachable (%s in %s); waiting for it, nothing is given up",
                type(error).__name__,
                where,
            )

    def answered(self) -> None:
        if self.since is not None:
            took = asyncio.get_running_loop().time() - self.since
            self.since = None
            log.info("database answers again after %.1fs", took)


def normalize_url(url: str) -> URL:
    """Accept the URLs people write and pick the async driver for them."""
    parsed = make_url(url)
    driver = parsed.drivername
    if driver in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif driver == "postgresql+psycopg2":
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif driver in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed


class Database:
    def __init__(self, url: str, *, schema: str | None = None, pool_size: int = 10) -> None:
        self.url = normalize_url(url)
        self.schema = schema
        kwargs: dict[str, Any] = {}
        connect_args: dict[str, Any] = {}
        if self.is_sqlite:
            database = self.url.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            connect_args["timeout"] = 30
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size
            kwargs["pool_pre_ping"] = True
            if schema:
                if self.url.drivername.endswith("asyncpg"):
                    connect_args["server_settings"] = {"search_path": schema}
                else:
                    connect_args["options"] = f"-csearch_path={schema}"
        self.engine: AsyncEngine = create_async_engine(
            self.url, connect_args=connect_args, **kwargs
        )
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False
        )

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.url.get_backend_name() == "postgresql"

    def session(self) -> AsyncSession:
        return self.sessions()

    def read_session(self) -> AsyncSession:
        """A session for reading only: on SQLite its transaction does not take the write
        lock (WAL readers see the last commit and never wait for the writer)."""
        return self.read_sessions()

    async def dispose(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
