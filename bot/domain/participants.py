"""The participants a dashboard viewer may see: the list, its filters, search, one page.

Names are encrypted at rest, so the database cannot search them. The rows in the
viewer's scope that pass the plain filters (cohort, status, language) are read and their
names decrypted and matched here, in the process; for a project of a few hundred or a few
thousand participants this takes milliseconds. (A blind index, a keyed hash of each name
part, would let the database match whole name parts without ever holding a name, at the
cost of partial matches; worth it only far beyond this size.)
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.domain.audit import Viewer
from storage.models import Participant, ParticipantStatus
from storage.reporting import Figures, ParticipantFilter
from storage.uow import UnitOfWork

PAGE_SIZE = 50
MAX_QUERY_LENGTH = 100


class Reachability(StrEnum):
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"  # blocked the bot, or Telegram refuses to deliver


@dataclass(frozen=True)
class Filters:
    cohort_id: int | None = None
    status: ParticipantStatus | None = None
    locale: str | None = None
    reachability: Reachability | None = None
    query: str = ""
    page: int = 1


@dataclass(frozen=True)
class Row:
    id: int
    public_id: str
    name: str | None  # None once the participant erased their data
    cohort: str | None
    mentor: str | None
    locale: str
    status: ParticipantStatus
    joined_at: datetime
    unreachable: bool


@dataclass(frozen=True)
class Listing:
    rows: list[Row]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class Detail:
    participant: Participant
    cohort: str | None
    mentor: str | None


class Access(StrEnum):
    SHOWN = "shown"
    NOT_FOUND = "not_found"
    REFUSED = "refused"


def fold(text: str) -> str:
    """Case and accents do not matter when searching: 'hakan' finds 'Håkan'; Arabic
    short-vowel marks are dropped the same way."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def matches(query: str, public_id: str, name: str | None) -> bool:
    folded = fold(query.strip())
    if not folded:
        return True
    if folded in public_id.casefold():
        return True
    return name is not None and all(part in fold(name) for part in folded.split())


async def list_participants(uow: UnitOfWork, viewer: Viewer, filters: Filters) -> Listing:
    """One page of the participants this viewer may see. Without a search the page is cut
    in the database, so only its fifty names are decrypted; a search reads every name in
    scope that passes the filters."""
    figures = uow.repository(Figures)
    unreachable = (
        None if filters.reachability is None else filters.reachability is Reachability.UNREACHABLE
    )
    where = ParticipantFilter(
        cohort_id=filters.cohort_id,
        status=filters.status,
        locale=filters.locale,
        unreachable=unreachable,
    )
    text = filters.query[:MAX_QUERY_LENGTH]
    if text.strip():
        found = [
            participant
            for participant in await figures.participants(viewer.scope, where)
            if participant.erased_at is None
            and matches(text, participant.public_id, participant.display_name)
        ]
        total = len(found)
        page, pages = _page(filters.page, total)
        shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    else:
        total = await figures.count(viewer.scope, where)
        page, pages = _page(filters.page, total)
        shown = list(
            await figures.participants(
                viewer.scope, where, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )
        )
    cohorts = await figures.cohort_names()
    mentors = await figures.mentor_names()
    return Listing(
        rows=[
            Row(
                id=participant.id,
                public_id=participant.public_id,
                name=None if participant.erased_at else participant.display_name,
                cohort=cohorts.get(participant.cohort_id or 0),
                mentor=mentors.get(participant.mentor_id or 0),
                locale=participant.locale,
                status=participant.status,
                joined_at=participant.joined_at,
                unreachable=participant.unreachable_at is not None,
            )
            for participant in shown
        ],
        total=total,
        page=page,
        pages=pages,
    )


def _page(asked: int, total: int) -> tuple[int, int]:
    pages = max(1, -(-total // PAGE_SIZE))
    return min(max(1, asked), pages), pages


async def cohort_choices(uow: UnitOfWork) -> list[tuple[int, str]]:
    return sorted((await uow.repository(Figures).cohort_names()).items(), key=lambda i: i[1])


async def find(
    uow: UnitOfWork, viewer: Viewer, public_id: str
) -> tuple[Access, Participant | None]:
    """One participant by pseudonymous id, and whether this viewer may open it."""
    if not public_id.isalnum() or len(public_id) > 16:
        return Access.NOT_FOUND, None
    participant = await uow.participants.by_public_id(public_id)
    if participant is None:
        return Access.NOT_FOUND, None
    if not viewer.may_see(participant.mentor_id):
        return Access.REFUSED, participant
    return Access.SHOWN, participant


async def detail(uow: UnitOfWork, participant: Participant) -> Detail:
    cohort = await uow.cohorts.get(participant.cohort_id) if participant.cohort_id else None
    mentor = await uow.mentors.get(participant.mentor_id) if participant.mentor_id else None
    return Detail(
        participant=participant,
        cohort=cohort.name if cohort else None,
        mentor=mentor.name if mentor else None,
    )
