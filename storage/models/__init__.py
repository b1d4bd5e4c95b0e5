"""Every table, imported in one place so metadata and Alembic see them all."""

from storage.models.audit import (
    AuditAction,
    AuditEvent,
)
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
from storage.models.escalation import (
    Audience,
    Circle,
    Escalation,
    EscalationCategory,
    EscalationEvent,
    EscalationMessage,
    EscalationOutbox,
    EscalationSource,
    EscalationStatus,
    EventKind,
    MessageKind,
    Sender,
)
from storage.models.messaging import (
    InboxStatus,
    InboxUpdate,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
)
from storage.models.reminders import (
    Appointment,
    AppointmentAnswer,
    AppointmentStatus,
    Campaign,
    CampaignOccurrence,
    CampaignState,
)
from storage.models.staff import (
    StaffAccount,
    StaffRole,
)

__all__ = [
    "Appointment",
    "AppointmentAnswer",
    "AppointmentStatus",
    "Audience",
    "AuditAction",
    "AuditEvent",
    "Base",
    "Campaign",
    "CampaignOccurrence",
    "CampaignState",
    "Circle",
    "Cohort",
    "ConsentRefusal",
    "Conversation",
    "Escalation",
    "EscalationCategory",
    "EscalationEvent",
    "EscalationMessage",
    "EscalationOutbox",
    "EscalationSource",
    "EscalationStatus",
    "EventKind",
    "InboxStatus",
    "InboxUpdate",
    "Invite",
    "InviteKind",
    "Mentor",
    "MessageKind",
    "OutboxKind",
    "OutboxMessage",
    "OutboxStatus",
    "Participant",
    "ParticipantStatus",
    "Sender",
    "StaffAccount",
    "StaffRole",
]
