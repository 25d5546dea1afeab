"""Catalog fixtures: products, funded members with a payment PIN, and a "nothing written" snapshot;
the ledger check a module applies with ``pytestmark``, the admin client, and the sandbox gateway
(its settings, its signature, its network through a test client) shared by payments and refunds.

Points only ever come from ``points.services`` (an operator's adjustment, which does not
count towards tiers, so prices stay at 100% unless a test earns a tier on purpose).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import urllib.error
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import redis

from accounts import services as accounts_services
from accounts.models import PaymentPin
from catalog import payments
from catalog import services as catalog_services
from catalog.enums import PrivilegeEffect, ProductKind
from catalog.models import Category, Code, Order, OrderEvent, Product, StockMovement
from catalog.payments import SIGNATURE_HEADER
from points import selectors as points_selectors
from points import services as points_services
from points.models import Account, Entry, Lot, LotMovement
from tests.factories import MemberFactory, StaffFactory

PIN = "258014"
WRONG_PIN = "258015"
SECRET = "sandbox-test-secret"  # the sandbox gateway's signing key (sandbox_gateway)


@pytest.fixture
def operator(db):
    return StaffFactory()


@pytest.fixture
def ledger_invariants_hold(db):
    """After the test, the whole ledger passes ``points_verify``; a module applies it with ``pytestmark``."""
    yield
    report = points_services.points_verify()
    assert report.ok, report


def balance(user) -> int:
    """The member's spendable points, as the mall shows them."""
    return points_selectors.spendable_balance(user_id=user.pk)


@pytest.fixture
def admin_client(client, operator, settings, tmp_path):
    """The Django test client logged in as ``operator`` in the admin (no MFA; uploads go to a temporary folder).

    Replaces pytest-django's ``admin_client`` in the catalog tests.
    """
    settings.ADMIN_REQUIRE_MFA = False
    settings.MEDIA_ROOT = tmp_path
    client.force_login(operator)
    return client


@pytest.fixture
def eager_jobs():
    """Jobs run in-process, as with no broker (CI has one: a ``.delay()`` there would only be queued)."""
    from pointsmall.celery import app as celery_app

    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def sandbox_gateway(settings):
    """Cash is paid through the sandbox gateway, which signs with ``SECRET``."""
    settings.CATALOG_PAYMENT_BACKEND = "sandbox"
    settings.SANDBOX_PAYMENT_SECRET = SECRET


def signed(body: bytes, key: str = SECRET) -> str:
    """The sandbox gateway's signature of ``body``: hex HMAC-SHA256."""
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest()


def urlopen_through(client, urls: list[str] | None = None) -> Callable:
    """A stand-in for ``urlopen`` in ``catalog.payments``: the gateway's HTTP POST reaches the real
    callback view through ``client`` (a Django test client); the URLs it was given go to ``urls``."""

    def urlopen(request, timeout):
        assert timeout == payments.CALLBACK_TIMEOUT_SECONDS
        if urls is not None:
            urls.append(request.full_url)
        response = client.post(
            urlsplit(request.full_url).path,
            data=request.data,
            content_type=request.get_header("Content-type"),
            headers={SIGNATURE_HEADER: request.get_header("X-sandbox-signature")},
        )
        if response.status_code >= 400:
            raise urllib.error.HTTPError(request.full_url, response.status_code, "", {}, io.BytesIO(response.content))
        return contextlib.nullcontext(SimpleNamespace(status=response.status_code, read=lambda _n=-1: response.content))

    return urlopen


@pytest.fixture
def category(db) -> Category:
    return Category.objects.create(name_zh="数码", name_en="Electronics", slug="electronics")


@pytest.fixture
def make_product(category) -> Callable[..., Product]:
    """A product on the shelf: physical, 500 points, 10 in stock, up to 5 per order, unless told otherwise."""

    def make(**fields) -> Product:
        values = {
            "name_zh": "测试商品",
            "name_en": "Test item",
            "category": category,
            "kind": ProductKind.PHYSICAL,
            "points_price": 500,
            "stock": 10,
            "per_order_limit": 5,
            "low_stock_threshold": 0,
        }
        values.update(fields)
        if values["kind"] == ProductKind.PRIVILEGE and "effect" not in fields:
            # A privilege on sale must do something (docs/decisions/0020): a 7-day Silver trial.
            values.update(effect=PrivilegeEffect.TIER_TRIAL, effect_tier="silver", effect_days=7)
        return Product.objects.create(**values)

    return make


@pytest.fixture
def make_codes(operator) -> Callable[[Product, int], list[str]]:
    """Import ``n`` codes into a product's pool through the service (stock rises by ``n``)."""

    def make(product: Product, n: int) -> list[str]:
        codes = [f"P{product.pk}-CODE-{i:04d}" for i in range(n)]
        report = catalog_services.codes_import(product_id=product.pk, text="\n".join(codes), actor_id=operator.pk)
        assert report.added == n
        return codes

    return make


@pytest.fixture
def fund(operator) -> Callable[..., None]:
    """Give a member points as an operator's adjustment (a new lot; tiers unaffected)."""
    counter = {"n": 0}

    def give(user, points: int) -> None:
        counter["n"] += 1
        points_services.points_adjust(
            user_id=user.pk,
            amount=points,
            reason="test funds",
            actor_id=operator.pk,
            idempotency_key=f"test-fund:{user.pk}:{counter['n']}",
        )

    return give


@pytest.fixture
def make_buyer(fund) -> Callable[..., object]:
    """A member with a payment PIN and ``points`` points."""

    def make(points: int = 2000):
        buyer = MemberFactory()
        accounts_services.pin_set(user_id=buyer.pk, pin=PIN)
        if points:
            fund(buyer, points)
        return buyer

    return make


@pytest.fixture
def buyer(make_buyer):
    return make_buyer(2000)


@pytest.fixture
def make_address() -> Callable[..., int]:
    def make(user, **fields) -> int:
        values = {
            "recipient": "王小明",
            "phone": "13800138000",
            "province": "上海市",
            "city": "上海市",
            "district": "浦东新区",
            "detail": "世纪大道 100 号",
            "postal_code": "200120",
        }
        values.update(fields)
        return accounts_services.address_create(user_id=user.pk, **values).id

    return make


@dataclass(frozen=True)
class Snapshot:
    orders: int
    order_events: int
    stock_movements: int
    entries: int
    lot_movements: int
    balances: dict
    lots: dict
    products: dict
    codes: dict
    pins: dict


def snapshot() -> Snapshot:
    """Everything a redemption could write, to assert that a refusal wrote none of it."""
    return Snapshot(
        orders=Order.objects.count(),
        order_events=OrderEvent.objects.count(),
        stock_movements=StockMovement.objects.count(),
        entries=Entry.objects.count(),
        lot_movements=LotMovement.objects.count(),
        balances=dict(Account.objects.values_list("user_id", "balance")),
        lots=dict(Lot.objects.values_list("pk", "remaining")),
        products={
            pk: (stock, sold, on_shelf)
            for pk, stock, sold, on_shelf in Product.objects.values_list("pk", "stock", "sold", "on_shelf")
        },
        codes={
            pk: (order_id, assigned_at)
            for pk, order_id, assigned_at in Code.objects.values_list("pk", "order_id", "assigned_at")
        },
        pins=dict(PaymentPin.objects.values_list("user_id", "failed_attempts")),
    )


@pytest.fixture
def nothing_written() -> Callable[..., AbstractContextManager[None]]:
    """``with nothing_written(), pytest.raises(X):`` — the block wrote no order, event, stock, points or code.

    ``pins_may_change=True`` for a wrong PIN, which is counted on purpose.
    """

    @contextmanager
    def check(*, pins_may_change: bool = False) -> Iterator[None]:
        before = snapshot()
        yield
        after = snapshot()
        if pins_may_change:
            after = replace(after, pins=before.pins)
        assert after == before

    return check


@pytest.fixture(autouse=True)
def _no_stale_flash_counters():
    """Primary keys come back after a rolled-back test: a counter left by one test must not gate the next."""
    from catalog import flash_gate

    def clear() -> None:
        connection = flash_gate.client()
        if connection is None:
            return
        try:
            for key in connection.scan_iter(match=f"{flash_gate.KEY_PREFIX}*", count=500):
                connection.delete(key)
        except redis.RedisError:
            pass  # no Redis running: the redis-marked tests are skipped, the others never reach it

    clear()
    yield
    clear()
