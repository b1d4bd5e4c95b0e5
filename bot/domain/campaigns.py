"""Campaigns: a message from staff to one or more cohorts, once or on a recurrence.

Plain values in, rows out; no Telegram here. The CLI (and later the dashboard) calls
these functions; a periodic job calls `materialise_due` and `settle`. Each occurrence is
written to the outbox as one row per recipient, already rendered in the recipient's
language, so what happens afterwards (pacing, retries, a crash) is the dispatcher's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import SUPPORTED_LOCALES
from bot.domain.onboarding import DomainError
from bot.i18n import LANGUAGE_NAMES, translator
from bot.messaging import PRIORITY, TELEGRAM_TEXT_LIMIT, text_payload
from bot.schedule import WEEKDAYS, QuietHours, ScheduleError, next_occurrence
from storage.models import (
    Campaign,
    CampaignState,
    OutboxKind,
    OutboxStatus,
    ParticipantStatus,
)
from storage.reminders import Campaigns
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

# Who a campaign reaches unless staff filter by status: everyone who has not left.
DEFAULT_STATUSES: tuple[ParticipantStatus, ...] = (
    ParticipantStatus.APPLIED,
    ParticipantStatus.ACTIVE,
    ParticipantStatus.FOLLOW_UP,
)
# An occurrence missed by more than this (the bot was down for days) is skipped, not sent
# late: "the meeting is tomorrow" must not arrive the day after.
LATE_LIMIT = timedelta(hours=6)
# Room left in a Telegram message for the line that says how to pause messages.
TEXT_LIMIT = TELEGRAM_TEXT_LIMIT - 200
DEFAULT_QUIET = QuietHours(time(21, 0), time(8, 0))


class Problem(StrEnum):
    """Why a campaign cannot be made as asked; the dashboard words each one for staff."""

    NO_NAME = "no_name"
    NAME_TAKEN = "name_taken"
    NO_COHORT = "no_cohort"
    UNKNOWN_COHORT = "unknown_cohort"
    BAD_STATUS = "bad_status"
    UNKNOWN_LANGUAGE = "unknown_language"
    TOO_LONG = "too_long"
    FALLBACK_WITHOUT_TEXT = "fallback_without_text"
    MISSING_TEXT = "missing_text"
    NO_SCHEDULE = "no_schedule"
    BAD_TIME = "bad_time"
    BAD_DATE = "bad_date"
    BAD_RECURRENCE = "bad_recurrence"
    BAD_QUIET = "bad_quiet"
    PASSED = "passed"


class CampaignError(DomainError):
    """A DomainError (its message is the CLI's) that also says which problem it is and,
    where it matters, which languages."""

    def __init__(self, message: str, problem: Problem, languages: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problem = problem
        self.languages = tuple(languages)


def footer(locale: str, zone_name: str) -> str:
    t = translator(locale, zone_name)
    return t("To pause messages like this, send /stop.")


def render(text: str, locale: str, zone_name: str) -> str:
    """The campaign text as a participant sees it: the text, then how to pause."""
    return f"{text.strip()}\n\n{footer(locale, zone_name)}"


@dataclass(frozen=True)
class Counts:
    """Delivery counts of a campaign, from its outbox rows."""

    pending: int = 0
    held: int = 0
    sent: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0

    @classmethod
    def of(cls, by_status: dict[OutboxStatus, int]) -> Counts:
        return cls(
            pending=sum(
                by_status.get(s, 0)
                for s in (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED)
            ),
            held=by_status.get(OutboxStatus.HELD, 0),
            sent=by_status.get(OutboxStatus.SENT, 0),
            failed=by_status.get(OutboxStatus.DEAD, 0),
            unreachable=by_status.get(OutboxStatus.UNREACHABLE, 0),
            skipped=by_status.get(OutboxStatus.SKIPPED, 0),
        )

    @property
    def total(self) -> int:
        return self.pending + self.held + self.sent + self.failed + self.unreachable + self.skipped


@dataclass(frozen=True)
class LanguageGroup:
    locale: str  # the recipients' language
    text_locale: str  # the text they get (their own, or the fallback)
    text: str  # exactly as they will see it
    recipients: int


@dataclass(frozen=True)
class Preview:
    campaign: Campaign
    groups: list[LanguageGroup]
    paused: int  # in the audience but have paused reminders: they get nothing
    unreachable: int  # blocked the bot: they get nothing
    next_send: datetime | None

    @property
    def recipients(self) -> int:
        return sum(group.recipients for group in self.groups)


@dataclass
class Materialised:
    occurrences: int = 0
    rows: int = 0
    skipped_late: list[int] = field(default_factory=list)


# Parsing what staff type


_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})$")
_DAY_NAMES = {
    **{name: name for name in WEEKDAYS},
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
    "weekday": "mon-fri",
    "weekdays": "mon-fri",
}


def parse_clock(text: str) -> time:
    match = _TIME.match(text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise CampaignError(f"{text!r} is not a time like 09:00", Problem.BAD_TIME)
    return time(int(match[1]), int(match[2]))


def parse_quiet_hours(text: str) -> QuietHours:
    """'21:00-08:00'; 'off' for none."""
    if text.strip().lower() in ("off", "none", "no"):
        return QuietHours(time(0, 0), time(0, 0))
    start, sep, end = text.partition("-")
    if not sep:
        raise CampaignError(
            f"{text!r} is not quiet hours like 21:00-08:00 (or 'off')", Problem.BAD_QUIET
        )
    try:
        return QuietHours(parse_clock(start), parse_clock(end))
    except CampaignError as error:
        raise CampaignError(str(error), Problem.BAD_QUIET) from None


def parse_schedule(
    *, at: str | None, every: str | None, zone: ZoneInfo, now: datetime
) -> dict[str, Any]:
    """One send time ('2026-12-03 09:00', local) or a recurrence ('monday 09:00',
    'mon,thu 09:00', 'day 09:00', 'weekday 09:00'), as a stored schedule spec."""
    if (at is None) == (every is None):
        raise CampaignError(
            "give either --at (one time) or --every (a recurrence)", Problem.NO_SCHEDULE
        )
    spec: dict[str, Any]
    if at is not None:
        try:
            local = datetime.fromisoformat(at.strip().replace(" ", "T", 1))
        except ValueError:
            raise CampaignError(
                f"{at!r} is not a date and time like 2026-12-03 09:00", Problem.BAD_DATE
            ) from None
        if local.tzinfo is None:
            local = local.replace(tzinfo=zone)
        spec = {"kind": "date", "at": local.isoformat()}
    else:
        assert every is not None
        parts = every.strip().lower().split()
        if len(parts) != 2:
            raise CampaignError(
                f"{every!r} is not a recurrence like 'monday 09:00'", Problem.BAD_RECURRENCE
            )
        days, clock = parts
        at_time = parse_clock(clock)
        spec = {"kind": "cron", "hour": at_time.hour, "minute": at_time.minute}
        if days not in ("day", "daily", "everyday"):
            names = []
            for name in days.split(","):
                if name not in _DAY_NAMES:
                    raise CampaignError(
                        f"{name!r} is not a day (monday … sunday, weekday, day)",
                        Problem.BAD_RECURRENCE,
                    )
                names.append(_DAY_NAMES[name])
            spec["day_of_week"] = ",".join(names)
    try:
        first = next_occurrence(spec, zone, now)
    except ScheduleError as error:
        raise CampaignError(str(error), Problem.BAD_RECURRENCE) from None
    if first is None:
        raise CampaignError("that time has already passed", Problem.PASSED)
    return spec


def describe_schedule(spec: dict[str, Any], zone: ZoneInfo) -> str:
    """For staff, in English: what the stored spec means."""
    if spec.get("kind") == "date":
        return "once, " + datetime.fromisoformat(spec["at"]).astimezone(zone).strftime(
            "%Y-%m-%d %H:%M"
        )
    if spec.get("kind") == "cron":
        days = spec.get("day_of_week", "every day")
        return f"{days} {int(spec.get('hour', 0)):02d}:{int(spec.get('minute', 0)):02d}"
    return str(spec)


# Staff actions


async def create_campaign(
    uow: UnitOfWork,
    *,
    name: str,
    cohorts: Sequence[str],
    texts: dict[str, str],
    schedule: dict[str, Any],
    now: datetime,
    zone: ZoneInfo,
    fallback: str | None = None,
    languages: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    quiet: QuietHours = DEFAULT_QUIET,
) -> Campaign:
    """Check everything a send could trip on now, while staff can still fix it; store it."""
    campaign = await draft_campaign(
        uow,
        name=name,
        cohorts=cohorts,
        texts=texts,
        schedule=schedule,
        now=now,
        zone=zone,
        fallback=fallback,
        languages=languages,
        statuses=statuses,
        quiet=quiet,
    )
    return await uow.repository(Campaigns).add(campaign)


async def draft_campaign(
    uow: UnitOfWork,
    *,
    name: str,
    cohorts: Sequence[str],
    texts: dict[str, str],
    schedule: dict[str, Any],
    now: datetime,
    zone: ZoneInfo,
    fallback: str | None = None,
    languages: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    quiet: QuietHours = DEFAULT_QUIET,
) -> Campaign:
    """The campaign as it would be stored, checked, but not stored: what a preview shows
    before staff save it."""
    repo = uow.repository(Campaigns)
    name = name.strip()
    if not name:
        raise CampaignError("a campaign needs a name", Problem.NO_NAME)
    if await repo.by_name(name):
        raise CampaignError(f"a campaign named {name!r} exists already", Problem.NAME_TAKEN)
    if not cohorts:
        raise CampaignError("a campaign needs at least one cohort (--cohort)", Problem.NO_COHORT)
    cohort_ids = []
    for cohort_name in cohorts:
        cohort = await uow.cohorts.by_name(cohort_name)
        if cohort is None:
            raise CampaignError(f"no cohort named {cohort_name!r}", Problem.UNKNOWN_COHORT)
        cohort_ids.append(cohort.id)
    status_values = _statuses(statuses)
    wanted = list(dict.fromkeys(languages or SUPPORTED_LOCALES))
    unknown = [code for code in [*wanted, *texts] if code not in SUPPORTED_LOCALES]
    if unknown:
        raise CampaignError(
            f"unknown language {', '.join(unknown)}; use {', '.join(SUPPORTED_LOCALES)}",
            Problem.UNKNOWN_LANGUAGE,
            unknown,
        )
    clean = {code: text.strip() for code, text in texts.items() if text and text.strip()}
    for code, text in clean.items():
        if len(text) > TEXT_LIMIT:
            raise CampaignError(
                f"the {code} text is {len(text)} characters; at most {TEXT_LIMIT}",
                Problem.TOO_LONG,
                [code],
            )
    if fallback is not None and fallback not in clean:
        raise CampaignError(
            f"the fallback language {fallback} has no text",
            Problem.FALLBACK_WITHOUT_TEXT,
            [fallback],
        )
    missing = [code for code in wanted if code not in clean]
    if missing and fallback is None:
        raise CampaignError(
            f"no text in {', '.join(LANGUAGE_NAMES[c] for c in missing)} ({', '.join(missing)}): "
            "write one, or name a language they may read instead with --fallback",
            Problem.MISSING_TEXT,
            missing,
        )
    try:
        first = next_occurrence(schedule, zone, now)
    except ScheduleError as error:
        raise CampaignError(str(error), Problem.BAD_RECURRENCE) from None
    if first is None:
        raise CampaignError("that time has already passed", Problem.PASSED)
    return Campaign(
        name=name,
        cohort_ids=cohort_ids,
        languages=list(languages) if languages else None,
        statuses=[s.value for s in status_values] if statuses else None,
        texts=clean,
        fallback_locale=fallback,
        schedule=schedule,
        quiet_start=quiet.start,
        quiet_end=quiet.end,
        state=CampaignState.SCHEDULED,
        next_run_at=first,
        created_at=now,
        updated_at=now,
    )


def _statuses(statuses: Sequence[str] | None) -> list[ParticipantStatus]:
    if not statuses:
        return list(DEFAULT_STATUSES)
    result: list[ParticipantStatus] = []
    for value in statuses:
        try:
            status = ParticipantStatus(value)
        except ValueError:
            names = ", ".join(s.value for s in DEFAULT_STATUSES)
            raise CampaignError(
                f"unknown status {value!r}; use {names}", Problem.BAD_STATUS
            ) from None
        if status is ParticipantStatus.ENDED:
            raise CampaignError(
                "participants who have left the project get no campaigns", Problem.BAD_STATUS
            )
        result.append(status)
    return result


async def find_campaign(uow: UnitOfWork, name_or_id: str) -> Campaign:
    repo = uow.repository(Campaigns)
    campaign = await repo.by_name(name_or_id.strip())
    if campaign is None and name_or_id.strip().isdigit():
        campaign = await repo.get(int(name_or_id))
    if campaign is None:
        raise DomainError(f"no campaign named {name_or_id!r}")
    return campaign


async def list_campaigns(uow: UnitOfWork) -> list[Campaign]:
    """Every campaign, the newest first."""
    return list(reversed(await uow.repository(Campaigns).all()))


async def get_campaign(uow: UnitOfWork, campaign_id: int) -> Campaign | None:
    return await uow.repository(Campaigns).get(campaign_id)


def text_for(campaign: Campaign, locale: str) -> tuple[str, str] | None:
    """(the text locale, the text) a participant in `locale` gets, or None."""
    texts: dict[str, str] = dict(campaign.texts)
    if locale in texts:
        return locale, texts[locale]
    if campaign.fallback_locale and campaign.fallback_locale in texts:
        return campaign.fallback_locale, texts[campaign.fallback_locale]
    return None


async def preview(uow: UnitOfWork, campaign: Campaign, zone: ZoneInfo) -> Preview:
    audience = await uow.repository(Campaigns).audience(
        campaign.cohort_ids, _statuses(campaign.statuses), campaign.languages
    )
    by_locale: dict[str, int] = {}
    paused = unreachable = 0
    for _pid, _chat, locale, is_paused, is_unreachable in audience:
        if is_paused:
            paused += 1
        elif is_unreachable:
            unreachable += 1
        else:
            by_locale[locale] = by_locale.get(locale, 0) + 1
    groups = []
    for locale in [*SUPPORTED_LOCALES, *sorted(set(by_locale) - set(SUPPORTED_LOCALES))]:
        chosen = text_for(campaign, locale)
        if chosen is None or (locale not in by_locale and locale not in campaign.texts):
            continue
        text_locale, text = chosen
        groups.append(
            LanguageGroup(
                locale, text_locale, render(text, locale, zone.key), by_locale.get(locale, 0)
            )
        )
    return Preview(campaign, groups, paused, unreachable, campaign.next_run_at)


async def counts(uow: UnitOfWork, campaigns: Sequence[Campaign]) -> dict[int, Counts]:
    raw = await uow.repository(Campaigns).counts([c.id for c in campaigns])
    return {campaign_id: Counts.of(by_status) for campaign_id, by_status in raw.items()}


async def pause(uow: UnitOfWork, campaign: Campaign, now: datetime) -> int:
    """Stop at once: queued rows are held; rows already claimed are held by the dispatcher
    when it checks the campaign just before sending. Returns the rows held here."""
    if campaign.state in (CampaignState.CANCELLED, CampaignState.DONE):
        raise DomainError(f"campaign {campaign.name!r} is {campaign.state}; nothing to pause")
    if campaign.state is CampaignState.PAUSED:
        return 0
    campaign.state = CampaignState.PAUSED
    campaign.updated_at = now
    return await uow.repository(Campaigns).set_rows(
        campaign.id,
        [OutboxStatus.PENDING, OutboxStatus.FAILED],
        OutboxStatus.HELD,
        reason="campaign paused",
    )


async def resume(uow: UnitOfWork, campaign: Campaign, now: datetime, zone: ZoneInfo) -> int:
    """Go on where it stopped; a message that would land in quiet hours waits for morning.
    Occurrences that fell while paused are not sent late. Returns the rows released."""
    if campaign.state is not CampaignState.PAUSED:
        raise DomainError(f"campaign {campaign.name!r} is {campaign.state}, not paused")
    repo = uow.repository(Campaigns)
    quiet = QuietHours(campaign.quiet_start, campaign.quiet_end)
    start = quiet.defer(now, zone)
    released = await repo.set_rows(
        campaign.id,
        [OutboxStatus.HELD],
        OutboxStatus.PENDING,
        available_before=start,
        available_at=start,
    )
    released += await repo.set_rows(campaign.id, [OutboxStatus.HELD], OutboxStatus.PENDING)
    if campaign.next_run_at is not None and campaign.next_run_at < now:
        campaign.next_run_at = next_occurrence(campaign.schedule, zone, now)
    campaign.state = CampaignState.RUNNING if released else CampaignState.SCHEDULED
    if not released and campaign.next_run_at is None:
        campaign.state = CampaignState.DONE
    campaign.updated_at = now
    return released


async def cancel(uow: UnitOfWork, campaign: Campaign, now: datetime) -> int:
    """Nothing more of it is sent, now or later. Returns the rows withdrawn."""
    if campaign.state in (CampaignState.CANCELLED, CampaignState.DONE):
        raise DomainError(f"campaign {campaign.name!r} is {campaign.state} already")
    campaign.state = CampaignState.CANCELLED
    campaign.next_run_at = None
    campaign.updated_at = now
    return await uow.repository(Campaigns).set_rows(
        campaign.id,
        [OutboxStatus.PENDING, OutboxStatus.FAILED, OutboxStatus.HELD],
        OutboxStatus.SKIPPED,
        reason="campaign cancelled",
    )


# The periodic job


async def materialise_due(
    uow: UnitOfWork,
    *,
    now: datetime,
    zone: ZoneInfo,
    lookahead: timedelta = timedelta(seconds=60),
    skip_locked: bool = False,
) -> Materialised:
    """Write each occurrence due by `now + lookahead` to the outbox, one row per
    recipient, due at its time (or the end of quiet hours); then the next occurrence."""
    repo = uow.repository(Campaigns)
    done = Materialised()
    for campaign in await repo.due(now + lookahead, skip_locked=skip_locked):
        at = campaign.next_run_at
        assert at is not None
        campaign.updated_at = now
        if at < now - LATE_LIMIT:
            log.warning("campaign=%s occurrence %s missed by too long; skipped", campaign.id, at)
            done.skipped_late.append(campaign.id)
            campaign.next_run_at = next_occurrence(campaign.schedule, zone, now)
            if campaign.next_run_at is None and campaign.state is CampaignState.SCHEDULED:
                campaign.state = CampaignState.DONE
            continue
        occurrence = await repo.add_occurrence(campaign.id, at, now)
        quiet = QuietHours(campaign.quiet_start, campaign.quiet_end)
        due_at = quiet.defer(at, zone)
        rows: list[dict[str, Any]] = []
        audience = await repo.audience(
            campaign.cohort_ids, _statuses(campaign.statuses), campaign.languages
        )
        for participant_id, chat_id, locale, _paused, _unreachable in audience:
            # Paused and unreachable recipients get a row too: the dispatcher decides when
            # it is due (they may be back by then), and staff see them in the counts.
            chosen = text_for(campaign, locale)
            if chosen is None:
                continue
            rows.append(
                {
                    "chat_id": chat_id,
                    "participant_id": participant_id,
                    "kind": OutboxKind.CAMPAIGN,
                    "priority": PRIORITY[OutboxKind.CAMPAIGN],
                    "payload": text_payload(render(chosen[1], locale, zone.key)),
                    "idempotency_key": f"campaign:{occurrence.id}:{participant_id}",
                    "status": OutboxStatus.PENDING,
                    "due_at": due_at,
                    "available_at": due_at,
                    "attempts": 0,
                    "created_at": now,
                    "campaign_id": campaign.id,
                    "occurrence_id": occurrence.id,
                }
            )
        await repo.queue(rows)
        occurrence.recipients = len(rows)
        campaign.next_run_at = next_occurrence(campaign.schedule, zone, at, previous=at)
        campaign.state = CampaignState.RUNNING
        done.occurrences += 1
        done.rows += len(rows)
        log.info(
            "campaign=%s occurrence=%s rows=%s due=%s", campaign.id, occurrence.id, len(rows), at
        )
    return done


async def settle(uow: UnitOfWork, now: datetime) -> int:
    """A running campaign with nothing left to send waits for its next time, or is done."""
    repo = uow.repository(Campaigns)
    running = list(await repo.running())
    if not running:
        return 0
    still_open = await repo.open_rows([c.id for c in running])
    settled = 0
    for campaign in running:
        if campaign.id in still_open:
            continue
        campaign.state = (
            CampaignState.SCHEDULED if campaign.next_run_at is not None else CampaignState.DONE
        )
        campaign.updated_at = now
        settled += 1
    return settled
