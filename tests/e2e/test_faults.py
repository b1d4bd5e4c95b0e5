"""Telegram failing under the bot: every main flow, walked with faults on the calls it makes.

Telegram answers 429 (with retry_after) or 500 (502 on getUpdates below), a call times
out, or the connection drops before or after Telegram did the work. Before each step a
participant or mentor takes, the emulator is told to fail the next call of the methods
that step makes (sendMessage, editMessageText, answerCallbackQuery, sendPhoto) and, now
and then, getUpdates. Through it all the people get every message, each exactly once;
only a connection dropped *after* Telegram delivered may show one message twice (the
bot cannot know it arrived), never more repeats than such faults. The stored answers are
the ones given, and every outbox row ends sent.

Retries are timed by the injected clock: a keeper moves it to the next retry as soon as a
failed row waits for one, so the tests never sleep for backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import SANDBOX_TOKEN
from bot.sandbox.emulator import run_emulator
from storage.db import Database
from storage.models import (
    Application,
    Appointment,
    AppointmentAnswer,
    Escalation,
    EscalationStatus,
    InboxUpdate,
    OutboxMessage,
    OutboxStatus,
    SelfRatingScore,
)
from tests.conftest import CountingRandomness
from tests.e2e.harness import BOT_USERNAME, Person, Stack
from tests.e2e.journey import sign_up_in_english
from tests.e2e.people import checkins_of, tick

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning"),
]

AMINA, EVA, SARA, LINA = 7301, 7302, 7311, 7312
FIRST_CHECKIN = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # Monday 10:00 in Stockholm
READ_TIMEOUT = 0.25  # the bot's patience with Telegram in these tests (10 s in production)
SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument")


@dataclass(frozen=True)
class Kind:
    """One way Telegram fails, and how often a step gets it (a 429 costs a real second)."""

    name: str
    fault: dict[str, Any]
    every: int = 1

    @property
    def after_effect(self) -> bool:
        return bool(self.fault.get("after_effect"))


KINDS = [
    Kind("none", {}),
    Kind("429-retry-after", {"status": 429, "retry_after": 1}, every=4),
    Kind("500", {"status": 500}),
    Kind("timeout", {"kind": "delay", "delay": 1.0}, every=2),
    Kind("dropped", {"kind": "drop"}),
    Kind("dropped-after-effect", {"kind": "drop", "after_effect": True}),
]


@dataclass
class Faults:
    """Arms the emulator before each step and remembers what it armed."""

    stack: Stack
    kind: Kind
    steps: int = 0
    armed: list[tuple[int, str]] = field(default_factory=list)

    async def before(self, *methods: str, polling: bool = True) -> None:
        self.steps += 1
        if not self.kind.fault or self.steps % self.kind.every:
            return
        pending = {str(f["method"]).lower() for f in await self.stack.client.faults()}
        # getUpdates every fifth step: a failed poll waits a (real) second before the next.
        poll = polling and self.steps % 5 == 0 and self.kind.name != "timeout"
        wanted = [*methods, *(["getUpdates"] if poll else [])]
        for method in wanted:
            if method.lower() not in pending:
                fault_id = await self.stack.client.inject_fault(method, **self.kind.fault)
                self.armed.append((fault_id, method))

    async def served(self) -> Counter[str]:
        """Armed faults the bot ran into, by method; the rest are taken away."""
        left = {int(f["id"]) for f in await self.stack.client.faults()}
        await self.stack.client.clear_faults()
        return Counter(method for fault_id, method in self.armed if fault_id not in left)


async def keep_time(stack: Stack, stop: asyncio.Event) -> None:
    """Telegram's time passing: when a failed row waits for its retry (backoff, or a
    RetryAfter), move the manual clock there and wake the dispatcher."""
    while not stop.is_set():
        now = stack.clock.now()
        async with stack.database.session() as session:
            due = await session.scalar(
                select(func.min(OutboxMessage.available_at)).where(
                    OutboxMessage.status == OutboxStatus.FAILED,
                    OutboxMessage.available_at > now,
                    OutboxMessage.available_at <= now + timedelta(minutes=20),
                )
            )
        if due is not None and stack.runtime is not None:
            stack.clock.set(max(due, stack.clock.now()))
            stack.runtime.dispatcher.wake()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.02)


@pytest.fixture
async def faulty_stack(
    sqlite_database: Database, clock: ManualClock, randomness: CountingRandomness, tmp_path: Path
) -> AsyncIterator[Stack]:
    async with run_emulator(SANDBOX_TOKEN, bot_username=BOT_USERNAME) as emulator:
        stack = Stack(
            emulator=emulator,
            database=sqlite_database,
            clock=clock,
            randomness=randomness,
            settings=load_settings(data_dir=tmp_path),
            overrides={"telegram_read_timeout": READ_TIMEOUT},
        )
        await stack.start_bot()
        stop = asyncio.Event()
        keeper = asyncio.create_task(keep_time(stack, stop))
        try:
            yield stack
        finally:
            stop.set()
            await keeper
            await emulator.client.clear_faults()
            await stack.stop_bot()


async def outcomes_written(stack: Stack, within: float = 10.0) -> None:
    """Wait until every row due so far has its outcome written (a reply's outcome is
    written just after Telegram answered, so a moment after the person saw it)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        async with stack.database.session() as session:
            open_rows = await session.scalar(
                select(func.count()).where(
                    OutboxMessage.status.in_([OutboxStatus.SENDING, OutboxStatus.PENDING]),
                    OutboxMessage.due_at <= stack.clock.now(),
                )
            )
        if not open_rows or loop.time() > deadline:
            return
        await asyncio.sleep(0.02)  # a database condition, looked at often


PRESS = ("answerCallbackQuery", "editMessageText", "sendMessage")
TIMEOUT = 20.0  # a step may wait out several faults in a row


async def press(faults: Faults, person: Person, label: str, *also: str) -> None:
    await faults.before(*PRESS, *also)
    await person.press(label)


async def say(faults: Faults, person: Person, text: str) -> None:
    await faults.before("sendMessage")
    await person.say(text)


async def command(faults: Faults, person: Person, name: str, args: str | None = None) -> None:
    await faults.before("sendMessage")
    await person.command(name, args)


@pytest.mark.parametrize("kind", KINDS, ids=[kind.name for kind in KINDS])
async def test_every_flow_survives_telegram_faults_and_nothing_is_lost(
    faulty_stack: Stack, kind: Kind, record_property: Callable[[str, object], None]
) -> None:
    stack = faulty_stack
    faults = Faults(stack, kind)
    await stack.cohort()
    mentor_id = await stack.mentor("Amina Haddad", ["sv", "ar"], telegram_user_id=AMINA)
    await stack.mentor("Eva Lind", ["sv"], telegram_user_id=EVA, is_coordinator=True)
    amina = await stack.person(AMINA, "Amina", "sv")
    eva = await stack.person(EVA, "Eva", "sv")

    # Joining with an invite; the mentor is told.
    code = await stack.invite(mentor_id=mentor_id)
    sara = await stack.person(SARA, "Sara", "sv")
    await command(faults, sara, "start", code)
    await press(faults, sara, "Svenska")
    await press(faults, sara, "Ja, jag godkänner")
    await sara.expect("Välkommen, Sara!", timeout=TIMEOUT)
    await amina.expect("Ny deltagare", timeout=TIMEOUT)

    # The weekly check-in, answered with buttons.
    await tick(stack)
    # Time jumps ahead only once what was sent is recorded: a reply still on its way would
    # otherwise see its lease run out in a moment and go twice, which real time never does.
    await outcomes_written(stack)
    stack.clock.set(FIRST_CHECKIN)
    await faults.before("sendMessage", polling=False)
    await tick(stack)
    question = await sara.expect("Hur har din vecka varit?", timeout=TIMEOUT)
    await faults.before(*PRESS)
    await sara.press("🙂 Bra", message=question)
    activities = await sara.expect("Vad har du gjort för jobb eller studier", timeout=TIMEOUT)
    await faults.before(*PRESS)
    await sara.press("Sökt jobb", message=activities)
    await press(faults, sara, "Klar")
    await sara.expect("Vill du ha hjälp med något?", timeout=TIMEOUT)
    await press(faults, sara, "Nej tack")
    await sara.expect("Tack för dina svar!", timeout=TIMEOUT)

    # The self-rating, six themes, ending with a chart (sendPhoto).
    await command(faults, sara, "rating")
    for number, label in enumerate(["Delvis", "Lite", "Till stor del", "Helt", "Delvis"], 1):
        await sara.expect(f"Fråga {number} av 6", timeout=TIMEOUT)
        await press(faults, sara, label)
    await sara.expect("Fråga 6 av 6", timeout=TIMEOUT)
    await press(faults, sara, "Lite", "sendPhoto")
    await sara.expect("Tack! Här är din självskattning:", timeout=TIMEOUT)
    chart = await sara.expect("Dina självskattningar över tid", timeout=TIMEOUT)
    assert chart.photo is not None
    await amina.expect("har gjort en självskattning", timeout=TIMEOUT)

    # A request for help reaches the mentor, who claims it and answers.
    await command(faults, sara, "help")
    await sara.expect("Vad behöver du hjälp med?", timeout=TIMEOUT)
    await press(faults, sara, "Boende")
    await sara.expect("Skriv med egna ord", timeout=TIMEOUT)
    await say(faults, sara, "Hyresvärden har sagt upp mitt kontrakt.")
    await sara.expect("Det här får Amina se:", timeout=TIMEOUT)
    await press(faults, sara, "Ja, skicka")
    await sara.expect("Skickat till Amina.", timeout=TIMEOUT)
    notice = await amina.expect("Hjälpärende #", timeout=TIMEOUT)
    await faults.before(*PRESS)
    await amina.press("Ta ärendet", message=notice)
    await amina.expect("Du har tagit ärende", timeout=TIMEOUT)
    await sara.expect("Amina har läst ditt ärende", timeout=TIMEOUT)
    await faults.before("sendMessage")
    await stack.client.send_text(AMINA, "Vi ringer hyresvärden i morgon.", reply_to=notice.id)
    answer = await sara.expect("Din mentor Amina:", timeout=TIMEOUT)
    assert "Vi ringer hyresvärden i morgon." in answer.body
    await amina.expect("Skickat till Sara.", timeout=TIMEOUT)

    # An appointment reminder, and the participant's answer back to the mentor.
    await command(faults, amina, "remind")
    await amina.expect("Vem gäller mötet?", timeout=TIMEOUT)
    who = await stack.client.latest_bot_message(AMINA, with_buttons=True)
    assert who is not None
    await press(faults, amina, who.button_labels[0])
    await amina.expect("Vilken dag?", timeout=TIMEOUT)
    await press(faults, amina, "tisdag 6 januari")
    await amina.expect("Vilken tid?", timeout=TIMEOUT)
    await press(faults, amina, "14:00")
    await amina.expect("Var är mötet?", timeout=TIMEOUT)
    await say(faults, amina, "Arbetsförmedlingen, Storgatan 3")
    await amina.expect("Sparat: möte med", timeout=TIMEOUT)
    await faults.before("sendMessage", polling=False)
    await outcomes_written(stack)
    stack.clock.set(datetime(2026, 1, 5, 13, 30, tzinfo=UTC))  # a day before, and a half hour
    assert stack.runtime is not None
    stack.runtime.dispatcher.wake()
    await sara.expect("Påminnelse: du har ett möte med Amina", timeout=TIMEOUT)
    await press(faults, sara, "Jag kommer")
    await sara.expect("Tack! Vi ses tisdag 6 januari kl. 14:00.", timeout=TIMEOUT)
    await amina.expect("kommer till mötet tisdag 6 januari kl. 14:00.", timeout=TIMEOUT)

    # Open sign-up, in English, and the coordinator is told.
    lina = await stack.person(LINA, "Lina", "en")
    await faults.before(*PRESS)
    sent = await sign_up_in_english(lina)
    assert "within 5 working days" in sent.body
    await eva.expect("Ny ansökan", timeout=TIMEOUT)

    # Everything the bot owed went out; nothing waits, nothing was given up.
    assert stack.runtime is not None
    await stack.runtime.dispatcher.settled()
    served = await faults.served()
    await outcomes_written(stack)
    async with stack.database.session() as session:
        now = stack.clock.now()
        statuses = Counter(
            (
                await session.scalars(
                    select(OutboxMessage.status).where(OutboxMessage.due_at <= now)
                )
            ).all()
        )
        later = await session.scalar(
            select(func.count()).where(OutboxMessage.due_at > now)  # the hour-before reminder
        )
        waiting_updates = await session.scalar(select(func.count()).select_from(InboxUpdate))
        scores = {
            row.theme: row.score for row in (await session.scalars(select(SelfRatingScore))).all()
        }
        (case,) = (await session.scalars(select(Escalation))).all()
        (appointment,) = (await session.scalars(select(Appointment))).all()
        applications = (await session.scalars(select(Application))).all()
    assert set(statuses) == {OutboxStatus.SENT}, statuses
    assert later == 1
    assert waiting_updates == 0

    # The answers stored are the ones given.
    (checkin,) = await checkins_of(stack, SARA)
    assert (checkin.mood, checkin.activities, checkin.wants_help) == (4, ["apply"], False)
    assert scores == {
        "health": 3,
        "everyday": 2,
        "belief": 4,
        "together": 5,
        "jobsearch": 3,
        "skills": 2,
    }
    assert case.status is EscalationStatus.CLAIMED
    assert appointment.answer is AppointmentAnswer.COMING
    assert len(applications) == 1

    # Each message arrived once; a repeat only where Telegram delivered and the answer
    # was lost, and never more repeats than such faults.
    repeats = 0
    for user_id in (SARA, AMINA, EVA, LINA):
        bodies = Counter(
            (m.body, m.photo is not None) for m in await stack.client.bot_messages(user_id)
        )
        repeats += sum(count - 1 for count in bodies.values())
        if not kind.after_effect:
            assert max(bodies.values()) == 1, [b for b, c in bodies.items() if c > 1]
    sent_faults = sum(served[method] for method in SEND_METHODS)
    assert repeats <= (sent_faults if kind.after_effect else 0)
    if kind.fault:
        assert sum(served.values()) >= 10, served  # the faults did hit the flows
    record_property("faults_served", sum(served.values()))
    record_property("repeats", repeats)
    print(f"\n{kind.name}: {dict(served)} faults served, {repeats} messages repeated")


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 429, "retry_after": 1},
        {"status": 409, "description": "Conflict: terminated by other getUpdates request"},
        {"status": 502, "description": "Bad Gateway"},
        {"kind": "drop", "after_effect": True},
    ],
    ids=["429", "409", "502", "dropped-after-effect"],
)
async def test_polling_goes_on_after_getupdates_fails(
    faulty_stack: Stack, fault: dict[str, Any]
) -> None:
    """A 429 on getUpdates used to end polling for good: the bot heard nobody after it."""
    stack = faulty_stack
    await stack.cohort()
    sara = await stack.person(SARA, "Sara", "sv")
    await stack.client.inject_fault("getUpdates", times=2, **fault)
    await sara.command("start", await stack.invite())
    await sara.press("Svenska", message=await sara.expect("Välj ditt språk", timeout=TIMEOUT))
    await sara.expect("Så hanterar vi dina uppgifter", timeout=TIMEOUT)
    assert await stack.client.faults() == []  # both were served
    assert len(await sara.bot_messages()) == 2  # the picker and the notice, once each
