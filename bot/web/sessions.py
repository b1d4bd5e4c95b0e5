"""Signed session cookies whose expiry is decided by the injected clock.

The cookie holds only ids and times: the account id, when the session began and when it
was last used, a CSRF token and the language chosen before sign-in; it is signed
(itsdangerous, HMAC) so it cannot be forged or edited, and HttpOnly and SameSite=Lax so
scripts cannot read it and other sites cannot post with it. Expiry is checked against the
clock the app is given (not the signer's wall clock), so tests move time instead of
waiting. Signing out, a new password or a disabled account end every session at once
(`StaffAccount.sessions_valid_from`), even copies of the cookie.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "stegvis_session"
SECURE_COOKIE = "__Host-stegvis_session"  # the __Host- prefix: Secure, path /, no domain
MAX_COOKIE_BYTES = 4000


@dataclass(frozen=True)
class Session:
    csrf: str
    account_id: int | None = None
    issued_at: datetime | None = None
    seen_at: datetime | None = None
    language: str | None = None
    # The key of a one-time notice for the next page ("the invite was revoked").
    notice: str | None = None
    # Why the last session ended, shown once on the sign-in page.
    ended: str | None = None

    @classmethod
    def new(cls, language: str | None = None) -> Session:
        return cls(csrf=secrets.token_urlsafe(32), language=language)

    def signed_in(self, account_id: int, language: str, now: datetime) -> Session:
        """A fresh CSRF token at sign-in: a token seen before it is no use after. The
        account's language stays on this browser after sign-out too."""
        return Session(
            csrf=secrets.token_urlsafe(32),
            account_id=account_id,
            issued_at=now,
            seen_at=now,
            language=language,
        )

    def signed_out(self, reason: str | None = None) -> Session:
        return Session(csrf=secrets.token_urlsafe(32), language=self.language, ended=reason)

    def seen(self, now: datetime) -> Session:
        return replace(self, seen_at=now)

    def with_notice(self, notice: str | None) -> Session:
        return replace(self, notice=notice)

    def with_language(self, language: str) -> Session:
        return replace(self, language=language)

    def without_ended(self) -> Session:
        return replace(self, ended=None)


class SessionExpiry:
    def __init__(self, idle: timedelta, lifetime: timedelta) -> None:
        self.idle = idle
        self.lifetime = lifetime

    def expired(self, session: Session, now: datetime) -> bool:
        if session.issued_at is None or session.seen_at is None:
            return True
        return now - session.seen_at > self.idle or now - session.issued_at > self.lifetime


def _timestamp(value: datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def _moment(value: Any) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None


class SessionCodec:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="stegvis.dashboard.session")

    def dumps(self, session: Session) -> str:
        data = {
            "c": session.csrf,
            "a": session.account_id,
            "i": _timestamp(session.issued_at),
            "s": _timestamp(session.seen_at),
            "l": session.language,
            "n": session.notice,
            "e": session.ended,
        }
        return str(self._serializer.dumps({key: value for key, value in data.items() if value}))

    def loads(self, cookie: str | None) -> Session | None:
        """The session in a cookie, or None for no cookie, a forged one or a malformed one."""
        if not cookie or len(cookie) > MAX_COOKIE_BYTES:
            return None
        try:
            data = self._serializer.loads(cookie)
        except BadSignature:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        account = data.get("a")
        return Session(
            csrf=data["c"],
            account_id=account if isinstance(account, int) else None,
            issued_at=_moment(data.get("i")),
            seen_at=_moment(data.get("s")),
            language=data.get("l") if isinstance(data.get("l"), str) else None,
            notice=data.get("n") if isinstance(data.get("n"), str) else None,
            ended=data.get("e") if isinstance(data.get("e"), str) else None,
        )


def tokens_match(expected: str, given: object) -> bool:
    return isinstance(given, str) and secrets.compare_digest(expected.encode(), given.encode())
