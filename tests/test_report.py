"""`stegvis report`: the ESF figures on a seeded project, checked against hand counts."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from bot.cli import app
from bot.clock import ManualClock
from bot.domain import follow_up, lifecycle, report, signup
from bot.domain import steps as steps_domain
from bot.domain.lifecycle import ChangedBy
from storage import migrate
from storage.db import Database
from storage.models import (
    EndedReason,
    FollowUpAnswer,
    OutboxMessage,
    ParticipantStatus,
    StepKind,
)
from storage.uow import UnitOfWork
from tests import journey_support as seed
from tests.conftest import TEST_KEY, CountingRandomness


def day(month: int, dom: int, year: int = 2026) -> datetime:
    return datetime(year, month, dom, 10, 0, tzinfo=UTC)


class Project:
    """A small project written as it happened, one dated change at a time."""

    def __init__(self, database: Database, clock: ManualClock) -> None:
        self.database = database
        self.clock = clock
        self.mentor_id = 0

    async def joined(self, cohort: int, gender: str | None, on: datetime) -> int:
        self.clock.set(on)
        return await seed.participant(
            self.database, on, mentor_id=self.mentor_id, cohort_id=cohort, gender=gender
        )

    async def step(self, pid: int, kind: StepKind, on: datetime) -> None:
        self.clock.set(on)
        async with UnitOfWork(self.database) as uow:
            participant = await uow.participants.get(pid)
            assert participant is not None
            await steps_domain.record_by_mentor(
                uow,
                participant=participant,
                mentor_id=self.mentor_id,
                kind=kind,
                taken_on=on.date(),
                now=on,
            )
            await uow.commit()

    async def leaves(self, pid: int, reason: EndedReason, on: datetime) -> None:
        self.clock.set(on)
        async with UnitOfWork(self.database) as uow:
            participant = await uow.participants.get(pid)
            assert participant is not None
            await lifecycle.leave(
                uow, participant, reason, by=ChangedBy.system(), now=on, rhythm=None
            )
            await uow.commit()

    async def answers(self, pid: int, months: int, answer: FollowUpAnswer, on: datetime) -> None:
        self.clock.set(on)
        async with UnitOfWork(self.database) as uow:
            for due in (await follow_up.due_questions(uow, on)).asked:
                if due.participant.id == pid and due.question.months == months:
                    assert await follow_up.answer(uow, due.participant, due.question.id, answer, on)
            await uow.commit()


async def seed_project(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    iris = await seed.cohort(database, "IRIS Lund", clock.now())
    usb = await seed.cohort(database, "USB Lund", clock.now())
    project = Project(database, clock)
    project.mentor_id = await seed.mentor(database, "Amina Haddad", ["sv", "ar"], clock.now())

    # Before the period: J joined and ended in December; not counted.
    j = await project.joined(usb, "man", day(12, 1, 2025))
    await project.leaves(j, EndedReason.NO_CONTACT, day(12, 20, 2025))

    a = await project.joined(iris, "woman", day(1, 5))
    b = await project.joined(iris, "woman", day(1, 5))
    c = await project.joined(iris, "man", day(1, 5))
    d = await project.joined(iris, "man", day(1, 5))
    await project.joined(iris, None, day(1, 5))  # E: says nothing of gender, does nothing yet
    h = await project.joined(usb, "woman", day(1, 5))
    i = await project.joined(usb, "other", day(1, 5))

    await project.leaves(h, EndedReason.OWN_WISH, day(2, 1))
    await project.step(a, StepKind.COURSE, day(2, 1))
    await project.step(c, StepKind.CONTACT, day(2, 10))
    await project.leaves(a, EndedReason.WORK, day(3, 2))
    await project.leaves(d, EndedReason.STUDIES, day(3, 15))
    await project.leaves(b, EndedReason.MOVED, day(4, 1))
    await project.leaves(i, EndedReason.WORK, day(6, 1))
    await project.answers(a, 3, FollowUpAnswer.WORK, day(6, 3))
    await project.answers(d, 3, FollowUpAnswer.STUDIES, day(6, 16))
    await project.answers(a, 6, FollowUpAnswer.NEITHER, day(9, 3))

    # An applicant waiting and one declined: never took part, never counted.
    for user_id, declined in ((90_001, False), (90_002, True)):
        async with UnitOfWork(database) as uow:
            draft = await signup.begin(
                uow, telegram_user_id=user_id, chat_id=user_id, locale="ar", now=clock.now()
            )
            signup.set_name(draft, "Nour", clock.now())
            signup.set_area(draft, "sodertalje", clock.now())
            signup.toggle_topic(draft, signup.Topic.WORK, clock.now())
            signup.set_gender(draft, signup.Gender.WOMAN, clock.now())
            sent = await signup.submit(
                uow, draft, participant=None, now=clock.now(), randomness=randomness
            )
            if declined:
                await signup.decline(
                    uow, sent.application.id, by=ChangedBy.staff("Eva"), now=clock.now()
                )
            await uow.commit()


def figures_of(result: report.Report, cohort: str, gender: str) -> tuple[int, ...]:
    (row,) = [r for r in result.rows if (r.cohort, r.gender) == (cohort, gender)]
    f = row.figures
    return (
        f.participants,
        f.with_step,
        f.left,
        f.left_for_work_or_studies,
        f.answered_3,
        f.still_3,
        f.answered_6,
        f.still_6,
    )


async def test_the_first_half_year_is_counted_as_by_hand(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    await seed_project(database, clock, randomness)
    async with UnitOfWork(database) as uow:
        result = await report.build(
            uow,
            report.Period(date(2026, 1, 1), date(2026, 6, 30)),
            zone=seed_zone(),
            now=clock.now(),
            goal_work_or_studies=30,
            goal_step=75,
        )
    # participants, with a step, left, for work or studies, 3 months answered/still,
    # 6 months answered/still. A: course, left for work, still at 3, not at 6. B: moved.
    # C: a contact step. D: left for studies (a step), still at 3. E: nothing. H: left
    # at own wish. I: left for work in June (3 months not yet). J ended in December.
    assert figures_of(result, "IRIS Lund", "woman") == (2, 1, 2, 1, 1, 1, 1, 0)
    assert figures_of(result, "IRIS Lund", "man") == (2, 2, 1, 1, 1, 1, 0, 0)
    assert figures_of(result, "IRIS Lund", "not_stated") == (1, 0, 0, 0, 0, 0, 0, 0)
    assert figures_of(result, "IRIS Lund", "all") == (5, 3, 3, 2, 2, 2, 1, 0)
    assert figures_of(result, "USB Lund", "woman") == (1, 0, 1, 0, 0, 0, 0, 0)
    assert figures_of(result, "USB Lund", "other") == (1, 1, 1, 1, 0, 0, 0, 0)
    assert figures_of(result, "USB Lund", "all") == (2, 1, 2, 1, 0, 0, 0, 0)
    assert figures_of(result, "all", "woman") == (3, 1, 3, 1, 1, 1, 1, 0)
    assert figures_of(result, "all", "man") == (2, 2, 1, 1, 1, 1, 0, 0)
    assert figures_of(result, "all", "all") == (7, 4, 5, 3, 2, 2, 1, 0)
    totals = result.totals
    assert (totals.step_share, totals.work_or_studies_share) == (57.1, 60.0)
    assert (totals.still_3_share, totals.still_6_share) == (100.0, 0.0)
    assert [r.cohort for r in result.rows][:4] == ["IRIS Lund"] * 4


async def test_a_later_period_counts_only_who_took_part_and_left_in_it(
    database: Database, clock: ManualClock, randomness: CountingRandomness
) -> None:
    await seed_project(database, clock, randomness)
    async with UnitOfWork(database) as uow:
        result = await report.build(
            uow,
            report.Period(date(2026, 5, 1), date(2026, 6, 30)),
            zone=seed_zone(),
            now=clock.now(),
            goal_work_or_studies=30,
            goal_step=75,
        )
    # B (moved 1 April) and H (1 February) ended before May; A and D are in follow-up,
    # C and E active, I leaves in June: five take part, one leaves.
    assert figures_of(result, "all", "all") == (5, 4, 1, 1, 0, 0, 0, 0)


def seed_zone() -> ZoneInfo:
    return ZoneInfo("Europe/Stockholm")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("STEGVIS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("STEGVIS_DATABASE_URL", f"sqlite:///{tmp_path / 'stegvis.sqlite3'}")
    monkeypatch.setenv("STEGVIS_ENCRYPTION_KEY", TEST_KEY)
    monkeypatch.setattr("bot.cli.console.width", 200)  # the table as a wide terminal shows it
    return CliRunner()


async def fresh_database(tmp_path: Path) -> Database:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'stegvis.sqlite3'}")
    await migrate.upgrade(database)
    return database


def test_the_command_prints_the_table_and_a_spreadsheet(
    cli: CliRunner,
    tmp_path: Path,
    clock: ManualClock,
    randomness: CountingRandomness,
) -> None:
    async def prepare() -> None:
        database = await fresh_database(tmp_path)
        await seed_project(database, clock, randomness)
        await database.dispose()

    asyncio.run(prepare())

    period = ["--from", "2026-01-01", "--to", "2026-06-30"]
    table = cli.invoke(app, ["report", *period])
    assert table.exit_code == 0, table.output
    assert "IRIS Lund" in table.output and "women" in table.output
    assert "Goal: 75 % make at least one step; now 57.1 %." in table.output
    assert "Goal: 30 % of those who leave go to work or studies; now 60 %." in table.output

    spreadsheet = cli.invoke(app, ["report", *period, "--format", "csv"])
    assert spreadsheet.exit_code == 0, spreadsheet.output
    rows = list(csv.DictReader(io.StringIO(spreadsheet.output)))
    total = next(r for r in rows if (r["cohort"], r["gender"]) == ("all", "all"))
    assert (total["participants"], total["with_step"], total["with_step_percent"]) == (
        "7",
        "4",
        "57.1",
    )
    assert (total["left"], total["left_for_work_or_studies_percent"]) == ("5", "60.0")
    assert (total["goal_step_percent"], total["goal_work_or_studies_percent"]) == ("75", "30")

    wrong = cli.invoke(app, ["report", "--from", "2026-06-30", "--to", "2026-01-01"])
    assert wrong.exit_code == 2 and "the period ends before it starts" in wrong.output


def test_applications_are_listed_approved_and_declined_from_the_command_line(
    cli: CliRunner,
    tmp_path: Path,
    clock: ManualClock,
    randomness: CountingRandomness,
) -> None:
    async def prepare() -> list[str]:
        database = await fresh_database(tmp_path)
        await seed.cohort(database, "Lumena vår", clock.now())
        await seed.mentor(database, "Amina Haddad", ["ar"], clock.now(), caseload_limit=1)
        ids = []
        for user_id in (91_001, 91_002, 91_003):
            async with UnitOfWork(database) as uow:
                draft = await signup.begin(
                    uow, telegram_user_id=user_id, chat_id=user_id, locale="ar", now=clock.now()
                )
                signup.set_name(draft, "Nour", clock.now())
                signup.set_area(draft, "botkyrka", clock.now())
                signup.toggle_topic(draft, signup.Topic.DEBT, clock.now())
                signup.set_gender(draft, signup.Gender.WOMAN, clock.now())
                sent = await signup.submit(
                    uow, draft, participant=None, now=clock.now(), randomness=randomness
                )
                ids.append(sent.participant.public_id)
                await uow.commit()
        await database.dispose()
        return ids

    ids = asyncio.run(prepare())

    listed = cli.invoke(app, ["signup", "list"])
    assert listed.exit_code == 0 and all(public_id in listed.output for public_id in ids)
    assert "Botkyrka" in listed.output and "debt" in listed.output

    approved = cli.invoke(app, ["signup", "approve", ids[0], "--by", "Eva Lind"])
    assert approved.exit_code == 0, approved.output
    assert "in 'Lumena vår' with Amina Haddad" in approved.output
    full = cli.invoke(app, ["signup", "approve", ids[1]])
    assert full.exit_code == 2 and "every mentor who writes ar is full" in full.output
    raised = cli.invoke(app, ["mentor", "limit", "1", "2"])
    assert "Amina Haddad takes at most 2 participants; has 1 now." in raised.output
    assert cli.invoke(app, ["signup", "approve", ids[1]]).exit_code == 0
    assert "takes any number of" in cli.invoke(app, ["mentor", "limit", "1"]).output
    declined = cli.invoke(app, ["signup", "decline", ids[2], "--by", "Eva Lind"])
    assert declined.exit_code == 0, declined.output
    again = cli.invoke(app, ["signup", "decline", ids[2]])
    assert again.exit_code == 2 and "no waiting application" in again.output

    history = cli.invoke(app, ["participant", "history", ids[0]])
    assert "applied" in history.output and "active" in history.output
    assert "Eva Lind" in history.output

    async def check() -> None:
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'stegvis.sqlite3'}")
        async with UnitOfWork(database) as uow:
            first = await uow.participants.by_public_id(ids[0])
            second = await uow.participants.by_public_id(ids[1])
            assert first is not None and first.status is ParticipantStatus.ACTIVE
            assert second is not None and second.status is ParticipantStatus.ACTIVE
            queued = await uow.session.scalar(
                select(func.count()).where(OutboxMessage.idempotency_key.like("signup:%"))
            )
            # Two welcomes and the kind no; Amina is not on Telegram yet.
            assert queued == 3
        await database.dispose()

    asyncio.run(check())
