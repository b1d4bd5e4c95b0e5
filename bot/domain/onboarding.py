"""Joining a project: cohorts, mentors and invites made by staff; an invite opened, a consent given.

Plain values in, rows out; no Telegram here. The flow in `bot/flows/onboarding.py` renders
the results, the CLI calls the same functions for staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from bot.clock import Randomness
from storage.models import Cohort, Invite, InviteKind, Mentor, Participant, ParticipantStatus
from storage.uow import UnitOfWork

INVITE_CODE_LENGTH = 8
PUBLIC_ID_LENGTH = 5


class InviteProblem(StrEnum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


class DomainError(Exception):
    """A staff action that cannot be done as asked; the message says why, for the CLI."""


@dataclass(frozen=True)
class InviteCheck:
    invite: Invite | None
    problem: InviteProblem | None


@dataclass(frozen=True)
class Joined:
    participant: Participant
    mentor: Mentor | None
    cohort: Cohort | None


def normalize_code(code: str) -> str:
    return code.strip().upper()


async def check_invite(uow: UnitOfWork, code: str, now: datetime) -> InviteCheck:
    invite = await uow.invites.by_code(normalize_code(code)) if code.strip() else None
    if invite is None or invite.revoked_at is not None:
        return InviteCheck(None, InviteProblem.UNKNOWN)
    if invite.used_at is not None:
        return InviteCheck(invite, InviteProblem.USED)
    if invite.expires_at <= now:
        return InviteCheck(invite, InviteProblem.EXPIRED)
    return InviteCheck(invite, None)


async def new_public_id(uow: UnitOfWork, randomness: Randomness) -> str:
    while True:
        candidate = "P" + randomness.token(PUBLIC_ID_LENGTH)
        if not await uow.participants.public_id_taken(candidate):
            return candidate


async def join_as_participant(
    uow: UnitOfWork,
    *,
    invite: Invite,
    telegram_user_id: int,
    chat_id: int,
    first_name: str,
    locale: str,
    now: datetime,
    randomness: Randomness,
) -> Joined:
    """Consent given: the participant exists from here on, and the invite is spent."""
    invite.used_at = now
    participant = Participant(
        public_id=await new_public_id(uow, randomness),
        telegram_user_id=telegram_user_id,
        chat_id=chat_id,
        display_name=first_name[:120] or None,
        cohort_id=invite.cohort_id,
        mentor_id=invite.mentor_id,
        invite_id=invite.id,
        locale=locale,
        status=ParticipantStatus.ACTIVE,
        consent_at=now,
        joined_at=now,
    )
    await uow.participants.add(participant)
    from bot.domain import lifecycle  # every status, the first one too, is an event

    await lifecycle.record_start(uow, participant, by=lifecycle.ChangedBy.participant(), now=now)
    mentor = await uow.mentors.get(invite.mentor_id) if invite.mentor_id else None
    cohort = await uow.cohorts.get(invite.cohort_id) if invite.cohort_id else None
    return Joined(participant, mentor, cohort)


async def join_as_mentor(
    uow: UnitOfWork, *, invite: Invite, telegram_user_id: int, now: datetime
) -> Mentor | None:
    """A mentor's own invite links their Telegram account to the mentor record."""
    if invite.mentor_id is None:
        return None
    mentor = await uow.mentors.get(invite.mentor_id)
    if mentor is None:
        return None
    mentor.telegram_user_id = telegram_user_id
    mentor.unreachable_at = None
    invite.used_at = now
    return mentor


async def record_refusal(
    uow: UnitOfWork, *, invite: Invite | None, locale: str, now: datetime
) -> None:
    """Declining keeps only that someone declined, when, in which group and language."""
    await uow.participants.add_refusal(
        cohort_id=invite.cohort_id if invite else None, locale=locale, now=now
    )


# Staff actions (CLI and dashboard)


async def create_cohort(uow: UnitOfWork, name: str, now: datetime) -> Cohort:
    name = name.strip()
    if not name:
        raise DomainError("a cohort needs a name")
    if await uow.cohorts.by_name(name):
        raise DomainError(f"a cohort named {name!r} exists already")
    return await uow.cohorts.add(name, now)


async def create_mentor(
    uow: UnitOfWork,
    *,
    name: str,
    languages: list[str],
    now: datetime,
    telegram_user_id: int | None = None,
    is_coordinator: bool = False,
    caseload_limit: int | None = None,
) -> Mentor:
    from bot.config import SUPPORTED_LOCALES

    unknown = [code for code in languages if code not in SUPPORTED_LOCALES]
    if unknown:
        raise DomainError(
            f"unknown language {', '.join(unknown)}; use {', '.join(SUPPORTED_LOCALES)}"
        )
    if not name.strip():
        raise DomainError("a mentor needs a name")
    if telegram_user_id is not None and await uow.mentors.by_telegram_id(telegram_user_id):
        raise DomainError(f"Telegram user {telegram_user_id} is a mentor already")
    return await uow.mentors.add(
        name=name.strip(),
        languages=languages or ["sv"],
        now=now,
        telegram_user_id=telegram_user_id,
        is_coordinator=is_coordinator,
        caseload_limit=caseload_limit,
    )


async def create_invite(
    uow: UnitOfWork,
    *,
    now: datetime,
    randomness: Randomness,
    valid_for: timedelta,
    cohort_name: str | None = None,
    mentor_id: int | None = None,
    kind: InviteKind = InviteKind.PARTICIPANT,
) -> Invite:
    cohort = None
    if kind is InviteKind.PARTICIPANT:
        if not cohort_name:
            raise DomainError("an invite for a participant needs a cohort")
        cohort = await uow.cohorts.by_name(cohort_name)
        if cohort is None:
            raise DomainError(f"no cohort named {cohort_name!r}")
    if mentor_id is not None and await uow.mentors.get(mentor_id) is None:
        raise DomainError(f"no mentor with id {mentor_id}")
    if kind is InviteKind.MENTOR and mentor_id is None:
        raise DomainError("a mentor's invite needs the mentor")
    while True:
        code = randomness.token(INVITE_CODE_LENGTH)
        if await uow.invites.by_code(code) is None:
            break
    return await uow.invites.add(
        Invite(
            code=code,
            kind=kind,
            cohort_id=cohort.id if cohort else None,
            mentor_id=mentor_id,
            created_at=now,
            expires_at=now + valid_for,
        )
    )


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"
