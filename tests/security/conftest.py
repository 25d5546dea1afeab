"""Member A and their objects (one of each kind a member URL can name), member B, and a snapshot
of every table the mall and its libraries write, to assert that a refused request wrote nothing."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.socialaccount.models import SocialApp
from django.apps import apps
from django.contrib.sites.models import Site
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.enums import NotificationKind
from catalog.enums import ProductKind
from lottery import services as lottery_services
from lottery.models import LotteryPrize
from points import selectors as points_selectors
from points import services as points_services
from pointsmall.content.models import Announcement
from tasks.models import Task
from tests.catalog.conftest import SECRET
from tests.catalog.factories import add_address, delivered_order, make_member, make_product, png_bytes, redeem
from tests.factories import MemberFactory

# Every table a request could write: ours, allauth's, auth's, the scheduler's. Sessions are left
# out on purpose: signing in writes one before the snapshot, and a session row is no privilege.
SNAPSHOT_APPS = (
    "accounts",
    "points",
    "catalog",
    "tasks",
    "lottery",
    "content",
    "analytics",
    "integration",
    "outbox",
    "auth",
    "account",
    "socialaccount",
    "mfa",
    "django_celery_beat",
    "sites",
)


@pytest.fixture(autouse=True)
def _walker_settings(settings, tmp_path):
    settings.ADMIN_REQUIRE_MFA = False
    settings.CATALOG_PAYMENT_BACKEND = "sandbox"
    settings.SANDBOX_PAYMENT_SECRET = SECRET
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"
    # Rate limits are not what these tests exercise: a walk sends many requests from one address.
    settings.RATELIMIT_ENABLE = False


def database_state() -> dict[str, list[dict]]:
    """Every row of every table in SNAPSHOT_APPS, ordered by primary key."""
    state = {}
    for model in apps.get_models():
        if model._meta.app_label in SNAPSHOT_APPS and model._meta.managed and not model._meta.proxy:
            state[model._meta.label] = list(model._base_manager.order_by("pk").values())
    return state


def differences(before: dict, after: dict) -> list[str]:
    """The tables whose rows changed, each with its row counts before and after."""
    return [
        f"{label}: {len(before[label])} → {len(after[label])} rows" for label in before if before[label] != after[label]
    ]


@pytest.fixture
def nothing_written() -> Callable:
    """``with nothing_written(what):`` fails, naming ``what`` and the tables, if the block wrote a row;
    it also checks the ledger (``points_verify``)."""

    @contextmanager
    def check(what: str = ""):
        before = database_state()
        yield
        changed = differences(before, database_state())
        assert not changed, f"{what} wrote: {changed}"
        report = points_services.points_verify()
        assert report.ok, report

    return check


@pytest.fixture
def member_a(db):
    return make_member(points=5000)


@pytest.fixture
def member_b(db):
    return make_member(points=5000)


@pytest.fixture
def objects(member_a) -> dict:
    """One of each object a member URL can name, all member A's, plus public objects the member
    pages take an id of (a product, a lottery campaign, a task, an announcement)."""
    now = timezone.now()
    address = add_address(member_a)
    notification = accounts_services.notification_send(
        user_id=member_a.pk, kind=NotificationKind.ACCOUNT, title="Hello", body="Hi", link="/points/"
    )
    product = make_product(stock=50)
    order = redeem(member_a, product, address_id=address)
    delivered = delivered_order(member_a, make_product())
    cash_product = make_product(kind=ProductKind.PHYSICAL, points_price=100, cash_price=Decimal("9.90"))
    cash_order = redeem(member_a, cash_product, address_id=address)
    a = Client()
    a.force_login(member_a)
    started = a.post(reverse("payment_start", args=[cash_order.pk]))
    assert started.status_code == 302, started
    cash_order.refresh_from_db()
    assert cash_order.payment_reference
    from tests.content.conftest import upload

    sent = a.post(
        reverse("feedback"),
        {"category": "bug", "text": "The page is slow today.", "contact": "", "screenshot": upload(png_bytes())},
    )
    assert sent.status_code == 302, sent.content[:500]
    from pointsmall.content.models import Feedback

    feedback = Feedback.objects.get(member=member_a)
    assert feedback.screenshot
    campaign = lottery_services.lottery_campaign_create(
        name="春季转盘",
        description="春季抽奖规则",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=7),
        cost_points=50,
        tier_free_draws=False,
    )
    LotteryPrize.objects.create(
        campaign=campaign, position=0, name="20积分", name_en="20 points", kind="points", points=20,
        weight_bp=3000, quantity=100,
    )  # fmt: skip
    LotteryPrize.objects.create(
        campaign=campaign, position=1, name="谢谢参与", name_en="Thanks for playing", kind="none", weight_bp=7000
    )
    lottery_services.lottery_campaign_publish(campaign_id=campaign.pk, now=now - timedelta(hours=2))
    # A configured deployment: each social sign-in has its app (without one, allauth answers 500).
    for provider in ("weixin", "github", "google"):
        app = SocialApp.objects.create(provider=provider, name=provider, client_id=f"{provider}-id", secret="secret")
        app.sites.add(Site.objects.get_current())
    task = Task.objects.create(title="设置密码", completion="event", event="pin_set", reward_points=5)
    announcement = Announcement.objects.create(
        title_zh="公告", title_en="Notice", body_zh="正文", body_en="Body", starts_at=now - timedelta(hours=1)
    )
    from points.models import Account
    from pointsmall.integration import services as integration_services

    host_client, _secret = integration_services.client_create(name="The shop")
    return {
        "member": member_a.pk,
        "account": Account.objects.get(user=member_a).pk,
        "client": host_client.pk,
        "address": address,
        "notification": notification,
        "order": order.pk,
        "delivered": delivered.pk,
        "cash_order": cash_order.pk,
        "payment_reference": cash_order.payment_reference,
        "feedback": feedback.pk,
        "product": product.pk,
        "campaign": campaign.pk,
        "task": task.pk,
        "announcement": announcement.pk,
    }


def balance(user) -> int:
    return points_selectors.header_status(user_id=user.pk)[0]


@pytest.fixture
def staff_member(db):
    return MemberFactory(is_staff=True)
