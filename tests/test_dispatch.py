"""The outbox dispatcher against the Bot API emulator, with Telegram's faults injected."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.dispatch import Pacer
from bot.runtime import SANDBOX_TOKEN
from bot.sandbox import RateLimits
from bot.sandbox.emulator import Emulator, run_emulator
from storage.db import Database
from storage.models import OutboxKind, OutboxMessage, OutboxStatus, Participant
from tests.outbox_support import (
    FIRST_CHAT,
    add_people,
    close_bots,
    dispatcher,
    queue,
    row,
    texts_in,
)

pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def queue_greetings(
    database: Database, ids: list[int], clock: ManualClock, kind: OutboxKind
) -> None:
    """One "Hej" to each of these participants, to chats FIRST_CHAT onward."""
    for index, pid in enumerate(ids):
        await queue(
            database,
            FIRST_CHAT + index,
            "Hej",
            now=clock.now(),
            key=f"k{index}",
            kind=kind,
            participant_id=pid,
        )


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    async with run_emulator(SANDBOX_TOKEN) as emulator:
        yield emulator
        await close_bots()


async def test_a_due_row_is_sent_once_and_its_message_id_kept(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    (pid,) = await add_people(database, emu, 1, now=clock.now())
    row_id = await queue(database, FIRST_CHAT, "Hej!", now=clock.now(), key="k", participant_id=pid)
    later = await queue(
        database,
        FIRST_CHAT,
        "Sen",
        now=clock.now(),
        key="later",
        due_at=clock.now() + timedelta(hours=1),
    )
    sender = await dispatcher(database, emu, clock)
    assert await sender.drain() == 1
    assert await sender.drain() == 0
    sent = await row(database, row_id)
    assert sent.status is OutboxStatus.SENT and sent.attempts == 1
    (message,) = await emu.client.bot_messages(FIRST_CHAT)
    assert (message.text, sent.telegram_message_id) == ("Hej!", message.id)
    assert (await row(database, later)).status is OutboxStatus.PENDING

    clock.advance(timedelta(hours=1))
    assert await sender.drain() == 1
    assert await texts_in(emu, FIRST_CHAT) == ["Hej!", "Sen"]


async def test_retry_after_waits_exactly_as_long_as_telegram_says(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    await add_people(database, emu, 1, now=clock.now())
    row_id = await queue(database, FIRST_CHAT, "Hej!", now=clock.now(), key="k")
    await emu.client.inject_fault("sendMessage", status=429, retry_after=2)
    sender = await dispatcher(database, emu, clock)
    assert await sender.drain() == 1
    waiting = await row(database, row_id)
    assert waiting.status is OutboxStatus.FAILED
    assert waiting.available_at == clock.now() + timedelta(seconds=2)
    assert waiting.attempts == 0 and waiting.last_error == "RetryAfter 2s"
    assert await sender.drain() == 0  # not before its time

    refused_at = time.monotonic()
    clock.advance(timedelta(seconds=2))
    assert await sender.drain() == 1
    (message,) = await emu.client.bot_messages(FIRST_CHAT)
    # The dispatcher itself held back for Telegram's two seconds, not less.
    assert time.monotonic() - refused_at >= 1.9
    assert (await row(database, row_id)).status is OutboxStatus.SENT
    assert message.text == "Hej!"


async def test_server_errors_and_timeouts_back_off_then_the_row_dies_with_its_reason(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    await add_people(database, emu, 1, now=clock.now())
    row_id = await queue(database, FIRST_CHAT, "Hej!", now=clock.now(), key="k")
    sender = await dispatcher(database, emu, clock, max_attempts=3)
    await emu.client.inject_fault("sendMessage", status=502, description="Bad Gateway")
    await sender.drain()
    first = await row(database, row_id)
    assert first.status is OutboxStatus.FAILED and first.attempts == 1
    # Backoff: 2 s for the first retry (the test's randomness picks the top of the jitter).
    assert first.available_at == clock.now() + timedelta(seconds=2)

    clock.advance(timedelta(seconds=2))
    await emu.client.inject_fault("sendMessage", kind="drop")
    await sender.drain()
    second = await row(database, row_id)
    assert second.status is OutboxStatus.FAILED and second.attempts == 2
    assert second.available_at == clock.now() + timedelta(seconds=4)

    clock.advance(timedelta(seconds=4))
    await emu.client.inject_fault("sendMessage", status=500)
    await sender.drain()
    dead = await row(database, row_id)
    assert dead.status is OutboxStatus.DEAD and dead.attempts == 3
    assert dead.last_error is not None and dead.last_error.startswith("gave up after 3 attempts")
    assert await emu.client.bot_messages(FIRST_CHAT) == []


async def test_a_slow_answer_is_a_timeout_and_is_tried_again(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    await add_people(database, emu, 1, now=clock.now())
    row_id = await queue(database, FIRST_CHAT, "Hej!", now=clock.now(), key="k")
    sender = await dispatcher(database, emu, clock)
    await emu.client.inject_fault("sendMessage", kind="delay", delay=5.0)
    await sender.drain()
    slow = await row(database, row_id)
    assert slow.status is OutboxStatus.FAILED and "TimedOut" in (slow.last_error or "")
    clock.advance(timedelta(seconds=2))
    await sender.drain()
    assert (await row(database, row_id)).status is OutboxStatus.SENT
    assert await texts_in(emu, FIRST_CHAT) == ["Hej!"]


async def test_a_file_and_an_edit_go_out_as_the_payload_describes(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    from bot.messaging import Button, edit_payload, file_payload

    await add_people(database, emu, 1, now=clock.now())
    document = await queue(database, FIRST_CHAT, "x", now=clock.now(), key="d")
    async with database.session() as session, session.begin():
        row_ = await session.get(OutboxMessage, document)
        assert row_ is not None
        row_.payload = file_payload(
            "sendDocument", b"mina uppgifter", filename="data.txt", caption="Dina uppgifter"
        )
    sender = await dispatcher(database, emu, clock)
    await sender.drain()
    (sent,) = await emu.client.bot_messages(FIRST_CHAT)
    assert sent.caption == "Dina uppgifter" and sent.document is not None
    assert await emu.client.file_bytes(sent.document) == b"mina uppgifter"

    await queue(database, FIRST_CHAT, "Hej", now=clock.now(), key="t")
    await sender.drain()
    text_message = (await emu.client.bot_messages(FIRST_CHAT))[-1]
    edit = await queue(database, FIRST_CHAT, "x", now=clock.now(), key="e")
    async with database.session() as session, session.begin():
        row_ = await session.get(OutboxMessage, edit)
        assert row_ is not None
        row_.payload = edit_payload(text_message.id, "Ändrad", [[Button("OK", "x:ok")]])
    await sender.drain()
    edited = (await emu.client.bot_messages(FIRST_CHAT))[-1]
    assert (edited.id, edited.text, edited.button_labels) == (text_message.id, "Ändrad", ["OK"])
    assert (await row(database, edit)).status is OutboxStatus.SENT


async def test_a_bad_request_dies_at_once_with_telegrams_reason(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    await add_people(database, emu, 1, now=clock.now())
    row_id = await queue(database, FIRST_CHAT, "Hej!", now=clock.now(), key="k")
    await emu.client.inject_fault("sendMessage", status=400, description="Bad Request: injected")
    sender = await dispatcher(database, emu, clock)
    await sender.drain()
    dead = await row(database, row_id)
    assert dead.status is OutboxStatus.DEAD and dead.attempts == 1
    assert dead.last_error == "BadRequest: Injected"


async def test_a_blocked_bot_marks_the_participant_unreachable_until_they_come_back(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    (pid,) = await add_people(database, emu, 1, now=clock.now())
    await emu.client.block(FIRST_CHAT)
    first = await queue(
        database,
        FIRST_CHAT,
        "1",
        now=clock.now(),
        key="a",
        kind=OutboxKind.CAMPAIGN,
        participant_id=pid,
    )
    second = await queue(
        database,
        FIRST_CHAT,
        "2",
        now=clock.now(),
        key="b",
        kind=OutboxKind.CAMPAIGN,
        participant_id=pid,
    )
    next_week = await queue(
        database,
        FIRST_CHAT,
        "3",
        now=clock.now(),
        key="c",
        kind=OutboxKind.REMINDER,
        participant_id=pid,
        due_at=clock.now() + timedelta(days=7),
    )
    sender = await dispatcher(database, emu, clock)
    await sender.drain()
    assert (await row(database, first)).status is OutboxStatus.UNREACHABLE
    assert (await row(database, second)).status is OutboxStatus.UNREACHABLE
    assert (await row(database, next_week)).status is OutboxStatus.PENDING
    assert (await emu.client.stats()).calls["sendMessage"] == 1  # the second was not tried
    async with database.session() as session:
        participant = await session.get(Participant, pid)
        assert participant is not None and participant.unreachable_at == clock.now()

    # Came back (their /start clears the mark): what is due later is sent again.
    await emu.client.unblock(FIRST_CHAT)
    async with database.session() as session, session.begin():
        participant = await session.get(Participant, pid)
        assert participant is not None
        participant.unreachable_at = None
    clock.advance(timedelta(days=7))
    await sender.drain()
    assert (await row(database, next_week)).status is OutboxStatus.SENT
    assert await texts_in(emu, FIRST_CHAT) == ["3"]


async def test_participants_who_paused_or_left_get_no_reminders_but_still_get_replies(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    paused, left = await add_people(database, emu, 2, now=clock.now())
    async with database.session() as session, session.begin():
        for pid, field, value in (
            (paused, "reminders_paused_at", clock.now()),
            (left, "status", "ended"),
        ):
            participant = await session.get(Participant, pid)
            setattr(participant, field, value)
    campaign_row = await queue(
        database,
        FIRST_CHAT,
        "Fika",
        now=clock.now(),
        key="a",
        kind=OutboxKind.CAMPAIGN,
        participant_id=paused,
    )
    reminder_row = await queue(
        database,
        FIRST_CHAT + 1,
        "Möte",
        now=clock.now(),
        key="b",
        kind=OutboxKind.REMINDER,
        participant_id=left,
    )
    reply_row = await queue(
        database,
        FIRST_CHAT,
        "Svar",
        now=clock.now(),
        key="c",
        kind=OutboxKind.REPLY,
        participant_id=paused,
    )
    sender = await dispatcher(database, emu, clock)
    await sender.drain()
    skipped = await row(database, campaign_row)
    assert (skipped.status, skipped.last_error) == (
        OutboxStatus.SKIPPED,
        "recipient paused reminders",
    )
    assert (await row(database, reminder_row)).last_error == "recipient left the project"
    assert (await row(database, reply_row)).status is OutboxStatus.SENT
    assert await texts_in(emu, FIRST_CHAT) == ["Svar"]
    assert await texts_in(emu, FIRST_CHAT + 1) == []


async def test_a_row_left_sending_by_a_crash_is_taken_up_after_its_lease(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    await add_people(database, emu, 1, now=clock.now())
    row_id = await queue(database, FIRST_CHAT, "Hej!", now=clock.now(), key="k")
    crashed = await dispatcher(database, emu, clock, lease=timedelta(seconds=30))
    assert await crashed.claim() == [row_id]  # ... and the process dies here
    survivor = await dispatcher(database, emu, clock)
    assert await survivor.drain() == 0
    clock.advance(timedelta(seconds=31))
    assert await survivor.drain() == 1
    assert await texts_in(emu, FIRST_CHAT) == ["Hej!"]
    # The dead process's late bookkeeping cannot overwrite what the survivor recorded.
    await crashed.send_claimed([row_id])
    assert (await row(database, row_id)).status is OutboxStatus.SENT
    assert await texts_in(emu, FIRST_CHAT) == ["Hej!"]


async def test_a_chats_rows_go_in_order_but_a_reply_does_not_wait_for_a_campaign(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    (pid,) = await add_people(database, emu, 1, now=clock.now())
    parts = [
        await queue(
            database, FIRST_CHAT, f"del {n}", now=clock.now(), key=f"n{n}", participant_id=pid
        )
        for n in range(1, 4)
    ]
    campaign = await queue(
        database,
        FIRST_CHAT,
        "Fika",
        now=clock.now(),
        key="c",
        kind=OutboxKind.CAMPAIGN,
        participant_id=pid,
    )
    await emu.client.inject_fault("sendMessage", status=500)
    sender = await dispatcher(database, emu, clock)
    await sender.drain()
    # The first part failed: the later parts wait for it; the campaign row is its own line.
    assert [(await row(database, p)).status for p in parts] == [
        OutboxStatus.FAILED,
        OutboxStatus.PENDING,
        OutboxStatus.PENDING,
    ]
    reply = await queue(
        database, FIRST_CHAT, "Svar", now=clock.now(), key="r", kind=OutboxKind.REPLY
    )
    await sender.drain()
    assert (await row(database, reply)).status is OutboxStatus.SENT
    clock.advance(timedelta(seconds=2))
    await sender.drain()
    assert (await row(database, campaign)).status is OutboxStatus.SENT
    texts = await texts_in(emu, FIRST_CHAT)
    assert [t for t in texts if t.startswith("del")] == ["del 1", "del 2", "del 3"]
    assert texts.index("Svar") < texts.index("del 1")


async def test_two_dispatchers_side_by_side_never_send_a_row_twice(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    count = 600
    ids = await add_people(database, emu, count, now=clock.now())
    await queue_greetings(database, ids, clock, OutboxKind.CAMPAIGN)
    second_db = Database(str(database.url), schema=database.schema)
    try:
        one = await dispatcher(database, emu, clock, batch_size=40)
        two = await dispatcher(second_db, emu, clock, batch_size=40)
        handled = await asyncio.gather(one.drain(), two.drain())
    finally:
        await second_db.dispose()
    stats = await emu.client.stats()
    assert stats.calls["sendMessage"] == count
    assert sorted(stats.messages_per_chat) == [FIRST_CHAT + i for i in range(count)]
    assert set(stats.messages_per_chat.values()) == {1}
    assert sum(handled) == count and all(handled)  # both did part of the work
    async with database.session() as session:
        statuses = set((await session.scalars(select(OutboxMessage.status))).all())
    assert statuses == {OutboxStatus.SENT}


async def test_a_reply_still_on_its_way_when_its_lease_runs_out_is_not_sent_again(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    """A slow send (a large file, a slow link) outlives its lease: the process sending it
    knows it is only slow, so its own next claim leaves it alone."""
    (pid,) = await add_people(database, emu, 1, now=clock.now())
    reply = await queue(
        database,
        FIRST_CHAT,
        "Svar",
        now=clock.now(),
        key="r",
        kind=OutboxKind.REPLY,
        participant_id=pid,
        status=OutboxStatus.SENDING,
        lease_until=clock.now() + timedelta(seconds=60),
    )
    sender = await dispatcher(database, emu, clock)
    await emu.client.inject_fault("sendMessage", kind="delay", delay=1.0)
    on_its_way = asyncio.create_task(sender.send_claimed([reply]))
    deadline = asyncio.get_running_loop().time() + 5
    while await emu.client.faults():  # the delayed request has reached Telegram
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    clock.advance(timedelta(minutes=2))  # the lease has run out while Telegram is slow
    assert await sender.claim() == []
    await on_its_way
    assert await texts_in(emu, FIRST_CHAT) == ["Svar"]
    assert (await row(database, reply)).status is OutboxStatus.SENT
    # Once its outcome is written it is no longer in hand, and nothing is left to claim.
    assert await sender.claim() == []


async def test_dispatchers_share_the_bots_rate_and_telegram_never_says_too_many(
    database: Database, clock: ManualClock
) -> None:
    """Two workers, one bot: each paces at half the rate, so together they keep Telegram's
    limit (each at the whole rate would send 40 a second into a limit of 20)."""
    count = 60
    limits = RateLimits(per_second=20)
    async with run_emulator(SANDBOX_TOKEN, rate_limits=limits) as emulator:
        ids = await add_people(database, emulator, count, now=clock.now())
        await queue_greetings(database, ids, clock, OutboxKind.CAMPAIGN)
        second_db = Database(str(database.url), schema=database.schema)
        stop = asyncio.Event()
        try:
            one = await dispatcher(database, emulator, clock, rate=20.0, batch_size=10)
            two = await dispatcher(second_db, emulator, clock, rate=20.0, batch_size=10)
            for present in (one, two, one):  # both running, as after their first beats
                await present.announce()
            runs = [asyncio.create_task(d.run_forever(stop, interval=0.05)) for d in (one, two)]
            for index in range(count):
                await emulator.client.wait_for_bot_message(
                    FIRST_CHAT + index, after_message_id=0, timeout=30
                )
            assert (one.pacer.shared_by, two.pacer.shared_by) == (2, 2)
            stop.set()
            await asyncio.gather(*runs)
            # A clean stop leaves the whole rate to whoever runs next.
            assert await one.announce() == 1
        finally:
            stop.set()
            await second_db.dispose()
        stats = await emulator.client.stats()
        await close_bots()
    assert stats.too_many_requests == 0
    assert stats.calls["sendMessage"] == count
    assert set(stats.messages_per_chat.values()) == {1}
    assert one.stats.sent > 0 and two.stats.sent > 0


async def test_a_dispatcher_that_stopped_beating_no_longer_takes_a_share(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    alive = await dispatcher(database, emu, clock, rate=30.0, presence_every=5.0)
    crashed = await dispatcher(database, emu, clock, rate=30.0, presence_every=5.0)
    await crashed.announce()
    assert await alive.announce() == 2
    assert alive.pacer.interval == pytest.approx(2 / 30)
    clock.advance(timedelta(seconds=10))
    assert await alive.announce() == 2  # two missed beats: maybe only slow
    clock.advance(timedelta(seconds=6))
    assert await alive.announce() == 1
    assert alive.pacer.interval == pytest.approx(1 / 30)


# Pacing


async def test_the_global_limit_spaces_messages_and_telegram_never_says_too_many(
    database: Database, clock: ManualClock
) -> None:
    limits = RateLimits(per_second=20, per_chat_per_second=1)
    async with run_emulator(SANDBOX_TOKEN, rate_limits=limits) as emulator:
        ids = await add_people(database, emulator, 60, now=clock.now())
        await queue_greetings(database, ids, clock, OutboxKind.NOTIFICATION)
        sender = await dispatcher(database, emulator, clock, rate=20.0, chat_rate=1.0)
        started = time.monotonic()
        assert await sender.drain() == 60
        elapsed = time.monotonic() - started
        stats = await emulator.client.stats()
        await close_bots()
    assert stats.too_many_requests == 0
    assert stats.calls["sendMessage"] == 60
    # 60 messages at 20 a second: three seconds, less the first slot, with 2 % headroom.
    assert 2.9 <= elapsed <= 3.6


async def test_one_chat_gets_at_most_one_message_a_second(
    database: Database, clock: ManualClock
) -> None:
    async with run_emulator(
        SANDBOX_TOKEN, rate_limits=RateLimits(per_chat_per_second=1)
    ) as emulator:
        (pid,) = await add_people(database, emulator, 1, now=clock.now())
        for n in range(3):
            await queue(
                database,
                FIRST_CHAT,
                f"{n}",
                now=clock.now(),
                key=f"k{n}",
                kind=[OutboxKind.REPLY, OutboxKind.NOTIFICATION, OutboxKind.REMINDER][n],
                participant_id=pid,
            )
        sender = await dispatcher(database, emulator, clock, chat_rate=1.0)
        assert await sender.drain() == 3
        messages = await emulator.client.bot_messages(FIRST_CHAT)
        stats = await emulator.client.stats()
        await close_bots()
    assert [m.text for m in messages] == ["0", "1", "2"]
    gaps = [b.sent_at - a.sent_at for a, b in itertools.pairwise(messages)]
    assert all(gap >= 1.0 for gap in gaps), gaps
    assert stats.too_many_requests == 0


async def test_a_waiting_reply_goes_before_queued_campaign_messages() -> None:
    pacer = Pacer(rate=50.0, chat_rate=None)
    order: list[str] = []

    async def send(name: str, chat: int, priority: int) -> None:
        async with pacer.slot(chat, priority, counts=True):
            order.append(name)

    campaign = [asyncio.create_task(send(f"c{n}", 100 + n, 80)) for n in range(10)]
    await asyncio.sleep(0.05)  # two or three campaign messages are out
    await send("reply", 1, 10)
    await asyncio.gather(*campaign)
    assert order.index("reply") <= 4, order


async def test_a_pause_stops_every_sender_for_the_time_asked() -> None:
    pacer = Pacer(rate=None, chat_rate=None)
    pacer.pause(0.5)
    started = time.monotonic()
    async with pacer.slot(1, 10, counts=False):
        pass
    assert time.monotonic() - started >= 0.49


def test_a_rate_above_telegrams_ceiling_is_refused_at_start() -> None:
    from bot.config import SettingsError, load_settings

    with pytest.raises(SettingsError, match="STEGVIS_DISPATCH_RATE: 100 a second is above"):
        load_settings(dispatch_rate=100)
    assert load_settings().effective_dispatch_rate == 30
    assert load_settings(paid_broadcast=True).effective_dispatch_rate == 1000
    assert load_settings(paid_broadcast=True, dispatch_rate=400).effective_dispatch_rate == 400
    assert load_settings(dispatch_rate=0).effective_dispatch_rate is None
    with pytest.raises(SettingsError, match="STEGVIS_APPOINTMENT_REMINDER_HOURS"):
        load_settings(appointment_reminder_hours="tomorrow")
    assert load_settings(appointment_reminder_hours="1, 48").appointment_reminder_offsets == [48, 1]


async def test_a_row_no_key_opens_dies_and_the_rest_still_go_out(
    database: Database, emu: Emulator, clock: ManualClock
) -> None:
    from storage.crypto import Keyring, active_keyring, generate_key, install_keyring

    await add_people(database, emu, 2, now=clock.now())
    current = active_keyring()
    install_keyring(Keyring(generate_key()))  # a key that was later lost
    lost = await queue(database, FIRST_CHAT, "förlorad", now=clock.now(), key="lost")
    install_keyring(current)
    fine = await queue(database, FIRST_CHAT + 1, "Hej!", now=clock.now(), key="fine")
    sender = await dispatcher(database, emu, clock)
    assert await sender.drain() == 2
    async with database.session() as session:
        status, error = (
            await session.execute(
                select(OutboxMessage.status, OutboxMessage.last_error).where(
                    OutboxMessage.id == lost
                )
            )
        ).one()
    assert status is OutboxStatus.DEAD and "cannot be opened" in (error or "")
    assert (await row(database, fine)).status is OutboxStatus.SENT
    assert await texts_in(emu, FIRST_CHAT + 1) == ["Hej!"]


async def test_outcomes_the_database_refused_are_written_later_and_nothing_goes_twice(
    database: Database, emu: Emulator, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database goes away just as a batch's outcomes are written, and nothing else is
    sent after: they are written a second later, and the rows never go out again."""
    await add_people(database, emu, 3, now=clock.now())
    for index in range(3):
        await queue(
            database,
            FIRST_CHAT + index,
            f"Hej {index}",
            now=clock.now(),
            key=f"k{index}",
            kind=OutboxKind.REMINDER,
        )
    sender = await dispatcher(database, emu, clock, lease=timedelta(seconds=30))
    write = sender._write
    failures = iter([True])

    async def flaky(batch: list[object]) -> None:
        if next(failures, False):
            raise ConnectionError("the database went away")
        await write(batch)  # type: ignore[arg-type]

    monkeypatch.setattr(sender, "_write", flaky)
    with pytest.raises(ConnectionError):
        await sender.run_once()
    await asyncio.wait_for(sender.settled(), timeout=5)
    clock.advance(timedelta(seconds=31))  # past the lease the rows were claimed with
    assert await sender.drain() == 0
    for index in range(3):
        assert await texts_in(emu, FIRST_CHAT + index) == [f"Hej {index}"]
    async with database.session() as session:
        statuses = set((await session.scalars(select(OutboxMessage.status))).all())
    assert statuses == {OutboxStatus.SENT}
