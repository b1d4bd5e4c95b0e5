"""How a participant is doing and moving: check-ins, self-ratings, steps, flags, schedules.

Schedules are rows, not scheduler jobs (DESIGN decision 3): each participant has one row
per kind of recurring contact with its spec and an indexed `next_due_at`, and a periodic
job reads what is due. A check-in keeps its own answers and where it is (`step`), so its
buttons can be checked against the stored check-in whatever else the participant does.
Free text (a note with a check-in or a step) is sealed with `EncryptedText`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Select,
    String,
    UniqueConstraint,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.models.core import Conversation, Participant
from storage.types import EncryptedText


class ScheduleKind(StrEnum):
    CHECKIN = "checkin"
    SELFRATING = "selfrating"


class Cadence(StrEnum):
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    MONTHLY = "monthly"


class CheckinStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    EXPIRED = "expired"  # not finished in time; any answers given before are kept


class CheckinStep(StrEnum):
    MOOD = "mood"
    ACTIVITIES = "activities"
    HELP = "help"
    DONE = "done"


class FlagKind(StrEnum):
    LOW_MOOD = "low_mood"  # the two lowest faces in two check-ins in a row
    NO_ANSWER = "no_answer"  # two check-ins in a row closed without any answer


class SelfRatingStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"


class StepKind(StrEnum):
    """Steps toward work or studies (stegförflyttning), as ESF projects report them."""

    COURSE = "course"  # started SFI or another course
    STUDIES = "studies"
    INTERNSHIP = "internship"  # praktik, work training
    JOB = "job"
    SUBSIDISED_JOB = "subsidised_job"  # a job with a wage subsidy
    JOB_SEARCH = "job_search"  # regular job-search activity
    CONTACT = "contact"  # contact with a needed authority or care provider
    LEFT_FOR_WORK = "left_for_work"  # left the project for work or studies


class StepSource(StrEnum):
    CHECKIN = "checkin"
    MENTOR = "mentor"


class ParticipantSchedule(Base):
    """When a participant next gets a check-in (or a self-rating offer), and how often."""

    __tablename__ = "participant_schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    kind: Mapped[ScheduleKind]
    # bot/schedule.py spec plus what the person chose: cadence, weekday, hour, minute.
    spec: Mapped[dict[str, Any]]
    # Null while the participant cannot get anything (ended, erased).
    next_due_at: Mapped[datetime | None]
    last_due_at: Mapped[datetime | None]
    # Check-ins closed in a row without any answer (reset by an answer): a flag at two.
    missed_in_a_row: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("participant_id", "kind", name="uq_participant_schedule_participant_kind"),
        Index("ix_participant_schedule_kind_next_due_at", "kind", "next_due_at"),
    )


class Checkin(Base):
    """One occurrence of a participant's check-in: its answers and how far they got."""

    __tablename__ = "checkin"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    # The occurrence it belongs to (one check-in per participant and occurrence).
    due_at: Mapped[datetime]
    opened_at: Mapped[datetime]
    status: Mapped[CheckinStatus] = mapped_column(default=CheckinStatus.OPEN)
    step: Mapped[CheckinStep] = mapped_column(default=CheckinStep.MOOD)
    mood: Mapped[int | None]
    activities: Mapped[list[str]] = mapped_column(JSON, default=list)
    wants_help: Mapped[bool | None]
    note: Mapped[str | None] = mapped_column(EncryptedText("checkin.note"))
    # Work still to do, found by index: null once done or no longer needed.
    nudge_due_at: Mapped[datetime | None]
    expire_due_at: Mapped[datetime | None]
    nudged_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    expired_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("participant_id", "due_at", name="uq_checkin_participant_due_at"),
        Index("ix_checkin_nudge_due_at", "nudge_due_at"),
        Index("ix_checkin_expire_due_at", "expire_due_at"),
    )


class ParticipantFlag(Base):
    """Something a mentor should look at, raised by the bot and closed by the mentor."""

    __tablename__ = "participant_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    kind: Mapped[FlagKind]
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id"))
    raised_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by_mentor_id: Mapped[int | None] = mapped_column(ForeignKey("mentor.id"))

    __table_args__ = (
        Index("ix_participant_flag_participant_id_resolved_at", "participant_id", "resolved_at"),
    )


class SelfRating(Base):
    """One occasion of the self-rating questionnaire; its scores are rows per theme."""

    __tablename__ = "selfrating"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    # Which questionnaire was answered: scores compare only within one instrument.
    instrument: Mapped[str] = mapped_column(String(40))
    status: Mapped[SelfRatingStatus] = mapped_column(default=SelfRatingStatus.OPEN)
    started_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_selfrating_participant_id_status", "participant_id", "status"),)


class SelfRatingScore(Base):
    __tablename__ = "selfrating_score"

    id: Mapped[int] = mapped_column(primary_key=True)
    selfrating_id: Mapped[int] = mapped_column(ForeignKey("selfrating.id"))
    theme: Mapped[str] = mapped_column(String(40))
    score: Mapped[int]
    answered_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("selfrating_id", "theme", name="uq_selfrating_score_selfrating_theme"),
    )


class Step(Base):
    """A step toward work or studies, with its date and who recorded it."""

    __tablename__ = "step"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    kind: Mapped[StepKind]
    taken_on: Mapped[date]
    source: Mapped[StepSource]
    recorded_by_mentor_id: Mapped[int | None] = mapped_column(ForeignKey("mentor.id"))
    checkin_id: Mapped[int | None] = mapped_column(ForeignKey("checkin.id"))
    note: Mapped[str | None] = mapped_column(EncryptedText("step.note"))
    recorded_at: Mapped[datetime]

    __table_args__ = (Index("ix_step_participant_id_taken_on", "participant_id", "taken_on"),)


# Repositories: they query and add; they never commit.


class Schedules:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, participant_id: int, kind: ScheduleKind) -> ParticipantSchedule | None:
        return (
            await self.session.scalars(
                select(ParticipantSchedule).where(
                    ParticipantSchedule.participant_id == participant_id,
                    ParticipantSchedule.kind == kind,
                )
            )
        ).first()

    async def add(self, schedule: ParticipantSchedule) -> ParticipantSchedule:
        self.session.add(schedule)
        await self.session.flush()
        return schedule

    async def add_all(self, schedules: Sequence[ParticipantSchedule]) -> None:
        self.session.add_all(schedules)
        await self.session.flush()

    async def insert_many(self, schedules: Sequence[ParticipantSchedule]) -> None:
        """New schedules in one statement, without loading them into the session."""
        if schedules:
            await self.session.execute(
                insert(ParticipantSchedule),
                [
                    {
                        "participant_id": schedule.participant_id,
                        "kind": schedule.kind,
                        "spec": schedule.spec,
                        "next_due_at": schedule.next_due_at,
                        "last_due_at": schedule.last_due_at,
                        "missed_in_a_row": 0,
                        "updated_at": schedule.updated_at,
                    }
                    for schedule in schedules
                ],
            )

    async def of_many(
        self, kind: ScheduleKind, participant_ids: Sequence[int]
    ) -> dict[int, ParticipantSchedule]:
        if not participant_ids:
            return {}
        rows = await self.session.scalars(
            select(ParticipantSchedule).where(
                ParticipantSchedule.participant_id.in_(list(participant_ids)),
                ParticipantSchedule.kind == kind,
            )
        )
        return {schedule.participant_id: schedule for schedule in rows}

    async def participants_after(self, after_id: int, limit: int) -> Sequence[Participant]:
        """The next participants by id: a primary-key range, whatever the statistics say."""
        return (
            await self.session.scalars(
                select(Participant)
                .where(Participant.id > after_id)
                .order_by(Participant.id)
                .limit(limit)
            )
        ).all()

    async def kinds_of(self, participant_ids: Sequence[int]) -> set[tuple[int, ScheduleKind]]:
        """Which schedules these participants have, as (participant id, kind). Asked by
        participant id alone, so only the (participant_id, kind) index can answer it, even
        when a bulk load has left the planner without statistics."""
        if not participant_ids:
            return set()
        rows = await self.session.execute(
            select(ParticipantSchedule.participant_id, ParticipantSchedule.kind).where(
                ParticipantSchedule.participant_id.in_(list(participant_ids))
            )
        )
        return {(participant_id, ScheduleKind(kind)) for participant_id, kind in rows.all()}

    async def last_participant_id(self) -> int:
        return int(await self.session.scalar(select(func.max(Participant.id))) or 0)

    @staticmethod
    def due_query(kind: ScheduleKind, now: datetime, limit: int) -> Select[ParticipantSchedule]:
        """Due schedules, oldest first, read by the (kind, next_due_at) index."""
        return (
            select(ParticipantSchedule)
            .where(ParticipantSchedule.kind == kind, ParticipantSchedule.next_due_at <= now)
            .order_by(ParticipantSchedule.next_due_at)
            .limit(limit)
        )

    async def due(
        self, kind: ScheduleKind, now: datetime, limit: int, *, skip_locked: bool
    ) -> Sequence[ParticipantSchedule]:
        query = self.due_query(kind, now, limit)
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()


class Checkins:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, checkin_id: int, *, lock: bool = True) -> Checkin | None:
        query = select(Checkin).where(Checkin.id == checkin_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def add(self, checkin: Checkin) -> Checkin:
        self.session.add(checkin)
        await self.session.flush()
        return checkin

    async def exists(self, participant_id: int, due_at: datetime) -> bool:
        found = await self.session.scalar(
            select(func.count()).where(
                Checkin.participant_id == participant_id, Checkin.due_at == due_at
            )
        )
        return bool(found)

    async def insert_many(self, checkins: Sequence[Checkin]) -> None:
        """New check-ins (at most one per participant) in one statement; each object gets
        its id, without being loaded into the session."""
        if not checkins:
            return
        columns = (
            "participant_id",
            "due_at",
            "opened_at",
            "status",
            "step",
            "activities",
            "nudge_due_at",
            "expire_due_at",
        )
        rows = await self.session.execute(
            insert(Checkin).returning(Checkin.id, Checkin.participant_id),
            [{column: getattr(checkin, column) for column in columns} for checkin in checkins],
        )
        ids = {participant_id: checkin_id for checkin_id, participant_id in rows.all()}
        for checkin in checkins:
            checkin.id = ids[checkin.participant_id]

    async def open_of(self, participant_id: int) -> Sequence[Checkin]:
        return (await self.open_of_many([participant_id])).get(participant_id, [])

    async def open_of_many(self, participant_ids: Sequence[int]) -> dict[int, list[Checkin]]:
        if not participant_ids:
            return {}
        rows = await self.session.scalars(
            select(Checkin).where(
                Checkin.participant_id.in_(list(participant_ids)),
                Checkin.status == CheckinStatus.OPEN,
            )
        )
        result: dict[int, list[Checkin]] = {}
        for checkin in rows:
            result.setdefault(checkin.participant_id, []).append(checkin)
        return result

    async def latest(self, participant_id: int, limit: int) -> Sequence[Checkin]:
        """The participant's most recent check-ins, newest first."""
        return (
            await self.session.scalars(
                select(Checkin)
                .where(Checkin.participant_id == participant_id)
                .order_by(Checkin.due_at.desc(), Checkin.id.desc())
                .limit(limit)
            )
        ).all()

    async def latest_of_many(
        self, participant_ids: Sequence[int], per_participant: int
    ) -> dict[int, list[Checkin]]:
        """The latest check-ins of each participant (newest first), in one query."""
        if not participant_ids:
            return {}
        rank = (
            func.row_number()
            .over(
                partition_by=Checkin.participant_id,
                order_by=(Checkin.due_at.desc(), Checkin.id.desc()),
            )
            .label("rank")
        )
        ranked = (
            select(Checkin.id, rank).where(Checkin.participant_id.in_(list(participant_ids)))
        ).subquery()
        rows = await self.session.scalars(
            select(Checkin)
            .join(ranked, ranked.c.id == Checkin.id)
            .where(ranked.c.rank <= per_participant)
            .order_by(Checkin.participant_id, Checkin.due_at.desc(), Checkin.id.desc())
        )
        result: dict[int, list[Checkin]] = {pid: [] for pid in participant_ids}
        for checkin in rows:
            result[checkin.participant_id].append(checkin)
        return result

    @staticmethod
    def nudges_query(now: datetime, limit: int) -> Select[Checkin]:
        return (
            select(Checkin)
            .where(Checkin.nudge_due_at <= now)
            .order_by(Checkin.nudge_due_at)
            .limit(limit)
        )

    @staticmethod
    def expiries_query(now: datetime, limit: int) -> Select[Checkin]:
        return (
            select(Checkin)
            .where(Checkin.expire_due_at <= now)
            .order_by(Checkin.expire_due_at)
            .limit(limit)
        )

    async def nudges_due(
        self, now: datetime, limit: int, *, skip_locked: bool
    ) -> Sequence[Checkin]:
        query = self.nudges_query(now, limit)
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()

    async def expiries_due(
        self, now: datetime, limit: int, *, skip_locked: bool
    ) -> Sequence[Checkin]:
        query = self.expiries_query(now, limit)
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()

    async def counts(
        self, participant_ids: Sequence[int], since: datetime
    ) -> dict[CheckinStatus, int]:
        """How many check-ins since `since` were answered, expired or are still open."""
        if not participant_ids:
            return {}
        rows = await self.session.execute(
            select(Checkin.status, func.count())
            .where(Checkin.participant_id.in_(list(participant_ids)), Checkin.due_at >= since)
            .group_by(Checkin.status)
        )
        return {CheckinStatus(status): int(count) for status, count in rows.all()}


class Flags:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def open_of(self, participant_id: int) -> Sequence[ParticipantFlag]:
        return (
            await self.session.scalars(
                select(ParticipantFlag)
                .where(
                    ParticipantFlag.participant_id == participant_id,
                    ParticipantFlag.resolved_at.is_(None),
                )
                .order_by(ParticipantFlag.raised_at)
            )
        ).all()

    async def open_of_many(self, participant_ids: Sequence[int]) -> dict[int, list[FlagKind]]:
        if not participant_ids:
            return {}
        rows = await self.session.execute(
            select(ParticipantFlag.participant_id, ParticipantFlag.kind)
            .where(
                ParticipantFlag.participant_id.in_(list(participant_ids)),
                ParticipantFlag.resolved_at.is_(None),
            )
            .order_by(ParticipantFlag.raised_at)
        )
        result: dict[int, list[FlagKind]] = {}
        for participant_id, kind in rows.all():
            result.setdefault(participant_id, []).append(FlagKind(kind))
        return result

    async def add(self, flag: ParticipantFlag) -> ParticipantFlag:
        self.session.add(flag)
        await self.session.flush()
        return flag


class SelfRatings:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, selfrating_id: int, *, lock: bool = True) -> SelfRating | None:
        query = select(SelfRating).where(SelfRating.id == selfrating_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.scalars(query)).first()

    async def open_of(self, participant_id: int, instrument: str) -> SelfRating | None:
        return (
            await self.session.scalars(
                select(SelfRating)
                .where(
                    SelfRating.participant_id == participant_id,
                    SelfRating.instrument == instrument,
                    SelfRating.status == SelfRatingStatus.OPEN,
                )
                .order_by(SelfRating.id.desc())
            )
        ).first()

    async def add(self, rating: SelfRating) -> SelfRating:
        self.session.add(rating)
        await self.session.flush()
        return rating

    async def scores(self, selfrating_ids: Sequence[int]) -> dict[int, dict[str, int]]:
        if not selfrating_ids:
            return {}
        rows = await self.session.execute(
            select(SelfRatingScore.selfrating_id, SelfRatingScore.theme, SelfRatingScore.score)
            .where(SelfRatingScore.selfrating_id.in_(list(selfrating_ids)))
            .order_by(SelfRatingScore.id)
        )
        result: dict[int, dict[str, int]] = {rating_id: {} for rating_id in selfrating_ids}
        for rating_id, theme, score in rows.all():
            result[rating_id][theme] = int(score)
        return result

    async def add_score(self, score: SelfRatingScore) -> None:
        self.session.add(score)
        await self.session.flush()

    async def completed(
        self, participant_id: int, instrument: str, limit: int
    ) -> Sequence[SelfRating]:
        """The latest completed occasions, oldest first."""
        rows = (
            await self.session.scalars(
                select(SelfRating)
                .where(
                    SelfRating.participant_id == participant_id,
                    SelfRating.instrument == instrument,
                    SelfRating.status == SelfRatingStatus.COMPLETED,
                )
                .order_by(SelfRating.completed_at.desc(), SelfRating.id.desc())
                .limit(limit)
            )
        ).all()
        return list(reversed(rows))


class Steps:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, step: Step) -> Step:
        self.session.add(step)
        await self.session.flush()
        return step

    async def of(self, participant_id: int) -> Sequence[Step]:
        return (
            await self.session.scalars(
                select(Step)
                .where(Step.participant_id == participant_id)
                .order_by(Step.taken_on, Step.id)
            )
        ).all()

    async def latest_of_kind(self, participant_id: int, kind: StepKind) -> Step | None:
        return (
            await self.session.scalars(
                select(Step)
                .where(Step.participant_id == participant_id, Step.kind == kind)
                .order_by(Step.taken_on.desc(), Step.id.desc())
            )
        ).first()

    async def counts_of_many(self, participant_ids: Sequence[int]) -> dict[int, int]:
        if not participant_ids:
            return {}
        rows = await self.session.execute(
            select(Step.participant_id, func.count())
            .where(Step.participant_id.in_(list(participant_ids)))
            .group_by(Step.participant_id)
        )
        return {int(pid): int(count) for pid, count in rows.all()}


class IdleConversations:
    """Conversation rows written by periodic jobs, for many participants at once."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def point_to(
        self,
        rows: Sequence[tuple[int, dict[str, Any]]],
        *,
        flow: str,
        step: str,
        replaceable_steps: Sequence[str],
        now: datetime,
    ) -> None:
        """In one statement, put users (telegram user id, data) at `flow`/`step`: users
        with no conversation, and users whose conversation is an old pointer of the same
        flow (one of `replaceable_steps`). Anyone in another flow keeps it."""
        if not rows:
            return
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = insert(Conversation).values(
            [
                {
                    "telegram_user_id": user,
                    "flow": flow,
                    "step": step,
                    "data": data,
                    "updated_at": now,
                }
                for user, data in rows
            ]
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["telegram_user_id"],
                set_={
                    "step": statement.excluded.step,
                    "data": statement.excluded.data,
                    "updated_at": statement.excluded.updated_at,
                },
                where=(Conversation.flow == flow) & Conversation.step.in_(list(replaceable_steps)),
            )
        )
