"""Re-seal every encrypted value under the current key, while the bot keeps running.

After a new key is configured (with the old one still among STEGVIS_ENCRYPTION_OLD_KEYS),
the bot already reads both and writes only the new; `stegvis keys rotate` then walks every
encrypted column in small batches and re-seals what the old key sealed. Each row is
updated only if it still holds the value that was read, so a participant's answer
written in between is never overwritten. When it reports nothing left, the old key can go.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Table, Text, literal, select, type_coerce, update

from storage.crypto import PREFIX, Keyring
from storage.db import Database
from storage.models import Base
from storage.types import EncryptedJSON, EncryptedText


@dataclass(frozen=True)
class SealedColumn:
    table: Table
    column: Column[str]
    purpose: str


def sealed_columns() -> list[SealedColumn]:
    found: list[SealedColumn] = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, EncryptedText | EncryptedJSON):
                found.append(SealedColumn(table, column, column.type.purpose))
    return found


async def rotate(database: Database, keyring: Keyring, batch: int = 500) -> dict[str, int]:
    """Re-seal values not sealed by the current key; {table.column: rows re-sealed}."""
    current = f"{PREFIX}:{keyring.current_id}:%"
    counts: dict[str, int] = {}
    for sealed in sealed_columns():
        (key_column,) = sealed.table.primary_key.columns
        raw = type_coerce(sealed.column, Text())
        done = 0
        last_key = None
        while True:
            query = (
                select(key_column, raw)
                .where(raw.is_not(None), ~raw.like(current))
                .order_by(key_column)
                .limit(batch)
            )
            if last_key is not None:
                query = query.where(key_column > last_key)
            async with database.session() as session, session.begin():
                rows = (await session.execute(query)).all()
                for key, value in rows:
                    plain = keyring.decrypt(value, sealed.purpose)
                    resealed = keyring.encrypt(plain, sealed.purpose)
                    result = await session.execute(
                        update(sealed.table)
                        .where(key_column == key, raw == value)
                        .values({sealed.column.name: literal(resealed, type_=Text())})
                    )
                    done += getattr(result, "rowcount", 0) or 0
            if len(rows) < batch:
                break
            last_key = rows[-1][0]
        counts[f"{sealed.table.name}.{sealed.column.name}"] = done
    return counts


async def remaining(database: Database, keyring: Keyring) -> int:
    """How many values the current key did not seal."""
    current = f"{PREFIX}:{keyring.current_id}:%"
    total = 0
    async with database.session() as session:
        for sealed in sealed_columns():
            raw = type_coerce(sealed.column, Text())
            rows = await session.execute(select(raw).where(raw.is_not(None), ~raw.like(current)))
            total += len(rows.all())
    return total
