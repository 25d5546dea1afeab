"""Audit fixtures: a superuser, a staff member with the audit permission and one without."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from tests.factories import MemberFactory, StaffFactory


@pytest.fixture(autouse=True)
def _admin_settings(settings, tmp_path):
    settings.ADMIN_REQUIRE_MFA = False
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def superuser(db):
    return StaffFactory(email="root@staff.example.com")


@pytest.fixture
def auditor(db):
    """Staff, not a superuser, holding only "view the audit pages"."""
    user = MemberFactory(email="auditor@staff.example.com", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="audit", codename="view_audit"))
    return user


@pytest.fixture
def plain_staff(db):
    return MemberFactory(email="clerk@staff.example.com", is_staff=True)


# The catalog's product and buyer fixtures (tests/catalog/conftest.py), for orders and stock.
from tests.catalog.conftest import (  # noqa: E402, F401
    category,
    fund,
    make_address,
    make_buyer,
    make_product,
    operator,
)
