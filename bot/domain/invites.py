"""Invites as the dashboard shows them: their state, who joined with them, revoking.

Creating an invite is `onboarding.create_invite`, the same function the CLI uses; here a
mentor's invites are always bound to that mentor, whatever the form says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.clock import Randomness
from bot.domain import onboarding
from bot.domain.audit import Viewer
from storage.models import Invite, InviteKind
from storage.reporting import Figures
from storage.uow import UnitOfWork

MAX_VALID_DAYS = 365


class InviteState(StrEnum):
    OPEN = "open"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"


class RevokeProblem(StrEnum):
    NOT_FOUND = "not_found"
    NOT_OPEN = "not_open"


def state(invite: Invite, now: datetime) -> InviteState:
    if invite.revoked_at is not None:
        return InviteState.REVOKED
    if invite.used_at is not None:
        return InviteState.USED
    if invite.expires_at <= now:
        return InviteState.EXPIRED
    return InviteState.OPEN


@dataclass(frozen=True)
class InviteRow:
    id: int
    code: str
    kind: InviteKind
    cohort: str | None
    mentor: str | None
    created_at: datetime
    expires_at: datetime
    state: InviteState
    joined_public_id: str | None


async def list_invites(uow: UnitOfWork, viewer: Viewer, now: datetime) -> list[InviteRow]:
    figures = uow.repository(Figures)
    invites = await figures.invites(viewer.scope)
    cohorts = await figures.cohort_names()
    mentors = await figures.mentor_names()
    joined = await figures.joined_through([invite.id for invite in invites])
    return [
        InviteRow(
            id=invite.id,
            code=invite.code,
            kind=invite.kind,
            cohort=cohorts.get(invite.cohort_id or 0),
            mentor=mentors.get(invite.mentor_id or 0),
            created_at=invite.created_at,
            expires_at=invite.expires_at,
            state=state(invite, now),
            joined_public_id=joined.get(invite.id),
        )
        for invite in invites
    ]


async def visible_invite(uow: UnitOfWork, viewer: Viewer, invite_id: int) -> Invite | None:
    invite = await uow.session.get(Invite, invite_id)
    if invite is None:
        return None
    if not viewer.sees_everything and invite.mentor_id != viewer.mentor_id:
        return None
    return invite


async def create(
    uow: UnitOfWork,
    viewer: Viewer,
    *,
    cohort_id: int,
    mentor_id: int | None,
    valid_days: int,
    now: datetime,
    randomness: Randomness,
) -> Invite:
    cohort = await uow.cohorts.get(cohort_id)
    if cohort is None:
        raise onboarding.DomainError("no such cohort")
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise onboarding.DomainError("an invite is valid for 1 to 365 days")
    if not viewer.sees_everything:
        mentor_id = viewer.mentor_id
    return await onboarding.create_invite(
        uow,
        now=now,
        randomness=randomness,
        valid_for=timedelta(days=valid_days),
        cohort_name=cohort.name,
        mentor_id=mentor_id,
    )


async def revoke(
    uow: UnitOfWork, viewer: Viewer, invite_id: int, now: datetime
) -> tuple[Invite | None, RevokeProblem | None]:
    invite = await visible_invite(uow, viewer, invite_id)
    if invite is None:
        return None, RevokeProblem.NOT_FOUND
    if state(invite, now) is not InviteState.OPEN:
        return invite, RevokeProblem.NOT_OPEN
    invite.revoked_at = now
    return invite, None
