"""A participant's journey as their own data: what `/mydata` shows and `/delete` erases.

The commands themselves live with privacy; they call these two functions so that every
journey table is covered in one place. Erasing removes every word the participant or a
mentor wrote about them (names, places, the plan and its history); the status history
and the follow-up answers stay without them, because they are counted anonymously in the
ESF reports and hold nothing but dates, statuses and reasons.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from storage.journey import FollowUps, Lifecycle, Signups
from storage.models import Participant, PlanEvent, PlanGoal, PlanStep
from storage.uow import UnitOfWork

from . import plan


async def export(uow: UnitOfWork, participant: Participant) -> dict[str, Any]:
    """Everything the journey keeps about one participant, as plain data."""
    events = await uow.repository(Lifecycle).of_participant(participant.id)
    applications = await uow.repository(Signups).of_participant(participant.id)
    questions = await uow.repository(FollowUps).of_participant(participant.id)
    return {
        "status": participant.status.value,
        "left_for": participant.ended_reason,
        "status_history": [
            {
                "when": event.occurred_at.isoformat(),
                "from": event.from_status.value if event.from_status else None,
                "to": event.to_status.value,
                "reason": event.reason,
                "by": event.actor.value,
            }
            for event in events
        ],
        "applications": [
            {
                "sent": application.submitted_at.isoformat(),
                "lives_in": application.area_other or application.area,
                "wants_help_with": list(application.topics),
                "answer": application.decision.value if application.decision else None,
                "answered": application.decided_at.isoformat() if application.decided_at else None,
            }
            for application in applications
        ],
        "plan": await plan.plan_export(uow, participant.id),
        "follow_up": [
            {
                "months": question.months,
                "asked": question.asked_at.isoformat() if question.asked_at else None,
                "answer": question.answer.value if question.answer else None,
            }
            for question in questions
        ],
    }


async def erase(uow: UnitOfWork, participant: Participant) -> None:
    """Remove the journey's words about a participant; keep what reports count."""
    session = uow.session
    await session.execute(delete(PlanEvent).where(PlanEvent.participant_id == participant.id))
    await session.execute(delete(PlanStep).where(PlanStep.participant_id == participant.id))
    await session.execute(delete(PlanGoal).where(PlanGoal.participant_id == participant.id))
    for application in await uow.repository(Signups).of_participant(participant.id):
        application.area_other = None
    if participant.telegram_user_id is not None:
        draft = await uow.repository(Signups).draft(participant.telegram_user_id)
        if draft is not None:
            await uow.repository(Signups).delete_draft(draft)
    await uow.repository(FollowUps).cancel_open(participant.id)
    await session.flush()
