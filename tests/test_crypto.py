"""Free text is sealed before it reaches the database, and keys can be rotated."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage.crypto import CryptoError, Keyring, generate_key, install_keyring
from storage.db import Database
from storage.models import Participant


def test_sealed_text_opens_with_its_key_and_purpose() -> None:
    keyring = Keyring(generate_key())
    sealed = keyring.encrypt("han slår mig", "escalation.message")
    assert "slår" not in sealed
    assert keyring.decrypt(sealed, "escalation.message") == "han slår mig"


def test_a_value_moved_to_another_column_does_not_open() -> None:
    keyring = Keyring(generate_key())
    sealed = keyring.encrypt("secret", "participant.display_name")
    with pytest.raises(CryptoError):
        keyring.decrypt(sealed, "escalation.message")


def test_an_old_key_still_opens_after_rotation_and_new_writes_use_the_new_key() -> None:
    old_key, new_key = generate_key(), generate_key()
    sealed_before = Keyring(old_key).encrypt("before", "p")
    rotated = Keyring(new_key, [old_key])
    assert rotated.decrypt(sealed_before, "p") == "before"
    assert rotated.needs_rotation(sealed_before)
    assert not rotated.needs_rotation(rotated.encrypt("after", "p"))


def test_a_missing_key_is_named() -> None:
    with pytest.raises(CryptoError, match="no key with id"):
        Keyring(generate_key()).decrypt(Keyring(generate_key()).encrypt("x", "p"), "p")


def test_malformed_keys_are_refused() -> None:
    with pytest.raises(CryptoError, match="32 bytes"):
        Keyring("c2hvcnQ=")


async def test_the_database_holds_no_readable_name(database: Database, keyring_guard: None) -> None:
    from datetime import UTC, datetime

    async with database.session() as session, session.begin():
        session.add(
            Participant(
                public_id="PTEST1",
                telegram_user_id=1,
                chat_id=1,
                display_name="Zainab",
                locale="ar",
                joined_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    async with database.engine.connect() as connection:
        raw = (await connection.execute(text("SELECT display_name FROM participant"))).scalar_one()
    assert "Zainab" not in raw
    async with database.session() as session:
        participant = await session.get(Participant, 1)
        assert participant is not None and participant.display_name == "Zainab"


@pytest.fixture
def keyring_guard(_keyring: Keyring) -> None:
    install_keyring(_keyring)
