"""Requests for help (cases): the queue against the SLA, one case, and take, give on, done.

What a viewer may see and do is decided in `bot/domain/cases.py` and
`bot/domain/escalation.py`; this edge parses, calls them, and renders. Every opened case
and every change is written to the audit trail, and so is a refusal. A case taken or
marked done here tells the participant exactly as a mentor's button in Telegram does
(`bot/escalation_notices.py`), through the outbox, after the commit.
"""

from __future__ import annotations

import logging

from starlette.responses import Response
from starlette.routing import Route

from bot.domain import audit, escalation
from bot.domain import cases as domain
from bot.domain.cases import Access
from bot.escalation_notices import Post, announce_claim, announce_resolved, tell_mentors
from bot.i18n import translator
from bot.messaging import Notifier
from bot.web.core import NOTICES, NavItem, Web, handler
from bot.web.i18n import N_
from storage.models import AuditAction, Escalation, EscalationStatus, Participant

log = logging.getLogger(__name__)

NAV = [NavItem(N_("Requests for help"), "/cases", order=15)]

NOTICES.update(
    {
        "case_claimed": N_("You have taken the request. The participant has been told."),
        "case_reassigned": N_("The request is given to the mentor, who has been told."),
        "case_resolved": N_("The request is marked as done. The participant has been told."),
        "case_already": N_("Nothing changed: the request is no longer waiting."),
    }
)


def _case_id(web: Web) -> int | None:
    value = str(web.request.path_params.get("case_id", ""))
    return int(value) if value.isdigit() and len(value) < 10 else None


def post_of(web: Web) -> Post:
    settings = web.deps.settings
    return Post(
        web.uow,
        Notifier(web.uow, web.deps.clock),
        lambda locale: translator(locale, settings.timezone),
        settings.default_locale,
        settings.zone,
    )


async def _changed(web: Web, case: Escalation, what: str) -> None:
    await audit.record(
        web.uow,
        web.signed_in,
        AuditAction.CHANGE_CASE,
        web.now,
        participant_id=case.participant_id,
        object_id=case.id,
        detail=f"web: case {case.id} {what}",
    )
    log.info("web account=%s case=%s %s", web.signed_in.account_id, case.id, what)


async def _load(web: Web, *, lock: bool = False) -> Escalation | Response:
    """The case, or the refusal to answer with (a refusal is audited)."""
    _ = web.t
    viewer = web.signed_in
    case_id = _case_id(web)
    access, case = (
        await domain.find(web.uow, viewer, case_id, lock=lock)
        if case_id is not None
        else (Access.NOT_FOUND, None)
    )
    if access is Access.NOT_FOUND or case is None:
        return web.refuse(404, _("There is no such request for help."))
    if access is Access.REFUSED:
        await audit.record(
            web.uow,
            viewer,
            AuditAction.REFUSED_CASE,
            web.now,
            participant_id=case.participant_id,
            object_id=case.id,
        )
        log.info("web account=%s refused case=%s", viewer.account_id, case.id)
        return web.refuse(
            403, _("You can only see requests from your own participants or sent to you.")
        )
    return case


async def _participant_of(web: Web, case: Escalation) -> Participant:
    participant = await web.uow.participants.get(case.participant_id)
    assert participant is not None  # a case keeps its participant (erasure keeps the row)
    return participant


@handler()
async def queue_page(web: Web) -> Response:
    status = domain.parse_status(web.request.query_params.get("status"))
    lines = await domain.queue(web.uow, web.signed_in, status, web.now, web.deps.settings.zone)
    return web.render("cases.html", lines=lines, shown=status, statuses=domain.SHOWN_STATUSES)


@handler()
async def case_page(web: Web) -> Response:
    case = await _load(web)
    if isinstance(case, Response):
        return case
    viewer = web.signed_in
    await audit.record(
        web.uow,
        viewer,
        AuditAction.READ_CASE,
        web.now,
        participant_id=case.participant_id,
        object_id=case.id,
    )
    shown = await domain.view(web.uow, viewer, case, web.now, web.deps.settings.zone)
    return web.render(
        "case.html",
        v=shown,
        p=shown.participant,
        sees_participant=viewer.may_see(shown.participant.mentor_id),
    )


@handler()
async def claim(web: Web) -> Response:
    _ = web.t
    case = await _load(web, lock=True)
    if isinstance(case, Response):
        return case
    mentor = await domain.acting_mentor(web.uow, web.signed_in)
    if mentor is None:
        return web.refuse(403, _("Only a mentor can take a request. Give it to a mentor instead."))
    decision = await escalation.take(web.uow, case, mentor, web.now)
    if decision.refusal is not None or not decision.claimed_now:
        return web.redirect(f"/cases/{case.id}", notice="case_already")
    participant = await _participant_of(web, case)
    await announce_claim(post_of(web), case, participant, mentor, key=f"web{web.now.isoformat()}")
    await _changed(web, case, "claimed")
    return web.redirect(f"/cases/{case.id}", notice="case_claimed")


@handler()
async def reassign(web: Web) -> Response:
    _ = web.t
    case = await _load(web, lock=True)
    if isinstance(case, Response):
        return case
    viewer = web.signed_in
    if not await domain.may_reassign(web.uow, viewer, case):
        if case.status is EscalationStatus.RESOLVED:
            return web.redirect(f"/cases/{case.id}", notice="case_already")
        return web.refuse(
            403,
            _(
                "Only project staff, a coordinator or the mentor who has it "
                "can give a request to someone else."
            ),
        )
    choice = await web.field("mentor", 10)
    target = await web.uow.mentors.get(int(choice)) if choice.isdigit() else None
    if target is None or not target.active:
        return web.refuse(400, _("Choose a mentor from the list."))
    refused = await escalation.reassign(
        web.uow, case, target, web.now, by=await domain.acting_mentor(web.uow, viewer)
    )
    if refused is not None:
        return web.redirect(f"/cases/{case.id}", notice="case_already")
    participant = await _participant_of(web, case)
    await tell_mentors(post_of(web), case, participant, escalation.Paging(new=[target]), web.now)
    await _changed(web, case, f"given to mentor {target.id}")
    return web.redirect(f"/cases/{case.id}", notice="case_reassigned")


@handler()
async def resolve(web: Web) -> Response:
    _ = web.t
    case = await _load(web, lock=True)
    if isinstance(case, Response):
        return case
    viewer = web.signed_in
    if case.status is EscalationStatus.RESOLVED:
        return web.redirect(f"/cases/{case.id}", notice="case_already")
    if not await domain.may_resolve(web.uow, viewer, case):
        return web.refuse(
            403,
            _("Another mentor has this request. Only they or a coordinator can mark it as done."),
        )
    mentor = await domain.resolving_mentor(web.uow, viewer, case)
    participant = await _participant_of(web, case)
    post = post_of(web)
    key = f"web{web.now.isoformat()}"
    if mentor is not None:
        # As the Done button in Telegram: an open case is taken on the way.
        decision = await escalation.take(web.uow, case, mentor, web.now)
        if decision.refusal is not None:
            return web.redirect(f"/cases/{case.id}", notice="case_already")
        if decision.claimed_now:
            await announce_claim(post, case, participant, mentor, key=key)
    escalation.resolve(web.uow, case, mentor, web.now)
    await announce_resolved(post, case, participant, mentor, key=key)
    await _changed(web, case, "resolved")
    return web.redirect(f"/cases/{case.id}", notice="case_resolved")


def routes() -> list[Route]:
    return [
        Route("/cases", queue_page, methods=["GET"]),
        Route("/cases/{case_id}", case_page, methods=["GET"]),
        Route("/cases/{case_id}/claim", claim, methods=["POST"]),
        Route("/cases/{case_id}/reassign", reassign, methods=["POST"]),
        Route("/cases/{case_id}/resolve", resolve, methods=["POST"]),
    ]
