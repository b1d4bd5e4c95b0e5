"""The audit trail, for staff: who opened, searched, exported or changed what, and when."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from bot.domain import audit
from bot.web.core import NavItem, Web, handler
from bot.web.i18n import N_

NAV = [NavItem(N_("Audit trail"), "/audit", order=70, staff_only=True)]
PAGE = 100


@handler(staff_only=True)
async def audit_page(web: Web) -> Response:
    before = web.request.query_params.get("before", "")
    before_id = int(before) if before.isdigit() and len(before) < 12 else None
    entries = await audit.recent_trail(web.uow, limit=PAGE, before_id=before_id)
    older = entries[-1].id if len(entries) == PAGE else None
    return web.render("audit.html", entries=entries, older=older)


def routes() -> list[Route]:
    return [Route("/audit", audit_page, methods=["GET"])]
