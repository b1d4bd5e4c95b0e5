"""What flow modules contribute besides PTB handlers: message routing, menu, commands.

Free text and media are routed by conversation state, not by PTB handler order: the flow
that owns the participant's current step gets the message; with no step active, the
fallback (the help flow's triage) gets it. Menus and the command list are composed from
what each flow declares, so adding a flow touches only its module and `app.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from telegram import Message
from telegram.ext import BaseHandler

from bot.turn import Turn
from storage.models import ParticipantStatus

MessageHandlerFn = Callable[[Turn, Message], Awaitable[None]]


class Role(StrEnum):
    VISITOR = "visitor"  # not joined yet
    APPLICANT = "applicant"  # signed up, waiting for an answer (no check-ins, no mentor)
    PARTICIPANT = "participant"
    MENTOR = "mentor"


@dataclass(frozen=True)
class MenuItem:
    """A button in /menu; `label` is an untranslated msgid marked with N_()."""

    label: str
    data: str
    roles: frozenset[Role]
    order: int = 50
    # Shown only when this says so (a setting, the participant's status); None: always.
    visible: Callable[[Turn], bool] | None = None


@dataclass(frozen=True)
class Command:
    """A command shown in Telegram's command list; `description` is an N_() msgid."""

    name: str
    description: str
    roles: frozenset[Role]
    order: int = 50


class FlowModule(Protocol):
    def build_handlers(self) -> list[BaseHandler]:  # type: ignore[type-arg]
        ...


@dataclass
class FlowRegistry:
    on_message: dict[str, MessageHandlerFn] = field(default_factory=dict)
    fallback: MessageHandlerFn | None = None
    menu: list[MenuItem] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    # Where "I want help" leads from any flow (a check-in answer, a plan step): the help
    # flow registers it; flows call it without importing the help flow.
    help_entry: Callable[[Turn], Awaitable[None]] | None = None

    def add_flow(self, flow: str, handler: MessageHandlerFn) -> None:
        if flow in self.on_message:
            raise ValueError(f"flow {flow!r} registered twice")
        self.on_message[flow] = handler

    def add_menu(self, items: Iterable[MenuItem]) -> None:
        self.menu.extend(items)
        self.menu.sort(key=lambda item: item.order)

    def add_commands(self, commands: Iterable[Command]) -> None:
        self.commands.extend(commands)
        self.commands.sort(key=lambda command: command.order)

    def menu_for(self, role: Role, turn: Turn | None = None) -> list[MenuItem]:
        return [
            item
            for item in self.menu
            if role in item.roles and (item.visible is None or turn is None or item.visible(turn))
        ]

    def commands_for(self, role: Role) -> list[Command]:
        return [command for command in self.commands if role in command.roles]


def role_of(turn: Turn) -> Role:
    if turn.mentor is not None:
        return Role.MENTOR
    if turn.participant is not None and turn.participant.erased_at is None:
        if turn.participant.status is ParticipantStatus.APPLIED:
            return Role.APPLICANT
        return Role.PARTICIPANT
    return Role.VISITOR


def in_contact(turn: Turn) -> bool:
    """Active or in follow-up: check-ins, self-ratings and reminders are for them."""
    participant = turn.participant
    return (
        participant is not None
        and participant.erased_at is None
        and participant.status in (ParticipantStatus.ACTIVE, ParticipantStatus.FOLLOW_UP)
    )


EVERYONE = frozenset(Role)
PARTICIPANTS = frozenset({Role.PARTICIPANT})
MENTORS = frozenset({Role.MENTOR})
APPLICANTS = frozenset({Role.APPLICANT})
VISITORS = frozenset({Role.VISITOR})
