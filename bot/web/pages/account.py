"""Signing in and out, and the interface language."""

from __future__ import annotations

import logging
from datetime import datetime

from starlette.responses import Response
from starlette.routing import Route

from bot.domain import audit
from bot.domain import staff as accounts
from bot.web.core import ENDED, NavItem, Web, handler, safe_next
from bot.web.i18n import LANGUAGES
from storage.models import AuditAction

log = logging.getLogger(__name__)

NAV: list[NavItem] = []


def _minutes_until(moment: datetime, now: datetime) -> int:
    return max(1, -(-int((moment - now).total_seconds()) // 60))


@handler(public=True)
async def sign_in_page(web: Web) -> Response:
    if web.viewer is not None:
        return web.redirect(safe_next(web.request.query_params.get("next")))
    ended = ENDED.get(web.session.ended or "")
    web.session = web.session.without_ended()
    return web.render(
        "login.html",
        next=safe_next(web.request.query_params.get("next")),
        username="",
        error=web.t(ended) if ended else None,
    )


@handler(public=True)
async def sign_in(web: Web) -> Response:
    _ = web.t
    username = await web.field("username", 64)
    password = await web.field("password", accounts.MAX_PASSWORD_LENGTH + 1)
    target = safe_next(await web.field("next", 500))
    result = await accounts.authenticate(web.uow, username, password, web.now)
    account = result.account
    if result.problem is None and account is not None:
        web.session = web.session.signed_in(account.id, account.language, web.now)
        web.set_language(account.language)
        web.account = account
        web.viewer = audit.Viewer.of(account)
        await audit.record(web.uow, web.viewer, AuditAction.SIGN_IN, web.now)
        log.info("web account=%s signed in", account.id)
        return web.redirect(target)
    if account is not None:
        action = AuditAction.LOCKED_OUT if result.just_locked else AuditAction.SIGN_IN_FAILED
        await audit.record(web.uow, None, action, web.now, account_id=account.id)
        log.info("web account=%s sign-in refused: %s", account.id, result.problem)
    else:
        log.info("web sign-in refused: unknown account")
    if result.problem is accounts.SignInProblem.LOCKED and result.locked_until is not None:
        minutes = _minutes_until(result.locked_until, web.now)
        error = _.ngettext(
            "Too many failed attempts. The account is locked for {count} minute.",
            "Too many failed attempts. The account is locked for {count} minutes.",
            minutes,
        ).format(count=minutes)
        status = 429
    elif result.problem is accounts.SignInProblem.DISABLED:
        error = _("This account is turned off. Ask the project's administrator.")
        status = 403
    else:
        error = _("The username or password is wrong.")
        status = 401
    return web.render("login.html", status=status, next=target, username=username, error=error)


@handler()
async def sign_out(web: Web) -> Response:
    viewer = web.signed_in
    if web.account is not None:
        accounts.sign_out_everywhere(web.account, web.now)
    await audit.record(web.uow, viewer, AuditAction.SIGN_OUT, web.now)
    web.session = web.session.signed_out()
    web.account = None
    web.viewer = None
    return web.redirect("/login", notice="signed_out")


@handler(public=True)
async def choose_language(web: Web) -> Response:
    language = await web.field("language", 8)
    if language not in LANGUAGES:
        return web.refuse(400, web.t("That language is not available."))
    if web.account is not None:
        accounts.set_language(web.account, language)
    web.session = web.session.with_language(language)
    web.set_language(language)
    return web.redirect(safe_next(await web.field("next", 500)), notice="language")


def routes() -> list[Route]:
    return [
        Route("/login", sign_in_page, methods=["GET"]),
        Route("/login", sign_in, methods=["POST"]),
        Route("/logout", sign_out, methods=["POST"]),
        Route("/language", choose_language, methods=["POST"]),
    ]
