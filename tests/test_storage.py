"""Storage: migrations match the models on every backend; state and outbox behave."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect

from storage import migrate
from storage.db import Database
from storage.models import Base, OutboxKind, OutboxStatus
from storage.uow import UnitOfWork

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def test_migrations_create_exactly_the_schema_the_models_describe(database: Database) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with database.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []
    assert await migrate.current_revisions(database) == migrate.head_revisions()


async def test_migrations_go_down_to_nothing_and_up_again(database: Database) -> None:
    await migrate.downgrade(database, "base")

    def tables(connection: Connection) -> set[str]:
        return set(inspect(connection).get_table_names()) - {"alembic_version"}

    async with database.engine.connect() as connection:
        assert await connection.run_sync(tables) == set()
    await migrate.upgrade(database)
    async with database.engine.connect() as connection:
        assert "participant" in await connection.run_sync(tables)


async def test_conversation_state_survives_a_new_session(database: Database) -> None:
    async with UnitOfWork(database) as uow:
        await uow.conversations.set(42, flow="onb", step="consent", now=NOW, data={"invite": "X"})
        await uow.commit()
    async with UnitOfWork(database) as uow:
        conversation = await uow.conversations.get(42)
        assert conversation is not None
        assert (conversation.flow, conversation.step, conversation.data) == (
            "onb",
            "consent",
            {"invite": "X"},
        )


async def test_a_rolled_back_unit_of_work_leaves_no_state(database: Database) -> None:
    async with UnitOfWork(database) as uow:
        await uow.conversations.set(7, flow="onb", step="language", now=NOW)
    async with UnitOfWork(database) as uow:
        assert await uow.conversations.get(7) is None


async def test_an_outbox_key_is_queued_once(database: Database) -> None:
    async with UnitOfWork(database) as uow:
        first = await uow.outbox.add(
            chat_id=1,
            payload={"method": "sendMessage", "text": "hej"},
            key="k1",
            kind=OutboxKind.REMINDER,
            due_at=NOW,
            now=NOW,
        )
        second = await uow.outbox.add(
            chat_id=1,
            payload={"method": "sendMessage", "text": "hej"},
            key="k1",
            kind=OutboxKind.REMINDER,
            due_at=NOW,
            now=NOW,
        )
        await uow.commit()
    assert first is not None and first.status is OutboxStatus.PENDING
    assert second is None
