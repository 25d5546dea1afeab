"""Content fixtures: members in a chosen tier, pictures, a fresh cache for the rate limits."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from points.models import Account, Tier
from tests.factories import MemberFactory, StaffFactory


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path_factory):
    """Feedback screenshots land in a per-test private folder, apart from MEDIA_ROOT."""
    root = tmp_path_factory.mktemp("private_media")
    settings.PRIVATE_MEDIA_ROOT = root
    return root


@pytest.fixture
def tiers(db) -> list[str]:
    """The tier codes, lowest first (the migrations' default ladder)."""
    return list(Tier.objects.order_by("rank").values_list("code", flat=True))


def member_in(tier: str):
    """A member whose earned tier is ``tier`` (set on the account row, as the lottery tests do)."""
    user = MemberFactory()
    Account.objects.filter(user_id=user.pk).update(tier=Tier.objects.get(code=tier))
    return user


def png(size: tuple[int, int] = (320, 100), color=(230, 80, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def upload(data: bytes | None = None, name: str = "picture.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, png() if data is None else data, content_type)


@pytest.fixture
def operator(db):
    return StaffFactory()


@pytest.fixture
def admin_client(client, operator, settings, tmp_path):
    settings.ADMIN_REQUIRE_MFA = False
    settings.MEDIA_ROOT = tmp_path
    client.force_login(operator)
    return client


def files_under(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
