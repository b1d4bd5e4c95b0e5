"""Repositories for campaigns and appointments. They query and add; they never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from storage.models import (
    Appointment,
    AppointmentStatus,
    Campaign,
    CampaignOccurrence,
    CampaignState,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantStatus,
)
from storage.models.messaging import OPEN_STATUSES
from storage.repositories import Repository


class Campaigns(Repository):
    async def get(self, campaign_id: int) -> Campaign | None:
        return await self.session.get(Campaign, campaign_id)

    async def by_name(self, name: str) -> Campaign | None:
        return (await self.session.scalars(select(Campaign).where(Campaign.name == name))).first()

    async def all(self) -> Sequence[Campaign]:
        return (await self.session.scalars(select(Campaign).order_by(Campaign.id))).all()

    async def add(self, campaign: Campaign) -> Campaign:
        self.session.add(campaign)
        await self.session.flush()
        return campaign

    async def due(self, until: datetime, *, skip_locked: bool) -> Sequence[Campaign]:
        """Campaigns whose next occurrence is at or before `until`, locked for this writer."""
        query = (
            select(Campaign)
            .where(
                Campaign.state.in_([CampaignState.SCHEDULED, CampaignState.RUNNING]),
                Campaign.next_run_at.is_not(None),
                Campaign.next_run_at <= until,
            )
            .order_by(Campaign.next_run_at)
        )
        if skip_locked:
            query = query.with_for_update(skip_locked=True)
        return (await self.session.scalars(query)).all()

    async def running(self) -> Sequence[Campaign]:
        query = select(Campaign).where(Campaign.state == CampaignState.RUNNING)
        return (await self.session.scalars(query)).all()

    async def add_occurrence(
        self, campaign_id: int, at: datetime, now: datetime
    ) -> CampaignOccurrence:
        occurrence = CampaignOccurrence(
            campaign_id=campaign_id, scheduled_for=at, materialised_at=now
        )
        self.session.add(occurrence)
        await self.session.flush()
        return occurrence

    async def audience(
        self,
        cohort_ids: Sequence[int],
        statuses: Sequence[ParticipantStatus],
        languages: Sequence[str] | None,
    ) -> list[tuple[int, int, str, bool, bool]]:
        """(participant id, chat id, locale, reminders paused, unreachable) of everyone in
        the cohorts who can be written to at all."""
        query = select(
            Participant.id,
            Participant.chat_id,
            Participant.locale,
            Participant.reminders_paused_at.is_not(None),
            Participant.unreachable_at.is_not(None),
        ).where(
            Participant.cohort_id.in_(list(cohort_ids)),
            Participant.status.in_(list(statuses)),
            Participant.erased_at.is_(None),
            Participant.chat_id.is_not(None),
        )
        if languages:
            query = query.where(Participant.locale.in_(list(languages)))
        rows = (await self.session.execute(query.order_by(Participant.id))).all()
        return [(r[0], int(r[1] or 0), r[2], bool(r[3]), bool(r[4])) for r in rows]

    async def queue(self, rows: list[dict[str, Any]]) -> None:
        """Write many outbox rows in one statement (a campaign to thousands)."""
        if rows:
            await self.session.execute(insert(OutboxMessage), rows)

    async def counts(self, campaign_ids: Sequence[int]) -> dict[int, dict[OutboxStatus, int]]:
        query = (
            select(OutboxMessage.campaign_id, OutboxMessage.status, func.count())
            .where(OutboxMessage.campaign_id.in_(list(campaign_ids)))
            .group_by(OutboxMessage.campaign_id, OutboxMessage.status)
        )
        result: dict[int, dict[OutboxStatus, int]] = {cid: {} for cid in campaign_ids}
        for campaign_id, status, count in (await self.session.execute(query)).all():
            if campaign_id is not None:
                result[campaign_id][OutboxStatus(status)] = int(count)
        return result

    async def open_rows(self, campaign_ids: Sequence[int]) -> set[int]:
        """The campaigns among these that still have rows to send."""
        query = (
            select(OutboxMessage.campaign_id)
            .where(
                OutboxMessage.campaign_id.in_(list(campaign_ids)),
                OutboxMessage.status.in_(list(OPEN_STATUSES)),
            )
            .distinct()
        )
        return {cid for cid in (await self.session.scalars(query)).all() if cid is not None}

    async def set_rows(
        self,
        campaign_id: int,
        from_statuses: Sequence[OutboxStatus],
        status: OutboxStatus,
        *,
        reason: str | None = None,
        available_before: datetime | None = None,
        available_at: datetime | None = None,
    ) -> int:
        query = update(OutboxMessage).where(
            OutboxMessage.campaign_id == campaign_id,
            OutboxMessage.status.in_(list(from_statuses)),
        )
        if available_before is not None:
            query = query.where(OutboxMessage.available_at < available_before)
        values: dict[str, Any] = {"status": status}
        if reason is not None:
            values["last_error"] = reason
        if available_at is not None:
            values["available_at"] = available_at
        result = await self.session.execute(query.values(**values))
        return int(getattr(result, "rowcount", 0) or 0)


class Appointments(Repository):
    async def get(self, appointment_id: int) -> Appointment | None:
        return await self.session.get(Appointment, appointment_id)

    async def add(self, appointment: Appointment) -> Appointment:
        self.session.add(appointment)
        await self.session.flush()
        return appointment

    async def reminders_sent(self, appointment_id: int) -> int:
        query = select(func.count()).where(
            OutboxMessage.appointment_id == appointment_id,
            OutboxMessage.status == OutboxStatus.SENT,
        )
        return int(await self.session.scalar(query) or 0)

    async def stop_reminders(self, appointment_id: int, reason: str) -> int:
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.appointment_id == appointment_id,
                OutboxMessage.status.in_(
                    [OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.HELD]
                ),
            )
            .values(status=OutboxStatus.SKIPPED, last_error=reason)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def upcoming_of(self, participant_id: int, now: datetime) -> Sequence[Appointment]:
        query = (
            select(Appointment)
            .where(
                Appointment.participant_id == participant_id,
                Appointment.status == AppointmentStatus.SCHEDULED,
                Appointment.starts_at > now,
            )
            .order_by(Appointment.starts_at)
        )
        return (await self.session.scalars(query)).all()
