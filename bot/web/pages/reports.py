"""The ESF report for a date range, downloaded as CSV or XLSX.

Staff only: the report covers the whole project. A download is a POST with the form's
CSRF token (another site cannot start one), and every download is in the audit trail
with its period and format.
"""

from __future__ import annotations

import logging
from datetime import date

from starlette.responses import Response
from starlette.routing import Route

from bot.domain import audit, esf
from bot.domain.onboarding import DomainError
from bot.web import exports
from bot.web.core import NavItem, Web, handler
from bot.web.i18n import N_
from storage.models import AuditAction

log = logging.getLogger(__name__)

NAV = [NavItem(N_("Reports"), "/reports", order=60, staff_only=True)]
FILES = ("xlsx", "summary.csv", "participants.csv")


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _defaults(today: date) -> tuple[date, date]:
    """The quarter so far: what a project most often reports."""
    start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return start, today


@handler(staff_only=True)
async def reports_page(web: Web) -> Response:
    start, end = _defaults(web.now.astimezone(web.deps.settings.zone).date())
    return web.render("reports.html", start=start, end=end, error=None)


@handler(staff_only=True)
async def download(web: Web) -> Response:
    _ = web.t
    viewer = web.signed_in
    start = _date(await web.field("start", 10))
    end = _date(await web.field("end", 10))
    file = await web.field("file", 20)
    today = web.now.astimezone(web.deps.settings.zone).date()
    if start is None or end is None or file not in FILES:
        default_start, default_end = _defaults(today)
        return web.render(
            "reports.html",
            status=400,
            start=start or default_start,
            end=end or default_end,
            error=_("Give a start and an end date, and choose a file type."),
        )
    try:
        period = esf.Period(start, end)
    except DomainError:
        return web.render(
            "reports.html",
            status=400,
            start=start,
            end=end,
            error=_("The period must end after it starts, and be at most three years long."),
        )
    report = await esf.build(web.uow, period, web.deps.settings.zone)
    await audit.record(
        web.uow, viewer, AuditAction.EXPORT, web.now, detail=f"esf {period.label} {file}"
    )
    log.info("web account=%s exported esf %s", viewer.account_id, file)
    name = f"stegvis-esf-{period.label}"
    if file == "xlsx":
        return Response(
            exports.to_xlsx(report, web.t),
            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    rows = (
        exports.summary_rows(report, web.t)
        if file == "summary.csv"
        else exports.participant_rows(report, web.t)
    )
    return Response(
        exports.to_csv(rows, web.t.language),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-{file}"'},
    )


def routes() -> list[Route]:
    return [
        Route("/reports", reports_page, methods=["GET"]),
        Route("/reports/esf", download, methods=["POST"]),
    ]
