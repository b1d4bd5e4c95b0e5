"""Repositories for the journey tables: they query and add, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update

from storage.models import (
    Application,
    Cohort,
    FollowUpQuestion,
    FollowUpStatus,
    LifecycleEvent,
    Mentor,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantStatus,
    PlanEvent,
    PlanGoal,
    PlanItemStatus,
    PlanStep,
    SignupAttempt,
    SignupDraft,
)
from storage.repositories import Repository

# A mentor's caseload: everyone they still keep in touch with.
CASELOAD_STATUSES = (ParticipantStatus.ACTIVE, ParticipantStatus.FOLLOW_UP)


class Lifecycle(Repository):
    def add(self, event: LifecycleEvent) -> LifecycleEvent:
        self.session.add(event)
        return event

    async def flush(self) -> None:
        await self.session.flush()

    async def of_participant(self, participant_id: int) -> Sequence[LifecycleEvent]:
        query = (
            select(LifecycleEvent)
            .where(LifecycleEvent.participant_id == participant_id)
            .order_by(LifecycleEvent.occurred_at, LifecycleEvent.id)
        )
        return (await self.session.scalars(query)).all()

    async def all_until(self, until: datetime) -> Sequence[LifecycleEvent]:
        query = (
            select(LifecycleEvent)
            .where(LifecycleEvent.occurred_at < until)
            .order_by(LifecycleEvent.participant_id, LifecycleEvent.occurred_at, LifecycleEvent.id)
        )
        return (await self.session.scalars(query)).all()

    async def caseloads(self) -> dict[int, int]:
        """{mentor id: participants in their caseload}."""
        query = (
            select(Participant.mentor_id, func.count())
            .where(Participant.status.in_(CASELOAD_STATUSES), Participant.mentor_id.is_not(None))
            .group_by(Participant.mentor_id)
        )
        rows = (await self.session.execute(query)).all()
        return {int(row[0]): int(row[1]) for row in rows if row[0] is not None}

    async def active_mentors(self) -> Sequence[Mentor]:
        query = select(Mentor).where(Mentor.active).order_by(Mentor.id)
        return (await self.session.scalars(query)).all()

    async def coordinators(self) -> Sequence[Mentor]:
        query = (
            select(Mentor)
            .where(Mentor.active, Mentor.is_coordinator, Mentor.telegram_user_id.is_not(None))
            .order_by(Mentor.id)
        )
        return (await self.session.scalars(query)).all()

    async def cohorts(self) -> Sequence[Cohort]:
        return (await self.session.scalars(select(Cohort).order_by(Cohort.name))).all()

    async def cancel_queued(
        self, participant_id: int, kinds: Sequence[OutboxKind], reason: str
    ) -> int:
        """Messages queued for someone who should no longer get them are never sent."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.participant_id == participant_id,
                OutboxMessage.kind.in_(list(kinds)),
                OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED]),
            )
            .values(status=OutboxStatus.DEAD, last_error=reason)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class Signups(Repository):
    async def draft(self, telegram_user_id: int) -> SignupDraft | None:
        return await self.session.get(SignupDraft, telegram_user_id)

    async def add_draft(self, draft: SignupDraft) -> SignupDraft:
        self.session.add(draft)
        await self.session.flush()
        return draft

    async def delete_draft(self, draft: SignupDraft) -> None:
        await self.session.delete(draft)
        await self.session.flush()

    async def delete_drafts_before(self, moment: datetime) -> int:
        result = await self.session.execute(
            delete(SignupDraft).where(SignupDraft.updated_at < moment)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def starts_since(self, telegram_user_id: int, since: datetime) -> int:
        count = await self.session.scalar(
            select(func.count()).where(
                SignupAttempt.telegram_user_id == telegram_user_id,
                SignupAttempt.started_at >= since,
            )
        )
        return int(count or 0)

    def add_start(self, telegram_user_id: int, now: datetime) -> None:
        self.session.add(SignupAttempt(telegram_user_id=telegram_user_id, started_at=now))

    async def delete_starts_before(self, moment: datetime) -> int:
        result = await self.session.execute(
            delete(SignupAttempt).where(SignupAttempt.started_at < moment)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def add_application(self, application: Application) -> Application:
        self.session.add(application)
        await self.session.flush()
        return application

    async def application(self, application_id: int, *, lock: bool = False) -> Application | None:
        query = select(Application).where(Application.id == application_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def pending_of(self, participant_id: int) -> Application | None:
        query = select(Application).where(
            Application.participant_id == participant_id, Application.decision.is_(None)
        )
        return (await self.session.scalars(query)).first()

    async def latest_of(self, participant_id: int) -> Application | None:
        query = (
            select(Application)
            .where(Application.participant_id == participant_id)
            .order_by(Application.submitted_at.desc(), Application.id.desc())
            .limit(1)
        )
        return (await self.session.scalars(query)).first()

    async def of_participant(self, participant_id: int) -> Sequence[Application]:
        query = (
            select(Application)
            .where(Application.participant_id == participant_id)
            .order_by(Application.submitted_at, Application.id)
        )
        return (await self.session.scalars(query)).all()

    async def pending(self, limit: int = 100) -> Sequence[tuple[Application, Participant]]:
        """Applications waiting for an answer: urgent ones first, then the oldest."""
        query = (
            select(Application, Participant)
            .join(Participant, Participant.id == Application.participant_id)
            .where(Application.decision.is_(None))
            .order_by(Application.urgent.desc(), Application.submitted_at, Application.id)
            .limit(limit)
        )
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]


class Plans(Repository):
    async def goals(self, participant_id: int) -> Sequence[PlanGoal]:
        query = (
            select(PlanGoal)
            .where(PlanGoal.participant_id == participant_id)
            .order_by(PlanGoal.created_at, PlanGoal.id)
        )
        return (await self.session.scalars(query)).all()

    async def steps(self, participant_id: int) -> Sequence[PlanStep]:
        query = (
            select(PlanStep)
            .where(PlanStep.participant_id == participant_id)
            .order_by(PlanStep.created_at, PlanStep.id)
        )
        return (await self.session.scalars(query)).all()

    async def goal(self, goal_id: int) -> PlanGoal | None:
        return await self.session.get(PlanGoal, goal_id)

    async def step(self, step_id: int) -> PlanStep | None:
        return await self.session.get(PlanStep, step_id)

    async def open_participant_steps_due(
        self, participant_id: int, until_day: object
    ) -> Sequence[PlanStep]:
        query = (
            select(PlanStep)
            .where(
                PlanStep.participant_id == participant_id,
                PlanStep.status == PlanItemStatus.OPEN,
                PlanStep.due_on.is_not(None),
                PlanStep.due_on <= until_day,
            )
            .order_by(PlanStep.due_on, PlanStep.id)
        )
        return (await self.session.scalars(query)).all()

    async def add(self, item: PlanGoal | PlanStep) -> None:
        self.session.add(item)
        await self.session.flush()

    def add_event(self, event: PlanEvent) -> None:
        self.session.add(event)

    async def events(self, participant_id: int) -> Sequence[PlanEvent]:
        query = (
            select(PlanEvent)
            .where(PlanEvent.participant_id == participant_id)
            .order_by(PlanEvent.occurred_at, PlanEvent.id)
        )
        return (await self.session.scalars(query)).all()


class FollowUps(Repository):
    def add(self, question: FollowUpQuestion) -> None:
        self.session.add(question)

    async def get(self, question_id: int, *, lock: bool = False) -> FollowUpQuestion | None:
        query = select(FollowUpQuestion).where(FollowUpQuestion.id == question_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def of_participant(self, participant_id: int) -> Sequence[FollowUpQuestion]:
        query = (
            select(FollowUpQuestion)
            .where(FollowUpQuestion.participant_id == participant_id)
            .order_by(FollowUpQuestion.due_at, FollowUpQuestion.id)
        )
        return (await self.session.scalars(query)).all()

    async def claim_due(self, now: datetime, limit: int, *, skip_locked: bool) -> list[int]:
        """Ids of questions due now, locked for this transaction (others skip them)."""
        query = (
            select(FollowUpQuestion.id)
            .where(
                FollowUpQuestion.status == FollowUpStatus.SCHEDULED,
                FollowUpQuestion.due_at <= now,
            )
            .order_by(FollowUpQuestion.due_at, FollowUpQuestion.id)
            .limit(limit)
        )
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        return list((await self.session.scalars(query)).all())

    async def many(self, ids: Sequence[int]) -> Sequence[FollowUpQuestion]:
        if not ids:
            return []
        query = (
            select(FollowUpQuestion)
            .where(FollowUpQuestion.id.in_(list(ids)))
            .order_by(FollowUpQuestion.due_at, FollowUpQuestion.id)
        )
        return (await self.session.scalars(query)).all()

    async def participants(self, ids: set[int]) -> dict[int, Participant]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(Participant).where(Participant.id.in_(ids)))
        return {participant.id: participant for participant in rows}

    async def cancel_open(self, participant_id: int) -> int:
        result = await self.session.execute(
            update(FollowUpQuestion)
            .where(
                FollowUpQuestion.participant_id == participant_id,
                FollowUpQuestion.status == FollowUpStatus.SCHEDULED,
            )
            .values(status=FollowUpStatus.CANCELLED)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def all(self) -> Sequence[FollowUpQuestion]:
        return (await self.session.scalars(select(FollowUpQuestion))).all()
