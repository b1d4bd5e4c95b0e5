"""The participants list (filters, search) and one participant's page.

Searching by name sends the words in the body of a POST, not in the address, so a name
never lands in the browser's history, a proxy's log or a Referer header. Every opened
participant page is written to the audit trail, and so is a refusal.

A participant page is made of sections (check-ins, steps, the self-rating chart, cases)
and ends with who looked; a new kind of record adds its section to `SECTIONS` below.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from starlette.responses import Response
from starlette.routing import Route

from bot.charts import SHOWN_OCCASIONS, ChartText, build_figure, render_png
from bot.config import SUPPORTED_LOCALES, Settings
from bot.domain import audit, caseload, selfrating
from bot.domain import cases as case_domain
from bot.domain import participants as domain
from bot.domain.audit import Viewer
from bot.i18n import Translator
from bot.web.core import NavItem, Web, handler
from bot.web.i18n import N_, WebText
from storage.escalations import Escalations
from storage.models import (
    AuditAction,
    Checkin,
    Escalation,
    FlagKind,
    Participant,
    ParticipantStatus,
    StepKind,
    StepSource,
)
from storage.models.progress import Checkins, Flags, Steps
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

NAV = [NavItem(N_("Participants"), "/participants", order=20)]


@dataclass(frozen=True)
class Page:
    """What a section may use: the page's unit of work, who looks, whom, when, the
    settings and the viewer's interface language."""

    uow: UnitOfWork
    viewer: Viewer
    participant: Participant
    now: datetime
    settings: Settings
    t: WebText


ParticipantFigure = Callable[[Page], Awaitable[object | None]]


@dataclass(frozen=True)
class Section:
    """A part of the participant's page: `load` answers its data, or None to leave it out."""

    name: str
    template: str  # under templates/participant/; gets `data`
    load: ParticipantFigure


# Check-ins


@dataclass(frozen=True)
class OpenFlag:
    kind: FlagKind
    raised_at: datetime


@dataclass(frozen=True)
class CheckinHistory:
    checkins: Sequence[Checkin]
    flags: list[OpenFlag]


async def _checkins(page: Page) -> CheckinHistory:
    """The latest check-ins, newest first (as many as the mentor's /participant shows),
    and the flags no mentor has closed yet."""
    participant_id = page.participant.id
    checkins = await page.uow.repository(Checkins).latest(
        participant_id, caseload.OVERVIEW_CHECKINS
    )
    flags = await page.uow.repository(Flags).open_of(participant_id)
    return CheckinHistory(
        checkins=checkins, flags=[OpenFlag(flag.kind, flag.raised_at) for flag in flags]
    )


# Steps


@dataclass(frozen=True)
class StepLine:
    kind: StepKind
    taken_on: date
    from_checkin: bool
    recorded_by: str | None  # the mentor's name; None from a check-in or someone gone


async def _steps(page: Page) -> list[StepLine]:
    names: dict[int, str | None] = {}
    lines = []
    for step in await page.uow.repository(Steps).of(page.participant.id):
        name = None
        if step.source is StepSource.MENTOR and step.recorded_by_mentor_id is not None:
            mentor_id = step.recorded_by_mentor_id
            if mentor_id not in names:
                mentor = await page.uow.mentors.get(mentor_id)
                names[mentor_id] = mentor.name if mentor else None
            name = names[mentor_id]
        lines.append(StepLine(step.kind, step.taken_on, step.source is StepSource.CHECKIN, name))
    return sorted(lines, key=lambda line: line.taken_on, reverse=True)


# Self-rating


@dataclass(frozen=True)
class RatingTheme:
    key: str
    title: str


@dataclass(frozen=True)
class Ratings:
    png: str | None  # base64, for a data: address; None before the first self-rating
    themes: list[RatingTheme]
    occasions: list[selfrating.Occasion]  # oldest first
    shown_in_chart: int
    lowest: str
    highest: str


def _chart(
    instrument: selfrating.Instrument,
    occasions: list[selfrating.Occasion],
    t: Translator,
    text: ChartText,
) -> bytes:
    return render_png(build_figure(instrument, occasions, t, text))


async def _ratings(page: Page) -> Ratings:
    """The bot's own chart, labelled in the viewer's interface language (the instrument
    has English and Swedish texts), drawn in a worker thread: it takes a moment of CPU."""
    instrument = selfrating.load_instrument(page.settings.selfrating_file)
    occasions = await selfrating.history(page.uow, page.participant.id, instrument)
    t = page.t
    language = t.language
    lowest = instrument.text(instrument.scale[0].label, language)
    highest = instrument.text(instrument.scale[-1].label, language)
    text = ChartText(
        title=t("Self-ratings of {id}").format(id=page.participant.public_id),
        scale_note=t("1 = {lowest}   5 = {highest}").format(lowest=lowest, highest=highest),
    )
    png = None
    if occasions:
        drawer = Translator(language, t.zone)
        drawn = await asyncio.to_thread(_chart, instrument, occasions, drawer, text)
        png = base64.b64encode(drawn).decode("ascii")
    return Ratings(
        png=png,
        themes=[
            RatingTheme(theme.key, instrument.text(theme.title, language))
            for theme in instrument.themes
        ],
        occasions=occasions,
        shown_in_chart=min(len(occasions), SHOWN_OCCASIONS),
        lowest=lowest,
        highest=highest,
    )


# Requests for help


async def _cases(page: Page) -> Sequence[Escalation]:
    """The participant's requests for help, newest first; a draft the participant has not
    agreed to share is not shown, as in the queue."""
    return await page.uow.repository(Escalations).of_participant(
        page.participant.id, case_domain.SHOWN_STATUSES
    )


SECTIONS: list[Section] = [
    Section("checkins", "participant/checkins.html", _checkins),
    Section("steps", "participant/steps.html", _steps),
    Section("selfrating", "participant/selfrating.html", _ratings),
    Section("cases", "participant/cases.html", _cases),
]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


def _filters(values: dict[str, str], query: str = "") -> domain.Filters:
    status = values.get("status", "")
    locale = values.get("language", "")
    reach = values.get("reach", "")
    return domain.Filters(
        cohort_id=_int(values.get("cohort")),
        status=ParticipantStatus(status)
        if status in ParticipantStatus._value2member_map_
        else None,
        locale=locale if locale in SUPPORTED_LOCALES else None,
        reachability=(
            domain.Reachability(reach) if reach in domain.Reachability._value2member_map_ else None
        ),
        query=query,
        page=_int(values.get("page")) or 1,
    )


async def _render_list(web: Web, filters: domain.Filters) -> Response:
    listing = await domain.list_participants(web.uow, web.signed_in, filters)
    return web.render(
        "participants.html",
        listing=listing,
        filters=filters,
        cohorts=await domain.cohort_choices(web.uow),
        statuses=list(ParticipantStatus),
        locales=SUPPORTED_LOCALES,
        reachabilities=list(domain.Reachability),
    )


@handler()
async def list_page(web: Web) -> Response:
    params = {key: value[:40] for key, value in web.request.query_params.items()}
    return await _render_list(web, _filters(params))


@handler()
async def search(web: Web) -> Response:
    form = await web.form()
    values = {key: value[:40] for key, value in form.items() if isinstance(value, str)}
    query = await web.field("q", domain.MAX_QUERY_LENGTH)
    await audit.record(web.uow, web.signed_in, AuditAction.SEARCH_PARTICIPANTS, web.now)
    return await _render_list(web, _filters(values, query))


@handler()
async def participant_page(web: Web) -> Response:
    _ = web.t
    viewer = web.signed_in
    public_id = str(web.request.path_params["public_id"])[:16]
    access, participant = await domain.find(web.uow, viewer, public_id)
    if access is domain.Access.NOT_FOUND or participant is None:
        return web.refuse(404, _("There is no participant with that id."))
    if access is domain.Access.REFUSED:
        await audit.record(
            web.uow, viewer, AuditAction.REFUSED_PARTICIPANT, web.now, participant_id=participant.id
        )
        log.info("web account=%s refused participant=%s", viewer.account_id, participant.public_id)
        return web.refuse(403, _("You can only see your own participants."))
    await audit.record(
        web.uow, viewer, AuditAction.READ_PARTICIPANT, web.now, participant_id=participant.id
    )
    detail = await domain.detail(web.uow, participant)
    page = Page(web.uow, viewer, participant, web.now, web.deps.settings, web.t)
    sections = []
    for section in SECTIONS:
        data = await section.load(page)
        if data is not None:
            sections.append((section, data))
    trail = (
        await audit.trail_of_participant(web.uow, participant.id)
        if viewer.sees_everything
        else None
    )
    return web.render(
        "participant.html", detail=detail, p=participant, sections=sections, trail=trail
    )


def routes() -> list[Route]:
    return [
        Route("/participants", list_page, methods=["GET"]),
        Route("/participants", search, methods=["POST"]),
        Route("/participants/{public_id}", participant_page, methods=["GET"]),
    ]
