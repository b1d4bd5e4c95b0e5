"""The audit trail: who looked at or changed what, and when.

Participants are told at joining that every time someone opens their data, it is written
down (GDPR art. 9 data deserves an access log). Rows are only ever added: the app has no
code that changes or deletes them, and the migration adds database triggers that refuse
an UPDATE or DELETE, so the trail cannot be quietly edited afterwards. A row holds ids
and an action, never names or free text.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


class AuditAction(StrEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    LOCKED_OUT = "locked_out"
    SIGN_OUT = "sign_out"
    READ_PARTICIPANT = "read_participant"
    REFUSED_PARTICIPANT = "refused_participant"  # a mentor tried another mentor's participant
    SEARCH_PARTICIPANTS = "search_participants"
    CREATE_INVITE = "create_invite"
    REVOKE_INVITE = "revoke_invite"
    EXPORT = "export"
    CHANGE_CASE = "change_case"
    CREATE_CAMPAIGN = "create_campaign"
    CHANGE_CAMPAIGN = "change_campaign"  # paused, resumed or cancelled (in the detail)
    READ_CASE = "read_case"
    REFUSED_CASE = "refused_case"  # a mentor tried a case they may not see


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    # Who: a dashboard account, or a mentor acting through the bot (or both, for a
    # mentor signed in to the dashboard).
    staff_account_id: Mapped[int | None] = mapped_column(ForeignKey("staff_account.id"))
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("mentor.id"))
    action: Mapped[AuditAction]
    # The subject, when it is one participant.
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"))
    # Other ids the action concerns (an invite id, a case id); never personal text.
    object_id: Mapped[int | None]
    # Structured, non-personal detail: a date range of an export, say.
    detail: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_audit_event_participant_id_at", "participant_id", "at"),
        Index("ix_audit_event_at", "at"),
    )
