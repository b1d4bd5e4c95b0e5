"""Requests for help without Telegram: working days, routing and widening, who may act,
what is deleted when a participant says no, the flood limit, sealed text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot import sla
from bot.clock import ManualClock
from bot.config import load_settings
from bot.domain import cases, onboarding
from bot.domain import escalation as domain
from bot.domain.audit import Viewer
from bot.flows.registry import FlowRegistry
from bot.turn import Deps
from storage.db import Database
from storage.escalations import Escalations
from storage.models import (
    Circle,
    Escalation,
    EscalationCategory,
    EscalationSource,
    EscalationStatus,
    EventKind,
    Mentor,
    MessageKind,
    Participant,
    StaffRole,
)
from storage.uow import UnitOfWork
from tests.conftest import CountingRandomness

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def local(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=STOCKHOLM).astimezone(UTC)


@pytest.mark.parametrize(
    ("created", "expected"),
    [
        (local(2026, 1, 12, 10, 0), local(2026, 1, 13, 9, 0)),  # Monday -> Tuesday
        (local(2026, 1, 16, 16, 0), local(2026, 1, 19, 9, 0)),  # Friday -> Monday
        (local(2026, 1, 17, 11, 0), local(2026, 1, 19, 9, 0)),  # Saturday -> Monday
        (local(2026, 1, 5, 8, 0), local(2026, 1, 7, 9, 0)),  # Epiphany (Tue 6th) is off
        (local(2026, 6, 18, 12, 0), local(2026, 6, 22, 9, 0)),  # Midsummer Eve is off
        (local(2026, 12, 23, 12, 0), local(2026, 12, 28, 9, 0)),  # Christmas
        (local(2026, 3, 27, 12, 0), local(2026, 3, 30, 9, 0)),  # over the change to summer time
    ],
)
def test_a_normal_case_comes_back_at_nine_on_the_next_working_day(
    created: datetime, expected: datetime
) -> None:
    assert domain.next_working_morning(created, STOCKHOLM) == expected


def test_an_urgent_case_comes_back_after_fifteen_minutes() -> None:
    case = Escalation(urgent=True)
    now = local(2026, 6, 19, 23, 50)
    assert domain.next_step_at(case, now, STOCKHOLM) == now + timedelta(minutes=15)
    # Urgent notices go out at night; others wait for the morning.
    assert domain.notice_due(case, now, STOCKHOLM) == now
    case.urgent = False
    assert domain.notice_due(case, now, STOCKHOLM) == local(2026, 6, 20, 8, 0)


class World:
    """A project: a participant who writes Arabic, their mentor, an Arabic-speaking
    mentor, a Swedish-only mentor and a coordinator."""

    def __init__(self, database: Database, clock: ManualClock) -> None:
        self.database = database
        self.clock = clock

    async def build(self) -> World:
        now = self.clock.now()
        async with UnitOfWork(self.database) as uow:
            await onboarding.create_cohort(uow, "Lumena", now)
            self.own = await self._mentor(uow, "Amina Haddad", ["sv", "ar"], 1)
            self.arabic = await self._mentor(uow, "Jonas Berg", ["sv", "ar"], 2)
            self.swedish = await self._mentor(uow, "Nils Ek", ["sv"], 3)
            self.coordinator = await self._mentor(uow, "Leila Nasser", ["sv"], 4, True)
            participant = Participant(
                public_id="PTEST1",
                telegram_user_id=100,
                chat_id=100,
                display_name="Omar",
                mentor_id=self.own,
                locale="ar",
                joined_at=now,
            )
            await uow.participants.add(participant)
            self.participant = participant.id
            await uow.commit()
        return self

    async def _mentor(
        self, uow: UnitOfWork, name: str, languages: list[str], tid: int, coord: bool = False
    ) -> int:
        mentor = await onboarding.create_mentor(
            uow,
            name=name,
            languages=languages,
            now=self.clock.now(),
            telegram_user_id=tid,
            is_coordinator=coord,
        )
        return mentor.id

    async def case(self, uow: UnitOfWork, *, urgent: bool) -> tuple[Escalation, Participant]:
        participant = await uow.participants.get(self.participant)
        assert participant is not None
        case = await domain.open_case(
            uow,
            participant=participant,
            category=EscalationCategory.VIOLENCE if urgent else EscalationCategory.HOUSING,
            urgent=urgent,
            terms=["يضربني"] if urgent else [],
            source=EscalationSource.TEXT,
            now=self.clock.now(),
        )
        await domain.add_participant_message(
            uow, case, domain.Incoming(MessageKind.TEXT, text="زوجي يضربني"), self.clock.now()
        )
        return case, participant


@pytest.fixture
async def world(database: Database, clock: ManualClock) -> World:
    return await World(database, clock).build()


def ids(mentors: list[Mentor]) -> list[int]:
    return [mentor.id for mentor in mentors]


async def test_a_case_widens_from_the_mentor_to_arabic_speakers_to_coordinators(
    world: World, clock: ManualClock
) -> None:
    async with UnitOfWork(world.database) as uow:
        case, participant = await world.case(uow, urgent=True)
        paging = await domain.route(uow, case, participant, clock.now(), STOCKHOLM)
        assert ids(paging.new) == [world.own] and case.circle is Circle.MENTOR
        assert case.next_action_at == clock.now() + timedelta(minutes=15)

        clock.advance(timedelta(minutes=15))
        paging = await domain.widen(uow, case, participant, clock.now(), STOCKHOLM)
        # The Swedish-only mentor is never asked to answer in Arabic.
        assert ids(paging.new) == [world.arabic] and ids(paging.again) == [world.own]

        clock.advance(timedelta(minutes=15))
        paging = await domain.widen(uow, case, participant, clock.now(), STOCKHOLM)
        assert ids(paging.new) == [world.coordinator]
        assert ids(paging.again) == [world.own, world.arabic]

        clock.advance(timedelta(minutes=15))
        paging = await domain.widen(uow, case, participant, clock.now(), STOCKHOLM)
        assert paging.new == [] and len(paging.again) == 3
        assert case.next_action_at == clock.now() + timedelta(minutes=15)


async def test_an_unreachable_mentor_is_skipped_at_once(world: World, clock: ManualClock) -> None:
    async with UnitOfWork(world.database) as uow:
        own = await uow.mentors.get(world.own)
        assert own is not None
        own.unreachable_at = clock.now()  # blocked the bot
        case, participant = await world.case(uow, urgent=False)
        case.status = EscalationStatus.OPEN
        paging = await domain.route(uow, case, participant, clock.now(), STOCKHOLM)
        assert ids(paging.new) == [world.arabic] and case.circle is Circle.LANGUAGE
        # Monday 08:00 UTC (09:00 Stockholm): next look on Tuesday at nine.
        assert case.next_action_at == local(2026, 1, 6 + 1, 9, 0)


async def test_with_nobody_reachable_the_case_is_kept_and_tried_again(
    world: World, clock: ManualClock
) -> None:
    async with UnitOfWork(world.database) as uow:
        for mentor in await uow.mentors.all():
            mentor.active = False
        case, participant = await world.case(uow, urgent=True)
        paging = await domain.route(uow, case, participant, clock.now(), STOCKHOLM)
        assert not paging.anyone
        events = [e.kind for e in await uow.repository(Escalations).events(case.id)]
        assert EventKind.UNREACHABLE in events
        assert case.next_action_at == clock.now() + timedelta(minutes=15)
        coordinator = await uow.mentors.get(world.coordinator)
        assert coordinator is not None
        coordinator.active = True
        clock.advance(timedelta(minutes=15))
        paging = await domain.widen(uow, case, participant, clock.now(), STOCKHOLM)
        assert ids(paging.new) == [world.coordinator]


async def test_only_mentors_who_were_told_may_take_a_case_and_only_one_has_it(
    world: World, clock: ManualClock
) -> None:
    async with UnitOfWork(world.database) as uow:
        case, participant = await world.case(uow, urgent=True)
        await domain.route(uow, case, participant, clock.now(), STOCKHOLM)
        swedish = await uow.mentors.get(world.swedish)
        arabic = await uow.mentors.get(world.arabic)
        own = await uow.mentors.get(world.own)
        coordinator = await uow.mentors.get(world.coordinator)
        assert swedish and arabic and own and coordinator
        refused = await domain.take(uow, case, swedish, clock.now())
        assert refused.refusal is domain.Refusal.NOT_ALLOWED
        assert case.status is EscalationStatus.OPEN

        clock.advance(timedelta(minutes=15))
        await domain.widen(uow, case, participant, clock.now(), STOCKHOLM)  # Jonas is told
        taken = await domain.take(uow, case, own, clock.now())
        assert taken.claimed_now and case.assigned_mentor_id == own.id
        assert case.next_action_at is None
        again = await domain.take(uow, case, own, clock.now())
        assert again.refusal is None and not again.claimed_now
        # Another mentor who was told cannot take it over; a coordinator may step in.
        other = await domain.take(uow, case, arabic, clock.now())
        assert other.refusal is domain.Refusal.TAKEN and other.holder is own
        assert (await domain.take(uow, case, coordinator, clock.now())).refusal is None
        assert case.assigned_mentor_id == own.id

        domain.resolve(uow, case, own, clock.now())
        closed = await domain.take(uow, case, own, clock.now())
        assert closed.refusal is domain.Refusal.RESOLVED


async def test_saying_no_deletes_the_words_of_a_draft_and_of_an_urgent_case(
    world: World, clock: ManualClock
) -> None:
    async with UnitOfWork(world.database) as uow:
        draft, _ = await world.case(uow, urgent=False)
        urgent, participant = await world.case(uow, urgent=True)
        await domain.route(uow, urgent, participant, clock.now(), STOCKHOLM)
        assert await domain.withhold(uow, draft, clock.now()) is True
        assert await domain.withhold(uow, urgent, clock.now()) is False
        await uow.commit()
    async with UnitOfWork(world.database) as uow:
        repository = uow.repository(Escalations)
        assert await repository.get(draft.id) is None
        kept = await repository.get(urgent.id)
        assert kept is not None and kept.terms == ["يضربني"]
        assert await repository.messages(urgent.id) == []


async def test_the_flood_limit_counts_what_is_stored_and_tells_once_per_minute(
    world: World, clock: ManualClock
) -> None:
    async with UnitOfWork(world.database) as uow:
        case, participant = await world.case(uow, urgent=False)  # one message
        seen = []
        for n in range(7):
            verdict = await domain.flood(uow, participant, clock.now())
            seen.append(verdict)
            if verdict is domain.Flood.HOLD_AND_TELL:
                uow.repository(Escalations).add_event(case, EventKind.HELD, clock.now())
            await domain.add_participant_message(
                uow, case, domain.Incoming(MessageKind.TEXT, text=f"{n}"), clock.now()
            )
            clock.advance(timedelta(seconds=2))
        assert (
            seen == [domain.Flood.NO] * 4 + [domain.Flood.HOLD_AND_TELL] + [domain.Flood.HOLD] * 2
        )
        clock.advance(timedelta(minutes=1))
        assert await domain.flood(uow, participant, clock.now()) is domain.Flood.NO


async def test_what_participants_write_is_sealed_in_the_database(
    world: World, clock: ManualClock
) -> None:
    async with UnitOfWork(world.database) as uow:
        await world.case(uow, urgent=True)
        await uow.commit()
    async with world.database.engine.connect() as connection:
        stored = (await connection.execute(text("SELECT text FROM escalation_message"))).scalar()
        terms = (await connection.execute(text("SELECT terms FROM escalation"))).scalar()
    assert stored is not None and stored.startswith("enc1:") and "يضربني" not in stored
    assert terms is not None and terms.startswith("enc1:")


async def test_drafts_nobody_decided_on_are_deleted_after_a_day(
    world: World, clock: ManualClock, tmp_path: Path
) -> None:
    async with UnitOfWork(world.database) as uow:
        draft, _ = await world.case(uow, urgent=False)
        await uow.commit()
    deps = Deps(
        settings=load_settings(data_dir=tmp_path),
        database=world.database,
        clock=clock,
        randomness=CountingRandomness(),
        registry=FlowRegistry(),
    )
    clock.advance(timedelta(hours=23))
    assert await sla.delete_stale_drafts(deps) == 0
    clock.advance(timedelta(hours=2))
    assert await sla.delete_stale_drafts(deps) == 1
    async with UnitOfWork(world.database) as uow:
        assert await uow.repository(Escalations).get(draft.id) is None


def test_a_case_may_be_reopened_by_its_participant_within_a_week() -> None:
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    participant = Participant(id=1)
    case = Escalation(
        participant_id=1, status=EscalationStatus.RESOLVED, resolved_at=now - timedelta(days=7)
    )
    assert domain.may_reopen(case, participant, now)
    assert not domain.may_reopen(case, Participant(id=2), now)
    case.resolved_at = now - timedelta(days=7, seconds=1)
    assert not domain.may_reopen(case, participant, now)


async def test_a_claimed_case_whose_mentor_cannot_be_reached_goes_out_again(
    world: World, clock: ManualClock
) -> None:
    async with UnitOfWork(world.database) as uow:
        case, participant = await world.case(uow, urgent=False)
        await domain.share(uow, case, participant, clock.now(), STOCKHOLM)
        own = await uow.mentors.get(world.own)
        assert own is not None
        assert (await domain.take(uow, case, own, clock.now())).claimed_now
        own.unreachable_at = clock.now()
        assert await domain.recipients(uow, case) == []
        domain.release(uow, case, clock.now())
        paging = await domain.route(uow, case, participant, clock.now(), STOCKHOLM)
        assert ids(paging.new) == [world.arabic]
        assert case.status is EscalationStatus.OPEN and case.assigned_mentor_id is None


# The dashboard's view of cases (bot/domain/cases.py) and giving a case to a mentor


def viewer_of(mentor_id: int | None, *, staff: bool = False) -> Viewer:
    return Viewer(
        account_id=1,
        username="someone",
        role=StaffRole.STAFF if staff else StaffRole.MENTOR,
        mentor_id=mentor_id,
        language="en",
    )


def test_a_normal_case_is_late_after_nine_next_working_day_an_urgent_one_after_15_min() -> None:
    friday = local(2026, 1, 16, 15, 0)
    case = Escalation(
        urgent=False, status=EscalationStatus.OPEN, created_at=friday, shared_at=friday
    )
    assert domain.claim_deadline(case, STOCKHOLM) == local(2026, 1, 19, 9, 0)
    assert not domain.overdue(case, local(2026, 1, 19, 8, 59), STOCKHOLM)
    assert domain.overdue(case, local(2026, 1, 19, 9, 1), STOCKHOLM)
    case.urgent = True
    assert domain.claim_deadline(case, STOCKHOLM) == friday + timedelta(minutes=15)
    case.status = EscalationStatus.CLAIMED
    case.claimed_at = friday + timedelta(minutes=10)
    assert not domain.overdue(case, friday + timedelta(days=3), STOCKHOLM)
    case.claimed_at = friday + timedelta(minutes=16)
    assert domain.overdue(case, friday + timedelta(days=3), STOCKHOLM)


async def test_a_case_given_to_another_mentor_is_theirs_and_no_longer_widens(
    world: World, clock: ManualClock
) -> None:
    async with UnitOfWork(world.database) as uow:
        case, participant = await world.case(uow, urgent=True)
        await domain.route(uow, case, participant, clock.now(), STOCKHOLM)
        swedish = await uow.mentors.get(world.swedish)
        assert swedish is not None
        assert await domain.reassign(uow, case, swedish, clock.now()) is None
        assert case.status is EscalationStatus.CLAIMED
        assert case.assigned_mentor_id == world.swedish and case.next_action_at is None
        assert ids(await domain.recipients(uow, case)) == [world.swedish]
        # Only the mentor who has it (or a coordinator) may now act on it.
        own = await uow.mentors.get(world.own)
        assert own is not None
        assert (await domain.take(uow, case, own, clock.now())).refusal is domain.Refusal.TAKEN
        domain.resolve(uow, case, None, clock.now())
        assert await domain.reassign(uow, case, own, clock.now()) is domain.Refusal.RESOLVED
        kinds = [e.kind for e in await uow.repository(Escalations).events(case.id)]
        assert kinds[-2:] == [EventKind.REASSIGNED, EventKind.RESOLVED]


async def waiting(uow: UnitOfWork, viewer: Viewer, now: datetime) -> list[cases.QueueLine]:
    return await cases.queue(uow, viewer, EscalationStatus.OPEN, now, STOCKHOLM)


async def test_the_queue_shows_a_mentor_only_cases_they_may_see_urgent_first_and_no_drafts(
    world: World, clock: ManualClock
) -> None:
    async with UnitOfWork(world.database) as uow:
        normal, participant = await world.case(uow, urgent=False)
        draft, _ = await world.case(uow, urgent=False)
        await domain.share(uow, normal, participant, clock.now(), STOCKHOLM)
        clock.advance(timedelta(minutes=5))
        urgent, _ = await world.case(uow, urgent=True)
        await domain.route(uow, urgent, participant, clock.now(), STOCKHOLM)
        clock.advance(timedelta(minutes=20))
        now = clock.now()

        staff = await cases.queue(
            uow, viewer_of(None, staff=True), EscalationStatus.OPEN, now, STOCKHOLM
        )
        assert [line.id for line in staff] == [urgent.id, normal.id]
        assert staff[0].overdue and not staff[1].overdue
        assert staff[0].waited == timedelta(minutes=20)
        assert draft.id not in [line.id for line in staff]
        assert (await cases.find(uow, viewer_of(None, staff=True), draft.id))[
            0
        ] is cases.Access.NOT_FOUND

        # The own mentor sees both; a Swedish-only mentor who was never told sees none.
        own = await cases.queue(uow, viewer_of(world.own), EscalationStatus.OPEN, now, STOCKHOLM)
        assert len(own) == 2
        assert (
            await cases.queue(uow, viewer_of(world.swedish), EscalationStatus.OPEN, now, STOCKHOLM)
            == []
        )
        assert (await cases.find(uow, viewer_of(world.swedish), urgent.id))[
            0
        ] is cases.Access.REFUSED
        # A coordinator sees everything.
        assert (
            len(
                await cases.queue(
                    uow, viewer_of(world.coordinator), EscalationStatus.OPEN, now, STOCKHOLM
                )
            )
            == 2
        )


async def test_an_urgent_case_not_yet_shared_shows_its_topic_and_terms_but_not_the_words(
    world: World, clock: ManualClock
) -> None:
    async with UnitOfWork(world.database) as uow:
        case, participant = await world.case(uow, urgent=True)
        await domain.route(uow, case, participant, clock.now(), STOCKHOLM)
        staff = viewer_of(None, staff=True)
        shown = await cases.view(uow, staff, case, clock.now(), STOCKHOLM)
        assert not shown.shared and shown.messages == [] and shown.terms == ["يضربني"]
        # Staff without a mentor's role give it to a mentor, or close it; they do not take it.
        assert not shown.may_claim and shown.may_reassign and shown.may_resolve
        await domain.share(uow, case, participant, clock.now(), STOCKHOLM)
        shown = await cases.view(uow, viewer_of(world.own), case, clock.now(), STOCKHOLM)
        assert [m.text for m in shown.messages] == ["زوجي يضربني"]
        assert shown.may_claim and shown.may_resolve and not shown.may_reassign
