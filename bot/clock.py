"""Time and randomness come from here, injected, so scheduling is tested without waiting."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told to: for tests and for the sandbox's time travel."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)).astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        self._now += delta
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment.astimezone(UTC)


class Randomness(Protocol):
    def token(self, length: int) -> str:
        """A random string of `length` characters from an unambiguous alphabet."""
        ...

    def uniform(self, low: float, high: float) -> float: ...


# No 0/O, 1/I/L: codes are read aloud and typed from paper.
_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class SystemRandomness:
    def token(self, length: int) -> str:
        return "".join(secrets.choice(_ALPHABET) for _ in range(length))

    def uniform(self, low: float, high: float) -> float:
        return low + (high - low) * secrets.randbelow(1_000_000) / 1_000_000
