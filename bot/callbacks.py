"""Callback data: short, structured ("onb:lang:sv"), parsed in one place, never trusted.

Telegram returns whatever string a client sends, so a forged or stale button is always
possible: parsing only checks the shape; each handler re-checks who may act on what.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_BYTES = 64  # Telegram's limit for callback_data
_PART = re.compile(r"^[A-Za-z0-9_.\-]{1,40}$")


@dataclass(frozen=True)
class CallbackData:
    flow: str
    action: str
    args: tuple[str, ...] = ()

    def is_(self, action: str, arity: int) -> bool:
        """This action with exactly `arity` arguments: anything else is not ours."""
        return self.action == action and len(self.args) == arity

    def arg(self, index: int) -> str | None:
        return self.args[index] if index < len(self.args) else None

    def int_arg(self, index: int) -> int | None:
        value = self.arg(index)
        if value is None or not value.lstrip("-").isdigit() or len(value) > 18:
            return None
        return int(value)


def pack(flow: str, action: str, *args: str | int) -> str:
    parts = [flow, action, *(str(arg) for arg in args)]
    for part in parts:
        if not _PART.match(part):
            raise ValueError(f"callback part {part!r} is not allowed")
    data = ":".join(parts)
    if len(data.encode("utf-8")) > MAX_BYTES:
        raise ValueError(f"callback data {data!r} exceeds {MAX_BYTES} bytes")
    return data


def parse(data: str | None) -> CallbackData | None:
    """The parts of well-formed data, or None for anything else (forged, foreign, empty)."""
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        return None
    parts = data.split(":")
    if len(parts) < 2 or not all(_PART.match(part) for part in parts):
        return None
    return CallbackData(flow=parts[0], action=parts[1], args=tuple(parts[2:]))
