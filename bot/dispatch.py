"""The outbox dispatcher: due rows -> Telegram, within its limits, with retries and leases.

Rows are claimed in a short transaction (status `sending`, a lease, and this dispatcher's
name as the lease's owner), sent outside any transaction, and their outcomes recorded in
small batches by the lease owner only. A process that dies mid-send leaves its rows
`sending`; when the lease runs out another dispatcher (or the same one, restarted) takes
them up, so nothing is lost and only the rows in flight at the crash can be sent twice.
A dispatcher that stops cleanly hands back what it claimed but did not send.

On PostgreSQL claims use `FOR UPDATE SKIP LOCKED`, so several dispatchers share the work;
on SQLite the write lock taken at `BEGIN IMMEDIATE` makes the claim single-writer.

Pacing (DESIGN, known traps: PTB's `AIORateLimiter` has no per-chat limit): a global
limiter spaces new messages evenly at the configured rate (30 a second by default, up to
1000 in paid broadcast mode), a per-chat limiter keeps one chat at one message a second,
and a `RetryAfter` pauses sending for exactly as long as Telegram says. Replies share the
limiters but go first: the person who just pressed a button is waiting, a campaign is not.
Rows of one chat are sent one at a time, in id order. The rate is the bot's, not the
process's: every running dispatcher keeps a row in `dispatcher_presence` and paces at its
share (two workers, 15 a second each).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import heapq
import itertools
import json
import logging
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING, Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Table,
    Text,
    bindparam,
    delete,
    exists,
    func,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import aliased
from telegram import Bot, InputFile
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.clock import Clock, Randomness, SystemRandomness
from bot.schedule import QuietHours
from storage.crypto import CryptoError, active_keyring
from storage.db import Database, report_failure
from storage.models import (
    Campaign,
    CampaignState,
    DispatcherPresence,
    Mentor,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantStatus,
)

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

HARMLESS_BAD_REQUESTS = ("message is not modified",)
# What a participant who paused reminders (/stop) or left the project does not get.
REMINDER_KINDS = frozenset({OutboxKind.CAMPAIGN, OutboxKind.REMINDER, OutboxKind.CHECKIN})
UNREACHABLE = "recipient unreachable"
PROMPT_KINDS = frozenset({OutboxKind.REPLY, OutboxKind.NOTIFICATION})
PAYLOAD_PURPOSE = "outbox.payload"  # as sealed by the outbox model
_table = cast(Table, OutboxMessage.__table__)


def retry_after_seconds(error: RetryAfter) -> float:
    """Seconds Telegram asks us to wait; `retry_after` becomes a timedelta in PTB 23."""
    value: Any = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def creates_message(payload: dict[str, Any]) -> bool:
    """Telegram's flood limits count new messages; edits are not paced."""
    method = str(payload.get("method", ""))
    return method.startswith("send") and method != "sendChatAction"


@dataclass(frozen=True)
class DispatchPolicy:
    batch_size: int = 200
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 6
    backoff_base: timedelta = timedelta(seconds=2)
    backoff_cap: timedelta = timedelta(minutes=15)
    # New messages a second overall and per chat; None: no limit (an emulator only).
    rate: float | None = 30.0
    chat_rate: float | None = 1.0
    paid_broadcast: bool = False
    # Spacing this much wider than the rate (the one-second window is kept anyway).
    headroom: float = 0.0
    # Chats sent to at the same time (each chat's rows go one after another).
    concurrency: int = 64
    # How old a campaign's state may be when a row of it is sent (real seconds): a pause
    # takes effect within this, plus the messages already on their way.
    state_refresh: float = 0.2
    # Outcomes are written in small batches: what a crash can send twice is the rows whose
    # outcome was not written yet, about this many plus those on the wire.
    flush_size: int = 20
    flush_interval: float = 0.02
    # Sending waits while this many outcomes are not written yet: a crash (or a database
    # that stopped answering) can never leave more than this sent but unrecorded.
    max_unrecorded: int = 40
    # How often a running dispatcher says it is alive (real seconds); one not heard from in
    # three such beats no longer counts when the bot's rate is shared out.
    presence_every: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> DispatchPolicy:
        return cls(
            batch_size=settings.dispatch_batch_size,
            lease=timedelta(seconds=settings.dispatch_lease_seconds),
            max_attempts=settings.dispatch_max_attempts,
            rate=settings.effective_dispatch_rate,
            chat_rate=settings.dispatch_chat_rate or None,
            paid_broadcast=settings.paid_broadcast,
            concurrency=settings.dispatch_concurrency,
        )


class Pacer:
    """Spaces new messages: overall (by priority), per chat, and through RetryAfter pauses.

    The overall limiter hands out send slots `1/rate` apart, never closer, to the waiting
    sender with the lowest priority number (replies before campaigns), first come first
    served within a priority. It also keeps Telegram's own one-second window: a send starts
    only while fewer than `rate` others are on the way or were answered within the last
    second, so however the requests are delayed on their way, Telegram never counts more
    than `rate` in any second. A chat's next message waits until a second (1/chat_rate)
    after Telegram answered the previous one. Times are the event loop's monotonic clock:
    this is Telegram's real-time budget, not domain time.
    """

    def __init__(self, rate: float | None, chat_rate: float | None, headroom: float = 0.0) -> None:
        self.rate = rate
        self.headroom = headroom
        self.shared_by = 1
        self.interval = (1.0 + headroom) / rate if rate else 0.0
        self.chat_interval = (1.0 + headroom) / chat_rate if chat_rate else 0.0
        self.window = max(1, int(rate)) if rate else 0
        self._answered: collections.deque[float] = collections.deque()
        self._on_the_way = 0
        self._next_free = 0.0
        self._paused_until = 0.0
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None
        self._chat_next: dict[int, float] = {}
        self._chat_locks: dict[int, tuple[asyncio.Lock, list[int]]] = {}

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def pause(self, seconds: float, chat_id: int | None = None) -> None:
        """Telegram said RetryAfter: nothing is sent until it has passed."""
        until = self._now() + seconds
        self._paused_until = max(self._paused_until, until)
        if chat_id is not None:
            self._chat_next[chat_id] = max(self._chat_next.get(chat_id, 0.0), until)
        self._pump()

    def share(self, dispatchers: int) -> None:
        """Pace at 1/n of the bot's rate: n dispatchers send for the same bot."""
        dispatchers = max(1, dispatchers)
        if dispatchers == self.shared_by or not self.rate:
            return
        self.shared_by = dispatchers
        own = self.rate / dispatchers
        self.interval = (1.0 + self.headroom) / own
        self.window = max(1, int(own))
        self._pump()

    @property
    def paused_for(self) -> float:
        return max(0.0, self._paused_until - self._now())

    @contextlib.asynccontextmanager
    async def slot(self, chat_id: int, priority: int, counts: bool) -> AsyncIterator[None]:
        """Hold the chat (one send at a time) and wait for its turn under every limit."""
        lock, users = self._chat_locks.setdefault(chat_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                await self._wait_until(self._paused_until)
                paced = counts and bool(self.interval)
                if counts:
                    await self._wait_until(self._chat_next.get(chat_id, 0.0))
                    await self._global_slot(priority)
                try:
                    yield
                finally:
                    now = self._now()
                    if counts and self.chat_interval:
                        self._chat_next[chat_id] = now + self.chat_interval
                    if paced:
                        self._on_the_way -= 1
                        self._answered.append(now)
                        self._pump()
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._chat_locks[chat_id]
            if len(self._chat_next) > 4096:
                now = self._now()
                self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}

    async def _wait_until(self, moment: float) -> None:
        # Waiting is the point here (Telegram's clock), and a RetryAfter may extend it.
        while (delay := max(moment, self._paused_until) - self._now()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(delay)

    async def _global_slot(self, priority: int) -> None:
        if not self.interval:
            await self._wait_until(self._paused_until)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._order), future))
        self._pump()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # granted, then cancelled
                self._on_the_way -= 1
                self._pump()
            raise

    def _pump(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.interval:
            return
        loop = asyncio.get_running_loop()
        while self._waiters:
            future = self._waiters[0][2]
            if future.done():  # its sender was cancelled
                heapq.heappop(self._waiters)
                continue
            now = loop.time()
            while self._answered and self._answered[0] <= now - 1.0:
                self._answered.popleft()
            if self._on_the_way + len(self._answered) >= self.window:
                if self._answered:  # else a send on its way will pump when answered
                    self._timer = loop.call_at(self._answered[0] + 1.0, self._pump)
                return
            at = max(self._next_free, self._paused_until)
            if at > now:
                self._timer = loop.call_at(at, self._pump)
                return
            heapq.heappop(self._waiters)
            future.set_result(None)
            self._on_the_way += 1
            self._next_free = max(now, self._next_free) + self.interval


@dataclass(frozen=True)
class Outcome:
    status: OutboxStatus
    telegram_message_id: int | None = None
    error: str | None = None
    available_at: datetime | None = None
    count_attempt: bool = True
    recipient_unreachable: bool = False


@dataclass
class Work:
    """A claimed row as plain values, with what is known of its recipient."""

    id: int
    chat_id: int
    payload: dict[str, Any]
    attempts: int
    kind: OutboxKind
    priority: int
    campaign_id: int | None
    participant_id: int | None
    mentor_id: int | None
    participant_status: ParticipantStatus | None = None
    reminders_paused: bool = False
    erased: bool = False
    unreachable: bool = False
    # The payload could not be opened (a key removed too early): never sendable.
    unreadable: bool = False


@dataclass
class _CampaignView:
    state: CampaignState
    quiet: QuietHours
    read_at: float


@dataclass
class _Recorded:
    work: Work
    outcome: Outcome
    at: datetime


@dataclass
class DispatchStats:
    """What this dispatcher did since it started (for logs, the CLI and benchmarks)."""

    sent: int = 0
    retried: int = 0
    dead: int = 0
    unreachable: int = 0
    held_back: int = 0
    retry_after: int = 0
    first_sent: float | None = None
    last_sent: float | None = None
    by_status: dict[str, int] = field(default_factory=dict)


class Dispatcher:
    def __init__(
        self,
        database: Database,
        bot: Bot,
        clock: Clock,
        policy: DispatchPolicy | None = None,
        randomness: Randomness | None = None,
        zone: ZoneInfo | None = None,
    ) -> None:
        self.database = database
        self.bot = bot
        self.clock = clock
        self.policy = policy or DispatchPolicy()
        self.randomness = randomness or SystemRandomness()
        self.zone = zone or ZoneInfo("Europe/Stockholm")
        # Names this dispatcher's leases; random, so a restarted process is a new owner.
        self.owner = secrets.token_hex(8)
        self.pacer = Pacer(self.policy.rate, self.policy.chat_rate, self.policy.headroom)
        self.stats = DispatchStats()
        self._wake = asyncio.Event()
        self._progress = asyncio.Event()
        self._lanes = asyncio.Semaphore(self.policy.concurrency)
        # Claimed by this dispatcher and not yet handed to Telegram / not yet recorded.
        self._unsent: set[int] = set()
        self._unrecorded: set[int] = set()
        self._outcomes: list[_Recorded] = []
        self._flush_lock = asyncio.Lock()
        self._flush_timer: asyncio.TimerHandle | None = None
        self._flush_tasks: set[asyncio.Task[None]] = set()
        self._writing = 0
        self._flushed = asyncio.Event()
        self._campaigns: dict[int, _CampaignView] = {}
        self._campaign_lock = asyncio.Lock()
        self._fatal: BaseException | None = None
        # SQLite has one writer; taking turns here avoids its busy handler, which sleeps.
        self._write_gate: asyncio.Lock | contextlib.nullcontext[None] = (
            asyncio.Lock() if database.is_sqlite else contextlib.nullcontext()
        )

    def wake(self) -> None:
        """Something was queued: look now instead of at the next tick."""
        self._wake.set()

    # Claiming

    async def claim(self, limit: int | None = None) -> list[int]:
        """Take due rows for this dispatcher: the first row of each chat that may go now."""
        now = self.clock.now()
        row = OutboxMessage
        earlier = aliased(OutboxMessage)
        # A chat's rows go in id order: a row waits while an earlier one of the same chat,
        # due no later and no less urgent, is still to be sent (replies do not wait for
        # campaign rows; a reminder due tomorrow does not hold back a reply today).
        waits = exists().where(
            earlier.chat_id == row.chat_id,
            earlier.id < row.id,
            earlier.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.SENDING]),
            earlier.priority <= row.priority,
            earlier.due_at <= row.due_at,
        )
        limit = limit or self.policy.batch_size
        # One query per status: with the status fixed, the index on (status, priority,
        # available_at) gives the order, so the database reads about `limit` rows instead
        # of sorting every due one (10 000 queued rows: 2 ms instead of 20).
        # A lapsed lease on a row this process still has in hand means slow, not lost.
        lapsed = row.lease_until < now
        if self._unrecorded:
            lapsed = lapsed & row.id.not_in(list(self._unrecorded))
        queries = [
            select(row.id, row.priority, row.available_at)
            .where(row.status == status, condition, ~waits)
            .order_by(row.priority, row.available_at, row.id)
            .limit(limit)
            for status, condition in (
                (OutboxStatus.PENDING, row.available_at <= now),
                (OutboxStatus.FAILED, row.available_at <= now),
                (OutboxStatus.SENDING, lapsed),
            )
        ]
        if self.database.is_postgres:
            queries = [query.with_for_update(skip_locked=True, of=row) for query in queries]
        async with self._write_gate, self.database.session() as session, session.begin():
            found: list[tuple[int, int, datetime]] = []
            for query in queries:
                found.extend((r[0], r[1], r[2]) for r in (await session.execute(query)).all())
            ids = [r[0] for r in sorted(found, key=lambda r: (r[1], r[2], r[0]))[:limit]]
            if ids:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids))
                    .values(
                        status=OutboxStatus.SENDING,
                        lease_until=now + self.policy.lease,
                        lease_owner=self.owner,
                    )
                )
        self._unsent.update(ids)
        self._unrecorded.update(ids)
        return ids

    async def _load(self, ids: Sequence[int]) -> list[Work]:
        query = (
            select(
                OutboxMessage.id,
                OutboxMessage.chat_id,
                type_coerce(OutboxMessage.payload, Text()),
                OutboxMessage.attempts,
                OutboxMessage.kind,
                OutboxMessage.priority,
                OutboxMessage.campaign_id,
                OutboxMessage.participant_id,
                OutboxMessage.mentor_id,
                Participant.status,
                Participant.reminders_paused_at,
                Participant.erased_at,
                Participant.unreachable_at,
                Mentor.unreachable_at,
            )
            .outerjoin(Participant, Participant.id == OutboxMessage.participant_id)
            .outerjoin(Mentor, Mentor.id == OutboxMessage.mentor_id)
            .where(
                OutboxMessage.id.in_(list(ids)),
                OutboxMessage.status == OutboxStatus.SENDING,
                or_(OutboxMessage.lease_owner == self.owner, OutboxMessage.lease_owner.is_(None)),
            )
            .order_by(OutboxMessage.id)
        )
        async with self.database.read_session() as session:
            rows = (await session.execute(query)).all()
        return [
            Work(
                id=r[0],
                chat_id=r[1],
                **_opened(r[0], r[2]),
                attempts=r[3],
                kind=r[4],
                priority=r[5],
                campaign_id=r[6],
                participant_id=r[7],
                mentor_id=r[8],
                participant_status=r[9],
                reminders_paused=r[10] is not None,
                erased=r[11] is not None,
                unreachable=r[12] is not None or r[13] is not None,
            )
            for r in rows
        ]

    async def _load_again_and_again(self, ids: Sequence[int]) -> list[Work]:
        """Load claimed rows; a database that went away is given a few moments to come
        back (its pool reconnects), so a reply waits a second, not a whole lease."""
        for pause in (0.2, 0.5, 1.0):
            try:
                return await self._load(ids)
            except Exception as error:
                log.warning(
                    "loading %s outbox rows failed (%s); again in %gs",
                    len(ids),
                    type(error).__name__,
                    pause,
                )
                await asyncio.sleep(pause)  # real time: the database's, not the domain's
        return await self._load(ids)

    # Sending

    async def run_once(self) -> int:
        """Claim one batch of due rows and send them; the number of rows handled."""
        ids = await self.claim()
        if ids:
            await self.send_claimed(ids, lanes_limited=True)
        return len(ids)

    async def drain(self, passes: int = 1000) -> int:
        """Send everything due now (a chat's later rows need a pass each); rows handled."""
        total = 0
        for _ in range(passes):
            handled = await self.run_once()
            total += handled
            if not handled:
                break
        return total

    async def send_claimed(self, ids: Sequence[int], *, lanes_limited: bool = False) -> None:
        """Send rows this process has claimed, each chat's in order, recording each outcome.

        Replies come here straight after their turn commits (`lanes_limited` False: a
        person waiting never queues behind campaign chats for a lane)."""
        if not ids:
            return
        # In hand until their outcome is written: a lease that runs out meanwhile (a slow
        # upload, a clock that jumped) must not make this process claim and send them again.
        self._unrecorded.update(ids)
        try:
            work = await self._load_again_and_again(ids)
            found = {item.id for item in work}
            lost = [row_id for row_id in ids if row_id not in found]
            self._unsent.difference_update(lost)
            self._unrecorded.difference_update(lost)
            by_chat: dict[int, list[Work]] = {}
            for item in work:
                by_chat.setdefault(item.chat_id, []).append(item)
            await asyncio.gather(
                *(self._lane(items, limited=lanes_limited) for items in by_chat.values())
            )
        except Exception:
            # Let go of the rows not sent, so their lease runs out and the next claim takes
            # them; rows sent whose outcome waits to be written stay ours.
            waiting = {entry.work.id for entry in self._outcomes}
            self._unsent.difference_update(ids)
            self._unrecorded.difference_update(i for i in ids if i not in waiting)
            raise
        finally:
            await self.flush()

    async def _lane(self, items: list[Work], *, limited: bool) -> None:
        async with self._lanes if limited else contextlib.nullcontext():
            for index, item in enumerate(items):
                outcome = await self._send_one(item)
                self._record(item, outcome)
                rest = items[index + 1 :]
                if not rest:
                    continue
                if outcome.recipient_unreachable:
                    for later in rest:
                        self._record(later, Outcome(OutboxStatus.UNREACHABLE, error=UNREACHABLE))
                    return
                if outcome.status in (OutboxStatus.FAILED, OutboxStatus.PENDING):
                    # Keep the chat's order: the later rows go after this one.
                    for later in rest:
                        self._record(
                            later,
                            Outcome(
                                OutboxStatus.PENDING,
                                available_at=outcome.available_at,
                                count_attempt=False,
                            ),
                        )
                    return

    def _held_back(self, item: Work) -> Outcome | None:
        """A row that must not go out, whatever Telegram would say."""
        if item.unreadable:
            return Outcome(OutboxStatus.DEAD, error="payload cannot be opened: is a key missing?")
        if item.erased:
            return Outcome(OutboxStatus.SKIPPED, error="recipient erased their data")
        if item.kind in REMINDER_KINDS:
            if item.participant_status is ParticipantStatus.ENDED:
                return Outcome(OutboxStatus.SKIPPED, error="recipient left the project")
            if item.reminders_paused:
                return Outcome(OutboxStatus.SKIPPED, error="recipient paused reminders")
        if item.unreachable and item.kind is not OutboxKind.REPLY:
            return Outcome(OutboxStatus.UNREACHABLE, error=UNREACHABLE)
        return None

    async def _campaign_hold(self, item: Work) -> Outcome | None:
        """Re-checked just before sending: a pause or cancel acts on rows already claimed."""
        if item.campaign_id is None:
            return None
        view = await self._campaign(item.campaign_id)
        if view is None or view.state is CampaignState.CANCELLED:
            return Outcome(OutboxStatus.SKIPPED, error="campaign cancelled")
        if view.state is CampaignState.PAUSED:
            return Outcome(OutboxStatus.HELD, error="campaign paused", count_attempt=False)
        now = self.clock.now()
        if view.quiet.contains(now, self.zone):
            return Outcome(
                OutboxStatus.PENDING,
                available_at=view.quiet.defer(now, self.zone),
                count_attempt=False,
            )
        return None

    async def _campaign(self, campaign_id: int) -> _CampaignView | None:
        loop = asyncio.get_running_loop()
        view = self._campaigns.get(campaign_id)
        if view is not None and loop.time() - view.read_at <= self.policy.state_refresh:
            return view
        async with self._campaign_lock:
            view = self._campaigns.get(campaign_id)
            if view is not None and loop.time() - view.read_at <= self.policy.state_refresh:
                return view
            ids = {campaign_id, *self._campaigns}
            async with self.database.session() as session:
                rows = (
                    await session.execute(
                        select(
                            Campaign.id, Campaign.state, Campaign.quiet_start, Campaign.quiet_end
                        ).where(Campaign.id.in_(ids))
                    )
                ).all()
            read_at = loop.time()
            self._campaigns = {
                row[0]: _CampaignView(row[1], _quiet(row[2], row[3]), read_at) for row in rows
            }
            return self._campaigns.get(campaign_id)

    async def _send_one(self, item: Work) -> Outcome:
        held = self._held_back(item)
        if held is not None:
            self._unsent.discard(item.id)
            return held
        async with self.pacer.slot(item.chat_id, item.priority, creates_message(item.payload)):
            held = await self._campaign_hold(item)
            if held is not None:
                self._unsent.discard(item.id)
                return held
            await self._room_to_record()
            self._unsent.discard(item.id)
            return await self._deliver(item)

    async def _room_to_record(self) -> None:
        """Do not run ahead of the bookkeeping: what is sent must soon be written down."""
        while len(self._outcomes) + self._writing >= self.policy.max_unrecorded:
            self._flushed.clear()
            self._start_flush()
            await self._flushed.wait()

    async def _deliver(self, item: Work) -> Outcome:
        attempt = item.attempts + 1
        try:
            message_id = await deliver(
                self.bot, item.chat_id, item.payload, paid_broadcast=self.policy.paid_broadcast
            )
        except RetryAfter as error:
            wait = retry_after_seconds(error)
            self.pacer.pause(wait, item.chat_id)
            self.stats.retry_after += 1
            log.warning("outbox row=%s chat=%s retry_after=%gs", item.id, item.chat_id, wait)
            return Outcome(
                OutboxStatus.FAILED,
                error=f"RetryAfter {wait:g}s",
                available_at=self.clock.now() + timedelta(seconds=wait),
                count_attempt=False,
            )
        except Forbidden as error:
            return Outcome(
                OutboxStatus.UNREACHABLE, error=_reason(error), recipient_unreachable=True
            )
        except (BadRequest, ChatMigrated) as error:
            if isinstance(error, BadRequest) and any(
                text in error.message.lower() for text in HARMLESS_BAD_REQUESTS
            ):
                return Outcome(OutboxStatus.SENT)
            return Outcome(OutboxStatus.DEAD, error=_reason(error))
        except InvalidToken as error:
            self._fatal = error
            return Outcome(OutboxStatus.PENDING, error=_reason(error), count_attempt=False)
        except (TimedOut, NetworkError) as error:
            # TimedOut: Telegram may have delivered it; sending again is the lesser harm.
            if attempt >= self.policy.max_attempts:
                return Outcome(
                    OutboxStatus.DEAD, error=f"gave up after {attempt} attempts: {_reason(error)}"
                )
            return Outcome(
                OutboxStatus.FAILED,
                error=_reason(error),
                available_at=self.clock.now() + self._backoff(attempt),
            )
        except TelegramError as error:
            return Outcome(OutboxStatus.DEAD, error=_reason(error))
        return Outcome(OutboxStatus.SENT, telegram_message_id=message_id)

    def _backoff(self, attempt: int) -> timedelta:
        """Exponential, capped, with jitter so a fault does not retry in lockstep."""
        base = self.policy.backoff_base.total_seconds() * (2 ** (attempt - 1))
        capped = min(base, self.policy.backoff_cap.total_seconds())
        return timedelta(seconds=self.randomness.uniform(capped / 2, capped))

    # Recording

    def _record(self, item: Work, outcome: Outcome) -> None:
        self._unsent.discard(item.id)
        self._outcomes.append(_Recorded(item, outcome, self.clock.now()))
        stats = self.stats
        stats.by_status[outcome.status.value] = stats.by_status.get(outcome.status.value, 0) + 1
        if outcome.status is OutboxStatus.SENT:
            stats.sent += 1
            moment = asyncio.get_running_loop().time()
            stats.first_sent = stats.first_sent or moment
            stats.last_sent = moment
        elif outcome.status is OutboxStatus.FAILED:
            stats.retried += 1
        elif outcome.status is OutboxStatus.DEAD:
            stats.dead += 1
        elif outcome.status is OutboxStatus.UNREACHABLE:
            stats.unreachable += 1
        else:
            stats.held_back += 1
        if len(self._outcomes) >= self.policy.flush_size or item.kind in PROMPT_KINDS:
            # Someone may answer a reply or a notice at once (a mentor replying to it):
            # its Telegram message id must be stored without waiting for a batch.
            self._start_flush()
        elif self._flush_timer is None:
            self._flush_timer = asyncio.get_running_loop().call_later(
                self.policy.flush_interval, self._timed_flush
            )

    def _timed_flush(self) -> None:
        self._flush_timer = None
        self._start_flush()

    def _start_flush(self) -> None:
        if self._flush_tasks:  # one is on its way and takes whatever is there by then
            return
        task = asyncio.create_task(self._background_flush())
        self._flush_tasks.add(task)
        task.add_done_callback(self._flush_tasks.discard)

    async def _background_flush(self) -> None:
        try:
            await self.flush()
            while len(self._outcomes) >= self.policy.flush_size:
                await self.flush()
        except Exception as error:
            report_failure(log, error, "writing outbox outcomes failed; trying again in a second")
            if self._flush_timer is None:
                self._flush_timer = asyncio.get_running_loop().call_later(1.0, self._timed_flush)

    async def flush(self) -> None:
        """Write the outcomes known so far, in one transaction."""
        async with self._flush_lock:
            if self._flush_timer is not None:
                self._flush_timer.cancel()
                self._flush_timer = None
            batch, self._outcomes = self._outcomes, []
            if not batch:
                self._flushed.set()
                return
            self._writing = len(batch)
            try:
                await self._write(batch)
            except Exception:
                # Keep them, and try again in a second even if nothing else is sent: the
                # rows stay this dispatcher's (their leases renewed) until written, so a
                # database that went away for a moment makes nothing go out twice.
                self._outcomes[:0] = batch
                if self._flush_timer is None:
                    self._flush_timer = asyncio.get_running_loop().call_later(
                        1.0, self._timed_flush
                    )
                raise
            finally:
                self._writing = 0
            self._unrecorded.difference_update(entry.work.id for entry in batch)
            self._flushed.set()
        for entry in batch:
            log.info(
                "outbox row=%s chat=%s status=%s",
                entry.work.id,
                entry.work.chat_id,
                entry.outcome.status,
            )
        self._progress.set()

    async def _write(self, batch: list[_Recorded]) -> None:
        params = [
            {
                "b_id": entry.work.id,
                "b_status": entry.outcome.status,
                "b_sent_at": entry.at if entry.outcome.status is OutboxStatus.SENT else None,
                "b_message_id": entry.outcome.telegram_message_id,
                "b_error": entry.outcome.error,
                "b_available_at": entry.outcome.available_at,
                "b_attempt": 1 if entry.outcome.count_attempt else 0,
            }
            for entry in batch
        ]
        columns = _table.c
        statement = (
            update(_table)
            .where(
                columns.id == bindparam("b_id"),
                columns.status == OutboxStatus.SENDING.value,
                or_(columns.lease_owner == self.owner, columns.lease_owner.is_(None)),
            )
            .values(
                status=bindparam("b_status"),
                lease_until=None,
                lease_owner=None,
                sent_at=func.coalesce(
                    bindparam("b_sent_at", type_=columns.sent_at.type), columns.sent_at
                ),
                telegram_message_id=func.coalesce(
                    bindparam("b_message_id", type_=columns.telegram_message_id.type),
                    columns.telegram_message_id,
                ),
                last_error=func.coalesce(
                    bindparam("b_error", type_=columns.last_error.type), columns.last_error
                ),
                available_at=func.coalesce(
                    bindparam("b_available_at", type_=columns.available_at.type),
                    columns.available_at,
                ),
                attempts=columns.attempts + bindparam("b_attempt"),
            )
        )
        now = self.clock.now()
        blocked = {e.work.chat_id for e in batch if e.outcome.recipient_unreachable}
        back_participants = {
            e.work.participant_id
            for e in batch
            if e.outcome.status is OutboxStatus.SENT
            and e.work.unreachable
            and e.work.participant_id
        }
        back_mentors = {
            e.work.mentor_id
            for e in batch
            if e.outcome.status is OutboxStatus.SENT and e.work.unreachable and e.work.mentor_id
        }
        async with self._write_gate, self.database.session() as session, session.begin():
            connection = await session.connection()
            await connection.execute(statement, params)
            for chat_id in blocked:
                await mark_unreachable(session, chat_id, now)
            if back_participants:
                await session.execute(
                    update(Participant)
                    .where(Participant.id.in_(back_participants))
                    .values(unreachable_at=None)
                )
            if back_mentors:
                await session.execute(
                    update(Mentor).where(Mentor.id.in_(back_mentors)).values(unreachable_at=None)
                )

    async def settled(self) -> None:
        """Wait until every row this dispatcher claimed has its outcome written."""
        while self._unrecorded:
            self._progress.clear()
            await self._progress.wait()

    # Leases

    async def renew_leases(self) -> None:
        """Keep the rows this dispatcher still works on: a long pause must not free them."""
        ids = list(self._unrecorded)
        if not ids:
            return
        now = self.clock.now()
        async with self._write_gate, self.database.session() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.status == OutboxStatus.SENDING,
                    OutboxMessage.lease_owner == self.owner,
                )
                .values(lease_until=now + self.policy.lease)
            )

    async def release_unsent(self) -> int:
        """Hand back rows claimed but never given to Telegram, so nobody waits for a lease."""
        ids = list(self._unsent)
        self._unsent.clear()
        if not ids:
            return 0
        async with self._write_gate, self.database.session() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(ids),
                    OutboxMessage.status == OutboxStatus.SENDING,
                    OutboxMessage.lease_owner == self.owner,
                )
                .values(status=OutboxStatus.PENDING, lease_until=None, lease_owner=None)
            )
        self._unrecorded.difference_update(ids)
        return len(ids)

    async def _renew_forever(self, stop: asyncio.Event) -> None:
        every = max(self.policy.lease.total_seconds() / 3, 0.5)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
            try:
                await self.renew_leases()
            except Exception as error:
                report_failure(log, error, "renewing outbox leases failed; trying again")

    # Sharing the rate with other dispatchers

    async def announce(self) -> int:
        """Say this dispatcher is alive, forget silent ones, and pace at our share."""
        now = self.clock.now()
        silent_since = now - timedelta(seconds=3 * self.policy.presence_every)
        async with self._write_gate, self.database.session() as session, session.begin():
            mine = await session.get(DispatcherPresence, self.owner)
            if mine is None:
                session.add(DispatcherPresence(owner=self.owner, seen_at=now))
            else:
                mine.seen_at = now
            await session.execute(
                delete(DispatcherPresence).where(DispatcherPresence.seen_at < silent_since)
            )
            await session.flush()
            alive = await session.scalar(select(func.count()).select_from(DispatcherPresence))
        self.pacer.share(int(alive or 1))
        return self.pacer.shared_by

    async def withdraw(self) -> None:
        """A clean stop: the others may use the whole rate again at their next beat."""
        async with self._write_gate, self.database.session() as session, session.begin():
            await session.execute(
                delete(DispatcherPresence).where(DispatcherPresence.owner == self.owner)
            )

    async def _announce_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.policy.presence_every)
            try:
                await self.announce()
            except Exception as error:
                report_failure(
                    log, error, "announcing this dispatcher failed; keeping the last share"
                )

    # The loop

    async def run_forever(self, stop: asyncio.Event, interval: float = 1.0) -> None:
        """Claim and send until `stop`; the next batch is claimed while this one drains."""
        low_water = max(self.policy.batch_size // 2, 1)
        batches: set[asyncio.Task[None]] = set()
        try:  # before the first send, so a second worker never starts at the full rate
            await self.announce()
        except Exception as error:
            report_failure(
                log, error, "announcing this dispatcher failed; pacing at the whole rate"
            )
        renewer = asyncio.create_task(self._renew_forever(stop))
        presence = asyncio.create_task(self._announce_forever(stop))
        try:
            while not stop.is_set():
                if self._fatal is not None:
                    log.error("the bot token was refused by Telegram; the dispatcher stops")
                    raise self._fatal
                claimed = 0
                if len(self._unsent) < low_water:
                    try:
                        ids = await self.claim()
                    except Exception as error:
                        report_failure(log, error, "claiming outbox rows failed; trying again")
                        ids = []
                    claimed = len(ids)
                    if ids:
                        task = asyncio.create_task(self._batch(ids))
                        batches.add(task)
                        task.add_done_callback(batches.discard)
                if claimed and len(self._unsent) < low_water:
                    continue
                self._wake.clear()
                self._progress.clear()
                waiters = {
                    asyncio.ensure_future(stop.wait()),
                    asyncio.ensure_future(self._wake.wait()),
                    asyncio.ensure_future(self._progress.wait()),
                }
                _done, pending = await asyncio.wait(
                    waiters, timeout=interval, return_when=asyncio.FIRST_COMPLETED
                )
                for waiter in pending:
                    waiter.cancel()
        finally:
            renewer.cancel()
            presence.cancel()
            for task in list(batches):
                task.cancel()
            await asyncio.gather(renewer, presence, *batches, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.withdraw()
            await asyncio.gather(*self._flush_tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.flush()
            with contextlib.suppress(Exception):
                released = await self.release_unsent()
                if released:
                    log.info("handed back %s unsent outbox rows", released)

    async def _batch(self, ids: list[int]) -> None:
        try:
            await self.send_claimed(ids, lanes_limited=True)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            report_failure(
                log, error, "sending an outbox batch failed; its rows are retried after the lease"
            )
        finally:
            self._progress.set()


def _opened(row_id: int, sealed: str) -> dict[str, Any]:
    """Open one row's payload; a row no key opens is marked, not allowed to stop the rest."""
    try:
        payload = json.loads(active_keyring().decrypt(sealed, PAYLOAD_PURPOSE))
    except (CryptoError, ValueError):
        log.error("outbox row=%s cannot be opened with the configured keys", row_id)
        return {"payload": {}, "unreadable": True}
    return {"payload": payload}


def _quiet(start: time | None, end: time | None) -> QuietHours:
    if start is None or end is None:
        return QuietHours(time(0, 0), time(0, 0))
    return QuietHours(start, end)


async def mark_unreachable(session: Any, chat_id: int, now: datetime) -> None:
    """The recipient blocked the bot: stop sending to them until they come back.

    Rows due now are closed at once; rows due later (an appointment reminder next week)
    are checked when they are due, so they still go out if the person has come back."""
    await session.execute(
        update(Participant)
        .where(Participant.telegram_user_id == chat_id, Participant.unreachable_at.is_(None))
        .values(unreachable_at=now)
    )
    await session.execute(
        update(Mentor)
        .where(Mentor.telegram_user_id == chat_id, Mentor.unreachable_at.is_(None))
        .values(unreachable_at=now)
    )
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.FAILED]),
            OutboxMessage.available_at <= now,
            OutboxMessage.kind != OutboxKind.REPLY,
        )
        .values(status=OutboxStatus.UNREACHABLE, last_error=UNREACHABLE)
    )


def _reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:500]


async def deliver(
    bot: Bot, chat_id: int, payload: dict[str, Any], *, paid_broadcast: bool = False
) -> int | None:
    """Make the Bot API call a payload describes; the id of the message it produced.

    Through the Bot's request object (PTB still turns Telegram's answers into `RetryAfter`,
    `Forbidden` and the rest), without building a `Message` from each answer: that alone
    cost a third of a millisecond per message."""
    method = payload["method"]
    params = {key: value for key, value in payload.items() if key != "method"}
    params["chat_id"] = chat_id
    if paid_broadcast and method.startswith("send"):
        params["allow_paid_broadcast"] = True
    if method in ("sendPhoto", "sendDocument") and "file_b64" in params:
        field = "photo" if method == "sendPhoto" else "document"
        params[field] = InputFile(
            base64.b64decode(params.pop("file_b64")), filename=params.pop("filename")
        )
    request = RequestData(
        [RequestParameter.from_input(key, value) for key, value in params.items()]
    )
    result: Any = await bot.request.post(f"{bot.base_url}/{method}", request_data=request)
    if isinstance(result, dict) and isinstance(result.get("message_id"), int):
        return int(result["message_id"])
    return None
