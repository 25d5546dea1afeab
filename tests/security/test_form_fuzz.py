"""Every member form fuzzed with hypothesis (issue #16, docs/decisions/0054).

Each URL a member (or a visitor signing in or up) may POST to is listed in ``FUZZED`` with how to
build its kwargs for the member's own rows and the page its form is on. The test GETs that page,
reads the form's fields from the HTML (names, default values, the options of a select), and
posts what hypothesis draws: the page's own values, the other options, and hostile ones (empty,
huge, control characters, NUL bytes, right-to-left marks, negative and huge numbers, lists where
one value is expected, missing fields, extra fields).

For every answer: never a 500 (the test client re-raises a view's exception); a refusal (a 4xx,
an error message, a form shown again with errors) says something and writes nothing (every
table of the project's apps compared before and after, contents not only counts); and the
ledger passes ``points_verify`` at the end. A new member POST URL that is in neither table
fails ``test_every_member_post_url_is_fuzzed_or_excused``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib import messages
from django.core.cache import cache
from django.forms import BaseForm
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts import services as accounts_services
from catalog import services as catalog_services
from catalog.enums import ProductKind
from catalog.models import Category, Product
from lottery import services as lottery_services
from lottery.models import LotteryPrize
from points import services as points_services
from tests.catalog.factories import PIN, delivered_order, shipped_order
from tests.factories import MemberFactory, StaffFactory
from tests.table_digest import changed_tables, table_digest, watched_tables
from tests.tasks.task_helpers import make_survey, make_task

pytestmark = pytest.mark.postgres

PASSWORD = "fuzz-Pass-w0rd-31"

# --- The tables ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """How to reach one POST URL: its kwargs and the page its form is on, from ``World``."""

    kwargs: Callable[[World], dict] = lambda w: {}
    page: Callable[[World], str] | None = None  # None: the URL itself (GET shows the form)
    anonymous: bool = False


FUZZED: dict[str, Target] = {
    # accounts
    "profile": Target(),
    "phone_verify": Target(),
    "set_language": Target(page=lambda w: reverse("account_overview")),
    "address_create": Target(),
    "address_update": Target(kwargs=lambda w: {"pk": w.address_id}),
    "address_delete": Target(kwargs=lambda w: {"pk": w.spare_address_id}),
    "address_set_default": Target(kwargs=lambda w: {"pk": w.address_id}, page=lambda w: reverse("address_list")),
    "pin_manage": Target(),
    "inbox_mark_read": Target(kwargs=lambda w: {"pk": w.message_id}, page=lambda w: reverse("inbox")),
    "inbox_mark_all_read": Target(page=lambda w: reverse("inbox")),
    "notification_preferences": Target(),
    "notification_unsubscribe": Target(kwargs=lambda w: {"token": w.unsubscribe_token}, anonymous=True),
    "data_export": Target(),
    "account_delete": Target(),
    # allauth's member forms, as the project configures them
    "account_login": Target(anonymous=True),
    "account_signup": Target(anonymous=True),
    "account_reset_password": Target(anonymous=True),
    "account_change_password": Target(),
    "account_email": Target(),
    "account_reauthenticate": Target(),
    "mfa_activate_totp": Target(),
    "mfa_generate_recovery_codes": Target(),
    # catalog
    "redeem_confirm": Target(kwargs=lambda w: {"pk": w.product_id}),
    "redeem_address_add": Target(
        kwargs=lambda w: {"pk": w.product_id}, page=lambda w: reverse("product_detail", args=[w.product_id])
    ),
    "order_cancel": Target(
        kwargs=lambda w: {"pk": w.order_id}, page=lambda w: reverse("order_detail", args=[w.order_id])
    ),
    "order_confirm_receipt": Target(
        kwargs=lambda w: {"pk": w.shipped_order_id},
        page=lambda w: reverse("order_detail", args=[w.shipped_order_id]),
    ),
    "order_review": Target(kwargs=lambda w: {"pk": w.delivered_order_id}),
    "payment_start": Target(kwargs=lambda w: {"order_pk": w.order_id}),
    # tasks
    "checkin_record": Target(page=lambda w: reverse("checkin")),
    "checkin_makeup": Target(page=lambda w: reverse("checkin")),
    "checkin_reminder": Target(page=lambda w: reverse("checkin")),
    "task_claim": Target(kwargs=lambda w: {"task_id": w.task_id}, page=lambda w: reverse("task_list")),
    "task_visit": Target(kwargs=lambda w: {"task_id": w.task_id}, page=lambda w: reverse("task_list")),
    "task_action": Target(
        kwargs=lambda w: {"task_id": w.task_id, "action": "start"}, page=lambda w: reverse("task_list")
    ),
    "task_survey": Target(kwargs=lambda w: {"task_id": w.survey_id}),
    # lottery
    "lottery_draw": Target(
        kwargs=lambda w: {"campaign_id": w.campaign_id},
        page=lambda w: reverse("lottery_campaign", args=[w.campaign_id]),
    ),
    # content
    "feedback": Target(),
}

# Named URLs outside admin/ and the host API that are not fuzzed here, and why. The host API
# (api-v1:*) is fuzzed from its OpenAPI document in tests/integration/test_api_fuzz.py.
NOT_FUZZED: dict[str, str] = {
    **dict.fromkeys(
        [
            "home",
            "privacy_policy",
            "mall_home",
            "product_list",
            "product_detail",
            "order_list",
            "order_detail",
            "account_overview",
            "address_list",
            "inbox",
            "invite",
            "invite_qr",
            "my_points",
            "my_tier",
            "rules",
            "checkin",
            "task_list",
            "leaderboard",
            "lottery",
            "lottery_my_draws",
            "lottery_campaign",
            "lottery_winners",
            "lottery_campaign_draws",
            "lottery_verify",
            "announcement_detail",
            "feedback_screenshot",
            "payment_status",
            "account_inactive",
            "account_email_verification_sent",
            "account_reset_password_done",
            "account_reset_password_from_key_done",
            "mfa_index",
            "mfa_view_recovery_codes",
            "mfa_download_recovery_codes",
            "socialaccount_login_cancelled",
            "socialaccount_login_error",
            "socialaccount_connections",
            "sso_login",
        ],
        "pages only: nothing posted to them is read",
    ),
    "account_logout": "no fields: it signs the member out",
    "address_regions": "GET only (require_GET: a POST is 405); the JSON of the address form's region picker",
    "account_set_password": "only for members without a password (social sign-ups); they have none here",
    "account_confirm_login_code": "login by code is off (ACCOUNT_LOGIN_BY_CODE_ENABLED)",
    "account_confirm_email": "a key from an e-mail: a wrong one is allauth's 'invalid link' page",
    "account_reset_password_from_key": "a key from an e-mail: a wrong one is allauth's 'bad token' page",
    "mfa_authenticate": "only in the middle of a sign-in with a second factor",
    "mfa_reauthenticate": "only for a member with a second factor",
    "mfa_deactivate_totp": "only for a member with a second factor",
    "socialaccount_signup": "only in the middle of a social sign-in",
    "weixin_login": "OAuth redirect, no form",
    "weixin_callback": "OAuth callback from the provider, no form",
    "github_login": "OAuth redirect, no form",
    "github_callback": "OAuth callback from the provider, no form",
    "google_login": "OAuth redirect, no form",
    "google_callback": "OAuth callback from the provider, no form",
    "google_login_by_token": "Google One Tap, not enabled",
    "coupon_verify": "staff only (tests/catalog/test_coupon_verify.py)",
    "payment_sandbox_gateway": "the sandbox gateway's page, not the mall's",
    "payment_sandbox_pay": "the sandbox gateway's button, not the mall's",
    "payment_sandbox_cancel": "the sandbox gateway's button, not the mall's",
    "payment_callback_sandbox": "server to server, signed (tests/catalog/test_payments.py)",
    "refund_callback_sandbox": "server to server, signed (tests/catalog/test_refunds.py)",
    "analytics:beacon": "a browser beacon, not a form (tests/analytics/)",
}


def _named_urls() -> set[str]:
    def walk(patterns, prefix: str, namespace: str | None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = pattern.namespace
                joined = f"{namespace}:{inner}" if namespace and inner else inner or namespace
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), joined)
            elif isinstance(pattern, URLPattern) and pattern.name:
                yield prefix + str(pattern.pattern), f"{namespace}:{pattern.name}" if namespace else pattern.name

    return {
        name
        for route, name in walk(get_resolver().url_patterns, "", None)
        if not route.startswith(("admin/", "api/", "^api/")) and not name.startswith("api-v1:")
    }


def test_every_member_post_url_is_fuzzed_or_excused():
    names = _named_urls()
    assert not (set(FUZZED) & set(NOT_FUZZED))
    assert names - set(FUZZED) - set(NOT_FUZZED) == set(), "a new URL: add it to FUZZED (or NOT_FUZZED, with why)"
    assert set(FUZZED) - names == set(), "a URL in FUZZED is gone"
    assert set(NOT_FUZZED) - names == set(), "a URL in NOT_FUZZED is gone"


# --- The member's world ----------------------------------------------------------------------


@dataclass
class World:
    member: Any
    product_id: int
    order_id: int
    shipped_order_id: int
    delivered_order_id: int
    address_id: int
    spare_address_id: int
    message_id: int
    unsubscribe_token: str
    task_id: int
    survey_id: int
    campaign_id: int


@pytest.fixture
def world(db) -> World:
    operator = StaffFactory()
    member = MemberFactory()
    member.set_password(PASSWORD)
    member.save()
    accounts_services.pin_set(user_id=member.pk, pin=PIN)
    points_services.points_adjust(
        user_id=member.pk, amount=50_000, reason="fuzz funds", actor_id=operator.pk, idempotency_key="fuzz-funds"
    )
    address = {
        "recipient": "王小明", "phone": "13800138000", "province": "上海市", "city": "上海市",
        "district": "浦东新区", "detail": "世纪大道 100 号", "postal_code": "200120",
    }  # fmt: skip
    address_id = accounts_services.address_create(user_id=member.pk, **address).id
    spare_address_id = accounts_services.address_create(user_id=member.pk, **address).id
    category = Category.objects.create(name_zh="数码", name_en="Electronics", slug="electronics")
    product = Product.objects.create(
        name_zh="测试商品", name_en="Test item", category=category, kind=ProductKind.PHYSICAL,
        points_price=500, stock=10_000, per_order_limit=5, low_stock_threshold=0,
    )  # fmt: skip
    order = catalog_services.order_redeem(
        user_id=member.pk, product_id=product.pk, quantity=1, idempotency_key="fuzz-order", pin=PIN,
        address_id=address_id,
    )  # fmt: skip
    message_id = accounts_services.notification_send(
        user_id=member.pk, kind="announcement", title="Hello", body="A message to read"
    )
    task = make_task(completion="visit", visit_url="https://example.com/", title="每日任务", title_en="A task")
    survey = make_survey()
    campaign = lottery_services.lottery_campaign_create(
        name="春季转盘", name_en="Spring wheel", description="规则", description_en="Rules", cost_points=50,
        style="wheel", tier_free_draws=False,
        starts_at=timezone.now() - timedelta(hours=1), ends_at=timezone.now() + timedelta(days=7),
    )  # fmt: skip
    LotteryPrize.objects.create(
        campaign=campaign, position=0, name="20积分", name_en="20 points", kind="points", points=20,
        weight_bp=3000, quantity=100,
    )  # fmt: skip
    LotteryPrize.objects.create(
        campaign=campaign, position=1, name="谢谢参与", name_en="Thanks for playing", kind="none", weight_bp=7000
    )
    lottery_services.lottery_campaign_publish(campaign_id=campaign.pk, now=timezone.now() - timedelta(hours=2))
    return World(
        member=member,
        product_id=product.pk,
        order_id=order.pk,
        shipped_order_id=shipped_order(member).pk,
        delivered_order_id=delivered_order(member).pk,
        address_id=address_id,
        spare_address_id=spare_address_id,
        message_id=message_id,
        unsubscribe_token=accounts_services.unsubscribe_token(user_id=member.pk, kind="announcement"),
        task_id=task.pk,
        survey_id=survey.pk,
        campaign_id=campaign.pk,
    )


# --- Reading a form from its page ------------------------------------------------------------


@dataclass
class FormSpec:
    fields: dict[str, list[str]] = field(default_factory=dict)  # name -> values the page offers
    multipart: bool = False


class _FormParser(HTMLParser):
    """The POST forms of a page: their action and their fields' names and offered values."""

    def __init__(self, page_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[tuple[str, FormSpec]] = []
        self._current: FormSpec | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self._current = FormSpec(multipart="multipart" in a.get("enctype", ""))
                action = a.get("action") or a.get("hx-post") or self.page_path
                self.forms.append((urlsplit(action).path or self.page_path, self._current))
            return
        if self._current is None or not a.get("name"):
            return
        name = a["name"]
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset") and "value" not in a:
                self._current.fields.setdefault(name, []).append("")
            elif kind == "file":
                self._current.fields.setdefault(name, [])
            else:
                self._current.fields.setdefault(name, []).append(a.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "select":
            self._select = name
            self._current.fields.setdefault(name, [])
        elif tag == "option" and self._select:
            self._current.fields[self._select].append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = name
            self._current.fields.setdefault(name, [])
        elif tag == "button":
            self._current.fields.setdefault(name, []).append(a.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._textarea and self._current is not None:
            self._current.fields[self._textarea].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_posting_to(html: str, page_path: str, target_path: str) -> list[FormSpec]:
    parser = _FormParser(page_path)
    parser.feed(html)
    return [spec for action, spec in parser.forms if action == target_path]


# --- What hypothesis sends -------------------------------------------------------------------

HOSTILE = [
    "", " ", "\t\r\n", "0", "-1", "1", "-2147483649", "2147483648", "99999999999999999999999", "1e309", "NaN",
    "-0", "1.5", "0x10", "１２３", "\x00", "a\x00b", "\x1b[31m", "\u202e\u0644\u0639", "\ufeff", "\u200b",
    "😀" * 40, "<script>alert(1)</script>", "' OR 1=1 --", "{{ 7*7 }}", "%(x)s", "../../etc/passwd",
    "x" * 5000, "长" * 2000, "\ud7ff", "true", "null", "[]", "@example.com", "a@b", "=1+1",
]  # fmt: skip

hostile_text = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=20).map(lambda s: s * 200),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
)


def field_value(offered: list[str]) -> st.SearchStrategy:
    """One field's value: one the page offers (most often), a hostile one, or several values."""
    choices = [st.just(v) for v in dict.fromkeys(offered)]
    single = st.one_of(*choices, hostile_text) if choices else hostile_text
    return st.one_of(single, single, single, st.lists(single, min_size=2, max_size=3))


def form_data(specs: list[FormSpec]) -> st.SearchStrategy:
    if not specs:
        specs = [FormSpec()]

    @st.composite
    def build(draw) -> dict:
        spec = draw(st.sampled_from(specs))
        data: dict[str, Any] = {}
        for name, offered in spec.fields.items():
            if draw(st.integers(0, 9)) == 0:
                continue  # a missing field
            data[name] = draw(field_value(offered))
        extra = draw(
            st.dictionaries(
                st.sampled_from(["id", "user", "user_id", "points", "balance", "is_staff", "x"]),
                hostile_text,
                max_size=2,
            )
        )
        for name, value in extra.items():
            data.setdefault(name, value)
        return data

    return build()


# --- What a refusal must be ------------------------------------------------------------------


def _forms_with_errors(response) -> list[BaseForm]:
    found = []
    for context in response.context or []:
        for value in itertools.chain.from_iterable(d.values() for d in context.dicts):
            if isinstance(value, BaseForm) and value.is_bound and value.errors:
                found.append(value)
    return found


def refusal(response) -> str | None:
    """What the member was told when the request was refused; None when it was not refused."""
    queued = getattr(getattr(response.wsgi_request, "_messages", None), "_queued_messages", [])
    said = [str(m) for m in queued if m.level >= messages.WARNING]
    said += [str(e) for form in _forms_with_errors(response) for e in form.errors.values()]
    if response.status_code >= 400:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        said.append(body.decode("utf-8", "replace").strip())
        return " ".join(said)
    return " ".join(said) if said else None


FUZZ_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)


@pytest.fixture
def _no_throttle(settings):
    # Rate limits would turn most examples into 429s; they are tested where they are set.
    settings.RATELIMIT_ENABLE = False
    settings.ACCOUNT_RATE_LIMITS = False
    # A loaded machine can take more than allauth's 5 minutes over one form's examples; past
    # them allauth asks to sign in again (tested in tests/accounts), which is not this test's matter.
    settings.ACCOUNT_REAUTHENTICATION_TIMEOUT = 24 * 3600
    cache.clear()
    yield
    cache.clear()


@pytest.mark.parametrize("name", sorted(FUZZED))
def test_no_member_form_breaks_or_writes_on_refusal(name, world, _no_throttle, settings, media_root):
    target = FUZZED[name]
    client = Client(raise_request_exception=True)
    if not target.anonymous:
        client.force_login(world.member)
    url = reverse(name, kwargs=target.kwargs(world))
    page = target.page(world) if target.page else url
    got = client.get(page)
    assert got.status_code < 500
    specs = forms_posting_to(got.content.decode(), urlsplit(page).path, urlsplit(url).path)
    tables = watched_tables()

    @FUZZ_SETTINGS
    @given(data=form_data(specs))
    def run(data):
        before = table_digest(tables)
        response = client.post(url, data)
        assert response.status_code < 500, (name, data)
        said = refusal(response)
        if said is not None:
            assert said.strip(), f"{name}: refused without a word ({response.status_code})"
            after = table_digest(tables)
            changed = changed_tables(before, after)
            assert changed == [], f"{name}: refused ({said[:200]!r}) but wrote {changed}; sent {data!r}"

    run()
    report = points_services.points_verify()
    assert report.ok, report
