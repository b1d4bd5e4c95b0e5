from __future__ import annotations

from pathlib import Path

import pytest

from bot.clock import ManualClock
from storage.db import Database
from tests.conftest import CountingRandomness
from tests.web.support import Dashboard, dashboard_settings, make_dashboard


@pytest.fixture
def dashboard(
    database: Database, clock: ManualClock, randomness: CountingRandomness, tmp_path: Path
) -> Dashboard:
    return make_dashboard(database, clock, randomness, dashboard_settings(tmp_path))
