"""The inbox: every update is stored before it is handled, and handled once, in order.

Polling writes updates here before the next getUpdates tells Telegram they arrived; the
webhook writes them here before it answers 200. Processors in any number of processes
then claim rows with a lease: only the oldest waiting update of each chat can be claimed,
so one participant's updates are handled in the order they were sent even when several
workers share the work, while different participants are served in parallel. The
handler's own transaction deletes the row (see `UnitOfWork.commit`), so an update is
either handled with all its effects or not at all; a worker that dies leaves its rows to
be taken up again when their lease ends.

An attempt that failed because the database could not be reached is not a failed attempt
of the update: the processor keeps the update in hand and tries it again, with a capped
backoff, until the database answers (see `storage.db.unreachable`). Only errors in the
handling itself count toward the attempts after which an update is given up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from bot.clock import Clock
from storage.db import Database, Outage, unreachable
from storage.models import InboxStatus, InboxUpdate

log = logging.getLogger(__name__)

Handler = Callable[[int, dict[str, Any], int], Awaitable[bool]]


def chat_of(payload: dict[str, Any]) -> int | None:
    """The chat an update belongs to, for ordering; None when it has none."""
    for key, part in payload.items():
        if key == "update_id" or not isinstance(part, dict):
            continue
        chat = part.get("chat") or (part.get("message") or {}).get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
        sender = part.get("from") or part.get("user")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return int(sender["id"])
    return None


async def store(database: Database, payloads: Iterable[dict[str, Any]], clock: Clock) -> list[int]:
    """Write updates to the inbox; an update seen before is ignored. Their ids, in order."""
    now = clock.now()
    payloads_list = list(payloads)
    rows = [
        {
            "update_id": int(payload["update_id"]),
            "chat_id": chat_of(payload),
            "payload": payload,
            "status": InboxStatus.PENDING,
            "attempts": 0,
            "received_at": now,
        }
        for payload in payloads_list
    ]
    if not rows:
        return []
    insert = pg_insert if database.is_postgres else sqlite_insert
    async with database.session() as session, session.begin():
        await session.execute(
            insert(InboxUpdate).values(rows).on_conflict_do_nothing(index_elements=["update_id"])
        )
    return [int(payload["update_id"]) for payload in payloads_list]


async def forget(database: Database, update_id: int) -> None:
    async with database.session() as session, session.begin():
        await session.execute(delete(InboxUpdate).where(InboxUpdate.update_id == update_id))


class InboxProcessor:
    """Claims waiting updates and hands them to the handler, never two of one chat at once."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        handle: Handler,
        *,
        concurrency: int = 32,
        lease: timedelta = timedelta(seconds=120),
        retry_delay: timedelta = timedelta(seconds=2),
        idle_interval: float = 1.0,
        outage: Outage | None = None,
    ) -> None:
        self.database = database
        self.clock = clock
        self.handle = handle
        self.concurrency = concurrency
        self.lease = lease
        self.retry_delay = retry_delay
        self.idle_interval = idle_interval
        self.outage = outage or Outage()
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._running: dict[int, asyncio.Task[None]] = {}
        self._waiters: dict[int, list[asyncio.Future[None]]] = {}

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        """Stop waiting for the database: updates held for it stay in the inbox (their
        lease runs out and the next start takes them up)."""
        self._closing.set()
        self._wake.set()

    def done(self, update_id: int) -> asyncio.Future[None]:
        """A future that completes when this process has finished the update."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(update_id, []).append(future)
        return future

    async def claim(self, limit: int) -> list[tuple[int, dict[str, Any], int]]:
        now = self.clock.now()
        earlier = aliased(InboxUpdate)
        waiting = or_(
            and_(
                InboxUpdate.status == InboxStatus.PENDING,
                or_(InboxUpdate.lease_until.is_(None), InboxUpdate.lease_until <= now),
            ),
            and_(InboxUpdate.status == InboxStatus.PROCESSING, InboxUpdate.lease_until <= now),
        )
        first_of_its_chat = ~exists().where(
            earlier.chat_id == InboxUpdate.chat_id, earlier.update_id < InboxUpdate.update_id
        )
        query = (
            select(InboxUpdate.update_id)
            .where(waiting, first_of_its_chat)
            .order_by(InboxUpdate.update_id)
            .limit(limit)
        )
        if self._running:
            query = query.where(InboxUpdate.update_id.not_in(list(self._running)))
        if self.database.is_postgres:
            query = query.with_for_update(skip_locked=True, of=InboxUpdate)
        async with self.database.session() as session, session.begin():
            ids = list((await session.scalars(query)).all())
            if not ids:
                return []
            await session.execute(
                update(InboxUpdate)
                .where(InboxUpdate.update_id.in_(ids))
                .values(
                    status=InboxStatus.PROCESSING,
                    lease_until=now + self.lease,
                    attempts=InboxUpdate.attempts + 1,
                )
            )
            rows = (
                await session.execute(
                    select(InboxUpdate.update_id, InboxUpdate.payload, InboxUpdate.attempts)
                    .where(InboxUpdate.update_id.in_(ids))
                    .order_by(InboxUpdate.update_id)
                )
            ).all()
        return [(int(row[0]), row[1], int(row[2])) for row in rows]

    async def release(self, update_id: int) -> None:
        """The handler failed: wait a little, then let any worker try again."""
        async with self.database.session() as session, session.begin():
            await session.execute(
                update(InboxUpdate)
                .where(InboxUpdate.update_id == update_id)
                .values(status=InboxStatus.PENDING, lease_until=self.clock.now() + self.retry_delay)
            )

    async def renew(self, update_id: int) -> bool:
        """Take the lease again before another try; False when the row is gone (the
        update was handled, by an attempt whose commit outlived its connection, say)."""
        async with self.database.session() as session, session.begin():
            result = await session.execute(
                update(InboxUpdate)
                .where(InboxUpdate.update_id == update_id)
                .values(status=InboxStatus.PROCESSING, lease_until=self.clock.now() + self.lease)
            )
        return bool(getattr(result, "rowcount", 1))

    async def _pause(self, seconds: float) -> bool:
        """Wait out a backoff; False when the processor is closing."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), timeout=seconds)
        return not self._closing.is_set()

    async def _run_one(self, update_id: int, payload: dict[str, Any], attempt: int) -> None:
        tries = 0
        try:
            while True:
                try:
                    if tries and not await self.renew(update_id):
                        break
                    handled = await self.handle(update_id, payload, attempt)
                    self.outage.answered()
                    if not handled:
                        await self.release(update_id)
                    break
                except Exception as error:
                    if not unreachable(error):
                        log.exception("update=%s processing failed", update_id)
                        with contextlib.suppress(Exception):
                            await self.release(update_id)
                        break
                    # Not an attempt of the update: the same attempt again, once the
                    # database answers. The row stays in the inbox meanwhile.
                    self.outage.failed(error, f"update={update_id}")
                    tries += 1
                    if not await self._pause(self.outage.delay(tries)):
                        break
        finally:
            self._running.pop(update_id, None)
            for future in self._waiters.pop(update_id, []):
                if not future.done():
                    future.set_result(None)
            self._wake.set()

    async def run_once(self) -> int:
        """Claim what fits and start it; the number of updates started."""
        free = self.concurrency - len(self._running)
        if free <= 0:
            return 0
        claimed = await self.claim(free)
        for update_id, payload, attempt in claimed:
            self._running[update_id] = asyncio.create_task(
                self._run_one(update_id, payload, attempt), name=f"update-{update_id}"
            )
        return len(claimed)

    async def run_forever(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set() and not self._closing.is_set():
            self._wake.clear()
            try:
                started = await self.run_once()
            except Exception as error:
                if not unreachable(error):
                    log.exception("inbox claim failed; trying again")
                    started = 0
                else:
                    self.outage.failed(error, "inbox claim")
                    failures += 1
                    await self._pause(self.outage.delay(failures))
                    continue
            else:
                failures = 0
                self.outage.answered()
            if started:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.idle_interval)

    async def drain(self) -> None:
        """Finish what has started (used when stopping)."""
        while self._running:
            await asyncio.wait(set(self._running.values()))
