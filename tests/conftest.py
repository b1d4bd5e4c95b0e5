"""Shared fixtures: a migrated database per test (SQLite, and PostgreSQL where configured),
an encryption key, a manual clock and predictable randomness.

`database` runs a test on every configured backend; `sqlite_database` on SQLite only, for
the end-to-end tests whose subject is the conversation, not the storage engine.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.clock import ManualClock
from storage import migrate
from storage.crypto import Keyring, generate_key, install_keyring
from storage.db import Database

POSTGRES_URL = os.environ.get("STEGVIS_TEST_DATABASE_URL", "")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES_URL else [])]
TEST_KEY = generate_key()


@pytest.fixture(scope="session")
def _session_keyring() -> Keyring:
    return Keyring(TEST_KEY)


@pytest.fixture(autouse=True)
def _keyring(_session_keyring: Keyring) -> Keyring:
    """Every test starts with the test key: a command run in-process may install its own."""
    install_keyring(_session_keyring)
    return _session_keyring


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests build their settings explicitly; nothing leaks in from the shell."""
    for name in list(os.environ):
        if name.startswith("STEGVIS_") and name != "STEGVIS_TEST_DATABASE_URL":
            monkeypatch.delenv(name, raising=False)


class PreparedSqlite:
    """A migrated SQLite file made once per session; each test gets a copy."""

    def __init__(self) -> None:
        self.path: Path | None = None


_prepared = PreparedSqlite()


async def _sqlite_template(tmp_root: Path) -> Path:
    if _prepared.path is None:
        path = tmp_root / "template.sqlite3"
        database = Database(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(database)
        await database.dispose()
        _prepared.path = path
    return _prepared.path


@pytest.fixture(scope="session")
def _template_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("template")


async def make_database(backend: str, tmp_path: Path, template_dir: Path) -> Database:
    if backend == "sqlite":
        template = await _sqlite_template(template_dir)
        path = tmp_path / "stegvis.sqlite3"
        shutil.copy(template, path)
        return Database(f"sqlite+aiosqlite:///{path}")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(POSTGRES_URL)
    async with admin.engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    await admin.dispose()
    database = Database(POSTGRES_URL, schema=schema)
    await migrate.upgrade(database)
    return database


async def drop_database(database: Database) -> None:
    await database.dispose()
    if database.schema:
        admin = Database(POSTGRES_URL)
        async with admin.engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{database.schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture(params=BACKENDS)
async def database(
    request: pytest.FixtureRequest, tmp_path: Path, _template_dir: Path
) -> AsyncIterator[Database]:
    db = await make_database(request.param, tmp_path, _template_dir)
    yield db
    await drop_database(db)


@pytest.fixture
async def sqlite_database(tmp_path: Path, _template_dir: Path) -> AsyncIterator[Database]:
    db = await make_database("sqlite", tmp_path, _template_dir)
    yield db
    await drop_database(db)


@pytest.fixture
def clock() -> ManualClock:
    # A Monday morning in Stockholm, in winter time.
    return ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))


class CountingRandomness:
    """Predictable tokens and jitter, so tests can name codes before they exist."""

    def __init__(self) -> None:
        self.counter = 0

    def token(self, length: int) -> str:
        self.counter += 1
        return f"{self.counter:0{length}d}"[-length:].replace("0", "A").replace("1", "B")

    def uniform(self, low: float, high: float) -> float:
        return high


@pytest.fixture
def randomness() -> CountingRandomness:
    return CountingRandomness()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("STEGVIS_TEST_DATABASE_URL is not set")
    yield POSTGRES_URL
