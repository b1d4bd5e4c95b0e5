"""The first page: how the project is doing, within what the viewer may see.

Sections are listed in `SECTIONS`, each a domain function and a template. A feature
that brings new figures (check-in answer rate, open escalations against their SLA,
steps this month, progress toward the project's goals) appends its section here; a
section whose function returns None is left out, so a figure appears once its data
exists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response
from starlette.routing import Route

from bot.domain import overview
from bot.domain.audit import Viewer
from bot.web import charts, labels
from bot.web.core import NavItem, Web, handler
from bot.web.i18n import N_, WebText
from storage.uow import UnitOfWork

NAV = [NavItem(N_("Overview"), "/", order=10)]

Figure = Callable[[UnitOfWork, Viewer, datetime, ZoneInfo], Awaitable[Any]]
Present = Callable[[Any, WebText], dict[str, Any]]


@dataclass(frozen=True)
class Section:
    """A part of the overview: `load` gets the figures from the domain (None: nothing to
    show yet), `present` turns them into what the template draws (charts, say)."""

    name: str
    template: str  # under templates/overview/; gets `data` and what `present` returns
    load: Figure
    present: Present | None = None


def _participation(data: overview.Participation, t: WebText) -> dict[str, Any]:
    return {
        "per_cohort": charts.rows(
            [
                (line.cohort or t("No group"), line.taking_part, t.number(line.taking_part))
                for line in data.cohorts
            ]
        ),
        "by_gender": charts.rows(
            [(t(labels.GENDER[key]), count, t.number(count)) for key, count in data.by_gender]
        ),
    }


def _joins(data: overview.WeeklyJoins, t: WebText) -> dict[str, Any]:
    return {
        "chart": charts.columns(
            [(t.short_date(week), count, t.number(count)) for week, count in data.weeks]
        )
    }


def _checkins(data: overview.CheckinRate, t: WebText) -> dict[str, Any]:
    return {
        "chart": charts.columns(
            [
                (
                    t.short_date(week.week),
                    100 * week.rate if week.rate is not None else 0,
                    t.percent(week.rate) if week.rate is not None else "–",
                )
                for week in data.weeks
            ],
            top=100,
        )
    }


def _requests(data: overview.OpenRequests, t: WebText) -> dict[str, Any]:
    return {
        "chart": charts.rows(
            [
                (t(labels.CATEGORY[line.category]), line.waiting, t.number(line.waiting))
                for line in data.categories
            ]
        )
    }


def _steps(data: overview.StepsThisMonth, t: WebText) -> dict[str, Any]:
    return {
        "chart": charts.rows(
            [(t(labels.STEP_KIND[kind]), count, t.number(count)) for kind, count in data.by_kind],
            label_width=210,
            width=520,
        )
    }


def _goals(data: overview.Goals, t: WebText) -> dict[str, Any]:
    def share_rows(attribute: str) -> charts.BarChart:
        values = []
        for line in [data.total, *data.by_gender]:
            share = getattr(line, attribute)
            label = t("Everyone") if line.gender == "all" else t(labels.GENDER[line.gender])
            values.append((label, 100 * share if share is not None else 0, _share(t, share)))
        return charts.rows(values, top=100)

    return {"steps": share_rows("step_share"), "work": share_rows("work_or_studies_share")}


def _share(t: WebText, share: float | None) -> str:
    return t.percent(share) if share is not None else "–"


SECTIONS: list[Section] = [
    Section("participation", "overview/participation.html", overview.participation, _participation),
    Section("requests", "overview/requests.html", overview.open_requests, _requests),
    Section("checkins", "overview/checkins.html", overview.checkin_answer_rate, _checkins),
    Section("steps", "overview/steps.html", overview.steps_this_month, _steps),
    Section("goals", "overview/goals.html", overview.goals, _goals),
    Section("joins", "overview/joins.html", overview.joins_per_week, _joins),
    Section("refusals", "overview/refusals.html", overview.refusals_last_30_days),
]


@handler()
async def overview_page(web: Web) -> Response:
    viewer = web.signed_in
    zone = web.deps.settings.zone
    shown = []
    for section in SECTIONS:
        data = await section.load(web.uow, viewer, web.now, zone)
        if data is not None:
            extra = section.present(data, web.t) if section.present else {}
            shown.append((section, {"data": data, **extra}))
    settings = web.deps.settings
    return web.render(
        "overview.html",
        sections=shown,
        goal_step=settings.goal_step_percent / 100,
        goal_work=settings.goal_work_studies_percent / 100,
    )


def routes() -> list[Route]:
    return [Route("/", overview_page, methods=["GET"])]
