"""Campaigns: created with a text per language, written to the outbox per occurrence,
paused, resumed and cancelled at once, counted; quiet hours and recurrences honoured."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.domain import campaigns
from bot.domain.onboarding import DomainError
from bot.runtime import SANDBOX_TOKEN
from bot.sandbox.emulator import Emulator, run_emulator
from bot.schedule import QuietHours
from storage.db import Database
from storage.models import Campaign, CampaignState, OutboxMessage, Participant
from storage.uow import UnitOfWork
from tests.outbox_support import FIRST_CHAT, add_people, close_bots, dispatcher, texts_in

STOCKHOLM = ZoneInfo("Europe/Stockholm")
TEXTS = {"sv": "Fika på fredag!", "ar": "استراحة قهوة يوم الجمعة!", "en": "Coffee on Friday!"}
NO_QUIET = QuietHours(time(0, 0), time(0, 0))

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with run_emulator(SANDBOX_TOKEN) as emulator:
        yield emulator
        await close_bots()


async def create(database: Database, clock: ManualClock, **options: object) -> Campaign:
    values: dict[str, object] = {
        "name": "Fika",
        "cohorts": ["Lumena vår"],
        "texts": TEXTS,
        "schedule": {"kind": "date", "at": (clock.now() + timedelta(minutes=5)).isoformat()},
        "now": clock.now(),
        "zone": STOCKHOLM,
        "quiet": NO_QUIET,
    }
    values.update(options)
    async with UnitOfWork(database) as uow:
        campaign = await campaigns.create_campaign(uow, **values)  # type: ignore[arg-type]
        await uow.commit()
        return campaign


async def materialise(database: Database, now: datetime) -> campaigns.Materialised:
    async with UnitOfWork(database) as uow:
        done = await campaigns.materialise_due(uow, now=now, zone=STOCKHOLM)
        await campaigns.settle(uow, now)
        await uow.commit()
        return done


async def counts(database: Database, name: str = "Fika") -> campaigns.Counts:
    async with UnitOfWork(database) as uow:
        campaign = await campaigns.find_campaign(uow, name)
        return (await campaigns.counts(uow, [campaign]))[campaign.id]


async def state_of(database: Database, name: str = "Fika") -> CampaignState:
    async with UnitOfWork(database) as uow:
        return (await campaigns.find_campaign(uow, name)).state


async def test_a_missing_language_is_refused_unless_a_fallback_is_named(
    database: Database, clock: ManualClock
) -> None:
    await add_people(database, None, 3, now=clock.now(), locales=("sv", "ar", "en"))
    with pytest.raises(DomainError, match=r"no text in العربية, English \(ar, en\)"):
        await create(database, clock, texts={"sv": "Hej"})
    with pytest.raises(DomainError, match="fallback language en has no text"):
        await create(database, clock, texts={"sv": "Hej"}, fallback="en")
    campaign = await create(database, clock, texts={"sv": "Hej", "en": "Hi"}, fallback="en")
    async with UnitOfWork(database) as uow:
        shown = await campaigns.preview(uow, campaign, STOCKHOLM)
    groups = {(g.locale, g.text_locale, g.recipients) for g in shown.groups}
    assert groups == {("sv", "sv", 1), ("ar", "en", 1), ("en", "en", 1)}
    arabic = next(g for g in shown.groups if g.locale == "ar")
    # The fallback text, with how to pause written in the reader's own language.
    assert arabic.text.startswith("Hi\n\n") and "/stop" in arabic.text
    assert "يُرجى إرسال /stop" in arabic.text


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"cohorts": ["Okänd"]}, "no cohort named 'Okänd'"),
        ({"statuses": ["ended"]}, "who have left the project get no campaigns"),
        ({"texts": {**TEXTS, "de": "Hallo"}}, "unknown language de"),
        ({"texts": {**TEXTS, "sv": "x" * 4000}}, "at most"),
        ({"name": " "}, "needs a name"),
    ],
)
async def test_a_campaign_that_could_not_be_sent_is_refused_at_creation(
    database: Database, clock: ManualClock, options: dict[str, object], message: str
) -> None:
    await add_people(database, None, 1, now=clock.now())
    with pytest.raises(DomainError, match=message):
        await create(database, clock, **options)


def test_staff_write_times_and_recurrences_as_they_say_them() -> None:
    now = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)  # Monday 09:00 in Stockholm
    spec = campaigns.parse_schedule(at=None, every="monday 09:00", zone=STOCKHOLM, now=now)
    assert spec == {"kind": "cron", "hour": 9, "minute": 0, "day_of_week": "mon"}
    once = campaigns.parse_schedule(at="2026-01-10 10:30", every=None, zone=STOCKHOLM, now=now)
    assert once["at"] == "2026-01-10T10:30:00+01:00"
    for at, every in (("2025-01-01 10:00", None), (None, "someday 10:00"), ("x", "y")):
        with pytest.raises(DomainError):
            campaigns.parse_schedule(at=at, every=every, zone=STOCKHOLM, now=now)
    assert campaigns.parse_quiet_hours("22:00-07:30") == QuietHours(time(22), time(7, 30))


async def test_each_participant_gets_the_text_in_their_language_once(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    await add_people(database, emu, 6, now=clock.now(), locales=("sv", "ar", "en"))
    await create(database, clock)  # in five minutes
    assert (await materialise(database, clock.now())).rows == 0
    clock.advance(timedelta(minutes=4, seconds=30))
    assert (await materialise(database, clock.now())).rows == 6  # due within the lookahead
    assert (await materialise(database, clock.now())).rows == 0  # never written twice
    sender = await dispatcher(database, emu, clock)
    assert await sender.drain() == 0  # not before its time
    clock.advance(timedelta(seconds=30))
    assert await sender.drain() == 6
    assert (await texts_in(emu, FIRST_CHAT))[0].startswith("Fika på fredag!\n\nVill du pausa")
    assert (await texts_in(emu, FIRST_CHAT + 1))[0].startswith("استراحة قهوة")
    assert (await texts_in(emu, FIRST_CHAT + 2))[0].startswith("Coffee on Friday!")
    assert await counts(database) == campaigns.Counts(sent=6)
    await materialise(database, clock.now())
    assert await state_of(database) is CampaignState.DONE


async def test_a_message_due_in_quiet_hours_waits_for_the_morning(
    database: Database, clock: ManualClock
) -> None:
    await add_people(database, None, 1, now=clock.now())
    evening = datetime(2026, 1, 5, 21, 30, tzinfo=STOCKHOLM)
    clock.set(evening - timedelta(minutes=1))
    await create(
        database,
        clock,
        schedule={"kind": "date", "at": evening.isoformat()},
        quiet=QuietHours(time(21, 0), time(8, 0)),
    )
    await materialise(database, clock.now())
    async with database.session() as session:
        (queued,) = (await session.scalars(select(OutboxMessage))).all()
    assert queued.due_at == datetime(2026, 1, 6, 8, 0, tzinfo=STOCKHOLM)


async def test_a_weekly_campaign_writes_each_monday_and_moves_on(
    database: Database, clock: ManualClock
) -> None:
    await add_people(database, None, 2, now=clock.now())
    clock.set(datetime(2026, 1, 4, 12, 0, tzinfo=STOCKHOLM))  # a Sunday
    await create(
        database, clock, schedule={"kind": "cron", "day_of_week": "mon", "hour": 9, "minute": 0}
    )
    for week in range(3):
        clock.set(datetime(2026, 1, 5 + 7 * week, 9, 0, tzinfo=STOCKHOLM))
        assert (await materialise(database, clock.now())).rows == 2
    async with UnitOfWork(database) as uow:
        campaign = await campaigns.find_campaign(uow, "Fika")
        assert campaign.next_run_at == datetime(2026, 1, 26, 9, 0, tzinfo=STOCKHOLM)
        assert campaign.state is CampaignState.RUNNING
    # Down for a week: the missed Monday is skipped, not sent days late.
    clock.set(datetime(2026, 2, 2, 7, 0, tzinfo=STOCKHOLM))
    assert (await materialise(database, clock.now())).skipped_late


async def test_pause_holds_a_running_send_at_once_and_resume_finishes_it(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    count = 120
    await add_people(database, emu, count, now=clock.now())
    await create(
        database,
        clock,
        schedule={"kind": "date", "at": (clock.now() + timedelta(seconds=1)).isoformat()},
    )
    clock.advance(timedelta(seconds=1))
    await materialise(database, clock.now())
    sender = await dispatcher(database, emu, clock, rate=40.0, batch_size=60)
    sending = asyncio.create_task(sender.drain())
    state = emu.state
    assert await state.wait_for(lambda: state.stats.calls["sendMessage"] >= 20, within=10)
    async with UnitOfWork(database) as uow:
        held = await campaigns.pause(uow, await campaigns.find_campaign(uow, "Fika"), clock.now())
        await uow.commit()
    paused_at = state.stats.calls["sendMessage"]
    await sending
    after_pause = state.stats.calls["sendMessage"]
    # Rows already claimed were held by the dispatcher, except the few already on the way.
    assert after_pause - paused_at <= 10
    assert held > 0
    during = await counts(database)
    assert during.sent == after_pause and during.held == count - after_pause

    async with UnitOfWork(database) as uow:
        await campaigns.resume(
            uow, await campaigns.find_campaign(uow, "Fika"), clock.now(), STOCKHOLM
        )
        await uow.commit()
    await (await dispatcher(database, emu, clock)).drain()
    assert await counts(database) == campaigns.Counts(sent=count)
    assert set(state.stats.messages_per_chat.values()) == {1}


async def test_cancel_withdraws_what_is_queued_and_nothing_more_is_written(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    await add_people(database, emu, 4, now=clock.now())
    await create(database, clock, schedule={"kind": "cron", "hour": 9, "minute": 0})
    clock.set(datetime(2026, 1, 6, 9, 0, tzinfo=STOCKHOLM))
    await materialise(database, clock.now())
    async with UnitOfWork(database) as uow:
        withdrawn = await campaigns.cancel(
            uow, await campaigns.find_campaign(uow, "Fika"), clock.now()
        )
        await uow.commit()
    assert withdrawn == 4
    await (await dispatcher(database, emu, clock)).drain()
    clock.set(datetime(2026, 1, 7, 9, 0, tzinfo=STOCKHOLM))
    assert (await materialise(database, clock.now())).rows == 0
    assert await counts(database) == campaigns.Counts(skipped=4)
    assert (await emu.client.stats()).calls.get("sendMessage", 0) == 0
    async with UnitOfWork(database) as uow:
        with pytest.raises(DomainError, match="cancelled already"):
            await campaigns.cancel(uow, await campaigns.find_campaign(uow, "Fika"), clock.now())


async def test_counts_show_who_was_reached_paused_or_unreachable(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    reached, paused, _blocked = await add_people(database, emu, 3, now=clock.now())
    async with database.session() as session, session.begin():
        pausing = await session.get(Participant, paused)
        assert pausing is not None
        pausing.reminders_paused_at = clock.now()
    await emu.client.block(FIRST_CHAT + 2)
    await create(
        database,
        clock,
        schedule={"kind": "date", "at": (clock.now() + timedelta(seconds=1)).isoformat()},
    )
    clock.advance(timedelta(seconds=1))
    await materialise(database, clock.now())
    await (await dispatcher(database, emu, clock)).drain()
    assert await counts(database) == campaigns.Counts(sent=1, unreachable=1, skipped=1)
    assert reached  # the one who got it
