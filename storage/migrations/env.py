"""Alembic environment: runs on a connection we hand it, or on STEGVIS_DATABASE_URL."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy import Enum
from sqlalchemy.engine import Connection

from storage.models import Base
from storage.types import EncryptedJSON, EncryptedText, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _render_item(kind: str, item: Any, autogen_context: Any) -> str | Literal[False]:
    """Migrations name plain column types: ours are Python-side wrappers over them."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime()"
    if kind == "type" and isinstance(item, EncryptedText | EncryptedJSON):
        return "sa.Text()"
    if kind == "type" and isinstance(item, Enum) and not item.native_enum:
        return f"sa.String(length={item.length})"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_on_url(url: str) -> None:
    from storage.db import Database

    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await database.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_on_url(config.get_main_option("sqlalchemy.url") or ""))
