"""Repositories for the core tables. They query and add; they never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, inspect, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Cohort,
    ConsentRefusal,
    Conversation,
    Invite,
    Mentor,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantStatus,
)


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session


class Cohorts(Repository):
    async def by_name(self, name: str) -> Cohort | None:
        result = await self.session.scalars(select(Cohort).where(Cohort.name == name))
        return result.first()

    async def get(self, cohort_id: int) -> Cohort | None:
        return await self.session.get(Cohort, cohort_id)

    async def all(self) -> Sequence[Cohort]:
        return (await self.session.scalars(select(Cohort).order_by(Cohort.name))).all()

    async def add(self, name: str, now: datetime) -> Cohort:
        cohort = Cohort(name=name, created_at=now)
        self.session.add(cohort)
        await self.session.flush()
        return cohort


class Mentors(Repository):
    async def get(self, mentor_id: int) -> Mentor | None:
        return await self.session.get(Mentor, mentor_id)

    async def by_telegram_id(self, telegram_user_id: int) -> Mentor | None:
        result = await self.session.scalars(
            select(Mentor).where(Mentor.telegram_user_id == telegram_user_id, Mentor.active)
        )
        return result.first()

    async def all(self) -> Sequence[Mentor]:
        return (await self.session.scalars(select(Mentor).order_by(Mentor.id))).all()

    async def add(
        self,
        *,
        name: str,
        languages: Sequence[str],
        now: datetime,
        telegram_user_id: int | None = None,
        is_coordinator: bool = False,
        caseload_limit: int | None = None,
    ) -> Mentor:
        mentor = Mentor(
            name=name,
            languages=",".join(languages),
            locale=languages[0] if languages else None,
            telegram_user_id=telegram_user_id,
            is_coordinator=is_coordinator,
            caseload_limit=caseload_limit,
            created_at=now,
        )
        self.session.add(mentor)
        await self.session.flush()
        return mentor


class Invites(Repository):
    async def by_code(self, code: str) -> Invite | None:
        result = await self.session.scalars(select(Invite).where(Invite.code == code))
        return result.first()

    async def add(self, invite: Invite) -> Invite:
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def all(self) -> Sequence[Invite]:
        return (await self.session.scalars(select(Invite).order_by(Invite.id))).all()


class Participants(Repository):
    async def get(self, participant_id: int) -> Participant | None:
        return await self.session.get(Participant, participant_id)

    async def by_telegram_id(self, telegram_user_id: int) -> Participant | None:
        result = await self.session.scalars(
            select(Participant).where(Participant.telegram_user_id == telegram_user_id)
        )
        return result.first()

    async def by_public_id(self, public_id: str) -> Participant | None:
        result = await self.session.scalars(
            select(Participant).where(Participant.public_id == public_id.upper())
        )
        return result.first()

    async def public_id_taken(self, public_id: str) -> bool:
        count = await self.session.scalar(
            select(func.count()).where(Participant.public_id == public_id)
        )
        return bool(count)

    async def of_mentor(
        self, mentor_id: int, statuses: Sequence[ParticipantStatus] | None = None
    ) -> Sequence[Participant]:
        query = select(Participant).where(Participant.mentor_id == mentor_id)
        if statuses:
            query = query.where(Participant.status.in_(list(statuses)))
        return (await self.session.scalars(query.order_by(Participant.public_id))).all()

    async def add(self, participant: Participant) -> Participant:
        self.session.add(participant)
        await self.session.flush()
        return participant

    async def add_refusal(self, *, cohort_id: int | None, locale: str, now: datetime) -> None:
        self.session.add(ConsentRefusal(cohort_id=cohort_id, locale=locale, refused_at=now))


def _still_held(
    session: AsyncSession, conversation: Conversation | None, telegram_user_id: int
) -> Conversation | None:
    """`conversation` if it is this user's row, stored and not deleted, in this session."""
    if conversation is None or conversation.telegram_user_id != telegram_user_id:
        return None
    state = inspect(conversation)
    if not state.persistent or state.session is not session.sync_session:
        return None
    return conversation


class Conversations(Repository):
    async def get(self, telegram_user_id: int, *, lock: bool = True) -> Conversation | None:
        """The user's flow state, locked for this transaction where the database can."""
        query = select(Conversation).where(Conversation.telegram_user_id == telegram_user_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def set(
        self,
        telegram_user_id: int,
        *,
        flow: str,
        step: str,
        now: datetime,
        data: dict[str, Any] | None = None,
        locale: str | None = None,
        current: Conversation | None = None,
    ) -> Conversation:
        """Move the user's state; `current` is their row as this transaction already read
        (and locked) it, which spares reading it again."""
        conversation = _still_held(self.session, current, telegram_user_id)
        if conversation is None:
            conversation = await self.get(telegram_user_id)
        if conversation is None:
            conversation = Conversation(telegram_user_id=telegram_user_id)
            self.session.add(conversation)
        conversation.flow = flow
        conversation.step = step
        conversation.data = dict(data or {})
        if locale is not None:
            conversation.locale = locale
        conversation.updated_at = now
        await self.session.flush()
        return conversation

    async def clear(self, telegram_user_id: int, *, current: Conversation | None = None) -> None:
        conversation = _still_held(self.session, current, telegram_user_id)
        if conversation is None:
            conversation = await self.get(telegram_user_id)
        if conversation is not None:
            await self.session.delete(conversation)
            await self.session.flush()


class Outbox(Repository):
    async def add(
        self,
        *,
        chat_id: int,
        payload: dict[str, Any],
        key: str,
        kind: OutboxKind,
        due_at: datetime,
        now: datetime,
        priority: int = 50,
        participant_id: int | None = None,
        mentor_id: int | None = None,
        claimed_until: datetime | None = None,
        appointment_id: int | None = None,
    ) -> OutboxMessage | None:
        """Queue a message once per key; a key seen before returns None and adds nothing."""
        existing = await self.session.scalar(
            select(func.count()).where(OutboxMessage.idempotency_key == key)
        )
        if existing:
            return None
        row = OutboxMessage(
            chat_id=chat_id,
            payload=payload,
            idempotency_key=key,
            kind=kind,
            priority=priority,
            due_at=due_at,
            available_at=due_at,
            participant_id=participant_id,
            mentor_id=mentor_id,
            created_at=now,
            status=OutboxStatus.SENDING if claimed_until else OutboxStatus.PENDING,
            lease_until=claimed_until,
            attempts=0,
            appointment_id=appointment_id,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def add_many(self, rows: Sequence[dict[str, Any]], *, now: datetime) -> None:
        """Queue many messages in one statement, each once per key (a key seen before is
        skipped, as in `add`). Each row: chat_id, payload, key, kind, priority, due_at and
        optionally participant_id, mentor_id. For jobs that queue thousands at a time."""
        if not rows:
            return
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        values = [
            {
                "chat_id": row["chat_id"],
                "payload": row["payload"],
                "idempotency_key": row["key"],
                "kind": row["kind"],
                "priority": row["priority"],
                "due_at": row["due_at"],
                "available_at": row["due_at"],
                "participant_id": row.get("participant_id"),
                "mentor_id": row.get("mentor_id"),
                "created_at": now,
                "status": OutboxStatus.PENDING,
                "attempts": 0,
            }
            for row in rows
        ]
        await self.session.execute(
            insert(OutboxMessage).on_conflict_do_nothing(index_elements=["idempotency_key"]),
            values,
        )
