"""The participants list (filters, search) and one participant's page.

Searching by name sends the words in the body of a POST, not in the address, so a name
never lands in the browser's history, a proxy's log or a Referer header. Every opened
participant page is written to the audit trail, and so is a refusal.

A participant page is made of sections (check-ins, steps, the self-rating chart, cases,
the plan, who looked); a new kind of record adds its section to `SECTIONS` below.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from starlette.responses import Response
from starlette.routing import Route

from bot.config import SUPPORTED_LOCALES
from bot.domain import audit
from bot.domain import participants as domain
from bot.domain.audit import Viewer
from bot.web.core import NavItem, Web, handler
from bot.web.i18n import N_
from storage.models import AuditAction, Participant, ParticipantStatus
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

NAV = [NavItem(N_("Participants"), "/participants", order=20)]

ParticipantFigure = Callable[[UnitOfWork, Viewer, Participant, datetime], Awaitable[object | None]]


@dataclass(frozen=True)
class Section:
    name: str
    template: str  # under templates/participant/; gets `data`
    load: ParticipantFigure


SECTIONS: list[Section] = []


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
    sections = []
    for section in SECTIONS:
        data = await section.load(web.uow, viewer, participant, web.now)
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
