from __future__ import annotations

import pytest
import time_machine

from points import services
from tests.factories import StaffFactory
from tests.points.helpers import T0


@pytest.fixture(autouse=True)
def _fast_hashers(settings):
    """Members need a password, not a strong hash: the production hasher costs ~0.5 s per member."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ledger_stays_consistent(db):
    yield
    report = services.points_verify()
    assert report.ok, report.violations


@pytest.fixture
def staff_actor(db):
    return StaffFactory()
