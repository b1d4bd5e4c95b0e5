"""Queries for requests for help (escalation cases). They read and add; they never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select

from storage.models import (
    Audience,
    Circle,
    Escalation,
    EscalationEvent,
    EscalationMessage,
    EscalationOutbox,
    EscalationStatus,
    EventKind,
    Mentor,
    OutboxMessage,
    Sender,
)
from storage.repositories import Repository

ACTIVE = (EscalationStatus.OPEN, EscalationStatus.CLAIMED)


class Escalations(Repository):
    async def get(self, escalation_id: int, *, lock: bool = False) -> Escalation | None:
        query = select(Escalation).where(Escalation.id == escalation_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def add(self, case: Escalation) -> Escalation:
        self.session.add(case)
        await self.session.flush()
        return case

    async def delete(self, case: Escalation) -> None:
        for model in (EscalationOutbox, EscalationEvent, EscalationMessage):
            await self.session.execute(delete(model).where(model.escalation_id == case.id))
        await self.session.delete(case)
        await self.session.flush()

    async def of_participant(
        self, participant_id: int, statuses: Sequence[EscalationStatus]
    ) -> Sequence[Escalation]:
        """The participant's cases in these statuses, newest first."""
        query = (
            select(Escalation)
            .where(
                Escalation.participant_id == participant_id,
                Escalation.status.in_(list(statuses)),
            )
            .order_by(Escalation.created_at.desc(), Escalation.id.desc())
        )
        return (await self.session.scalars(query)).all()

    async def due(self, now: datetime, limit: int = 200) -> Sequence[Escalation]:
        """Unclaimed cases whose SLA step has come, locked so two processes do not both
        re-notify (PostgreSQL skips rows another process holds)."""
        query = (
            select(Escalation)
            .where(
                Escalation.status == EscalationStatus.OPEN,
                Escalation.next_action_at.is_not(None),
                Escalation.next_action_at <= now,
            )
            .order_by(Escalation.next_action_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return (await self.session.scalars(query)).all()

    async def active(self, limit: int = 500) -> Sequence[Escalation]:
        """Open and claimed cases, urgent first, then oldest first."""
        query = (
            select(Escalation)
            .where(Escalation.status.in_(list(ACTIVE)))
            .order_by(Escalation.urgent.desc(), Escalation.created_at, Escalation.id)
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def in_status(self, status: EscalationStatus, limit: int = 500) -> Sequence[Escalation]:
        """Cases in one status: resolved ones newest first, the others oldest first (the
        caller orders those by their SLA)."""
        query = select(Escalation).where(Escalation.status == status)
        if status is EscalationStatus.RESOLVED:
            query = query.order_by(Escalation.resolved_at.desc(), Escalation.id.desc())
        else:
            query = query.order_by(Escalation.created_at, Escalation.id)
        return (await self.session.scalars(query.limit(limit))).all()

    async def stale_drafts(self, before: datetime) -> Sequence[Escalation]:
        query = select(Escalation).where(
            Escalation.status == EscalationStatus.DRAFT, Escalation.created_at < before
        )
        return (await self.session.scalars(query)).all()

    # Messages

    async def add_message(self, message: EscalationMessage) -> EscalationMessage:
        self.session.add(message)
        await self.session.flush()
        return message

    async def messages(
        self, escalation_id: int, *, sender: Sender | None = None
    ) -> Sequence[EscalationMessage]:
        query = select(EscalationMessage).where(EscalationMessage.escalation_id == escalation_id)
        if sender is not None:
            query = query.where(EscalationMessage.sender == sender)
        return (await self.session.scalars(query.order_by(EscalationMessage.id))).all()

    async def delete_unrelayed(self, escalation_id: int) -> int:
        """Delete what the participant wrote and was never passed on (they said no)."""
        result = await self.session.execute(
            delete(EscalationMessage).where(
                EscalationMessage.escalation_id == escalation_id,
                EscalationMessage.sender == Sender.PARTICIPANT,
                EscalationMessage.relayed_at.is_(None),
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def recent_from_participant(self, participant_id: int, since: datetime) -> int:
        """How many messages the participant sent into any case since `since`."""
        count = await self.session.scalar(
            select(func.count())
            .select_from(EscalationMessage)
            .join(Escalation, Escalation.id == EscalationMessage.escalation_id)
            .where(
                Escalation.participant_id == participant_id,
                EscalationMessage.sender == Sender.PARTICIPANT,
                EscalationMessage.created_at >= since,
            )
        )
        return int(count or 0)

    async def held(self, before: datetime) -> Sequence[EscalationMessage]:
        """Messages of shared, active cases held back by the flood limit until `before`."""
        query = (
            select(EscalationMessage)
            .join(Escalation, Escalation.id == EscalationMessage.escalation_id)
            .where(
                EscalationMessage.sender == Sender.PARTICIPANT,
                EscalationMessage.relayed_at.is_(None),
                EscalationMessage.created_at <= before,
                or_(Escalation.shared_at.is_not(None), Escalation.first_response_at.is_not(None)),
                Escalation.status.in_(list(ACTIVE)),
            )
            .order_by(EscalationMessage.escalation_id, EscalationMessage.id)
        )
        return (await self.session.scalars(query)).all()

    # Events

    def add_event(
        self,
        case: Escalation,
        kind: EventKind,
        now: datetime,
        *,
        mentor_id: int | None = None,
        circle: Circle | None = None,
        detail: str | None = None,
    ) -> None:
        self.session.add(
            EscalationEvent(
                escalation_id=case.id,
                kind=kind,
                mentor_id=mentor_id,
                circle=circle,
                detail=detail,
                at=now,
            )
        )

    async def events(self, escalation_id: int) -> Sequence[EscalationEvent]:
        await self.session.flush()
        query = (
            select(EscalationEvent)
            .where(EscalationEvent.escalation_id == escalation_id)
            .order_by(EscalationEvent.id)
        )
        return (await self.session.scalars(query)).all()

    async def last_event_at(
        self, participant_id: int, kind: EventKind, since: datetime
    ) -> datetime | None:
        """The latest event of this kind on any of the participant's cases since `since`."""
        await self.session.flush()
        return await self.session.scalar(
            select(func.max(EscalationEvent.at))
            .join(Escalation, Escalation.id == EscalationEvent.escalation_id)
            .where(
                Escalation.participant_id == participant_id,
                EscalationEvent.kind == kind,
                EscalationEvent.at >= since,
            )
        )

    async def notified_mentor_ids(self, escalation_id: int) -> list[int]:
        """Mentors told about the case so far, in the order they were first told."""
        await self.session.flush()
        rows = await self.session.scalars(
            select(EscalationEvent.mentor_id)
            .where(
                EscalationEvent.escalation_id == escalation_id,
                EscalationEvent.kind == EventKind.NOTIFIED,
                EscalationEvent.mentor_id.is_not(None),
            )
            .order_by(EscalationEvent.id)
        )
        return list(dict.fromkeys(mentor_id for mentor_id in rows if mentor_id is not None))

    # Outbox links

    def link(self, case: Escalation, outbox_id: int, audience: Audience) -> None:
        self.session.add(
            EscalationOutbox(escalation_id=case.id, outbox_id=outbox_id, audience=audience)
        )

    async def by_sent_message(self, chat_id: int, telegram_message_id: int) -> Escalation | None:
        """The case a bot message in this chat was about (a reply to it finds its case)."""
        query = (
            select(Escalation)
            .join(EscalationOutbox, EscalationOutbox.escalation_id == Escalation.id)
            .join(OutboxMessage, OutboxMessage.id == EscalationOutbox.outbox_id)
            .where(
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.telegram_message_id == telegram_message_id,
            )
        )
        return (await self.session.scalars(query)).first()

    async def sent_to_participant(self, escalation_id: int) -> list[int]:
        """Telegram ids of the bot's messages about the case in the participant's chat."""
        rows = await self.session.scalars(
            select(OutboxMessage.telegram_message_id)
            .join(EscalationOutbox, EscalationOutbox.outbox_id == OutboxMessage.id)
            .where(
                EscalationOutbox.escalation_id == escalation_id,
                EscalationOutbox.audience == Audience.PARTICIPANT,
                OutboxMessage.telegram_message_id.is_not(None),
            )
        )
        return [message_id for message_id in rows if message_id is not None]

    # Mentors

    async def mentors_speaking(self, locale: str) -> Sequence[Mentor]:
        """Active mentors on Telegram whose languages include `locale` (filtered exactly
        in Python: the column is a short comma list)."""
        query = select(Mentor).where(
            Mentor.active,
            Mentor.telegram_user_id.is_not(None),
            Mentor.unreachable_at.is_(None),
            Mentor.languages.contains(locale),
        )
        mentors = (await self.session.scalars(query.order_by(Mentor.id))).all()
        return [mentor for mentor in mentors if locale in mentor.language_list]

    async def coordinators(self) -> Sequence[Mentor]:
        query = select(Mentor).where(
            Mentor.active,
            Mentor.is_coordinator,
            Mentor.telegram_user_id.is_not(None),
            Mentor.unreachable_at.is_(None),
        )
        return (await self.session.scalars(query.order_by(Mentor.id))).all()
