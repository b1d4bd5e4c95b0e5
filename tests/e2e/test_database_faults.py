"""PostgreSQL going away under a running bot: every connection of the test's own database
is terminated again and again (`pg_terminate_backend`) while the dispatcher sends a
campaign and while participants are answering. The bot logs the error, its connection
pool reconnects, and in the end everybody got their messages: repeats only for rows in
flight at a cut, counted and bounded.

Each test has a database of its own on the shared server, and terminates only the
backends of that database, never anyone else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bot.clock import ManualClock, SystemClock
from bot.config import load_settings
from bot.dispatch import Dispatcher
from bot.messaging import Notifier, OutgoingText
from bot.runtime import SANDBOX_TOKEN
from bot.sandbox.emulator import run_emulator
from storage import migrate
from storage.db import Database
from storage.models import InboxUpdate, OutboxKind, OutboxMessage, OutboxStatus, Participant
from storage.uow import UnitOfWork
from tests.conftest import POSTGRES_URL, CountingRandomness
from tests.e2e.harness import BOT_USERNAME, Person, Stack
from tests.e2e.test_webhook_workers import dedicated_postgres_database
from tests.outbox_support import FIRST_CHAT, add_people, make_bot, policy

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs STEGVIS_TEST_DATABASE_URL (PostgreSQL)"),
]

RECIPIENTS = 400
PARTICIPANTS = 12


class Terminator:
    """Cuts every other connection to one database (this test's own), from outside."""

    def __init__(self, url: str) -> None:
        self.engine = create_async_engine(url, poolclass=NullPool)
        self.cuts = 0
        self.terminated = 0

    async def cut(self) -> int:
        async with self.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            killed = await connection.scalar(
                text(
                    "SELECT count(*) FROM ("
                    " SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()) AS cut"
                )
            )
        self.cuts += 1
        self.terminated += int(killed or 0)
        return int(killed or 0)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def until(
    condition: Callable[[], Awaitable[bool]], within: float, what: str
) -> None:  # a condition on the database, looked at again every few milliseconds
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            if await condition():
                return
        except Exception:
            pass
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_the_dispatcher_survives_the_database_cut_again_and_again_mid_campaign(
    caplog: pytest.LogCaptureFixture, record_property: Callable[[str, object], None]
) -> None:
    caplog.set_level(logging.WARNING)
    clock = SystemClock()  # leases of cut-off rows run out in real time
    async with dedicated_postgres_database() as url:
        database = Database(url)
        terminator = Terminator(url)
        await migrate.upgrade(database)
        async with run_emulator(SANDBOX_TOKEN) as emulator:
            state = emulator.state
            now = clock.now()
            people = await add_people(database, emulator, RECIPIENTS, now=now)
            async with UnitOfWork(database) as uow:
                await Notifier(uow, clock).send_texts(
                    [
                        OutgoingText(
                            chat_id=FIRST_CHAT + index,
                            text="Informationsträff på torsdag kl. 10.",
                            key=f"campaign:{index}",
                            kind=OutboxKind.CAMPAIGN,
                            participant_id=participant_id,
                        )
                        for index, participant_id in enumerate(people)
                    ]
                )
                await uow.commit()
            bot = make_bot(emulator)
            await bot.initialize()
            rules = policy(rate=200.0, lease=timedelta(seconds=2), batch_size=100)
            dispatcher = Dispatcher(database, bot, clock, rules, CountingRandomness())
            stop = asyncio.Event()
            running = asyncio.create_task(dispatcher.run_forever(stop, 0.1))
            started = asyncio.get_running_loop().time()
            try:
                for sent in range(RECIPIENTS // 25, RECIPIENTS, RECIPIENTS // 25):

                    def reached(sent: int = sent) -> bool:
                        return state.stats.calls["sendMessage"] >= sent

                    assert await state.wait_for(reached, within=30), (
                        f"sending stalled after {state.stats.calls['sendMessage']}"
                    )
                    await terminator.cut()
                    assert not running.done(), "the dispatcher died"

                everybody = lambda: all(  # noqa: E731
                    state.stats.messages_per_chat.get(FIRST_CHAT + i, 0) >= 1
                    for i in range(RECIPIENTS)
                )
                assert await state.wait_for(everybody, within=60), "someone got nothing"

                async def all_recorded() -> bool:
                    async with database.session() as session:
                        statuses = set((await session.scalars(select(OutboxMessage.status))).all())
                    return statuses == {OutboxStatus.SENT}

                await until(all_recorded, 30, "every row recorded as sent")
                took = asyncio.get_running_loop().time() - started
                assert not running.done(), "the dispatcher died"
            finally:
                stop.set()
                await asyncio.wait_for(running, timeout=30)
                await bot.shutdown()
        per_chat = [state.stats.messages_per_chat.get(FIRST_CHAT + i, 0) for i in range(RECIPIENTS)]
        await terminator.dispose()
        await database.dispose()

    twice = sum(1 for count in per_chat if count == 2)
    assert min(per_chat) == 1 and max(per_chat) <= 2
    # Rows in flight at a cut: at most the unrecorded window plus the lanes, per cut.
    bound = terminator.cuts * (rules.max_unrecorded + rules.concurrency)
    assert twice <= bound
    assert any("failed" in record.getMessage() for record in caplog.records)  # it was logged
    record_property("cuts", terminator.cuts)
    record_property("sent_twice", twice)
    print(
        f"\n{terminator.cuts} cuts ({terminator.terminated} connections ended) during a "
        f"campaign to {RECIPIENTS}: all got it, {twice} twice, done in {took:.1f}s"
    )


async def run_time(
    clock: ManualClock, stop: asyncio.Event, step: timedelta = timedelta(milliseconds=500)
) -> None:
    """The bot's clock runs ten times faster than real time (or `step` per 50 ms): retry
    delays and leases (seconds in production) pass in a fraction of that."""
    while not stop.is_set():
        clock.advance(step)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.05)


async def cut_while_sending(
    terminator: Terminator, stack: Stack, stop: asyncio.Event, every: int
) -> None:
    """A cut each time the bot has sent `every` more messages."""
    state = stack.emulator.state
    mark = 0
    while not stop.is_set():
        mark += every
        if (
            await state.wait_for(
                lambda: stop.is_set() or state.stats.calls["sendMessage"] >= mark, within=10
            )
            and not stop.is_set()
        ):
            await terminator.cut()


async def test_participants_answering_while_the_database_is_cut_lose_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, record_property: Callable[[str, object], None]
) -> None:
    caplog.set_level(logging.WARNING)
    clock = ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    async with dedicated_postgres_database() as url:
        database = Database(url)
        terminator = Terminator(url)
        await migrate.upgrade(database)
        async with run_emulator(SANDBOX_TOKEN, bot_username=BOT_USERNAME) as emulator:
            stack = Stack(
                emulator=emulator,
                database=database,
                clock=clock,
                randomness=CountingRandomness(),
                settings=load_settings(data_dir=tmp_path),
            )
            await stack.cohort()
            mentor_id = await stack.mentor("Amina Haddad", ["sv"], telegram_user_id=7401)
            amina = await stack.person(7401, "Amina", "sv")
            codes = [await stack.invite(mentor_id=mentor_id) for _ in range(PARTICIPANTS)]
            people = [
                await stack.person(7500 + index, f"Deltagare{index}", "sv")
                for index in range(PARTICIPANTS)
            ]
            await stack.start_bot()
            stop, no_more_cuts = asyncio.Event(), asyncio.Event()
            helpers = [
                asyncio.create_task(run_time(clock, stop)),
                asyncio.create_task(cut_while_sending(terminator, stack, no_more_cuts, every=4)),
            ]

            async def join(person: Person, code: str) -> None:
                await person.command("start", code)
                picker = await person.expect("Välj ditt språk", timeout=60)
                await person.press("Svenska", message=picker)
                notice = await person.expect("Så hanterar vi dina uppgifter", timeout=60)
                await person.press("Ja, jag godkänner", message=notice)
                await person.expect(f"Välkommen, {person.first_name}!", timeout=60)

            started = asyncio.get_running_loop().time()
            try:
                await asyncio.gather(*(join(p, c) for p, c in zip(people, codes, strict=True)))
                news = await emulator.client.wait_for(
                    7401, lambda chat: len(chat) >= PARTICIPANTS, timeout=60
                )
                took = asyncio.get_running_loop().time() - started
                no_more_cuts.set()  # what was cut off settles while time goes on

                async def all_recorded() -> bool:
                    async with database.session() as session:
                        statuses = set((await session.scalars(select(OutboxMessage.status))).all())
                    return statuses == {OutboxStatus.SENT}

                await until(all_recorded, 30, "every row recorded as sent")
            finally:
                stop.set()
                no_more_cuts.set()
                await asyncio.gather(*helpers)
                await stack.stop_bot()
            transcripts = [[m.body for m in await p.bot_messages()] for p in people]
            mentor_news = [m.body for m in await amina.bot_messages()]

        async with database.session() as session:
            joined = await session.scalar(select(func.count()).select_from(Participant))
            waiting = await session.scalar(select(func.count()).select_from(InboxUpdate))
            statuses = set((await session.scalars(select(OutboxMessage.status))).all())
        await terminator.dispose()
        await database.dispose()

    assert joined == PARTICIPANTS and waiting == 0
    assert statuses == {OutboxStatus.SENT}
    repeats = 0
    for person, texts in zip(people, transcripts, strict=True):
        assert texts[-1].startswith(f"Välkommen, {person.first_name}!"), texts
        assert not any("något gick fel" in text.lower() for text in texts), texts
        repeats += len(texts) - 3  # the picker, the notice, the welcome
    repeats += len(mentor_news) - PARTICIPANTS
    assert len(news) >= PARTICIPANTS
    assert terminator.cuts >= 5
    # A repeat only where a cut fell between a message sent and its outcome written.
    assert repeats <= terminator.cuts
    record_property("cuts", terminator.cuts)
    record_property("repeats", repeats)
    print(
        f"\n{terminator.cuts} cuts while {PARTICIPANTS} people joined: nobody lost an answer,"
        f" {repeats} messages repeated, done in {took:.1f}s"
    )


async def cut_others(url: str, spare: int | None, until_: asyncio.Event) -> int:
    """Terminate every backend of this test's own database but `spare` (the one holding
    the lock), every 50 ms, until told to stop; the number of backends ended."""
    engine = create_async_engine(url, poolclass=NullPool)
    ended = 0
    try:
        while not until_.is_set():
            async with engine.connect() as connection:
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                killed = await connection.scalar(
                    text(
                        "SELECT count(*) FROM ("
                        " SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                        " AND pid <> :spare) AS cut"
                    ),
                    {"spare": spare or 0},
                )
            ended += int(killed or 0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(until_.wait(), timeout=0.05)
    finally:
        await engine.dispose()
    return ended


async def test_answers_given_while_the_database_is_out_for_longer_than_the_attempts_survive(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Half the participants answer while every connection that reaches their turn is cut
    (the claim goes through, the turn never does) for seconds, far more tries than
    `update_attempts`; the other half while the database takes no connections at all.
    Not one answer is given up: each is handled once the database answers again."""
    caplog.set_level(logging.INFO)
    clock = ManualClock(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
    half = PARTICIPANTS // 2
    async with dedicated_postgres_database() as url:
        database = Database(url)
        await migrate.upgrade(database)
        own = url.rsplit("/", 1)[1]
        admin = create_async_engine(POSTGRES_URL, poolclass=NullPool)  # ALTERs only `own`
        locker_engine = create_async_engine(url, poolclass=NullPool)
        async with run_emulator(SANDBOX_TOKEN, bot_username=BOT_USERNAME) as emulator:
            stack = Stack(
                emulator=emulator,
                database=database,
                clock=clock,
                randomness=CountingRandomness(),
                settings=load_settings(data_dir=tmp_path),
            )
            await stack.cohort()
            mentor_id = await stack.mentor("Amina Haddad", ["sv"])
            codes = [await stack.invite(mentor_id=mentor_id) for _ in range(PARTICIPANTS)]
            people = [
                await stack.person(7600 + index, f"Deltagare{index}", "sv")
                for index in range(PARTICIPANTS)
            ]
            runtime = await stack.start_bot()
            attempts = runtime.settings.update_attempts
            stop = asyncio.Event()
            # Twenty times real time: an inbox lease (30 s) runs out in 1.5 s.
            ticking = asyncio.create_task(run_time(clock, stop, timedelta(seconds=1)))
            try:
                pickers = []
                for person, code in zip(people, codes, strict=True):
                    await person.command("start", code)
                    pickers.append(await person.expect("Välj ditt språk", timeout=30))

                async def all_sent() -> bool:
                    async with database.session() as session:
                        statuses = set((await session.scalars(select(OutboxMessage.status))).all())
                    return statuses == {OutboxStatus.SENT}

                await until(all_sent, 30, "the pickers recorded as sent")

                # 1. Every connection that reaches a turn is cut: the conversation
                # table is locked by a connection that is spared, everybody else is terminated.
                locker = await locker_engine.connect()
                await locker.begin()
                await locker.execute(text("LOCK TABLE conversation IN ACCESS EXCLUSIVE MODE"))
                spare = int(await locker.scalar(text("SELECT pg_backend_pid()")) or 0)
                cutting = asyncio.Event()
                cutter = asyncio.create_task(cut_others(url, spare, cutting))
                for person, picker in zip(people[:half], pickers[:half], strict=True):
                    await person.press("Svenska", message=picker)
                await asyncio.sleep(8.0)  # the fault's length (160 s of the bot's time)
                cutting.set()
                cut_turns = await cutter
                with contextlib.suppress(Exception):
                    await locker.close()

                # 2. No connections at all: the answers cannot even be stored.
                async with admin.connect() as connection:
                    await connection.execution_options(isolation_level="AUTOCOMMIT")
                    await connection.execute(
                        text(f'ALTER DATABASE "{own}" WITH ALLOW_CONNECTIONS false')
                    )
                    await connection.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = :own"
                        ),
                        {"own": own},
                    )
                try:
                    for person, picker in zip(people[half:], pickers[half:], strict=True):
                        await person.press("Svenska", message=picker)
                    await asyncio.sleep(3.0)  # the outage's length, not a wait for anything
                finally:
                    async with admin.connect() as connection:
                        await connection.execution_options(isolation_level="AUTOCOMMIT")
                        await connection.execute(
                            text(f'ALTER DATABASE "{own}" WITH ALLOW_CONNECTIONS true')
                        )

                # The database answers again: everybody goes on where they were.
                for person in people:
                    notice = await person.expect("Så hanterar vi dina uppgifter", timeout=60)
                    await person.press("Ja, jag godkänner", message=notice)
                for person in people:
                    await person.expect(f"Välkommen, {person.first_name}!", timeout=60)
                await until(all_sent, 30, "every row recorded as sent")
            finally:
                stop.set()
                await ticking
                began = asyncio.get_running_loop().time()
                await stack.stop_bot()
                stopping = asyncio.get_running_loop().time() - began
            transcripts = [[m.body for m in await p.bot_messages()] for p in people]

        async with database.session() as session:
            joined = await session.scalar(select(func.count()).select_from(Participant))
            waiting = await session.scalar(select(func.count()).select_from(InboxUpdate))
        await locker_engine.dispose()
        await admin.dispose()
        await database.dispose()

    for person, texts in zip(people, transcripts, strict=True):
        assert not any("något gick fel" in body.lower() for body in texts), texts
        # The picker, the notice, the welcome: each once, nothing twice.
        assert len(texts) == 3, texts
        assert texts[-1].startswith(f"Välkommen, {person.first_name}!"), texts
    assert joined == PARTICIPANTS and waiting == 0
    # The turns really were cut, many times more than the attempts an update gets.
    assert cut_turns > attempts * half
    messages = [record.getMessage() for record in caplog.records]
    assert not any("given up after" in message for message in messages)
    assert any("database unreachable" in message for message in messages)
    assert any("database answers again" in message for message in messages)
    assert stopping < 5.0
    print(
        f"\n{cut_turns} turn connections cut, then no connections for 3s: all {PARTICIPANTS}"
        f" answers kept, none given up, none twice; stop took {stopping:.1f}s"
    )
