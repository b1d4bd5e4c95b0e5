"""Seeding helpers for the journey tests: cohorts, mentors and participants in one status."""

from __future__ import annotations

from datetime import datetime

from bot.domain import lifecycle
from bot.domain import onboarding as onboarding_domain
from bot.domain.lifecycle import ChangedBy
from storage.db import Database
from storage.models import EndedReason, Mentor, Participant, ParticipantStatus
from storage.uow import UnitOfWork


async def cohort(database: Database, name: str, now: datetime) -> int:
    async with UnitOfWork(database) as uow:
        made = await onboarding_domain.create_cohort(uow, name, now)
        await uow.commit()
        return made.id


async def mentor(
    database: Database,
    name: str,
    languages: list[str],
    now: datetime,
    *,
    telegram_user_id: int | None = None,
    caseload_limit: int | None = None,
    is_coordinator: bool = False,
) -> int:
    async with UnitOfWork(database) as uow:
        made = await onboarding_domain.create_mentor(
            uow,
            name=name,
            languages=languages,
            now=now,
            telegram_user_id=telegram_user_id,
            caseload_limit=caseload_limit,
            is_coordinator=is_coordinator,
        )
        await uow.commit()
        return made.id


_counter = {"n": 0}


async def participant(
    database: Database,
    now: datetime,
    *,
    mentor_id: int | None = None,
    cohort_id: int | None = None,
    locale: str = "sv",
    gender: str | None = None,
    status: ParticipantStatus = ParticipantStatus.ACTIVE,
    telegram_user_id: int | None = None,
    public_id: str | None = None,
) -> int:
    """A participant who joined at `now` (status active, with its event), then moved on."""
    _counter["n"] += 1
    n = _counter["n"]
    async with UnitOfWork(database) as uow:
        made = Participant(
            public_id=public_id or f"T{n:05d}",
            telegram_user_id=telegram_user_id if telegram_user_id is not None else 80_000 + n,
            chat_id=telegram_user_id if telegram_user_id is not None else 80_000 + n,
            display_name=f"Person {n}",
            cohort_id=cohort_id,
            mentor_id=mentor_id,
            locale=locale,
            gender=gender,
            status=ParticipantStatus.ACTIVE,
            consent_at=now,
            joined_at=now,
        )
        await uow.participants.add(made)
        await lifecycle.record_start(uow, made, by=ChangedBy.system(), now=now)
        await uow.commit()
        participant_id = made.id
    if status is not ParticipantStatus.ACTIVE:
        async with UnitOfWork(database) as uow:
            found = await uow.participants.get(participant_id)
            assert found is not None
            reason = {
                ParticipantStatus.FOLLOW_UP: EndedReason.WORK,
                ParticipantStatus.ENDED: EndedReason.MOVED,
            }.get(status)
            await lifecycle.change_status(
                uow, found, status, reason=reason, by=ChangedBy.system(), now=now, rhythm=None
            )
            await uow.commit()
    return participant_id


async def get_participant(database: Database, participant_id: int) -> Participant:
    async with database.session() as session:
        found = await session.get(Participant, participant_id)
        assert found is not None
        return found


async def get_mentor(database: Database, mentor_id: int) -> Mentor:
    async with database.session() as session:
        found = await session.get(Mentor, mentor_id)
        assert found is not None
        return found
