"""Staff accounts and signing in to the dashboard: argon2 hashes, lock-out, sign-out.

Plain values in, results out; the web edge and the CLI call these. Failures are counted
on the account row, in the database, so a lock-out holds across restarts and processes.
Hashing takes tens of milliseconds of CPU by design, so it runs in a worker thread and
the event loop (which also serves the bot in the sandbox) keeps going meanwhile.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.domain.onboarding import DomainError
from storage.models import StaffAccount, StaffRole
from storage.staff import StaffAccounts
from storage.uow import UnitOfWork

INTERFACE_LANGUAGES = ("sv", "en")
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
LOCK_DURATION = timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this only bounds the work per attempt
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a wrong name takes as long as a
# wrong password and the response time does not tell which names exist.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class SignInProblem(StrEnum):
    WRONG = "wrong"  # unknown name or wrong password: the same answer for both
    LOCKED = "locked"
    DISABLED = "disabled"


@dataclass(frozen=True)
class SignIn:
    account: StaffAccount | None
    problem: SignInProblem | None = None
    locked_until: datetime | None = None
    # The failure that locked the account just now (worth an audit row of its own).
    just_locked: bool = False


def accounts(uow: UnitOfWork) -> StaffAccounts:
    return uow.repository(StaffAccounts)


def normalize_username(username: str) -> str:
    return username.strip().lower()


def check_password(password: str, username: str) -> None:
    """Length is what makes a password strong; a passphrase of plain words is fine."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise DomainError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise DomainError(f"a password may have at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip().lower() == username:
        raise DomainError("the password must not be the username")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


async def create_account(
    uow: UnitOfWork,
    *,
    username: str,
    password: str,
    role: StaffRole,
    now: datetime,
    mentor_id: int | None = None,
    language: str = "sv",
) -> StaffAccount:
    name = normalize_username(username)
    if not USERNAME.match(name):
        raise DomainError(
            "a username is 2 to 64 lower-case letters, digits, dots, dashes or underscores"
        )
    if await accounts(uow).by_username(name) is not None:
        raise DomainError(f"an account named {name!r} exists already")
    if language not in INTERFACE_LANGUAGES:
        raise DomainError(f"the interface language is one of {', '.join(INTERFACE_LANGUAGES)}")
    if role is StaffRole.MENTOR:
        if mentor_id is None:
            raise DomainError("a mentor's account needs --mentor-id (see `stegvis mentor list`)")
        if await uow.mentors.get(mentor_id) is None:
            raise DomainError(f"no mentor with id {mentor_id}")
    elif mentor_id is not None:
        raise DomainError("only a mentor's account is linked to a mentor")
    check_password(password, name)
    return await accounts(uow).add(
        StaffAccount(
            username=name,
            password_hash=await hash_password(password),
            role=role,
            mentor_id=mentor_id,
            language=language,
            failed_attempts=0,
            created_at=now,
        )
    )


async def authenticate(uow: UnitOfWork, username: str, password: str, now: datetime) -> SignIn:
    """Check a sign-in and count it. A locked account refuses even the right password."""
    account = await accounts(uow).by_username_locked(normalize_username(username)[:64])
    if account is None:
        await _verify(_DUMMY_HASH, password[:MAX_PASSWORD_LENGTH])
        return SignIn(None, SignInProblem.WRONG)
    if account.locked_until is not None and account.locked_until > now:
        return SignIn(account, SignInProblem.LOCKED, locked_until=account.locked_until)
    if len(password) <= MAX_PASSWORD_LENGTH and await _verify(account.password_hash, password):
        if account.disabled_at is not None:
            return SignIn(account, SignInProblem.DISABLED)
        account.failed_attempts = 0
        account.failures_since = None
        account.locked_until = None
        account.last_sign_in_at = now
        if _hasher.check_needs_rehash(account.password_hash):
            account.password_hash = await hash_password(password)
        return SignIn(account)
    if account.failures_since is None or now - account.failures_since > FAILURE_WINDOW:
        account.failures_since = now
        account.failed_attempts = 0
    account.failed_attempts += 1
    if account.failed_attempts >= MAX_FAILURES:
        account.locked_until = now + LOCK_DURATION
        account.failed_attempts = 0
        account.failures_since = None
        return SignIn(
            account, SignInProblem.LOCKED, locked_until=account.locked_until, just_locked=True
        )
    return SignIn(account, SignInProblem.WRONG)


def session_accepted(account: StaffAccount, issued_at: datetime) -> bool:
    """A session survives until sign-out, a new password or the account being disabled."""
    if account.disabled_at is not None:
        return False
    return account.sessions_valid_from is None or issued_at >= account.sessions_valid_from


def sign_out_everywhere(account: StaffAccount, now: datetime) -> None:
    """Every session issued so far stops working, also a copy of the cookie elsewhere."""
    account.sessions_valid_from = now


async def set_password(uow: UnitOfWork, username: str, password: str, now: datetime) -> None:
    account = await _existing(uow, username)
    check_password(password, account.username)
    account.password_hash = await hash_password(password)
    account.locked_until = None
    account.failed_attempts = 0
    account.failures_since = None
    sign_out_everywhere(account, now)


async def unlock(uow: UnitOfWork, username: str) -> None:
    account = await _existing(uow, username)
    account.locked_until = None
    account.failed_attempts = 0
    account.failures_since = None


async def set_disabled(uow: UnitOfWork, username: str, disabled: bool, now: datetime) -> None:
    account = await _existing(uow, username)
    account.disabled_at = now if disabled else None
    if disabled:
        sign_out_everywhere(account, now)


def set_language(account: StaffAccount, language: str) -> bool:
    if language not in INTERFACE_LANGUAGES:
        return False
    account.language = language
    return True


async def _existing(uow: UnitOfWork, username: str) -> StaffAccount:
    account = await accounts(uow).by_username(normalize_username(username))
    if account is None:
        raise DomainError(f"no account named {username!r}")
    return account
