"""Operator input is validated as strictly as member input (issue #8, item 3; docs/decisions/0014).

The table below feeds every admin form whose values a service reads with wrong types,
empty, negative, huge and out-of-order values, through the real admin views as a
superuser. Each row must end with a readable form error on the page (status 200),
nothing written, and the mall still working for a member: the home page, the catalog,
the rules page, the tier page, a check-in and a purchase.

The tests below the table cover what no form can send: values already stored (read
defensively), the database's own check, the data migration, model validation on both
engines, and service-owned counters a form save must not overwrite.
"""

from __future__ import annotations

import html
import importlib
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.test import Client
from django.utils import timezone

from catalog.admin.forms import ProductForm
from catalog.enums import ProductKind
from catalog.models import Category, Code, Product, ProductImage, SalePrice, StockMovement
from points import rules
from points import services as points_services
from points.admin_forms import CampaignForm
from points.enums import EarningSource
from points.models import (
    Campaign,
    EarningRule,
    Entry,
    ExpiryPolicy,
    Purchase,
    PurchasePolicy,
    PurchaseRate,
    RulesPage,
    Tier,
    TierPolicy,
)
from tests.factories import MemberFactory, StaffFactory

HUGE = str(10**30)
INT64 = str(2**63)
ABOVE_INT = str(2**31)  # one above Postgres' integer; SQLite would store it
ABOVE_SMALL = "32768"  # one above Postgres' smallint
REQUIRED = "This field is required."
WHOLE = "Enter a whole number."
NUMBER = "Enter a number."
INT_CEILING = "Ensure this value is less than or equal to 2147483647."
SMALL_CEILING = "Ensure this value is less than or equal to 32767."
NOT_NEGATIVE = "Ensure this value is greater than or equal to 0."
AT_LEAST_ONE = "Ensure this value is greater than or equal to 1."


def at_most(limit) -> str:
    return f"Ensure this value is less than or equal to {limit}."


def digits(n: int) -> str:
    return f"Ensure that there are no more than {n} digits in total."


def invalid_choice(value: str) -> str:
    return f"Select a valid choice. {value} is not one of the available choices."


# --- The mall the forms edit --------------------------------------------------------------


@pytest.fixture
def mall(db, settings, tmp_path):
    """A category, a physical item, a coupon item, a product near the stock ceiling, a
    running budgeted campaign with some budget used, and a purchase rate."""
    settings.ADMIN_REQUIRE_MFA = False
    settings.MEDIA_ROOT = tmp_path
    category = Category.objects.create(name_zh="数码", name_en="Electronics", slug="electronics")
    Product.objects.create(
        name_zh="电水壶", name_en="Kettle", category=category, points_price=500, stock=10, low_stock_threshold=0
    )
    Product.objects.create(
        name_zh="代金券", name_en="Voucher", category=category, kind=ProductKind.COUPON, points_price=300, stock=0
    )
    Product.objects.create(
        name_zh="散装", name_en="Bulk", category=category, points_price=10, stock=2_147_483_640, low_stock_threshold=0
    )
    now = timezone.now()
    campaign = Campaign.objects.create(
        name="Spring double",
        multiplier=Decimal(2),
        starts_at=now - timedelta(days=30),
        ends_at=now - timedelta(days=1),
        sources=["review"],
        budget=1000,
    )
    Campaign.objects.filter(pk=campaign.pk).update(budget_used=500)
    PurchaseRate.objects.create(scope="category", key="books", points_per_yuan=Decimal(2))
    return category


@pytest.fixture
def admin(mall) -> Client:
    client = Client()
    client.force_login(StaffFactory())
    return client


@pytest.fixture
def shopper(db):
    member = MemberFactory()
    client = Client()
    client.force_login(member)
    return member, client


def assert_mall_works(shopper) -> None:
    """Every member page that reads operator settings renders, and earning still pays exactly."""
    member, client = shopper
    for url in ("/", "/mall/products/", "/rules/", "/points/tier/"):
        assert client.get(url).status_code == 200, url
    checkin = points_services.points_award(
        user_id=member.pk, source=EarningSource.CHECKIN, idempotency_key=f"checkin:{uuid.uuid4()}"
    )
    assert checkin.granted == 5
    purchase = points_services.purchase_record(
        user_id=member.pk, external_id=f"shop-{uuid.uuid4().hex[:12]}", amount=Decimal("10.00")
    )
    assert purchase.points == 10
    assert points_services.points_verify().ok


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def rows(*models) -> list:
    """Everything a form may write: each model's rows, and its change history when it keeps one."""
    out: list = []
    for model in models:
        out.append(list(model.objects.order_by("pk").values()))
        if hasattr(model, "history"):
            out.append(model.history.count())
    return out


def _pk(model, **lookup) -> int:
    return model.objects.values_list("pk", flat=True).get(**lookup)


def _dt(prefix: str, day: str, clock: str = "00:00") -> dict:
    return {f"{prefix}_0": day, f"{prefix}_1": clock}


# --- The forms: where each posts, a valid submission, and what it may write ---------------


@dataclass(frozen=True)
class AdminForm:
    url: Callable[[], str]
    data: Callable[[], dict]
    written: Callable[[], list]
    saved_status: int = 302
    files: Callable[[], dict] = field(default=lambda: {})


UNSAFE_TEXT = "Remove the invisible or direction-changing character U+%s: members would see the text garbled."


def _campaign_data() -> dict:
    return {
        "name": "May double points",
        "multiplier": "2",
        **_dt("starts_at", "2099-05-01"),
        **_dt("ends_at", "2099-05-08"),
        "sources": ["purchase", "review"],
        "budget": "",
        "active": "on",
    }


def _campaign_change_data() -> dict:
    return {
        "name": "Spring double",
        "multiplier": "2",
        **_dt("starts_at", "2099-03-01"),
        **_dt("ends_at", "2099-03-31"),
        "sources": ["review"],
        "budget": "1200",
        "active": "on",
    }


def _tier_data(code: str) -> dict:
    tier = Tier.objects.get(code=code)
    return {
        "code": tier.code,
        "rank": str(tier.rank),
        "name_zh": tier.name_zh,
        "name_en": tier.name_en,
        "threshold": str(tier.threshold),
        "price_percent": str(tier.price_percent),
        "earn_multiplier": str(tier.earn_multiplier),
        "monthly_free_draws": str(tier.monthly_free_draws),
    }


def _new_tier_data() -> dict:
    return {
        "code": "platinum",
        "rank": "4",
        "name_zh": "铂金会员",
        "name_en": "Platinum",
        "threshold": "50000",
        "price_percent": "70",
        "earn_multiplier": "2.00",
        "monthly_free_draws": "5",
    }


def _product_data() -> dict:
    return {
        "name_zh": "保温杯",
        "name_en": "Tumbler",
        "category": str(_pk(Category, slug="electronics")),
        "kind": ProductKind.PHYSICAL,
        "description_zh": "",
        "description_en": "",
        "market_price": "89.00",
        "points_price": "1500",
        "cash_price": "0",
        "initial_stock": "30",
        "low_stock_threshold": "5",
        "min_tier_rank": "0",
        "per_order_limit": "5",
        "per_day_limit": "",
        "lifetime_limit": "",
        "on_shelf": "on",
        "sort_weight": "0",
        **_dt("sale_starts_at", "", ""),
        **_dt("sale_ends_at", "", ""),
        "coupon_valid_days": "30",
        "supplier": "",
        "cost_price": "",
        "images-TOTAL_FORMS": "0",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        "sale_prices-TOTAL_FORMS": "0",
        "sale_prices-INITIAL_FORMS": "0",
        "sale_prices-MIN_NUM_FORMS": "0",
        "sale_prices-MAX_NUM_FORMS": "1000",
    }


def _product_change_data() -> dict:
    data = _product_data()
    del data["initial_stock"]
    data.update({"name_zh": "电水壶", "name_en": "Kettle", "points_price": "450"})
    return data


def _sale_price_data() -> dict:
    return {
        "product": str(_pk(Product, name_en="Kettle")),
        "points_price": "400",
        **_dt("starts_at", "2099-05-01"),
        **_dt("ends_at", "2099-05-08"),
    }


def _category_list_data() -> dict:
    return {
        "form-TOTAL_FORMS": "1",
        "form-INITIAL_FORMS": "1",
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "form-0-id": str(_pk(Category, slug="electronics")),
        "form-0-sort": "3",
        "form-0-active": "on",
        "_save": "Save",
    }


def _product_url(name: str, page: str) -> Callable[[], str]:
    return lambda: f"/admin/catalog/product/{_pk(Product, name_en=name)}/{page}/"


def _catalog_rows() -> list:
    return rows(Product, ProductImage, SalePrice, StockMovement, Code, Category)


def _rule_url(source: str) -> Callable[[], str]:
    return lambda: f"/admin/points/earningrule/{_pk(EarningRule, source=source)}/change/"


def _tier_url(code: str) -> Callable[[], str]:
    return lambda: f"/admin/points/tier/{_pk(Tier, code=code)}/change/"


def _codes_file(content: bytes, name: str = "codes.csv") -> Callable[[], dict]:
    return lambda: {"file": SimpleUploadedFile(name, content, "text/csv")}


FORMS: dict[str, AdminForm] = {
    "campaign add": AdminForm(
        lambda: "/admin/points/campaign/add/", _campaign_data, lambda: rows(Campaign, Campaign.tiers.through)
    ),
    "campaign change": AdminForm(
        lambda: f"/admin/points/campaign/{_pk(Campaign, name='Spring double')}/change/",
        _campaign_change_data,
        lambda: rows(Campaign, Campaign.tiers.through),
    ),
    "tier add": AdminForm(lambda: "/admin/points/tier/add/", _new_tier_data, lambda: rows(Tier)),
    "tier change: regular": AdminForm(_tier_url("regular"), lambda: _tier_data("regular"), lambda: rows(Tier)),
    "tier change: silver": AdminForm(
        _tier_url("silver"), lambda: {**_tier_data("silver"), "name_en": "Silver+"}, lambda: rows(Tier)
    ),
    "tier change: gold": AdminForm(_tier_url("gold"), lambda: _tier_data("gold"), lambda: rows(Tier)),
    "tier policy": AdminForm(
        lambda: "/admin/points/tierpolicy/1/change/",
        lambda: {"window_months": "6", "max_downgrade_steps": "1", "warn_days_before": "14"},
        lambda: rows(TierPolicy),
    ),
    "expiry policy": AdminForm(
        lambda: "/admin/points/expirypolicy/1/change/",
        lambda: {"mode": "rolling", "months": "24", "rounding": "day", "reminder_days": "30"},
        lambda: rows(ExpiryPolicy),
    ),
    "earning rule: review": AdminForm(
        _rule_url("review"),
        lambda: {
            "points": "8",
            "daily_cap": "50",
            "weekly_cap": "",
            "monthly_cap": "",
            "apply_multipliers": "on",
            "active": "on",
        },
        lambda: rows(EarningRule),
    ),
    "purchase policy": AdminForm(
        lambda: "/admin/points/purchasepolicy/1/change/",
        lambda: {"points_per_yuan": "1.00", "pending_days": "10"},
        lambda: rows(PurchasePolicy),
    ),
    "purchase rate add": AdminForm(
        lambda: "/admin/points/purchaserate/add/",
        lambda: {"scope": "sku", "key": "SKU-1", "points_per_yuan": "2", "excluded": ""},
        lambda: rows(PurchaseRate),
    ),
    "rules page": AdminForm(
        lambda: "/admin/points/rulespage/1/change/",
        lambda: {"title_zh": "积分规则", "body_zh": "正文", "title_en": "Points rules", "body_en": "Text"},
        lambda: rows(RulesPage),
    ),
    "product add": AdminForm(lambda: "/admin/catalog/product/add/", _product_data, _catalog_rows),
    "product change": AdminForm(_product_url("Kettle", "change"), _product_change_data, _catalog_rows),
    "sale price add": AdminForm(lambda: "/admin/catalog/saleprice/add/", _sale_price_data, _catalog_rows),
    "category add": AdminForm(
        lambda: "/admin/catalog/category/add/",
        lambda: {"name_zh": "图书", "name_en": "Books", "slug": "books", "parent": "", "sort": "1", "active": "on"},
        _catalog_rows,
    ),
    "category list": AdminForm(lambda: "/admin/catalog/category/", _category_list_data, _catalog_rows),
    "stock adjust": AdminForm(
        _product_url("Kettle", "stock"),
        lambda: {"kind": "restock", "delta": "5", "reason": "Delivery note 42"},
        _catalog_rows,
    ),
    "stock adjust: near the ceiling": AdminForm(
        _product_url("Bulk", "stock"),
        lambda: {"kind": "restock", "delta": "7", "reason": "Delivery note 43"},
        _catalog_rows,
    ),
    "code import": AdminForm(
        _product_url("Voucher", "codes"), lambda: {"text": "CODE-0001\nCODE-0002"}, _catalog_rows, saved_status=200
    ),
}


# --- The table ---------------------------------------------------------------------------

_REVERSED_WINDOW = {**_dt("starts_at", "2099-05-08"), **_dt("ends_at", "2099-05-01")}
_EMPTY_WINDOW = {**_dt("starts_at", "2099-05-01", "10:00"), **_dt("ends_at", "2099-05-01", "10:00")}
_TOO_LONG = "x" * 20_001

CASES = [
    # form                       values sent                                   the error shown
    ("campaign add", {"name": ""}, REQUIRED),
    ("campaign add", {"multiplier": "abc"}, NUMBER),
    ("campaign add", {"multiplier": ""}, REQUIRED),
    ("campaign add", {"multiplier": "-2"}, "Ensure this value is greater than or equal to 1.01."),
    ("campaign add", {"multiplier": "1"}, "Ensure this value is greater than or equal to 1.01."),
    ("campaign add", {"multiplier": "20"}, at_most(10)),
    ("campaign add", {"multiplier": HUGE}, digits(4)),
    ("campaign add", {"sources": "5"}, invalid_choice("5")),
    ("campaign add", {"sources": "nonsense"}, invalid_choice("nonsense")),
    ("campaign add", {"sources": '["purchase"]'}, invalid_choice('["purchase"]')),
    ("campaign add", {"sources": "purchase,checkin"}, invalid_choice("purchase,checkin")),
    (
        "campaign add",
        {"sources": ["review", "signup"]},
        "Campaigns don't change these points (their earning rule has multipliers off): Sign-up bonus.",
    ),
    # The lottery has no page yet and its rule has multipliers off: refused either way (0020).
    (
        "campaign add",
        {"sources": ["lottery", "review"]},
        "Campaigns don't change these points (their earning rule has multipliers off): Prize draw.",
    ),
    # A leaderboard prize is what its band says: no campaign multiplies it.
    ("campaign add", {"sources": ["leaderboard"]}, invalid_choice("leaderboard")),
    ("campaign add", {"name": "abc\u202eevil"}, UNSAFE_TEXT % "202E"),
    ("campaign add", {"name_en": "Double\u200bweek"}, UNSAFE_TEXT % "200B"),
    ("campaign add", {"starts_at_0": "2026-13-45"}, "Enter a valid date."),
    ("campaign add", {"ends_at_1": "25:61"}, "Enter a valid time."),
    ("campaign add", {"ends_at_0": "", "ends_at_1": ""}, REQUIRED),
    ("campaign add", _REVERSED_WINDOW, "The campaign must end after it starts."),
    ("campaign add", _EMPTY_WINDOW, "The campaign must end after it starts."),
    ("campaign add", {"budget": "abc"}, WHOLE),
    ("campaign add", {"budget": "1.5"}, WHOLE),
    ("campaign add", {"budget": "-1"}, AT_LEAST_ONE),
    ("campaign add", {"budget": "0"}, AT_LEAST_ONE),
    ("campaign add", {"budget": ABOVE_INT}, INT_CEILING),
    ("campaign add", {"budget": INT64}, INT_CEILING),
    ("campaign add", {"budget": HUGE}, INT_CEILING),
    ("campaign change", {"budget": "100"}, "The budget can't be less than the 500 extra points already given."),
    ("campaign change", {"multiplier": "0.5"}, "Ensure this value is greater than or equal to 1.01."),
    ("campaign change", _REVERSED_WINDOW, "The campaign must end after it starts."),
    ("tier add", {"code": ""}, REQUIRED),
    ("tier add", {"name_en": "Plat\u202einum"}, UNSAFE_TEXT % "202E"),
    ("tier add", {"code": "gold"}, "Tier with this Tier code already exists."),
    ("tier add", {"rank": "2"}, "Tier with this Rank already exists."),
    ("tier add", {"rank": "-1"}, NOT_NEGATIVE),
    ("tier add", {"rank": ABOVE_SMALL}, SMALL_CEILING),
    ("tier add", {"rank": "abc"}, WHOLE),
    ("tier add", {"threshold": ""}, REQUIRED),
    ("tier add", {"threshold": "-5"}, NOT_NEGATIVE),
    ("tier add", {"threshold": ABOVE_INT}, INT_CEILING),
    ("tier add", {"threshold": HUGE}, INT_CEILING),
    (
        "tier add",
        {"threshold": "15000"},
        "Must be more than 20000, the points Diamond / 钻石会员 needs: each rank up needs more.",
    ),
    ("tier add", {"price_percent": "0"}, AT_LEAST_ONE),
    ("tier add", {"price_percent": "101"}, at_most(100)),
    (
        "tier add",
        {"price_percent": "80"},
        "Can't be above 75, what Diamond / 钻石会员 pays: a higher rank pays no more.",
    ),
    ("tier add", {"earn_multiplier": "0.5"}, "Ensure this value is greater than or equal to 1."),
    ("tier add", {"earn_multiplier": "11"}, at_most(10)),
    ("tier add", {"earn_multiplier": HUGE}, digits(4)),
    ("tier add", {"earn_multiplier": "NaN"}, NUMBER),
    (
        "tier add",
        {"earn_multiplier": "1.20"},
        "Can't be below ×1.50, what Diamond / 钻石会员 earns: a higher rank earns no less.",
    ),
    ("tier add", {"monthly_free_draws": "-1"}, NOT_NEGATIVE),
    ("tier add", {"monthly_free_draws": HUGE}, at_most(100)),
    ("tier change: regular", {"threshold": "10"}, "The entry tier (the lowest rank) needs 0 points."),
    (
        "tier change: silver",
        {"threshold": "6000"},
        "Must be less than 5000, the points Gold / 金牌会员 needs: each rank up needs more.",
    ),
    (
        "tier change: silver",
        {"threshold": "5000"},
        "Must be less than 5000, the points Gold / 金牌会员 needs: each rank up needs more.",
    ),
    (
        "tier change: silver",
        {"threshold": "0"},
        "Must be more than 0, the points Regular / 普通会员 needs: each rank up needs more.",
    ),
    (
        "tier change: silver",
        {"price_percent": "80"},
        "Can't be below 85, what Gold / 金牌会员 pays: a higher rank pays no more.",
    ),
    (
        "tier change: silver",
        {"earn_multiplier": "1.30"},
        "Can't be above ×1.20, what Gold / 金牌会员 earns: a higher rank earns no less.",
    ),
    (
        "tier change: gold",
        {"threshold": "500"},
        "Must be more than 1000, the points Silver / 银牌会员 needs: each rank up needs more.",
    ),
    ("tier change: gold", {"rank": "3"}, "Tier with this Rank already exists."),
    ("tier policy", {"window_months": "0"}, AT_LEAST_ONE),
    ("tier policy", {"window_months": "121"}, at_most(120)),
    ("tier policy", {"window_months": HUGE}, at_most(120)),
    ("tier policy", {"window_months": ""}, REQUIRED),
    ("tier policy", {"window_months": "twelve"}, WHOLE),
    ("tier policy", {"max_downgrade_steps": "0"}, AT_LEAST_ONE),
    ("tier policy", {"max_downgrade_steps": INT64}, at_most(100)),
    ("tier policy", {"warn_days_before": "-1"}, NOT_NEGATIVE),
    ("tier policy", {"warn_days_before": "32"}, at_most(31)),
    ("expiry policy", {"mode": "forever"}, invalid_choice("forever")),
    ("expiry policy", {"months": "0"}, AT_LEAST_ONE),
    ("expiry policy", {"months": "121"}, at_most(120)),
    ("expiry policy", {"months": ABOVE_SMALL}, at_most(120)),
    ("expiry policy", {"months": ""}, REQUIRED),
    ("expiry policy", {"rounding": "week"}, invalid_choice("week")),
    ("expiry policy", {"reminder_days": "-1"}, NOT_NEGATIVE),
    ("expiry policy", {"reminder_days": "366"}, at_most(365)),
    ("earning rule: review", {"points": "0"}, "Enter at least 1 point, or switch the rule off."),
    ("earning rule: review", {"points": "-5"}, NOT_NEGATIVE),
    ("earning rule: review", {"points": ""}, REQUIRED),
    ("earning rule: review", {"points": "five"}, WHOLE),
    ("earning rule: review", {"points": ABOVE_INT}, INT_CEILING),
    ("earning rule: review", {"points": HUGE}, INT_CEILING),
    ("earning rule: review", {"daily_cap": "0"}, AT_LEAST_ONE),
    ("earning rule: review", {"daily_cap": INT64}, INT_CEILING),
    ("earning rule: review", {"weekly_cap": "20"}, "A longer period's limit can't be below a shorter period's (50)."),
    ("earning rule: review", {"monthly_cap": "40"}, "A longer period's limit can't be below a shorter period's (50)."),
    (
        "earning rule: review",
        {"weekly_cap": "100", "monthly_cap": "60"},
        "A longer period's limit can't be below a shorter period's (100).",
    ),
    ("purchase policy", {"points_per_yuan": "-1"}, NOT_NEGATIVE),
    ("purchase policy", {"points_per_yuan": "1001"}, at_most(1000)),
    ("purchase policy", {"points_per_yuan": HUGE}, digits(6)),
    ("purchase policy", {"points_per_yuan": "NaN"}, NUMBER),
    ("purchase policy", {"points_per_yuan": "one"}, NUMBER),
    ("purchase policy", {"points_per_yuan": ""}, REQUIRED),
    ("purchase policy", {"pending_days": "-1"}, NOT_NEGATIVE),
    ("purchase policy", {"pending_days": "366"}, at_most(365)),
    ("purchase policy", {"pending_days": HUGE}, at_most(365)),
    ("purchase rate add", {"scope": "brand"}, invalid_choice("brand")),
    ("purchase rate add", {"key": ""}, REQUIRED),
    ("purchase rate add", {"key": "   "}, REQUIRED),
    ("purchase rate add", {"points_per_yuan": ""}, "Enter the points per yuan, or tick “earns no points”."),
    (
        "purchase rate add",
        {"excluded": "on"},
        "An item that earns no points has no rate: leave it empty.",
    ),
    ("purchase rate add", {"points_per_yuan": "-1"}, NOT_NEGATIVE),
    ("purchase rate add", {"points_per_yuan": "1001"}, at_most(1000)),
    ("purchase rate add", {"points_per_yuan": INT64}, digits(6)),
    (
        "purchase rate add",
        {"scope": "category", "key": "books"},
        "Purchase rate with this Applies to and Category or SKU already exists.",
    ),
    ("rules page", {"title_zh": ""}, REQUIRED),
    ("rules page", {"title_en": "x" * 101}, "Ensure this value has at most 100 characters (it has 101)."),
    ("rules page", {"body_en": _TOO_LONG}, "Ensure this value has at most 20000 characters (it has 20001)."),
    ("product add", {"name_zh": ""}, REQUIRED),
    ("product add", {"name_en": "Um\u200bbrella"}, UNSAFE_TEXT % "200B"),
    ("product add", {"description_zh": "好\u202e伞"}, UNSAFE_TEXT % "202E"),
    ("product add", {"category": ""}, REQUIRED),
    ("product add", {"category": "999999"}, "Select a valid choice. That choice is not one of the available choices."),
    ("product add", {"kind": "gold"}, invalid_choice("gold")),
    ("product add", {"points_price": ""}, REQUIRED),
    ("product add", {"points_price": "abc"}, WHOLE),
    ("product add", {"points_price": "0"}, AT_LEAST_ONE),
    ("product add", {"points_price": "-1"}, AT_LEAST_ONE),
    ("product add", {"points_price": ABOVE_INT}, INT_CEILING),
    ("product add", {"points_price": HUGE}, INT_CEILING),
    (
        "product add",
        {"points_price": "70000"},
        "One order may use at most 50000 points, so no member could redeem this item: lower the price.",
    ),
    ("product add", {"cash_price": "-1"}, NOT_NEGATIVE),
    ("product add", {"cash_price": "abc"}, NUMBER),
    ("product add", {"cash_price": HUGE}, digits(10)),
    (
        "product add",
        {"cash_price": "30000000"},
        "An order of 5 would cost more than ¥99999999.99: lower the cash part or the max per order.",
    ),
    ("product add", {"market_price": "-1"}, NOT_NEGATIVE),
    ("product add", {"cost_price": "-0.01"}, NOT_NEGATIVE),
    ("product add", {"per_order_limit": "0"}, AT_LEAST_ONE),
    ("product add", {"per_order_limit": ""}, REQUIRED),
    ("product add", {"per_order_limit": ABOVE_SMALL}, SMALL_CEILING),
    ("product add", {"per_day_limit": "0"}, AT_LEAST_ONE),
    ("product add", {"per_day_limit": "2"}, "Can't be below the max per order (5)."),
    ("product add", {"per_day_limit": HUGE}, SMALL_CEILING),
    ("product add", {"lifetime_limit": "3"}, "Can't be below the max per order (5)."),
    ("product add", {"per_day_limit": "10", "lifetime_limit": "6"}, "Can't be below the max a day (10)."),
    ("product add", {"lifetime_limit": "-3"}, AT_LEAST_ONE),
    ("product add", {"min_tier_rank": "9"}, invalid_choice("9")),
    ("product add", {"coupon_valid_days": "0"}, AT_LEAST_ONE),
    ("product add", {"coupon_valid_days": "3651"}, at_most(3650)),
    ("product add", {"sort_weight": ABOVE_INT}, INT_CEILING),
    ("product add", {"sort_weight": str(-(2**31) - 1)}, "Ensure this value is greater than or equal to -2147483648."),
    ("product add", {"low_stock_threshold": "-1"}, NOT_NEGATIVE),
    ("product add", {"low_stock_threshold": ABOVE_INT}, INT_CEILING),
    ("product add", {"initial_stock": "-1"}, NOT_NEGATIVE),
    ("product add", {"initial_stock": "1000001"}, at_most(1000000)),
    (
        "product add",
        {**_dt("sale_starts_at", "2099-05-02"), **_dt("sale_ends_at", "2099-05-01")},
        "The sale must end after it starts.",
    ),
    ("product add", {"flash_sale": "on"}, "A flash sale needs both a start and an end."),
    (
        "product add",
        {
            "sale_prices-TOTAL_FORMS": "1",
            "sale_prices-0-points_price": "1600",
            **_dt("sale_prices-0-starts_at", "2099-05-01"),
            **_dt("sale_prices-0-ends_at", "2099-05-08"),
        },
        "A sale price must be lower than the regular price.",
    ),
    ("product change", {"points_price": "0"}, AT_LEAST_ONE),
    ("product change", {"points_price": ABOVE_INT}, INT_CEILING),
    ("product change", {"per_day_limit": "2"}, "Can't be below the max per order (5)."),
    (
        "product change",
        {**_dt("sale_starts_at", "2099-05-02"), **_dt("sale_ends_at", "2099-05-01")},
        "The sale must end after it starts.",
    ),
    ("sale price add", {"product": ""}, REQUIRED),
    ("sale price add", {"points_price": "500"}, "A sale price must be lower than the regular price."),
    ("sale price add", {"points_price": "0"}, AT_LEAST_ONE),
    ("sale price add", {"points_price": "-400"}, AT_LEAST_ONE),
    ("sale price add", {"points_price": "abc"}, WHOLE),
    ("sale price add", {"points_price": HUGE}, INT_CEILING),
    ("sale price add", _REVERSED_WINDOW, "The sale price must end after it starts."),
    ("sale price add", {"starts_at_0": "yesterday"}, "Enter a valid date."),
    ("category add", {"name_en": ""}, REQUIRED),
    ("category add", {"slug": "bad slug!"}, "Enter a valid “slug” consisting of letters, numbers, underscores"),
    ("category add", {"slug": "electronics"}, "Category with this Slug already exists."),
    ("category add", {"sort": "-1"}, NOT_NEGATIVE),
    ("category add", {"sort": ABOVE_SMALL}, SMALL_CEILING),
    ("category add", {"sort": "first"}, WHOLE),
    ("category list", {"form-0-sort": HUGE}, SMALL_CEILING),
    ("category list", {"form-0-sort": "-3"}, NOT_NEGATIVE),
    ("stock adjust", {"delta": ""}, REQUIRED),
    ("stock adjust", {"delta": "many"}, WHOLE),
    ("stock adjust", {"delta": "0"}, "Enter a number other than zero."),
    ("stock adjust", {"delta": "-5"}, "A restock adds goods: use a correction to remove some."),
    ("stock adjust", {"kind": "correction", "delta": "-11"}, "Stock can't go below zero: 10 left, change -11."),
    ("stock adjust", {"delta": HUGE}, at_most(1000000)),
    (
        "stock adjust",
        {"kind": "correction", "delta": f"-{HUGE}"},
        "Ensure this value is greater than or equal to -1000000.",
    ),
    ("stock adjust", {"kind": "steal"}, invalid_choice("steal")),
    ("stock adjust", {"reason": "  "}, "A reason is required."),
    ("stock adjust: near the ceiling", {"delta": "8"}, "The stock can't go above 2147483647."),
    ("code import", {"text": ""}, "Choose a CSV file or paste some codes."),
    ("code import", {"text": "  \n  "}, "Choose a CSV file or paste some codes."),
]

CODE_FILE_CASES = [
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00", "This is not a text file. Upload a UTF-8 CSV file."),
    ("latin-1", "CAFÉ-1\n".encode("latin-1"), "The file is not UTF-8 text."),
    ("too large", b"A" * (2 * 1024 * 1024 + 1), "The file is too large: at most 2 MB per import."),
]


def _post(admin: Client, form: AdminForm, overrides: dict, files: dict | None = None):
    data = {**form.data(), **overrides}
    return admin.post(form.url(), {**data, **(files if files is not None else form.files())})


@pytest.mark.parametrize("name", list(FORMS))
def test_each_form_saves_valid_input_and_the_mall_still_works(admin, shopper, name):
    """The baseline of every row below: the same form with good values is saved."""
    form = FORMS[name]
    before = form.written()
    response = _post(admin, form, {})
    assert response.status_code == form.saved_status, page_text(response)[:3000]
    assert form.written() != before
    assert_mall_works(shopper)


@pytest.mark.parametrize(
    ("name", "values", "message"),
    CASES,
    ids=[
        f"{name}: {', '.join(f'{k}={str(v)[:24]}' for k, v in values.items()) or 'as is'}"
        for name, values, message in CASES
    ],
)
def test_bad_admin_input_is_refused_with_a_clear_error_and_nothing_is_written(admin, shopper, name, values, message):
    form = FORMS[name]
    before = form.written()
    response = _post(admin, form, values)
    assert response.status_code == 200
    assert message in page_text(response)
    assert form.written() == before
    assert_mall_works(shopper)


@pytest.mark.parametrize(("kind", "content", "message"), CODE_FILE_CASES, ids=[c[0] for c in CODE_FILE_CASES])
def test_bad_code_files_are_refused_with_a_clear_error_and_nothing_is_written(admin, shopper, kind, content, message):
    form = FORMS["code import"]
    before = form.written()
    response = _post(admin, form, {"text": ""}, files=_codes_file(content)())
    assert response.status_code == 200
    assert message in page_text(response)
    assert form.written() == before
    assert_mall_works(shopper)


def test_a_code_file_and_pasted_codes_together_are_refused(admin, shopper):
    form = FORMS["code import"]
    before = form.written()
    response = _post(admin, form, {}, files=_codes_file(b"CODE-9\n")())
    assert response.status_code == 200
    assert "Choose a CSV file or paste codes, not both." in page_text(response)
    assert form.written() == before


# --- What no form can send: stored values, the database check, the data migration ----------


@contextmanager
def sources_check_off():
    """Let a test store what the database check refuses, like a row saved before the check existed."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA ignore_check_constraints = ON")
            try:
                yield
            finally:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
        else:
            # Put back as NOT VALID: new writes are checked again, the rows stored meanwhile stay.
            name = "points_campaign_sources_known"
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s AND contype = 'c'", [name]
            )
            (definition,) = cursor.fetchone()
            cursor.execute(f"ALTER TABLE points_campaign DROP CONSTRAINT {name}")
            try:
                yield
            finally:
                cursor.execute(f"ALTER TABLE points_campaign ADD CONSTRAINT {name} {definition} NOT VALID")


def _running_campaign(name: str, sources, **fields) -> Campaign:
    now = timezone.now()
    campaign = Campaign.objects.create(
        name=name,
        multiplier=Decimal(2),
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=1),
        **fields,
    )
    with sources_check_off():
        Campaign.objects.filter(pk=campaign.pk).update(sources=sources)
    return campaign


STORED_SOURCES = [
    # stored value, check-in points (rule: 5), purchase points (¥10), announced on the pages
    (5, 5, 10, False),
    ({"purchase": True}, 5, 10, False),
    (["nonsense"], 5, 10, False),
    ("purchase", 5, 20, True),
    ("first_purchase", 5, 10, True),  # was a substring match for "purchase"
    # Applies to check-ins, and is announced now that the check-in page exists (0020, 0024).
    ([5, "checkin"], 10, 10, True),
    ([5, "checkin", "purchase"], 10, 20, True),
    ("", 10, 20, True),
]


@pytest.mark.parametrize(("stored", "checkin", "purchase", "announced"), STORED_SOURCES, ids=repr)
def test_a_stored_campaign_never_breaks_a_page_or_an_earning(shopper, stored, checkin, purchase, announced):
    member, client = shopper
    _running_campaign("Odd campaign", stored)
    for url in ("/", "/mall/products/", "/rules/", "/points/tier/"):
        assert client.get(url).status_code == 200, url
    assert ("Odd campaign" in page_text(client.get("/"))) is announced
    assert ("Odd campaign" in page_text(client.get("/rules/"))) is announced
    award = points_services.points_award(user_id=member.pk, source=EarningSource.CHECKIN, idempotency_key="c-1")
    assert award.granted == checkin
    recorded = points_services.purchase_record(user_id=member.pk, external_id="shop-1", amount=Decimal("10.00"))
    assert recorded.points == purchase
    assert points_services.points_verify().ok


@pytest.mark.parametrize(
    ("stored", "known"),
    [
        (None, None),
        ([], None),
        ("  ", None),
        (["purchase", "checkin"], {"purchase", "checkin"}),
        ("purchase, checkin", {"purchase", "checkin"}),
        ("first_purchase", {"first_purchase"}),
        ([5, "checkin", None], {"checkin"}),
        (["nonsense"], set()),
        (5, set()),
        (0, set()),
        (True, set()),
        ({"purchase": 1}, set()),
    ],
    ids=repr,
)
def test_campaign_sources_are_read_defensively(stored, known):
    assert rules.campaign_sources(stored) == (None if known is None else frozenset(known))


@pytest.mark.parametrize(
    "stored", [5, "purchase", ["nonsense"], {"purchase": 1}, ["purchase", 5], [["purchase"]]], ids=repr
)
def test_the_database_refuses_sources_it_does_not_know(db, stored):
    campaign = _running_campaign("Checked", ["checkin"])
    with pytest.raises(IntegrityError), transaction.atomic():
        Campaign.objects.filter(pk=campaign.pk).update(sources=stored)
    assert Campaign.objects.get(pk=campaign.pk).sources == ["checkin"]


@pytest.mark.parametrize("stored", [[], ["purchase"], ["purchase", "checkin", "first_purchase"]], ids=repr)
def test_the_database_accepts_known_sources(db, stored):
    campaign = _running_campaign("Checked", ["checkin"])
    Campaign.objects.filter(pk=campaign.pk).update(sources=stored)
    assert Campaign.objects.get(pk=campaign.pk).sources == stored


NOT_A_LIST = "Choose the sources from the list (a list of earning sources, or none for every source)."


@pytest.mark.parametrize(
    ("sources", "message"),
    [
        (5, NOT_A_LIST),
        ("purchase", NOT_A_LIST),
        ([5], NOT_A_LIST),
        (["nonsense"], "Unknown earning source: nonsense."),
        (["checkin", "checkin"], "Each source can be chosen once."),
    ],
    ids=repr,
)
def test_model_validation_refuses_bad_sources(db, sources, message):
    now = timezone.now()
    campaign = Campaign(name="x", starts_at=now, ends_at=now + timedelta(days=1), sources=sources)
    with pytest.raises(ValidationError) as refused:
        campaign.full_clean()
    assert refused.value.message_dict["sources"] == [message]


def test_the_data_migration_repairs_stored_sources_and_policies_and_is_idempotent(db):
    migration = importlib.import_module("points.migrations.0011_fix_operator_input")
    stored = {
        "number": 5,
        "string": "purchase",
        "string list": "checkin, review",
        "nonsense": ["nonsense"],
        "mixed": [5, "review", "checkin", "review"],
        "every source": [],
        "fine": ["purchase", "checkin"],
    }
    ids = {name: _running_campaign(name, value).pk for name, value in stored.items()}
    ExpiryPolicy.objects.filter(pk=1).update(months=500, reminder_days=400)
    TierPolicy.objects.filter(pk=1).update(window_months=200, warn_days_before=90, max_downgrade_steps=300)
    PurchasePolicy.objects.filter(pk=1).update(pending_days=1000)

    migration.fix_rows(django_apps, None)

    after = {name: Campaign.objects.values_list("sources", "active").get(pk=pk) for name, pk in ids.items()}
    assert after == {
        "number": ([], False),
        "string": (["purchase"], True),
        "string list": (["review", "checkin"], True),
        "nonsense": ([], False),
        "mixed": (["review", "checkin"], True),
        "every source": ([], True),
        "fine": (["purchase", "checkin"], True),
    }
    assert ExpiryPolicy.objects.values_list("months", "reminder_days").get() == (120, 365)
    assert TierPolicy.objects.values_list("window_months", "warn_days_before", "max_downgrade_steps").get() == (
        120,
        31,
        100,
    )
    assert PurchasePolicy.objects.values_list("pending_days", flat=True).get() == 365
    snapshot = rows(Campaign, ExpiryPolicy, TierPolicy, PurchasePolicy)
    migration.fix_rows(django_apps, None)
    assert rows(Campaign, ExpiryPolicy, TierPolicy, PurchasePolicy) == snapshot
    for campaign in Campaign.objects.all():
        campaign.full_clean()


def test_the_campaign_form_shows_the_stored_sources_ticked(admin):
    response = admin.get(FORMS["campaign change"].url())
    assert response.context["adminform"].form.initial["sources"] == ["review"]


# --- Model validation: the same numbers are refused on every engine --------------------------


def _kettle() -> Product:
    return Product.objects.get(name_en="Kettle")


def _sale_price() -> SalePrice:
    now = timezone.now()
    return SalePrice(product=_kettle(), points_price=400, starts_at=now, ends_at=now + timedelta(days=1))


def _campaign() -> Campaign:
    return Campaign.objects.get(name="Spring double")


MODEL_LIMITS = [
    # row, field, the first value Postgres' column would refuse (SQLite would store it)
    (lambda: Tier.objects.get(code="diamond"), "threshold", 2**31),
    (lambda: Tier.objects.get(code="diamond"), "rank", 2**15),
    (lambda: Tier.objects.get(code="diamond"), "monthly_free_draws", 2**15),
    (lambda: EarningRule.objects.get(source="review"), "points", 2**31),
    (lambda: EarningRule.objects.get(source="review"), "daily_cap", 2**31),
    (lambda: EarningRule.objects.get(source="review"), "monthly_cap", 2**63),
    (_campaign, "budget", 2**31),
    (lambda: ExpiryPolicy.objects.get(), "months", 2**15),
    (lambda: ExpiryPolicy.objects.get(), "reminder_days", 2**15),
    (lambda: TierPolicy.objects.get(), "window_months", 2**15),
    (lambda: TierPolicy.objects.get(), "warn_days_before", 2**15),
    (lambda: PurchasePolicy.objects.get(), "pending_days", 2**15),
    (_kettle, "points_price", 2**31),
    (_kettle, "per_order_limit", 2**15),
    (_kettle, "per_day_limit", 2**15),
    (_kettle, "lifetime_limit", 2**15),
    (_kettle, "coupon_valid_days", 2**15),
    (_kettle, "sort_weight", 2**31),
    (_kettle, "sort_weight", -(2**31) - 1),
    (_kettle, "low_stock_threshold", 2**31),
    (_kettle, "min_tier_rank", 2**15),
    (_sale_price, "points_price", 2**31),
    (lambda: Category.objects.get(slug="electronics"), "sort", 2**15),
]


@pytest.mark.parametrize(("row", "field_name", "value"), MODEL_LIMITS, ids=[f"{f}={v}" for _r, f, v in MODEL_LIMITS])
def test_numbers_beyond_the_postgres_columns_fail_model_validation_on_every_engine(mall, row, field_name, value):
    instance = row()
    setattr(instance, field_name, value)
    with pytest.raises(ValidationError) as refused:
        instance.full_clean()
    assert field_name in refused.value.message_dict


def test_a_product_whose_largest_order_overflows_the_order_columns_fails_validation(mall):
    kettle = _kettle()
    kettle.points_price, kettle.per_order_limit = 500_000_000, 5
    with pytest.raises(ValidationError) as refused:
        kettle.full_clean()
    assert refused.value.message_dict["points_price"] == [
        "An order of 5 would cost more than 2147483647 points: lower the price or the max per order."
    ]


def test_purchase_points_beyond_32_bits_are_recorded(member):
    """A million-yuan order at the highest rate under a ×10 campaign earns 10¹⁰ points: the columns hold it."""
    PurchasePolicy.objects.filter(pk=1).update(points_per_yuan=Decimal(1000))
    _running_campaign("Ten times", ["purchase"])
    Campaign.objects.filter(name="Ten times").update(multiplier=Decimal(10))
    result = points_services.purchase_record(user_id=member.pk, external_id="big-1", amount=Decimal("1000000.00"))
    assert result.points == 10_000_000_000
    assert Purchase.objects.values_list("base_points", "points").get(external_id="big-1") == (
        1_000_000_000,
        10_000_000_000,
    )
    refund = points_services.purchase_refund(external_id="big-1", idempotency_key="big-1-refund")
    assert refund.points_taken_back == 10_000_000_000
    assert points_services.points_verify().ok


# --- Service-owned values a form save must not overwrite, and rows a form must not delete ----


def test_saving_a_product_keeps_the_stock_a_member_took_meanwhile(admin, monkeypatch):
    kettle = _kettle()
    clean = ProductForm.clean

    def clean_while_a_member_redeems(self):
        Product.objects.filter(pk=kettle.pk).update(stock=F("stock") - 1, sold=F("sold") + 1)
        return clean(self)

    monkeypatch.setattr(ProductForm, "clean", clean_while_a_member_redeems)
    response = admin.post(FORMS["product change"].url(), _product_change_data())
    assert response.status_code == 302
    assert Product.objects.values_list("stock", "sold", "points_price").get(pk=kettle.pk) == (9, 1, 450)


def test_saving_a_campaign_keeps_the_budget_an_earning_used_meanwhile(admin, monkeypatch):
    campaign = _campaign()
    clean = CampaignForm.clean

    def clean_while_a_member_earns(self):
        Campaign.objects.filter(pk=campaign.pk).update(budget_used=F("budget_used") + 30)
        return clean(self)

    monkeypatch.setattr(CampaignForm, "clean", clean_while_a_member_earns)
    response = admin.post(FORMS["campaign change"].url(), _campaign_change_data())
    assert response.status_code == 302
    assert Campaign.objects.values_list("budget", "budget_used").get(pk=campaign.pk) == (1200, 530)


def test_the_entry_tier_cannot_be_deleted(admin, shopper):
    regular = Tier.objects.get(code="regular")
    assert admin.post(f"/admin/points/tier/{regular.pk}/delete/", {"post": "yes"}).status_code == 403
    admin.post("/admin/points/tier/", {"action": "delete_selected", "_selected_action": [regular.pk], "post": "yes"})
    assert Tier.objects.filter(pk=regular.pk).exists()
    assert_mall_works(shopper)


def test_a_rule_set_to_zero_points_gives_nothing_instead_of_failing_the_members_action(member):
    EarningRule.objects.filter(source="review").update(points=0)
    result = points_services.points_award(user_id=member.pk, source=EarningSource.REVIEW, idempotency_key="r-1")
    assert (result.granted, result.receipt) == (0, None)
    assert result.message == "Points for Review are switched off at the moment."
    assert not Entry.objects.exists()
