"""Open sign-up without Telegram: the intake, the flood limit, approving and declining."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.domain import lifecycle, signup
from bot.domain.lifecycle import ChangedBy
from bot.domain.signup import Blocked, Gender, InputProblem, Problem, SignupError, Topic
from storage.db import Database
from storage.journey import Signups
from storage.models import (
    ApplicationDecision,
    EndedReason,
    ParticipantStatus,
    SignupAttempt,
    SignupDraft,
)
from storage.uow import UnitOfWork
from tests import journey_support as seed
from tests.conftest import CountingRandomness


async def apply(
    database: Database,
    clock: ManualClock,
    randomness: CountingRandomness,
    *,
    user_id: int,
    locale: str = "ar",
    name: str = "Omar",
) -> int:
    """Someone goes through the whole intake and sends it; the application's id."""
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.by_telegram_id(user_id)
        check = await signup.may_start(uow, user_id, participant, clock.now(), starts_per_day=3)
        assert check.blocked is None, check
        draft = await signup.begin(
            uow, telegram_user_id=user_id, chat_id=user_id, locale=locale, now=clock.now()
        )
        assert signup.set_name(draft, name, clock.now()) is None
        signup.set_area(draft, "sodertalje", clock.now())
        signup.toggle_topic(draft, Topic.HOUSING, clock.now())
        signup.toggle_topic(draft, Topic.WORK, clock.now())
        signup.set_gender(draft, Gender.MAN, clock.now())
        submitted = await signup.submit(
            uow, draft, participant=participant, now=clock.now(), randomness=randomness
        )
        await uow.commit()
        return submitted.application.id


async def test_a_sent_application_makes_an_applicant_with_no_cohort_or_mentor(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    application_id = await apply(database, clock, randomness, user_id=701)
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.by_telegram_id(701)
        assert participant is not None
        assert (participant.status, participant.cohort_id, participant.mentor_id) == (
            ParticipantStatus.APPLIED,
            None,
            None,
        )
        assert (participant.display_name, participant.gender, participant.locale) == (
            "Omar",
            "man",
            "ar",
        )
        (waiting,) = await signup.pending(uow)
        assert waiting.application.id == application_id
        # Topics keep the order of the buttons, whatever order they were pressed in.
        assert waiting.application.topics == ["work", "housing"]
        assert [e.to_status for e in await lifecycle.history(uow, participant.id)] == [
            ParticipantStatus.APPLIED
        ]
        assert await uow.session.scalar(select(func.count()).select_from(SignupDraft)) == 0


async def test_the_same_account_cannot_apply_twice_nor_a_participant_apply(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    await apply(database, clock, randomness, user_id=702)
    member = await seed.participant(database, clock.now(), telegram_user_id=703)
    async with UnitOfWork(database) as uow:
        applicant = await uow.participants.by_telegram_id(702)
        check = await signup.may_start(uow, 702, applicant, clock.now(), starts_per_day=3)
        assert check.blocked is Blocked.PENDING and check.since == clock.now()
        joined = await uow.participants.get(member)
        check = await signup.may_start(uow, 703, joined, clock.now(), starts_per_day=3)
        assert check.blocked is Blocked.MEMBER


async def test_a_flood_of_sign_ups_from_one_account_is_refused_for_a_day(
    database: Database, clock: ManualClock
) -> None:
    for _ in range(3):
        async with UnitOfWork(database) as uow:
            assert (
                await signup.may_start(uow, 704, None, clock.now(), starts_per_day=3)
            ).blocked is None
            await signup.begin(uow, telegram_user_id=704, chat_id=704, locale="sv", now=clock.now())
            await uow.commit()
        clock.advance(timedelta(minutes=5))
    async with UnitOfWork(database) as uow:
        check = await signup.may_start(uow, 704, None, clock.now(), starts_per_day=3)
        assert check.blocked is Blocked.TOO_MANY
        # Another account is not affected.
        assert (
            await signup.may_start(uow, 705, None, clock.now(), starts_per_day=3)
        ).blocked is None
        # Only one draft is kept per account, however often it starts again.
        assert await uow.session.scalar(select(func.count()).select_from(SignupDraft)) == 1
    clock.advance(timedelta(hours=24))
    async with UnitOfWork(database) as uow:
        assert (
            await signup.may_start(uow, 704, None, clock.now(), starts_per_day=3)
        ).blocked is None


async def test_approving_picks_the_least_loaded_mentor_who_writes_the_language_and_has_room(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    cohort = await seed.cohort(database, "Lumena vår", clock.now())
    swedish_only = await seed.mentor(database, "Jonas Berg", ["sv"], clock.now())
    busy = await seed.mentor(database, "Amina Haddad", ["sv", "ar"], clock.now(), caseload_limit=5)
    free = await seed.mentor(database, "Karim Said", ["ar"], clock.now(), caseload_limit=5)
    for _ in range(2):
        await seed.participant(database, clock.now(), mentor_id=busy)
    await seed.participant(database, clock.now(), mentor_id=free)
    # Someone who ended does not count toward a caseload.
    await seed.participant(database, clock.now(), mentor_id=free, status=ParticipantStatus.ENDED)
    application_id = await apply(database, clock, randomness, user_id=706)
    async with UnitOfWork(database) as uow:
        mentor = await uow.mentors.get(swedish_only)
        assert mentor is not None
        approved = await signup.approve(
            uow,
            application_id,
            cohort_id=None,
            by=ChangedBy.mentor(mentor),
            now=clock.now(),
            rhythm=None,
        )
        await uow.commit()
    assert approved.mentor.id == free and approved.cohort.id == cohort
    participant = await seed.get_participant(database, approved.participant.id)
    assert (participant.status, participant.mentor_id, participant.cohort_id) == (
        ParticipantStatus.ACTIVE,
        free,
        cohort,
    )
    async with UnitOfWork(database) as uow:
        events = await lifecycle.history(uow, participant.id)
        assert [(e.to_status, e.mentor_id) for e in events][-1] == (
            ParticipantStatus.ACTIVE,
            swedish_only,
        )
        application = await uow.repository(Signups).application(application_id)
        assert application is not None
        assert application.decision is ApplicationDecision.APPROVED
        assert application.decided_by_mentor_id == swedish_only


async def test_approval_is_refused_while_every_such_mentor_is_full_and_works_when_room_frees(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    await seed.cohort(database, "Lumena vår", clock.now())
    amina = await seed.mentor(database, "Amina Haddad", ["ar"], clock.now(), caseload_limit=1)
    taken = await seed.participant(database, clock.now(), mentor_id=amina)
    application_id = await apply(database, clock, randomness, user_id=707)
    async with UnitOfWork(database) as uow:
        with pytest.raises(SignupError) as refused:
            await signup.approve(
                uow,
                application_id,
                cohort_id=None,
                by=ChangedBy.staff("Eva"),
                now=clock.now(),
                rhythm=None,
            )
        assert refused.value.problem is Problem.NO_ROOM
        assert "Amina Haddad 1/1" in str(refused.value)
    async with UnitOfWork(database) as uow:
        assert len(await signup.pending(uow)) == 1
        leaving = await uow.participants.get(taken)
        assert leaving is not None
        await lifecycle.leave(
            uow,
            leaving,
            EndedReason.MOVED,
            by=ChangedBy.system(),
            now=clock.now(),
            rhythm=None,
        )
        await uow.commit()
    async with UnitOfWork(database) as uow:
        approved = await signup.approve(
            uow,
            application_id,
            cohort_id=None,
            by=ChangedBy.staff("Eva"),
            now=clock.now(),
            rhythm=None,
        )
        await uow.commit()
    assert approved.mentor.id == amina
    async with UnitOfWork(database) as uow:
        assert await signup.pending(uow) == []


async def test_approval_without_a_mentor_who_writes_the_language_says_so(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    await seed.cohort(database, "Lumena vår", clock.now())
    await seed.mentor(database, "Jonas Berg", ["sv"], clock.now())
    application_id = await apply(database, clock, randomness, user_id=708, locale="en")
    async with UnitOfWork(database) as uow:
        with pytest.raises(SignupError) as refused:
            await signup.approve(
                uow,
                application_id,
                cohort_id=None,
                by=ChangedBy.staff("Eva"),
                now=clock.now(),
                rhythm=None,
            )
    assert refused.value.problem is Problem.NO_MENTOR_SPEAKS


async def test_with_several_cohorts_approval_asks_which(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    await seed.cohort(database, "Lumena vår", clock.now())
    autumn = await seed.cohort(database, "Lumena höst", clock.now())
    await seed.mentor(database, "Amina Haddad", ["ar"], clock.now())
    application_id = await apply(database, clock, randomness, user_id=709)
    async with UnitOfWork(database) as uow:
        with pytest.raises(SignupError) as refused:
            await signup.approve(
                uow,
                application_id,
                cohort_id=None,
                by=ChangedBy.staff("Eva"),
                now=clock.now(),
                rhythm=None,
            )
        assert refused.value.problem is Problem.CHOOSE_COHORT
        approved = await signup.approve(
            uow,
            application_id,
            cohort_id=autumn,
            by=ChangedBy.staff("Eva"),
            now=clock.now(),
            rhythm=None,
        )
        assert approved.cohort.name == "Lumena höst"
        with pytest.raises(SignupError) as again:
            await signup.approve(
                uow,
                application_id,
                cohort_id=autumn,
                by=ChangedBy.staff("Eva"),
                now=clock.now(),
                rhythm=None,
            )
        assert again.value.problem is Problem.NOT_PENDING


async def test_declining_erases_the_name_and_the_account_may_apply_again_a_month_later(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    application_id = await apply(database, clock, randomness, user_id=710, name="Zainab")
    async with UnitOfWork(database) as uow:
        declined = await signup.decline(
            uow, application_id, by=ChangedBy.staff("Eva"), now=clock.now()
        )
        await uow.commit()
    participant = await seed.get_participant(database, declined.participant.id)
    assert participant.display_name is None
    assert (participant.status, participant.ended_reason) == (ParticipantStatus.ENDED, "declined")
    clock.advance(timedelta(days=10))
    async with UnitOfWork(database) as uow:
        check = await signup.may_start(uow, 710, participant, clock.now(), starts_per_day=3)
        assert check.blocked is Blocked.RECENTLY_DECLINED
    clock.advance(timedelta(days=21))
    second = await apply(database, clock, randomness, user_id=710, name="Zainab")
    async with UnitOfWork(database) as uow:
        again = await uow.participants.by_telegram_id(710)
        assert again is not None and again.id == participant.id
        assert again.status is ParticipantStatus.APPLIED
        (waiting,) = await signup.pending(uow)
        assert waiting.application.id == second


async def test_an_applicant_can_withdraw(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    await apply(database, clock, randomness, user_id=711)
    async with UnitOfWork(database) as uow:
        participant = await uow.participants.by_telegram_id(711)
        assert participant is not None
        application = await signup.withdraw(uow, participant, clock.now())
        assert application.decision is ApplicationDecision.WITHDRAWN
        assert (participant.status, participant.display_name) == (ParticipantStatus.ENDED, None)
        assert await signup.pending(uow) == []


async def test_unfinished_drafts_and_old_starts_are_forgotten(
    database: Database, clock: ManualClock
) -> None:
    async with UnitOfWork(database) as uow:
        draft = await signup.begin(
            uow, telegram_user_id=712, chat_id=712, locale="sv", now=clock.now()
        )
        signup.set_name(draft, "Kim", clock.now())
        await uow.commit()
    clock.advance(timedelta(days=13))
    async with UnitOfWork(database) as uow:
        assert await signup.forget_abandoned(uow, clock.now()) == (0, 1)
        await uow.commit()
    clock.advance(timedelta(days=2))
    async with UnitOfWork(database) as uow:
        assert await signup.forget_abandoned(uow, clock.now()) == (1, 0)
        await uow.commit()
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(SignupDraft)) == 0
        assert await session.scalar(select(func.count()).select_from(SignupAttempt)) == 0


@pytest.mark.parametrize(
    ("typed", "result"),
    [
        ("  Omar   Al-Khatib ", "Omar Al-Khatib"),
        ("عمر", "عمر"),
        ("Sara\nLind", "Sara Lind"),
        ("   ", InputProblem.EMPTY),
        ("12345", InputProblem.NO_LETTERS),
        ("x" * 41, InputProblem.TOO_LONG),
        ("Sa\u200bra", "Sara"),
    ],
)
def test_a_typed_name_is_one_tidy_line(typed: str, result: str | InputProblem) -> None:
    assert signup.clean_text(typed, signup.NAME_MAX) == result


def test_the_shipped_data_files_have_every_language() -> None:
    areas = signup.load_areas()
    assert [area.key for area in areas][:2] == ["sodertalje", "nykvarn"]
    assert all(set(area.names) == {"sv", "ar", "en"} for area in areas)
    places = signup.load_elsewhere()
    assert any("112" in place.text("ar") for place in places)


def test_a_data_file_with_a_missing_language_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "areas.toml"
    path.write_text('[[area]]\nkey = "ronna"\nname.sv = "Ronna"\nname.en = "Ronna"\n', "utf-8")
    with pytest.raises(signup.DataFileError, match="area 1: name is missing ar"):
        signup.load_areas(path)
