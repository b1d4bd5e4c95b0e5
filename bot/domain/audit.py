"""Who looked at or changed what: written by every dashboard action that touches a person.

`Viewer` is the signed-in person as plain values, with the scope of what they may see:
staff see the whole project, a mentor only their own participants. Domain functions take
a viewer and apply that scope themselves, so a page cannot forget it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.models import AuditAction, AuditEvent, StaffAccount, StaffRole
from storage.reporting import Scope
from storage.staff import AuditTrail
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class Viewer:
    account_id: int
    username: str
    role: StaffRole
    mentor_id: int | None
    language: str

    @classmethod
    def of(cls, account: StaffAccount) -> Viewer:
        return cls(
            account_id=account.id,
            username=account.username,
            role=account.role,
            mentor_id=account.mentor_id,
            language=account.language,
        )

    @property
    def sees_everything(self) -> bool:
        return self.role is StaffRole.STAFF

    @property
    def scope(self) -> Scope:
        return Scope(everyone=self.sees_everything, mentor_id=self.mentor_id)

    def may_see(self, participant_mentor_id: int | None) -> bool:
        if self.sees_everything:
            return True
        return self.mentor_id is not None and participant_mentor_id == self.mentor_id


@dataclass(frozen=True)
class TrailEntry:
    id: int
    at: datetime
    action: AuditAction
    who: str
    participant_public_id: str | None
    object_id: int | None
    detail: str | None


def trail(uow: UnitOfWork) -> AuditTrail:
    return uow.repository(AuditTrail)


async def record(
    uow: UnitOfWork,
    viewer: Viewer | None,
    action: AuditAction,
    now: datetime,
    *,
    participant_id: int | None = None,
    object_id: int | None = None,
    detail: str | None = None,
    account_id: int | None = None,
) -> AuditEvent:
    return await trail(uow).add(
        at=now,
        action=action,
        staff_account_id=viewer.account_id if viewer else account_id,
        mentor_id=viewer.mentor_id if viewer else None,
        participant_id=participant_id,
        object_id=object_id,
        detail=detail[:200] if detail else None,
    )


async def record_by_mentor(
    uow: UnitOfWork,
    mentor_id: int,
    action: AuditAction,
    now: datetime,
    *,
    participant_id: int | None = None,
    detail: str | None = None,
) -> AuditEvent:
    """A mentor read or changed something through the bot (no dashboard account)."""
    return await trail(uow).add(
        at=now,
        action=action,
        staff_account_id=None,
        mentor_id=mentor_id,
        participant_id=participant_id,
        object_id=None,
        detail=detail[:200] if detail else None,
    )


async def _entries(uow: UnitOfWork, events: Sequence[AuditEvent]) -> list[TrailEntry]:
    from storage.staff import StaffAccounts

    names: dict[int, str] = {}
    mentors: dict[int, str] = {}
    public_ids: dict[int, str] = {}
    entries = []
    for event in events:
        who = "–"
        if event.staff_account_id is not None:
            if event.staff_account_id not in names:
                account = await uow.repository(StaffAccounts).get(event.staff_account_id)
                names[event.staff_account_id] = account.username if account else "?"
            who = names[event.staff_account_id]
        elif event.mentor_id is not None:
            if event.mentor_id not in mentors:
                mentor = await uow.mentors.get(event.mentor_id)
                mentors[event.mentor_id] = mentor.name if mentor else "?"
            who = mentors[event.mentor_id]
        public_id = None
        if event.participant_id is not None:
            if event.participant_id not in public_ids:
                participant = await uow.participants.get(event.participant_id)
                public_ids[event.participant_id] = participant.public_id if participant else "?"
            public_id = public_ids[event.participant_id]
        entries.append(
            TrailEntry(
                id=event.id,
                at=event.at,
                action=event.action,
                who=who,
                participant_public_id=public_id,
                object_id=event.object_id,
                detail=event.detail,
            )
        )
    return entries


async def trail_of_participant(uow: UnitOfWork, participant_id: int) -> list[TrailEntry]:
    return await _entries(uow, await trail(uow).for_participant(participant_id))


async def recent_trail(
    uow: UnitOfWork, *, limit: int = 200, before_id: int | None = None
) -> list[TrailEntry]:
    return await _entries(uow, await trail(uow).recent(limit=limit, before_id=before_id))
