"""Helpers for end-to-end tests of check-ins, self-ratings and mentors: joining through
the real bot, and running the periodic jobs as a process would at its next tick."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.flows.checkin import CheckinJob
from bot.flows.selfrating import SelfRatingJob
from storage.models import Checkin, Conversation, Participant, ParticipantFlag, Step
from tests.e2e.harness import Person, Stack

JOIN_BUTTONS = {
    "sv": ("Svenska", "Ja, jag godkänner", "Välkommen"),
    "ar": ("العربية", "نعم، أوافق", "أهلًا وسهلًا"),
    "en": ("English", "Yes, I agree", "Welcome"),
}


async def join(
    stack: Stack, user_id: int, name: str, locale: str = "sv", mentor_id: int | None = None
) -> Person:
    code = await stack.invite(mentor_id=mentor_id)
    person = await stack.person(user_id, name, locale)
    language, agree, welcome = JOIN_BUTTONS[locale]
    await person.command("start", code)
    await person.press(language)
    await person.press(agree)
    await person.expect(welcome)
    return person


async def tick(stack: Stack) -> None:
    """What the periodic jobs of a running process do at their next tick."""
    assert stack.runtime is not None
    await CheckinJob()(stack.runtime.deps)
    await SelfRatingJob()(stack.runtime.deps)
    stack.runtime.dispatcher.wake()


async def participant(stack: Stack, user_id: int) -> Participant:
    async with stack.database.session() as session:
        found = (
            await session.scalars(
                select(Participant).where(Participant.telegram_user_id == user_id)
            )
        ).first()
        assert found is not None
        return found


async def checkins_of(stack: Stack, user_id: int) -> list[Checkin]:
    owner = await participant(stack, user_id)
    async with stack.database.session() as session:
        return list(
            (
                await session.scalars(
                    select(Checkin).where(Checkin.participant_id == owner.id).order_by(Checkin.id)
                )
            ).all()
        )


async def stored_state(stack: Stack) -> dict[str, Any]:
    """Everything bad input must leave as it was."""
    async with stack.database.session() as session:
        return {
            "conversations": sorted(
                (c.telegram_user_id, c.flow, c.step, str(c.data))
                for c in (await session.scalars(select(Conversation))).all()
            ),
            "checkins": sorted(
                (c.id, c.status, c.step, c.mood, tuple(c.activities), c.wants_help, c.note)
                for c in (await session.scalars(select(Checkin))).all()
            ),
            "steps": sorted(
                (s.participant_id, s.kind, s.taken_on)
                for s in (await session.scalars(select(Step))).all()
            ),
            "flags": sorted(
                (f.participant_id, f.kind, f.resolved_at is None)
                for f in (await session.scalars(select(ParticipantFlag))).all()
            ),
        }
