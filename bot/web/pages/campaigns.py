"""Campaigns (utskick): a message from staff to one or more groups, once or repeating.

Creating one takes two steps: the form, then a preview of each language's message exactly
as participants will get it (with the line on how to pause) and how many get it; only
"Save" stores it. Nothing is kept between the steps but the form itself, carried in the
preview page, so an abandoned preview leaves nothing behind. Pausing, resuming and
cancelling act at once, also on a send that is running, and each is audited. The
campaign page polls a small JSON view of its delivery counts while a send can change them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.config import SUPPORTED_LOCALES
from bot.domain import audit
from bot.domain import campaigns as domain
from bot.domain.campaigns import CampaignError, Problem
from bot.domain.onboarding import DomainError
from bot.web.core import MAX_FIELD_BYTES, NOTICES, NavItem, Web, handler
from bot.web.i18n import N_, WebText
from storage.models import AuditAction, Campaign, CampaignState, ParticipantStatus

log = logging.getLogger(__name__)

NAV = [NavItem(N_("Campaigns"), "/campaigns", order=45, staff_only=True)]
NOTICES.update(
    {
        "campaign_created": N_("The campaign is saved. It is sent at the time you chose."),
        "campaign_paused": N_("The campaign is paused. Nothing more is sent until you resume it."),
        "campaign_resumed": N_("The campaign goes on. Quiet hours still apply."),
        "campaign_cancelled": N_("The campaign is cancelled. Nothing more of it is sent."),
        "campaign_not_possible": N_("That cannot be done with the campaign as it is now."),
    }
)

STATE = {
    CampaignState.SCHEDULED: N_("Scheduled"),
    CampaignState.RUNNING: N_("Sending"),
    CampaignState.PAUSED: N_("Paused"),
    CampaignState.CANCELLED: N_("Cancelled"),
    CampaignState.DONE: N_("Done"),
}
# States in which the delivery counts can still change without anyone on this page acting.
LIVE_STATES = (CampaignState.SCHEDULED, CampaignState.RUNNING, CampaignState.PAUSED)
LANGUAGE = {"sv": N_("Swedish"), "ar": N_("Arabic"), "en": N_("English")}
DAYS = {
    "mon": N_("Monday"),
    "tue": N_("Tuesday"),
    "wed": N_("Wednesday"),
    "thu": N_("Thursday"),
    "fri": N_("Friday"),
    "sat": N_("Saturday"),
    "sun": N_("Sunday"),
}
# What each delivery count means, in the order shown.
COUNTS = {
    "pending": N_("Waiting to be sent"),
    "held": N_("Held while paused"),
    "sent": N_("Sent"),
    "failed": N_("Failed"),
    "unreachable": N_("Cannot be reached"),
    "skipped": N_("Not sent"),
}
# Who in the groups a campaign may reach (participants who have left get none).
STATUSES = [status for status in ParticipantStatus if status in domain.DEFAULT_STATUSES]
PROBLEMS = {
    Problem.NO_NAME: N_("Give the campaign a name."),
    Problem.NAME_TAKEN: N_("There is already a campaign with this name. Choose another name."),
    Problem.NO_COHORT: N_("Choose at least one group."),
    Problem.UNKNOWN_COHORT: N_("One of the chosen groups no longer exists. Choose again."),
    Problem.BAD_STATUS: N_("Choose who in the groups gets the message."),
    Problem.UNKNOWN_LANGUAGE: N_("Write the texts in the boxes for Swedish, Arabic and English."),
    Problem.TOO_LONG: N_("The text in {languages} is too long. Keep it under {limit} characters."),
    Problem.FALLBACK_WITHOUT_TEXT: N_(
        "The language you chose for participants without a text of their own has no text."
    ),
    Problem.MISSING_TEXT: N_(
        "There is no text in {languages}. Write one, or choose which text participants "
        "who read {languages} get instead."
    ),
    Problem.NO_SCHEDULE: N_("Choose when the message is sent."),
    Problem.BAD_DATE: N_("Give the day and time of the send."),
    Problem.BAD_TIME: N_("Give a time like 09:00."),
    Problem.BAD_RECURRENCE: N_("Choose the days and the time the message is repeated."),
    Problem.BAD_QUIET: N_("Give the quiet hours as two times, like 21:00 and 08:00."),
    Problem.PASSED: N_("That time has already passed. Choose a time ahead."),
}


@dataclass
class Draft:
    """The create form as typed; carried through the preview in hidden fields."""

    name: str = ""
    cohort_ids: list[int] = field(default_factory=list)
    statuses: list[str] = field(default_factory=lambda: [s.value for s in STATUSES])
    texts: dict[str, str] = field(default_factory=lambda: dict.fromkeys(SUPPORTED_LOCALES, ""))
    fallback: str = ""
    when: str = "once"  # or "repeat"
    at: str = ""  # local date and time, 2026-12-03T09:00
    days: list[str] = field(default_factory=list)  # empty: every day
    every_time: str = "09:00"
    quiet_start: str = "21:00"
    quiet_end: str = "08:00"

    def every(self) -> str:
        return f"{','.join(self.days) or 'day'} {self.every_time.strip()}"


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


async def _draft(web: Web) -> Draft:
    form = await web.form()

    def many(name: str) -> list[str]:
        return [value for value in form.getlist(name) if isinstance(value, str)]

    fallback = await web.field("fallback", 8)
    when = await web.field("when", 10)
    return Draft(
        name=(await web.field("name", 200)).strip(),
        cohort_ids=[n for n in (_number(v) for v in many("cohort")) if n is not None],
        statuses=[v for v in many("status") if v in {s.value for s in STATUSES}],
        texts={
            code: (await web.field(f"text_{code}", MAX_FIELD_BYTES)).replace("\r\n", "\n")
            for code in SUPPORTED_LOCALES
        },
        fallback=fallback if fallback in SUPPORTED_LOCALES else "",
        when="repeat" if when == "repeat" else "once",
        at=await web.field("at", 20),
        days=[day for day in DAYS if day in many("day")],
        every_time=await web.field("every_time", 8),
        quiet_start=await web.field("quiet_start", 8),
        quiet_end=await web.field("quiet_end", 8),
    )


class FormProblem(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _explain(error: DomainError, _: WebText) -> str:
    if not isinstance(error, CampaignError):
        return _("The campaign could not be saved. Check the form and try again.")
    languages = ", ".join(_(LANGUAGE[c]) for c in error.languages if c in LANGUAGE)
    return _(PROBLEMS[error.problem]).format(languages=languages, limit=domain.TEXT_LIMIT)


async def _options(web: Web, draft: Draft) -> dict[str, Any]:
    """The draft as the domain's arguments; what can be checked without the database."""
    _ = web.t
    zone = web.deps.settings.zone
    if not draft.statuses:
        raise FormProblem(_(PROBLEMS[Problem.BAD_STATUS]))
    cohorts = {cohort.id: cohort.name for cohort in await web.uow.cohorts.all()}
    if any(cohort_id not in cohorts for cohort_id in draft.cohort_ids):
        raise FormProblem(_(PROBLEMS[Problem.UNKNOWN_COHORT]))
    try:
        if draft.when == "once":
            if not draft.at.strip():
                raise CampaignError("no time", Problem.BAD_DATE)
            schedule = domain.parse_schedule(at=draft.at, every=None, zone=zone, now=web.now)
        else:
            schedule = domain.parse_schedule(at=None, every=draft.every(), zone=zone, now=web.now)
        quiet = (
            domain.parse_quiet_hours(f"{draft.quiet_start}-{draft.quiet_end}")
            if draft.quiet_start.strip() or draft.quiet_end.strip()
            else domain.parse_quiet_hours("off")
        )
    except DomainError as error:
        raise FormProblem(_explain(error, _)) from None
    all_statuses = len(draft.statuses) == len(STATUSES)
    return {
        "name": draft.name,
        "cohorts": [cohorts[cohort_id] for cohort_id in draft.cohort_ids],
        "texts": draft.texts,
        "schedule": schedule,
        "now": web.now,
        "zone": zone,
        "fallback": draft.fallback or None,
        "statuses": None if all_statuses else draft.statuses,
        "quiet": quiet,
    }


def describe(campaign: Campaign, _: WebText) -> str:
    """The schedule in the staff member's language; anything else as the domain says it."""
    spec: dict[str, Any] = campaign.schedule
    if spec.get("kind") == "date":
        try:
            once = datetime.fromisoformat(str(spec.get("at")))
        except ValueError:
            return _("Once")
        return _("Once, {when}").format(when=_.datetime(once))
    if spec.get("kind") == "cron" and set(spec) <= {"kind", "hour", "minute", "day_of_week"}:
        at = time(int(spec.get("hour", 0)), int(spec.get("minute", 0))).strftime("%H:%M")
        days = str(spec.get("day_of_week", ""))
        if not days:
            return _("Every day at {time}").format(time=at)
        if days == "mon-fri":
            return _("Every weekday at {time}").format(time=at)
        names = [_(DAYS[day]) for day in days.split(",") if day in DAYS]
        if len(names) == len(days.split(",")):
            return _("Every {days} at {time}").format(days=", ".join(names), time=at)
    return domain.describe_schedule(spec, _.zone)


def _counts(counts: domain.Counts, _: WebText) -> dict[str, str]:
    return {key: _.number(getattr(counts, key)) for key in COUNTS}


async def _cohort_names(web: Web) -> dict[int, str]:
    return {cohort.id: cohort.name for cohort in await web.uow.cohorts.all()}


async def _form(web: Web, draft: Draft, status: int = 200, error: str | None = None) -> Response:
    cohorts = sorted((name, cohort_id) for cohort_id, name in (await _cohort_names(web)).items())
    return web.render(
        "campaign_new.html",
        status=status,
        draft=draft,
        error=error,
        cohorts=[(cohort_id, name) for name, cohort_id in cohorts],
        statuses=STATUSES,
        locales=SUPPORTED_LOCALES,
        language_labels=LANGUAGE,
        days=DAYS,
        limit=domain.TEXT_LIMIT,
    )


@handler(staff_only=True)
async def list_page(web: Web) -> Response:
    rows = await domain.list_campaigns(web.uow)
    counted = await domain.counts(web.uow, rows)
    return web.render(
        "campaigns.html",
        campaigns=[
            (campaign, describe(campaign, web.t), counted.get(campaign.id, domain.Counts()))
            for campaign in rows
        ],
        states=STATE,
        cohort_names=await _cohort_names(web),
    )


@handler(staff_only=True)
async def new_page(web: Web) -> Response:
    return await _form(web, Draft())


@handler(staff_only=True)
async def edit_again(web: Web) -> Response:
    """Back from the preview to the form, with everything as typed."""
    return await _form(web, await _draft(web))


@handler(staff_only=True)
async def preview_page(web: Web) -> Response:
    draft = await _draft(web)
    try:
        campaign = await domain.draft_campaign(web.uow, **await _options(web, draft))
    except FormProblem as problem:
        return await _form(web, draft, 400, problem.message)
    except DomainError as error:
        return await _form(web, draft, 400, _explain(error, web.t))
    shown = await domain.preview(web.uow, campaign, web.deps.settings.zone)
    groups = {group.locale: group for group in shown.groups}
    missing = [code for code in SUPPORTED_LOCALES if code not in campaign.texts]
    return web.render(
        "campaign_preview.html",
        draft=draft,
        campaign=campaign,
        shown=shown,
        own=[groups[code] for code in SUPPORTED_LOCALES if code in campaign.texts],
        missing=[(code, groups.get(code)) for code in missing],
        schedule=describe(campaign, web.t),
        cohort_names=await _cohort_names(web),
        language_labels=LANGUAGE,
        days=DAYS,
    )


@handler(staff_only=True)
async def save(web: Web) -> Response:
    viewer = web.signed_in
    draft = await _draft(web)
    try:
        campaign = await domain.create_campaign(web.uow, **await _options(web, draft))
    except FormProblem as problem:
        return await _form(web, draft, 400, problem.message)
    except DomainError as error:
        return await _form(web, draft, 400, _explain(error, web.t))
    await audit.record(web.uow, viewer, AuditAction.CREATE_CAMPAIGN, web.now, object_id=campaign.id)
    log.info("web account=%s created campaign=%s", viewer.account_id, campaign.id)
    return web.redirect(f"/campaigns/{campaign.id}", notice="campaign_created")


async def _campaign(web: Web) -> Campaign | None:
    campaign_id = _number(str(web.request.path_params["campaign_id"]))
    return await domain.get_campaign(web.uow, campaign_id) if campaign_id else None


@handler(staff_only=True)
async def campaign_page(web: Web) -> Response:
    _ = web.t
    campaign = await _campaign(web)
    if campaign is None:
        return web.refuse(404, _("There is no such campaign."))
    counted = (await domain.counts(web.uow, [campaign]))[campaign.id]
    zone = web.deps.settings.zone
    texts: dict[str, str] = dict(campaign.texts)
    return web.render(
        "campaign.html",
        campaign=campaign,
        schedule=describe(campaign, _),
        state=_(STATE[campaign.state]),
        counts=_counts(counted, _),
        count_labels=COUNTS,
        live=campaign.state in LIVE_STATES,
        rendered=[
            (code, domain.render(texts[code], code, zone.key))
            for code in SUPPORTED_LOCALES
            if code in texts
        ],
        missing=[code for code in SUPPORTED_LOCALES if code not in texts],
        cohort_names=await _cohort_names(web),
        language_labels=LANGUAGE,
        states=CampaignState,
    )


@handler(staff_only=True, passive=True)
async def live_counts(web: Web) -> Response:
    """What the campaign page's script polls: the counts, formatted, and the state."""
    campaign = await _campaign(web)
    if campaign is None:
        return JSONResponse({"error": "not found"}, status_code=404)
    counted = (await domain.counts(web.uow, [campaign]))[campaign.id]
    return JSONResponse(
        {
            "state": campaign.state.value,
            "state_label": web.t(STATE[campaign.state]),
            "live": campaign.state in LIVE_STATES,
            "counts": _counts(counted, web.t),
        }
    )


@handler(staff_only=True)
async def change(web: Web) -> Response:
    viewer = web.signed_in
    campaign = await _campaign(web)
    action = str(web.request.path_params["action"])
    if campaign is None or action not in ("pause", "resume", "cancel"):
        return web.refuse(404, web.t("There is no such campaign."))
    try:
        if action == "pause":
            rows = await domain.pause(web.uow, campaign, web.now)
        elif action == "resume":
            rows = await domain.resume(web.uow, campaign, web.now, web.deps.settings.zone)
        else:
            rows = await domain.cancel(web.uow, campaign, web.now)
    except DomainError:
        return web.redirect(f"/campaigns/{campaign.id}", notice="campaign_not_possible")
    await audit.record(
        web.uow,
        viewer,
        AuditAction.CHANGE_CAMPAIGN,
        web.now,
        object_id=campaign.id,
        detail=f"{action} rows={rows}",
    )
    log.info("web account=%s %s campaign=%s rows=%s", viewer.account_id, action, campaign.id, rows)
    notice = {"pause": "campaign_paused", "resume": "campaign_resumed"}.get(
        action, "campaign_cancelled"
    )
    return web.redirect(f"/campaigns/{campaign.id}", notice=notice)


def routes() -> list[Route]:
    return [
        Route("/campaigns", list_page, methods=["GET"]),
        Route("/campaigns", save, methods=["POST"]),
        Route("/campaigns/new", new_page, methods=["GET"]),
        Route("/campaigns/new", edit_again, methods=["POST"]),
        Route("/campaigns/preview", preview_page, methods=["POST"]),
        Route("/campaigns/{campaign_id}", campaign_page, methods=["GET"]),
        Route("/campaigns/{campaign_id}/counts", live_counts, methods=["GET"]),
        Route("/campaigns/{campaign_id}/{action}", change, methods=["POST"]),
    ]
