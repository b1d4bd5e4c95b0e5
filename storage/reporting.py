"""Read-only queries for the dashboard and the reports, always within a viewer's scope.

A `Scope` is what one signed-in person may see: the whole project, or the participants
of one mentor. Every query here takes one, so no page can forget to apply it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select

from storage.models import (
    Checkin,
    CheckinStatus,
    Cohort,
    ConsentRefusal,
    Invite,
    Mentor,
    Participant,
    ParticipantStatus,
    Step,
    StepKind,
)
from storage.repositories import Repository

Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True)
class Scope:
    everyone: bool
    mentor_id: int | None = None

    def participants(self, query: Q) -> Q:
        """Restrict a query that involves the participant table."""
        if self.everyone:
            return query
        if self.mentor_id is None:
            return query.where(Participant.id.is_(None))
        return query.where(Participant.mentor_id == self.mentor_id)


@dataclass(frozen=True)
class ParticipantFilter:
    cohort_id: int | None = None
    status: ParticipantStatus | None = None
    locale: str | None = None
    unreachable: bool | None = None


@dataclass(frozen=True)
class ReportedParticipant:
    """What the ESF report needs of a participant, and nothing more (no name is read)."""

    public_id: str
    cohort_id: int | None
    gender: str | None
    joined_at: datetime
    status: ParticipantStatus
    ended_reason: str | None
    erased: bool


def _filtered(query: Q, where: ParticipantFilter | None) -> Q:
    if where is None:
        return query
    if where.cohort_id is not None:
        query = query.where(Participant.cohort_id == where.cohort_id)
    if where.status is not None:
        query = query.where(Participant.status == where.status)
    if where.locale is not None:
        query = query.where(Participant.locale == where.locale)
    if where.unreachable is True:
        query = query.where(Participant.unreachable_at.is_not(None))
    elif where.unreachable is False:
        query = query.where(Participant.unreachable_at.is_(None))
    return query


class Figures(Repository):
    async def participants(
        self,
        scope: Scope,
        where: ParticipantFilter | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
    ) -> Sequence[Participant]:
        """Newest first. Every row read has its name decrypted: page in SQL when you can."""
        query = _filtered(scope.participants(select(Participant)), where)
        query = query.order_by(Participant.joined_at.desc(), Participant.id.desc())
        if limit is not None:
            query = query.limit(limit).offset(offset)
        return (await self.session.scalars(query)).all()

    async def count(self, scope: Scope, where: ParticipantFilter | None = None) -> int:
        query = _filtered(scope.participants(select(func.count()).select_from(Participant)), where)
        return int(await self.session.scalar(query) or 0)

    async def cohort_names(self) -> dict[int, str]:
        rows = (await self.session.execute(select(Cohort.id, Cohort.name))).all()
        return {row[0]: row[1] for row in rows}

    async def mentor_names(self) -> dict[int, str]:
        rows = (await self.session.execute(select(Mentor.id, Mentor.name))).all()
        return {row[0]: row[1] for row in rows}

    async def status_by_cohort(
        self, scope: Scope
    ) -> list[tuple[int | None, ParticipantStatus, int]]:
        query = scope.participants(
            select(Participant.cohort_id, Participant.status, func.count())
            .where(Participant.erased_at.is_(None))
            .group_by(Participant.cohort_id, Participant.status)
        )
        return [(row[0], row[1], int(row[2])) for row in (await self.session.execute(query)).all()]

    async def gender_of_active(self, scope: Scope) -> list[tuple[str | None, int]]:
        query = scope.participants(
            select(Participant.gender, func.count())
            .where(Participant.status == ParticipantStatus.ACTIVE)
            .group_by(Participant.gender)
        )
        return [(row[0], int(row[1])) for row in (await self.session.execute(query)).all()]

    async def joined_since(self, scope: Scope, since: datetime) -> list[datetime]:
        query = scope.participants(
            select(Participant.joined_at).where(Participant.joined_at >= since)
        )
        return list((await self.session.scalars(query)).all())

    async def unreachable_count(self, scope: Scope) -> int:
        query = scope.participants(
            select(func.count())
            .select_from(Participant)
            .where(
                Participant.unreachable_at.is_not(None),
                Participant.status != ParticipantStatus.ENDED,
                Participant.erased_at.is_(None),
            )
        )
        return int(await self.session.scalar(query) or 0)

    async def closed_checkins_since(
        self, scope: Scope, since: datetime, until: datetime
    ) -> list[tuple[datetime, CheckinStatus]]:
        """Check-ins due in [since, until) that were answered or expired (open ones are
        still running and left out), with when they were due."""
        query = scope.participants(
            select(Checkin.due_at, Checkin.status)
            .join(Participant, Participant.id == Checkin.participant_id)
            .where(
                Checkin.due_at >= since,
                Checkin.due_at < until,
                Checkin.status.in_([CheckinStatus.ANSWERED, CheckinStatus.EXPIRED]),
            )
        )
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    async def steps_between(
        self, scope: Scope, first: date, last: date
    ) -> list[tuple[StepKind, int, str | None]]:
        """Steps taken on days first..last: (kind, participant id, gender)."""
        query = scope.participants(
            select(Step.kind, Step.participant_id, Participant.gender)
            .join(Participant, Participant.id == Step.participant_id)
            .where(Step.taken_on >= first, Step.taken_on <= last)
        )
        return [(row[0], row[1], row[2]) for row in (await self.session.execute(query)).all()]

    async def refusals_since(self, since: datetime) -> int:
        query = select(func.count()).where(ConsentRefusal.refused_at >= since)
        return int(await self.session.scalar(query) or 0)

    async def invites(self, scope: Scope) -> Sequence[Invite]:
        query = select(Invite).order_by(Invite.created_at.desc(), Invite.id.desc())
        if not scope.everyone:
            query = query.where(Invite.mentor_id == scope.mentor_id)
        return (await self.session.scalars(query)).all()

    async def joined_through(self, invite_ids: Sequence[int]) -> dict[int, str]:
        """Which participant joined with each invite: {invite id: public id}."""
        if not invite_ids:
            return {}
        rows = (
            await self.session.execute(
                select(Participant.invite_id, Participant.public_id).where(
                    Participant.invite_id.in_(list(invite_ids))
                )
            )
        ).all()
        return {row[0]: row[1] for row in rows if row[0] is not None}

    async def joined_until(self, until: datetime) -> list[ReportedParticipant]:
        """Everyone who had joined before `until`, erased or not: the report counts them all."""
        query = (
            select(
                Participant.public_id,
                Participant.cohort_id,
                Participant.gender,
                Participant.joined_at,
                Participant.status,
                Participant.ended_reason,
                Participant.erased_at,
            )
            .where(Participant.joined_at < until)
            .order_by(Participant.joined_at, Participant.id)
        )
        return [
            ReportedParticipant(
                public_id=row[0],
                cohort_id=row[1],
                gender=row[2],
                joined_at=row[3],
                status=row[4],
                ended_reason=row[5],
                erased=row[6] is not None,
            )
            for row in (await self.session.execute(query)).all()
        ]
