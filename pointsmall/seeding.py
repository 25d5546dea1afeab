"""Demo data for a fresh mall. Idempotent: running it again changes nothing.

Balances are made only through points.services, with stable idempotency keys, so a
second run replays instead of adding points.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta

import time_machine
from allauth.account.models import EmailAddress
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from points import services as points_services

DEMO_PASSWORD = "demo-points-2026"  # noqa: S105 (demo members only; printed on purpose)
MEMBERS = [
    ("alice@example.com", "Alice 王"),
    ("bob@example.com", "Bob 李"),
    ("carol@example.com", "Carol 张"),
]


def _verified_user(email: str, password: str, **fields) -> tuple[User, bool]:
    user, created = User.objects.get_or_create(email=email, defaults=fields)
    if created:
        user.set_password(password)
        user.save()
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user, created


def _history(user: User, index: int) -> None:
    """Earn and spend over the past 14 months, at the past instants, so some points expired."""
    now = timezone.now()
    for month in range(14, 0, -1):
        at = now - timedelta(days=30 * month - index)
        with time_machine.travel(at, tick=False):
            points_services.points_earn(
                user_id=user.pk,
                amount=80 + 20 * index + month,
                idempotency_key=f"demo:{user.pk}:earn:{month}",
                reference=f"shop.order:demo-{user.pk}-{month}",
                memo=f"Purchase #{1000 + 37 * month + index}",
            )
            if month % 3 == 0:
                points_services.points_spend(
                    user_id=user.pk,
                    amount=60,
                    idempotency_key=f"demo:{user.pk}:spend:{month}",
                    memo="Redeemed: Coffee voucher ×1",
                )
    points_services.points_earn(
        user_id=user.pk,
        amount=120,
        idempotency_key=f"demo:{user.pk}:pending",
        available_at=now + timedelta(days=5),
        memo="Purchase #2001 (returns window)",
    )
    points_services.points_expire_due()


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
        for index, (email, name) in enumerate(MEMBERS):
            user, _created = _verified_user(email, DEMO_PASSWORD, display_name=name)
            _history(user, index)
            stdout.write(f"Member:  {email} / {DEMO_PASSWORD}")
