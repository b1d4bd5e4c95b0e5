"""Key rotation re-seals stored free text under the new key without losing a word."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from storage.crypto import Keyring, generate_key, install_keyring
from storage.db import Database
from storage.models import Participant
from storage.rotation import remaining, rotate

NOW = datetime(2026, 1, 5, tzinfo=UTC)


async def add_participant(database: Database, public_id: str, name: str) -> None:
    async with database.session() as session, session.begin():
        session.add(
            Participant(
                public_id=public_id,
                telegram_user_id=hash(public_id) % 10**9,
                display_name=name,
                locale="sv",
                joined_at=NOW,
            )
        )


async def raw_names(database: Database) -> list[str]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(text("SELECT display_name FROM participant ORDER BY id"))
        return [row[0] for row in rows]


async def test_rotation_reseals_everything_and_the_old_key_can_go(
    database: Database, _keyring: Keyring
) -> None:
    old_key, new_key = generate_key(), generate_key()
    try:
        install_keyring(Keyring(old_key))
        for index, name in enumerate(["Sara", "Omar", "Zainab"]):
            await add_participant(database, f"POLD{index}", name)

        both = Keyring(new_key, [old_key])
        install_keyring(both)
        # The bot, already on the new key, writes while the rotation has not run yet.
        await add_participant(database, "PNEW1", "Alex")
        assert await remaining(database, both) == 3

        counts = await rotate(database, both, batch=2)
        assert counts["participant.display_name"] == 3
        assert await remaining(database, both) == 0
        assert all(
            value.startswith(f"enc1:{both.current_id}:") for value in await raw_names(database)
        )
        assert (await rotate(database, both))["participant.display_name"] == 0

        install_keyring(Keyring(new_key))  # the old key removed
        async with database.session() as session:
            names = [
                p.display_name
                for p in (
                    await session.execute(Participant.__table__.select().order_by(Participant.id))
                ).all()
            ]
        assert sorted(str(name) for name in names)
        async with database.session() as session:
            from sqlalchemy import select

            loaded = (await session.scalars(select(Participant).order_by(Participant.id))).all()
            assert [p.display_name for p in loaded] == ["Sara", "Omar", "Zainab", "Alex"]
    finally:
        install_keyring(_keyring)
