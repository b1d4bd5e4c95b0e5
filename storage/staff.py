"""Repositories of the dashboard's tables: staff accounts and the audit trail.

They query and add; they never commit. The audit repository has no method that changes
or removes a row (the database refuses that too).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from storage.models import AuditAction, AuditEvent, StaffAccount
from storage.repositories import Repository


class StaffAccounts(Repository):
    async def get(self, account_id: int) -> StaffAccount | None:
        return await self.session.get(StaffAccount, account_id)

    async def by_username(self, username: str) -> StaffAccount | None:
        result = await self.session.scalars(
            select(StaffAccount).where(StaffAccount.username == username)
        )
        return result.first()

    async def by_username_locked(self, username: str) -> StaffAccount | None:
        """For counting failures: two sign-ins at once must not both read the old count."""
        result = await self.session.scalars(
            select(StaffAccount).where(StaffAccount.username == username).with_for_update()
        )
        return result.first()

    async def all(self) -> Sequence[StaffAccount]:
        return (
            await self.session.scalars(select(StaffAccount).order_by(StaffAccount.username))
        ).all()

    async def add(self, account: StaffAccount) -> StaffAccount:
        self.session.add(account)
        await self.session.flush()
        return account


class AuditTrail(Repository):
    async def add(
        self,
        *,
        at: datetime,
        action: AuditAction,
        staff_account_id: int | None = None,
        mentor_id: int | None = None,
        participant_id: int | None = None,
        object_id: int | None = None,
        detail: str | None = None,
    ) -> AuditEvent:
        event = AuditEvent(
            at=at,
            action=action,
            staff_account_id=staff_account_id,
            mentor_id=mentor_id,
            participant_id=participant_id,
            object_id=object_id,
            detail=detail,
        )
        self.session.add(event)
        await self.session.flush()
        return event

    async def for_participant(self, participant_id: int, limit: int = 200) -> Sequence[AuditEvent]:
        query = (
            select(AuditEvent)
            .where(AuditEvent.participant_id == participant_id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(limit)
        )
        return (await self.session.scalars(query)).all()

    async def recent(
        self, *, limit: int = 200, before_id: int | None = None
    ) -> Sequence[AuditEvent]:
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if before_id is not None:
            query = query.where(AuditEvent.id < before_id)
        return (await self.session.scalars(query)).all()
