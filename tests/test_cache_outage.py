"""A Redis outage degrades the mall instead of locking members out (docs/decisions/0036, issue 14).

Each test runs its own ``redis-server`` (tests/spare_redis.py) behind the cache, the sessions,
the flash-sale gate and the analytics counters, and kills it to simulate the outage. The Celery
broker stays on the shared Redis: a broker outage is a different failure.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
import time_machine
from django.core.cache import caches
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import Order, Product
from pointsmall.content.models import Feedback
from tests.catalog.factories import PIN, add_address, image_upload, make_member, make_product
from tests.factories import PASSWORD
from tests.spare_redis import RETRY_SECONDS, SpareRedis

pytestmark = [pytest.mark.django_db, pytest.mark.redis]

SESSION_KEYS = "*django.contrib.sessions.cached_db*"


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def cached_sessions(server: SpareRedis) -> int:
    return len(server.client().keys(SESSION_KEYS))


def redeem_post(client, member, product: Product, address_id: int):
    """POST the confirmation page as the member's browser would (token signed from the quote)."""
    totals = catalog_services.redemption_quote(user_id=member.pk, product_id=product.pk, quantity=1).totals
    confirmation = catalog_services.redemption_confirmation_sign(
        user_id=member.pk, product_id=product.pk, quantity=1, totals=totals
    )
    return client.post(
        reverse("redeem_confirm", args=[product.pk]),
        {
            "quantity": 1,
            "pin": PIN,
            "idempotency_key": "0123456789abcdef0123456789abcdef",
            "confirmation": confirmation,
            "address": address_id,
        },
    )


def test_a_signed_in_member_browses_redeems_sends_feedback_and_uploads_while_redis_is_down(client, spare_redis, media):
    member = make_member(points=900)
    address_id = add_address(member)
    product = make_product(points_price=300, stock=5, flash_sale=True)
    client.force_login(member)
    assert client.get(reverse("account_overview")).status_code == 200
    assert cached_sessions(spare_redis) == 1

    spare_redis.stop()

    for name in ("home", "account_overview", "my_points", "profile", "inbox"):
        assert client.get(reverse(name)).status_code == 200, name
    # The flash gate cannot be asked: the database's guarded stock update decides alone.
    response = redeem_post(client, member, product, address_id)
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('order_detail', args=[order.pk])}?placed=1"
    assert (order.member_id, order.product_id, order.points_total) == (member.pk, product.pk, 300)
    product.refresh_from_db()
    assert product.stock == 4
    assert client.get(response["Location"]).status_code == 200

    feedback = client.post(reverse("feedback"), {"category": "bug", "text": "The check-in button does nothing."})
    assert feedback.status_code == 302
    assert list(Feedback.objects.values_list("member_id", "text")) == [(member.pk, "The check-in button does nothing.")]

    avatar = client.post(
        reverse("profile"), {"display_name": "Changed", "phone": "", "language": "en", "avatar": image_upload()}
    )
    assert avatar.status_code == 302
    member.refresh_from_db()
    assert (member.display_name, member.avatar.name.endswith(".jpg")) == ("Changed", True)

    anonymous = Client()
    for name in ("home", "account_login", "rules"):
        assert anonymous.get(reverse(name)).status_code == 200, name


def test_a_member_signs_in_with_email_and_password_while_redis_is_down(client, spare_redis):
    member = make_member()
    spare_redis.stop()

    response = client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert int(client.session["_auth_user_id"]) == member.pk
    assert client.get(reverse("account_overview")).status_code == 200


def test_failed_sign_ins_are_still_throttled_while_redis_is_down(client, spare_redis):
    """allauth's login_failed limit (5 per e-mail per 5 minutes) counts in this process while
    Redis is away: it does not become unlimited."""
    member = make_member()
    spare_redis.stop()
    for _ in range(5):
        wrong = client.post(reverse("account_login"), {"login": member.email, "password": "not-the-password"})
        assert wrong.status_code == 200
        assert "The email address and/or password you specified are not correct." in wrong.content.decode()

    refused = client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})

    assert refused.status_code == 200
    assert "Too many failed login attempts. Try again later." in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_after_redis_is_back_sessions_and_counters_use_it_again(client, spare_redis):
    member = make_member()
    spare_redis.stop()
    assert client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD}).status_code == 302
    assert client.get(reverse("account_overview")).status_code == 200

    spare_redis.start()
    with time_machine.travel(timezone.now() + timedelta(seconds=RETRY_SECONDS + 1)):
        assert client.get(reverse("account_overview")).status_code == 200
        assert cached_sessions(spare_redis) == 1
        client.post(reverse("account_login"), {"login": "nobody@example.com", "password": "wrong"})
        assert spare_redis.client().keys("*allauth*") != []


def test_a_session_ended_during_an_outage_is_not_served_from_redis_afterwards(client, spare_redis):
    """A partition rather than a restart: Redis keeps its data, so the copy of a session ended
    while it was unreachable must not be served when it answers again."""
    member = make_member()
    client.force_login(member)
    assert client.get(reverse("account_overview")).status_code == 200
    cookie = client.cookies["sessionid"].value
    assert cached_sessions(spare_redis) == 1

    # This process loses Redis (as in a network partition) while the server keeps its data.
    caches["default"]._failed(redis.ConnectionError("partition"))
    assert client.post(reverse("account_logout")).status_code == 302
    assert cached_sessions(spare_redis) == 1  # the stale copy, which the database no longer has

    with time_machine.travel(timezone.now() + timedelta(seconds=RETRY_SECONDS + 1)):
        client.cookies["sessionid"] = cookie
        response = client.get(reverse("account_overview"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert cached_sessions(spare_redis) == 0


def test_a_dead_redis_costs_one_connection_attempt_per_pause(spare_redis, monkeypatch):
    from django.core.cache import cache

    spare_redis.stop()
    attempts = []
    real = cache._cache.get_client

    def counting(*args, **kwargs):
        attempts.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(cache._cache, "get_client", counting)
    for n in range(20):
        cache.set(f"k{n}", n)
        assert cache.get(f"k{n}") == n
    assert len(attempts) == 1
    # Sessions are never kept in the stand-in: the database answers for them.
    cache.set("django.contrib.sessions.cached_dbabc", {"x": 1})
    assert cache.get("django.contrib.sessions.cached_dbabc") is None
