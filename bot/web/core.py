"""One request to the dashboard: session, viewer, unit of work, language, one commit.

Every route is wrapped by `handler`, which does for the web what `turn_handler` does for
the bot: it reads the signed session, checks it has not expired or been revoked, finds
the signed-in account, refuses a form without its CSRF token, opens one unit of work,
binds gettext to the staff member's language, calls the page, commits once, and writes
the session cookie back. Pages parse, call the domain, render; nothing else.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.clock import Clock, Randomness
from bot.config import Settings
from bot.domain import staff as accounts
from bot.domain.audit import Viewer
from bot.i18n import LANGUAGE_NAMES as PARTICIPANT_LANGUAGES
from bot.web import labels
from bot.web.i18n import LANGUAGE_NAMES, LANGUAGES, N_, WebText, pick_language, web_text
from bot.web.sessions import (
    COOKIE,
    SECURE_COOKIE,
    Session,
    SessionCodec,
    SessionExpiry,
    tokens_match,
)
from storage.db import Database
from storage.models import StaffAccount
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_FIELDS = 50
MAX_FIELD_BYTES = 64 * 1024

# One-time notices shown after a redirect, by key (the key travels in the session).
NOTICES: dict[str, str] = {
    "signed_out": N_("You have signed out."),
    "language": N_("The language is changed."),
}
ENDED = {
    "expired": N_("Your session has expired. Please sign in again."),
    "revoked": N_("Your session has ended. Please sign in again."),
}


@dataclass(frozen=True)
class NavItem:
    """A link in the top navigation; `label` is an N_() msgid."""

    label: str
    path: str
    order: int = 50
    staff_only: bool = False


@dataclass
class WebDeps:
    settings: Settings
    database: Database
    clock: Clock
    randomness: Randomness
    bot_username: str
    codec: SessionCodec
    expiry: SessionExpiry
    templates: jinja2.Environment
    nav: list[NavItem] = field(default_factory=list)

    @property
    def cookie_name(self) -> str:
        return SECURE_COOKIE if self.settings.web_secure_cookies else COOKIE


def template_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Web:
    """What a page works with: plain values, the unit of work, bound gettext."""

    def __init__(
        self,
        *,
        request: Request,
        deps: WebDeps,
        uow: UnitOfWork,
        session: Session,
        account: StaffAccount | None,
        now: datetime,
    ) -> None:
        self.request = request
        self.deps = deps
        self.uow = uow
        self.session = session
        self.account = account
        self.viewer = Viewer.of(account) if account is not None else None
        self.now = now
        self._form: FormData | None = None
        language = account.language if account else session.language
        self.t: WebText = web_text(language or "sv", deps.settings.timezone)

    @property
    def signed_in(self) -> Viewer:
        """The viewer of a page that requires sign-in (the wrapper made sure)."""
        assert self.viewer is not None
        return self.viewer

    def set_language(self, language: str) -> None:
        self.t = web_text(language, self.deps.settings.timezone)

    async def form(self) -> FormData:
        if self._form is None:
            self._form = await self.request.form(
                max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FIELD_BYTES
            )
        return self._form

    async def field(self, name: str, limit: int = 200) -> str:
        value = (await self.form()).get(name)
        return value[:limit] if isinstance(value, str) else ""

    def notice(self, key: str) -> None:
        self.session = self.session.with_notice(key)

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        _ = self.t
        notice = NOTICES.get(self.session.notice or "")
        self.session = self.session.with_notice(None)
        viewer = self.viewer
        page = self.deps.templates.get_template(name).render(
            _=_,
            gettext=_,
            ngettext=_.ngettext,
            t=_,
            viewer=viewer,
            account=self.account,
            csrf_token=self.session.csrf,
            nav=[
                item
                for item in self.deps.nav
                if viewer is not None and (viewer.sees_everything or not item.staff_only)
            ],
            path=self.request.url.path,
            notice=_(notice) if notice else None,
            language=_.language,
            languages=[(code, LANGUAGE_NAMES[code]) for code in LANGUAGES],
            participant_languages=PARTICIPANT_LANGUAGES,
            labels=labels,
            **context,
        )
        return HTMLResponse(page, status_code=status)

    def refuse(self, status: int, message: str) -> HTMLResponse:
        """A short, translated answer to a request that cannot be served; changes nothing."""
        return self.render("error.html", status=status, message=message)

    def redirect(self, path: str, notice: str | None = None) -> RedirectResponse:
        if notice is not None:
            self.notice(notice)
        return RedirectResponse(path, status_code=303)


Page = Callable[[Web], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def safe_next(path: str | None) -> str:
    """Only a path on this site: never an address elsewhere (open redirects)."""
    if path and path.startswith("/") and not path.startswith(("//", "/\\")):
        return path
    return "/"


def handler(
    *, public: bool = False, staff_only: bool = False, passive: bool = False
) -> Callable[[Page], Endpoint]:
    """`passive`: a request the page's own script makes (polling live figures) does not
    count as the staff member being active, so an open page still times out when idle."""

    def wrap(fn: Page) -> Endpoint:
        @functools.wraps(fn)
        async def endpoint(request: Request) -> Response:
            deps: WebDeps = request.app.state.deps
            now = deps.clock.now()
            session = deps.codec.loads(request.cookies.get(deps.cookie_name)) or Session.new(
                pick_language(request.headers.get("accept-language"))
            )
            async with UnitOfWork(deps.database) as uow:
                account, session = await _resume(uow, deps, session, now, passive=passive)
                web = Web(
                    request=request,
                    deps=deps,
                    uow=uow,
                    session=session,
                    account=account,
                    now=now,
                )
                response = await _serve(web, fn, public=public, staff_only=staff_only)
                # Refusals commit too: a failed sign-in is counted, a refused look audited.
                await uow.commit()
            log.info(
                "web %s %s account=%s status=%s",
                request.method,
                request.scope.get("route_path", fn.__name__),
                web.account.id if web.account else "-",
                response.status_code,
            )
            _write_cookie(response, deps, web.session)
            return response

        return endpoint

    return wrap


async def _resume(
    uow: UnitOfWork, deps: WebDeps, session: Session, now: datetime, *, passive: bool = False
) -> tuple[StaffAccount | None, Session]:
    if session.account_id is None:
        return None, session
    account = await accounts.accounts(uow).get(session.account_id)
    issued = session.issued_at
    if account is None or issued is None or not accounts.session_accepted(account, issued):
        return None, session.signed_out("revoked")
    if deps.expiry.expired(session, now):
        log.info("web account=%s session expired", account.id)
        return None, session.signed_out("expired")
    return account, session if passive else session.seen(now)


async def _serve(web: Web, fn: Page, *, public: bool, staff_only: bool) -> Response:
    request = web.request
    _ = web.t
    if not public and web.viewer is None:
        target = safe_next(request.url.path if request.method == "GET" else "/")
        return web.redirect("/login" + ("" if target == "/" else f"?next={quote(target)}"))
    if staff_only and web.viewer is not None and not web.viewer.sees_everything:
        log.info("web account=%s refused a staff page", web.viewer.account_id)
        return web.refuse(403, _("This page is for project staff only."))
    if request.method == "POST":
        try:
            form = await web.form()
        except Exception:  # malformed or oversized form
            log.info("web unreadable form")
            return web.refuse(400, _("The form could not be read. Please try again."))
        if not tokens_match(web.session.csrf, form.get("csrf_token")):
            log.info(
                "web account=%s form without a valid CSRF token",
                web.viewer.account_id if web.viewer else "-",
            )
            return web.refuse(
                403,
                _(
                    "This form has expired or was not sent from this page. "
                    "Go back, reload the page and try again."
                ),
            )
    return await fn(web)


def _write_cookie(response: Response, deps: WebDeps, session: Session) -> None:
    response.set_cookie(
        deps.cookie_name,
        deps.codec.dumps(session),
        max_age=deps.settings.web_session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=deps.settings.web_secure_cookies,
    )
