"""Joining, without Telegram: invites are checked, spent once, and a refusal keeps nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.domain import onboarding as domain
from storage.db import Database
from storage.models import ConsentRefusal, Conversation, InviteKind, Participant
from storage.uow import UnitOfWork
from tests.conftest import CountingRandomness


async def seed(database: Database, clock: ManualClock, randomness: CountingRandomness) -> str:
    async with UnitOfWork(database) as uow:
        await domain.create_cohort(uow, "Lumena vår", clock.now())
        mentor = await domain.create_mentor(
            uow, name="Amina Y", languages=["ar", "sv"], now=clock.now()
        )
        invite = await domain.create_invite(
            uow,
            now=clock.now(),
            randomness=randomness,
            valid_for=timedelta(days=30),
            cohort_name="Lumena vår",
            mentor_id=mentor.id,
        )
        await uow.commit()
        return invite.code


async def test_an_open_invite_passes_and_joining_spends_it(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    code = await seed(database, clock, randomness)
    async with UnitOfWork(database) as uow:
        check = await domain.check_invite(uow, code.lower() + " ", clock.now())
        assert check.problem is None and check.invite is not None
        joined = await domain.join_as_participant(
            uow,
            invite=check.invite,
            telegram_user_id=501,
            chat_id=501,
            first_name="Zainab",
            locale="ar",
            now=clock.now(),
            randomness=randomness,
        )
        await uow.commit()
    assert joined.mentor is not None and joined.mentor.first_name == "Amina"
    assert joined.participant.public_id.startswith("P")
    async with UnitOfWork(database) as uow:
        again = await domain.check_invite(uow, code, clock.now())
        assert again.problem is domain.InviteProblem.USED


async def test_unknown_and_expired_invites_are_told_apart(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    code = await seed(database, clock, randomness)
    async with UnitOfWork(database) as uow:
        assert (await domain.check_invite(uow, "NOPE1234", clock.now())).problem is (
            domain.InviteProblem.UNKNOWN
        )
        assert (await domain.check_invite(uow, "", clock.now())).problem is (
            domain.InviteProblem.UNKNOWN
        )
        later = clock.now() + timedelta(days=31)
        assert (await domain.check_invite(uow, code, later)).problem is (
            domain.InviteProblem.EXPIRED
        )


async def test_a_refusal_stores_the_fact_and_nothing_about_the_person(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    code = await seed(database, clock, randomness)
    async with UnitOfWork(database) as uow:
        invite = await uow.invites.by_code(code)
        await domain.record_refusal(uow, invite=invite, locale="sv", now=clock.now())
        await uow.commit()
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(ConsentRefusal)) == 1
        assert await session.scalar(select(func.count()).select_from(Participant)) == 0
        assert await session.scalar(select(func.count()).select_from(Conversation)) == 0


async def test_staff_mistakes_are_explained(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    await seed(database, clock, randomness)
    async with UnitOfWork(database) as uow:
        with pytest.raises(domain.DomainError, match="exists already"):
            await domain.create_cohort(uow, "Lumena vår", clock.now())
        with pytest.raises(domain.DomainError, match="unknown language de"):
            await domain.create_mentor(uow, name="X", languages=["de"], now=clock.now())
        with pytest.raises(domain.DomainError, match="no cohort named"):
            await domain.create_invite(
                uow,
                now=clock.now(),
                randomness=randomness,
                valid_for=timedelta(days=1),
                cohort_name="Nope",
            )
        with pytest.raises(domain.DomainError, match="needs the mentor"):
            await domain.create_invite(
                uow,
                now=clock.now(),
                randomness=randomness,
                valid_for=timedelta(days=1),
                kind=InviteKind.MENTOR,
            )
