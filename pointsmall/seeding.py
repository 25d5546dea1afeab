"""Demo data for a fresh mall. Idempotent: running it again changes nothing.

Balances are made only through points.services, with stable idempotency keys, so a
second run replays instead of adding points. Histories are written at past instants
(each service's ``now=``) so that some points have expired and some expire soon.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from catalog import notices as catalog_notices
from catalog.demo import seed_catalog
from lottery import demo as lottery_demo
from points import services as points_services
from points.notices import bilingual
from pointsmall.analytics.demo import seed_traffic
from pointsmall.content.demo import seed_content
from pointsmall.dashboard import services as dashboard_services
from tasks import demo as tasks_demo
from tasks import services as tasks_services

DEMO_PASSWORD = "demo-points-2026"  # noqa: S105 (demo members only; printed on purpose)
# (e-mail, display name, yuan spent a month): spread across the four tiers.
MEMBERS = [
    ("alice@example.com", "Alice 王", Decimal("1900")),
    ("bob@example.com", "Bob 李", Decimal("520")),
    ("carol@example.com", "Carol 张", Decimal("160")),
    ("dave@example.com", "Dave 陈", Decimal("12")),
]
CAMPAIGN_NAME = "双倍积分周"
CAMPAIGN_NAME_EN = "Double points week"
# What the demo's older redemptions (before the catalog existed) say, in both languages.
DEMO_SPENDS = [
    bilingual(zh="品牌保温杯", en="Branded thermos"),
    bilingual(zh="咖啡券", en="Coffee voucher"),
]


def _verified_user(email: str, password: str, **fields) -> tuple[User, bool]:
    user, created = User.objects.get_or_create(email=email, defaults=fields)
    if created:
        user.set_password(password)
        user.save()
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user, created


def _history(user: User, index: int, monthly: Decimal) -> None:
    """Purchases over the past 14 months, a few redemptions, a review or two.

    Each service is told the past instant it runs at (``now=``), so entries, lots and tiers
    are dated as if the member had shopped then; the process clock is never moved.
    """
    now = timezone.now()
    points_services.signup_bonus_grant(
        user_id=user.pk, identities=[f"email:{user.email}"], now=now - timedelta(days=430)
    )
    for month in range(14, 0, -1):
        at = now - timedelta(days=30 * month - index)
        points_services.purchase_record(
            user_id=user.pk,
            external_id=f"DEMO-{user.pk}-{month}",
            amount=(monthly * (1 + Decimal(month) / 20) + index).quantize(Decimal("0.01")),
            occurred_at=at,
            now=at,
        )
        if month % 4 == 0:
            points_services.points_award(
                user_id=user.pk, source="review", idempotency_key=f"demo:{user.pk}:review:{month}", now=at
            )
        if month % 3 == 0 and month < 13:
            points_services.points_spend(
                user_id=user.pk,
                amount=60,
                idempotency_key=f"demo:{user.pk}:spend:{month}",
                memo_code=catalog_notices.REDEEMED,
                memo_params={"name": DEMO_SPENDS[month % 2], "quantity": 1},
                now=at,
            )
    recent = now - timedelta(days=2)
    points_services.purchase_record(
        user_id=user.pk,
        external_id=f"DEMO-{user.pk}-recent",
        amount=monthly / 2,
        occurred_at=recent,
        now=recent,
    )


def _campaign() -> None:
    from points.models import Campaign  # the project package may read any app's models for seeding

    now = timezone.now()
    Campaign.objects.get_or_create(
        name=CAMPAIGN_NAME,
        defaults={
            "starts_at": now - timedelta(days=1),
            "ends_at": now + timedelta(days=6),
            "name_en": CAMPAIGN_NAME_EN,
            "multiplier": Decimal("2"),
            # Only sources members can earn from today (docs/decisions/0020): no check-in yet.
            "sources": ["purchase", "review"],
        },
    )


def seed_demo(stdout) -> None:
    with transaction.atomic():
        admin_email = os.environ.get("DEMO_ADMIN_EMAIL", "admin@example.com")
        admin_password = os.environ.get("DEMO_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        admin, created = _verified_user(admin_email, admin_password, is_staff=True, is_superuser=True)
        if created or os.environ.get("DEMO_ADMIN_PASSWORD"):
            admin.set_password(admin_password)
            admin.save()
            stdout.write(f"Admin:   {admin_email} / {admin_password}")
        else:
            stdout.write(f"Admin:   {admin_email} (exists; set DEMO_ADMIN_PASSWORD to reset its password)")
        _campaign()
        # The check-in rules a fresh mall starts with (streak table, cycle bonuses); operators edit them.
        tasks_services.checkin_rules_seed()
        tasks_demo.seed_tasks(stdout)
        user_ids = {}
        for index, (email, name, monthly) in enumerate(MEMBERS):
            user, _created = _verified_user(email, DEMO_PASSWORD, display_name=name)
            _history(user, index, monthly)
            user_ids[email] = user.pk
            stdout.write(f"Member:  {email} / {DEMO_PASSWORD}")
        tasks_demo.seed_checkins(stdout, user_ids=user_ids)
    points_services.points_vest()
    points_services.points_expire()
    # Outside the transaction above: each demo order checks a PIN, which commits on its own.
    seed_catalog(stdout)
    lottery_demo.seed_lottery(stdout, user_ids=user_ids)
    tasks_demo.seed_leaderboard(stdout)
    seed_content(stdout, user_ids=user_ids)
    seed_traffic(stdout=stdout)
    # The operators' dashboard: the daily figures of the last 90 days, from everything above.
    dashboard_services.dashboard_rollup(days=90)
