"""Unit of work: one transaction per update, repositories that never commit, hooks after.

A handler reads and writes through repositories, then commits once. Work that must wait
until the transaction is durable (sending the replies it queued, say) is registered with
`after_commit` and runs only when the commit succeeded (RapidPro's on_transaction_commit).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.models import InboxUpdate
from storage.repositories import (
    Cohorts,
    Conversations,
    Invites,
    Mentors,
    Outbox,
    Participants,
)

R = TypeVar("R")


class AlreadyHandled(Exception):
    """Another worker finished this update first; this attempt's effects are dropped."""


class UnitOfWork:
    def __init__(self, database: Database, *, inbox_update_id: int | None = None) -> None:
        self.database = database
        self.inbox_update_id = inbox_update_id
        self._after_commit: list[Callable[[], Awaitable[None]]] = []
        self._repositories: dict[Any, Any] = {}
        self.committed = False

    async def __aenter__(self) -> Self:
        self.session: AsyncSession = self.database.session()
        self.cohorts = Cohorts(self.session)
        self.mentors = Mentors(self.session)
        self.invites = Invites(self.session)
        self.participants = Participants(self.session)
        self.conversations = Conversations(self.session)
        self.outbox = Outbox(self.session)
        return self

    def repository(self, cls: Callable[[AsyncSession], R]) -> R:
        """A repository of a feature module, made once per unit of work."""
        if cls not in self._repositories:
            self._repositories[cls] = cls(self.session)
        result: R = self._repositories[cls]
        return result

    def after_commit(self, callback: Callable[[], Awaitable[None]]) -> None:
        self._after_commit.append(callback)

    async def commit(self) -> None:
        if self.inbox_update_id is not None:
            # The update is handled exactly when its effects are stored: same transaction.
            # No row means another worker handled it after our lease ran out: keep theirs.
            result = await self.session.execute(
                delete(InboxUpdate).where(InboxUpdate.update_id == self.inbox_update_id)
            )
            if getattr(result, "rowcount", 1) == 0:
                await self.rollback()
                raise AlreadyHandled(self.inbox_update_id)
        await self.session.commit()
        self.committed = True
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            await callback()

    async def rollback(self) -> None:
        await self.session.rollback()
        self._after_commit.clear()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self.committed:
                await self.session.rollback()
        finally:
            await self.session.close()


UnitOfWorkFactory = Callable[..., UnitOfWork]
