"""Schema migrations, run from code: `stegvis db upgrade`, `stegvis run` at start, and tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str = "") -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    config.set_main_option("version_path_separator", "os")
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def _downgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _current(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


async def upgrade(database: Database, revision: str = "heads") -> None:
    async with database.engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)


async def downgrade(database: Database, revision: str) -> None:
    async with database.engine.begin() as connection:
        await connection.run_sync(_downgrade, revision)


async def current_revisions(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        return await connection.run_sync(_current)


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def autogenerate(message: str, rev_id: str, scratch: Path) -> None:
    """Write a new migration from the difference between the models and the migrations so
    far, computed on a scratch SQLite file. Read and tidy what it writes."""
    scratch.unlink(missing_ok=True)  # noqa: ASYNC240 - a developer command, not a hot path
    database = Database(f"sqlite+aiosqlite:///{scratch}")

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
        command.revision(config, message=message, autogenerate=True, rev_id=rev_id)

    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        await database.dispose()
        scratch.unlink(missing_ok=True)  # noqa: ASYNC240
