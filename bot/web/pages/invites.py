"""Invitations: create, list, print with a QR code, revoke.

The printed sheet is what a participant is handed at a first meeting, so its few lines
are in Swedish, Arabic and English, from the bot's catalog (where Arabic is complete);
the QR code is an SVG drawn here, with no request to anyone else.
"""

from __future__ import annotations

import logging

import segno
from markupsafe import Markup
from starlette.responses import Response
from starlette.routing import Route

from bot.domain import audit, onboarding
from bot.domain import invites as domain
from bot.handout import handout
from bot.web.core import NOTICES, NavItem, Web, handler
from bot.web.i18n import N_
from storage.models import AuditAction, InviteKind

log = logging.getLogger(__name__)

NAV = [NavItem(N_("Invitations"), "/invites", order=30)]
NOTICES.update(
    {
        "invite_created": N_("The invitation is created."),
        "invite_revoked": N_("The invitation is revoked. Nobody can join with it now."),
        "invite_not_open": N_("Only an open invitation can be revoked."),
    }
)


def qr_svg(link: str, title: str) -> Markup:
    """An SVG QR code with a title for screen readers; segno escapes the title."""
    code = segno.make(link, error="m")
    svg = code.svg_inline(scale=8, border=4, title=title, svgclass="qr", lineclass=None)
    return Markup(svg)  # noqa: S704 - segno's own output, from a link we built


async def _page(web: Web, status: int = 200, error: str | None = None) -> Response:
    viewer = web.signed_in
    rows = await domain.list_invites(web.uow, viewer, web.now)
    mentors = (
        [(mentor.id, mentor.name) for mentor in await web.uow.mentors.all() if mentor.active]
        if viewer.sees_everything
        else []
    )
    return web.render(
        "invites.html",
        status=status,
        invites=rows,
        cohorts=sorted((c.id, c.name) for c in await web.uow.cohorts.all()),
        mentors=mentors,
        default_days=web.deps.settings.invite_valid_days,
        error=error,
        kinds=InviteKind,
        states=domain.InviteState,
    )


@handler()
async def invites_page(web: Web) -> Response:
    return await _page(web)


def _number(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 10 else None


@handler()
async def create_invite(web: Web) -> Response:
    _ = web.t
    viewer = web.signed_in
    cohort_id = _number(await web.field("cohort", 12))
    mentor_id = _number(await web.field("mentor", 12))
    days = _number(await web.field("days", 4))
    if cohort_id is None or days is None:
        return await _page(web, 400, _("Choose a group and how many days the invitation is valid."))
    try:
        invite = await domain.create(
            web.uow,
            viewer,
            cohort_id=cohort_id,
            mentor_id=mentor_id,
            valid_days=days,
            now=web.now,
            randomness=web.deps.randomness,
        )
    except onboarding.DomainError:
        return await _page(
            web, 400, _("The invitation could not be created. Check the group, mentor and days.")
        )
    await audit.record(web.uow, viewer, AuditAction.CREATE_INVITE, web.now, object_id=invite.id)
    log.info("web account=%s created invite=%s", viewer.account_id, invite.id)
    return web.redirect(f"/invites/{invite.id}/print", notice="invite_created")


@handler()
async def revoke_invite(web: Web) -> Response:
    viewer = web.signed_in
    invite_id = _number(str(web.request.path_params["invite_id"]))
    if invite_id is None:
        return web.refuse(404, web.t("There is no such invitation."))
    invite, problem = await domain.revoke(web.uow, viewer, invite_id, web.now)
    if problem is domain.RevokeProblem.NOT_FOUND or invite is None:
        return web.refuse(404, web.t("There is no such invitation."))
    if problem is domain.RevokeProblem.NOT_OPEN:
        return web.redirect("/invites", notice="invite_not_open")
    await audit.record(web.uow, viewer, AuditAction.REVOKE_INVITE, web.now, object_id=invite.id)
    log.info("web account=%s revoked invite=%s", viewer.account_id, invite.id)
    return web.redirect("/invites", notice="invite_revoked")


@handler()
async def print_invite(web: Web) -> Response:
    _ = web.t
    invite_id = _number(str(web.request.path_params["invite_id"]))
    invite = await domain.visible_invite(web.uow, web.signed_in, invite_id) if invite_id else None
    if invite is None:
        return web.refuse(404, _("There is no such invitation."))
    link = onboarding.invite_link(web.deps.bot_username, invite.code)
    cohort = await web.uow.cohorts.get(invite.cohort_id) if invite.cohort_id else None
    return web.render(
        "invite_print.html",
        invite=invite,
        state=domain.state(invite, web.now),
        cohort=cohort.name if cohort else None,
        link=link,
        qr=qr_svg(link, _("QR code for the invitation {code}").format(code=invite.code)),
        sheets=handout(invite.expires_at, web.deps.settings.timezone),
    )


def routes() -> list[Route]:
    return [
        Route("/invites", invites_page, methods=["GET"]),
        Route("/invites", create_invite, methods=["POST"]),
        Route("/invites/{invite_id}/revoke", revoke_invite, methods=["POST"]),
        Route("/invites/{invite_id}/print", print_invite, methods=["GET"]),
    ]
