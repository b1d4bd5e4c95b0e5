"""Driving the dashboard over ASGI as a browser would: cookies, forms with their CSRF token."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.domain import onboarding, staff
from bot.web.app import create_app
from storage.db import Database
from storage.models import Participant, ParticipantStatus, StaffRole
from storage.uow import UnitOfWork
from tests.conftest import CountingRandomness

SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


class Visitor:
    """One browser: keeps its cookies and the CSRF token of the last page it saw."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.token = ""

    async def get(self, path: str, **params: str) -> httpx.Response:
        response = await self.client.get(path, params=params or None)
        if 'name="csrf_token"' in response.text:
            self.token = csrf_of(response.text)
        return response

    async def post(
        self,
        path: str,
        data: Mapping[str, str | list[str]] | None = None,
        *,
        token: str | None = "",
    ) -> httpx.Response:
        """Post a form (a list for a field sent more than once, as checkboxes are); the
        token of the last page unless `token` is given (None: none)."""
        fields: dict[str, str | list[str]] = dict(data or {})
        if token is not None:
            fields["csrf_token"] = token or self.token
        response = await self.client.post(path, data=fields)
        if 'name="csrf_token"' in response.text:
            self.token = csrf_of(response.text)
        return response

    async def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        await self.get("/login")
        return await self.post("/login", {"username": username, "password": password})


@dataclass
class Dashboard:
    database: Database
    clock: ManualClock
    randomness: CountingRandomness
    settings: Settings
    app: Any

    def visitor(self) -> Visitor:
        transport = httpx.ASGITransport(app=self.app)
        return Visitor(
            httpx.AsyncClient(
                transport=transport,
                base_url="http://testserver",
                follow_redirects=True,
                headers={"accept-language": "en-GB,en;q=0.9"},
            )
        )

    async def account(
        self,
        username: str,
        role: StaffRole = StaffRole.STAFF,
        mentor_id: int | None = None,
        language: str = "en",
    ) -> int:
        async with UnitOfWork(self.database) as uow:
            account = await staff.create_account(
                uow,
                username=username,
                password=PASSWORD,
                role=role,
                mentor_id=mentor_id,
                language=language,
                now=self.clock.now(),
            )
            await uow.commit()
            return account.id

    async def signed_in(
        self,
        username: str,
        role: StaffRole = StaffRole.STAFF,
        mentor_id: int | None = None,
        language: str = "en",
    ) -> Visitor:
        """A new account, and a browser signed in with it."""
        await self.account(username, role, mentor_id, language)
        visitor = self.visitor()
        await visitor.sign_in(username)
        return visitor

    async def cohort(self, name: str) -> int:
        async with UnitOfWork(self.database) as uow:
            cohort = await onboarding.create_cohort(uow, name, self.clock.now())
            await uow.commit()
            return cohort.id

    async def mentor(self, name: str, languages: Sequence[str] = ("sv",)) -> int:
        async with UnitOfWork(self.database) as uow:
            mentor = await onboarding.create_mentor(
                uow, name=name, languages=list(languages), now=self.clock.now()
            )
            await uow.commit()
            return mentor.id

    async def participant(
        self,
        name: str | None,
        *,
        cohort: str,
        mentor_id: int | None = None,
        locale: str = "sv",
        gender: str | None = None,
        status: ParticipantStatus = ParticipantStatus.ACTIVE,
        joined_ago: timedelta = timedelta(days=1),
        unreachable: bool = False,
    ) -> str:
        """A participant who joined with an invite, as the bot makes them."""
        async with UnitOfWork(self.database) as uow:
            invite = await onboarding.create_invite(
                uow,
                now=self.clock.now() - joined_ago,
                randomness=self.randomness,
                valid_for=timedelta(days=30),
                cohort_name=cohort,
                mentor_id=mentor_id,
            )
            joined = await onboarding.join_as_participant(
                uow,
                invite=invite,
                telegram_user_id=10_000 + self.randomness.counter,
                chat_id=10_000 + self.randomness.counter,
                first_name=name or "x",
                locale=locale,
                now=self.clock.now() - joined_ago,
                randomness=self.randomness,
            )
            row: Participant = joined.participant
            row.gender = gender
            row.status = status
            if unreachable:
                row.unreachable_at = self.clock.now()
            await uow.commit()
            return row.public_id


def dashboard_settings(tmp_path: Any, **overrides: object) -> Settings:
    return load_settings(data_dir=tmp_path, **overrides)


def make_dashboard(
    database: Database,
    clock: ManualClock,
    randomness: CountingRandomness,
    settings: Settings,
) -> Dashboard:
    app = create_app(
        settings,
        database,
        secret=SECRET,
        clock=clock,
        randomness=randomness,
        bot_username="stegvis_test_bot",
    )
    return Dashboard(database, clock, randomness, settings, app)
