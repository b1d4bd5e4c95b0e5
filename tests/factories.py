"""Small builders for tests: people made the way the bot makes them (invite, consent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.clock import ManualClock, Randomness
from bot.config import load_settings
from bot.domain import onboarding
from bot.flows.registry import FlowRegistry
from bot.turn import Deps
from storage.db import Database
from storage.models import Checkin, OutboxKind, OutboxMessage, Participant
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class Joined:
    participant_id: int
    public_id: str
    mentor_id: int | None


async def join(
    database: Database,
    clock: ManualClock,
    randomness: Randomness,
    *,
    telegram_user_id: int,
    name: str = "Sara",
    locale: str = "sv",
    mentor_id: int | None = None,
    cohort: str = "Lumena vår",
) -> Joined:
    async with UnitOfWork(database) as uow:
        if await uow.cohorts.by_name(cohort) is None:
            await onboarding.create_cohort(uow, cohort, clock.now())
        invite = await onboarding.create_invite(
            uow,
            now=clock.now(),
            randomness=randomness,
            valid_for=timedelta(days=30),
            cohort_name=cohort,
            mentor_id=mentor_id,
        )
        joined = await onboarding.join_as_participant(
            uow,
            invite=invite,
            telegram_user_id=telegram_user_id,
            chat_id=telegram_user_id,
            first_name=name,
            locale=locale,
            now=clock.now(),
            randomness=randomness,
        )
        await uow.commit()
        return Joined(joined.participant.id, joined.participant.public_id, mentor_id)


async def mentor(
    database: Database,
    clock: ManualClock,
    *,
    name: str = "Amina Haddad",
    telegram_user_id: int | None = 7001,
    languages: tuple[str, ...] = ("sv", "ar"),
) -> int:
    async with UnitOfWork(database) as uow:
        made = await onboarding.create_mentor(
            uow,
            name=name,
            languages=list(languages),
            now=clock.now(),
            telegram_user_id=telegram_user_id,
        )
        await uow.commit()
        return made.id


def deps(
    database: Database, clock: ManualClock, randomness: Randomness, tmp_path: Path, **settings: Any
) -> Deps:
    return Deps(
        settings=load_settings(data_dir=tmp_path, **settings),
        database=database,
        clock=clock,
        randomness=randomness,
        registry=FlowRegistry(),
    )


async def outbox(database: Database, kind: OutboxKind | None = None) -> list[OutboxMessage]:
    async with database.session() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list((await session.scalars(query)).all())


async def checkins(database: Database) -> list[Checkin]:
    async with database.session() as session:
        return list((await session.scalars(select(Checkin).order_by(Checkin.id))).all())


async def update_participant(database: Database, participant_id: int, **values: Any) -> None:
    async with database.session() as session, session.begin():
        participant = await session.get(Participant, participant_id)
        assert participant is not None
        for key, value in values.items():
            setattr(participant, key, value)
