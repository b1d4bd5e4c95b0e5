"""The database: one async engine per process, SQLite by default, PostgreSQL to scale out.

SQLite gets WAL, foreign keys and `BEGIN IMMEDIATE` transactions: it has one writer at a
time anyway, and taking the write lock at the start of a transaction (instead of at its
first write) means two handlers never both read a state and then both try to move it.
Sessions that only read (`read_session`) begin without the lock, so they never queue
behind the writers.
PostgreSQL gets row locks (`FOR UPDATE`, `SKIP LOCKED`) from the repositories instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

# An execution option: the session only reads (see `Database.read_session`).
READ_ONLY = "stegvis_read_only"


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
