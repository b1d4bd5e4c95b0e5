"""Every table, imported in one place so metadata and Alembic see them all."""

from storage.models.audit import AuditAction, AuditEvent
from storage.models.base import Base
from storage.models.core import (
    Cohort,
    ConsentRefusal,
    Conversation,
    Invite,
    InviteKind,
    Mentor,
    Participant,
    ParticipantStatus,
)
from storage.models.messaging import (
    InboxStatus,
    InboxUpdate,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from storage.models.staff import StaffAccount, StaffRole

__all__ = [
    "AuditAction",
    "AuditEvent",
    "Base",
    "Cohort",
    "ConsentRefusal",
    "Conversation",
    "InboxStatus",
    "InboxUpdate",
    "Invite",
    "InviteKind",
    "Mentor",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
    "Participant",
    "ParticipantStatus",
    "StaffAccount",
    "StaffRole",
]
