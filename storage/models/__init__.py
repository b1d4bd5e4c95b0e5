"""Every table, imported in one place so metadata and Alembic see them all."""

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
from storage.models.reminders import (
    Appointment,
    AppointmentAnswer,
    AppointmentStatus,
    Campaign,
    CampaignOccurrence,
    CampaignState,
)

__all__ = [
    "Appointment",
    "AppointmentAnswer",
    "AppointmentStatus",
    "Base",
    "Campaign",
    "CampaignOccurrence",
    "CampaignState",
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
]
