"""No table that holds something about a participant escapes /mydata, /delete and retention."""

from __future__ import annotations

from sqlalchemy import Table

from bot.domain.privacy import COVERAGE
from storage.models import Base
from storage.types import EncryptedJSON, EncryptedText

# Tables that hold no participant's data, and why.
NOT_ABOUT_PARTICIPANTS = {
    "cohort": "group names",
    "mentor": "staff and mentors",
    "invite": "codes, not people",
    "consent_refusal": "only the fact and the language of a refusal",
    "staff_account": "dashboard accounts",
    "campaign": "texts written by staff for a whole group",
    "campaign_occurrence": "when a campaign ran",
}


def refers_to_participants(table: Table, seen: set[str] | None = None) -> bool:
    seen = seen or set()
    if table.name in seen:
        return False
    seen.add(table.name)
    if table.name == "participant":
        return True
    names = {column.name for column in table.columns}
    if names & {"telegram_user_id", "participant_id", "chat_id"}:
        return True
    return any(refers_to_participants(key.column.table, seen) for key in table.foreign_keys)


def test_every_table_about_participants_has_its_rights_covered() -> None:
    tables = {table.name: table for table in Base.metadata.sorted_tables}
    about = {
        name
        for name, table in tables.items()
        if name not in NOT_ABOUT_PARTICIPANTS and refers_to_participants(table)
    }
    assert about - set(COVERAGE) == set(), "add these tables to bot.domain.privacy.COVERAGE"
    assert set(COVERAGE) - set(tables) == set(), "COVERAGE names tables that do not exist"


def test_every_table_with_sealed_text_is_either_covered_or_not_about_participants() -> None:
    for table in Base.metadata.sorted_tables:
        sealed = [c for c in table.columns if isinstance(c.type, EncryptedText | EncryptedJSON)]
        if sealed:
            assert table.name in COVERAGE or table.name in NOT_ABOUT_PARTICIPANTS, table.name
