"""Request limits, each seen refusing with a message and writing nothing (issue #16,
docs/decisions/0054): body size, number of fields, member text lengths, CSV imports' bytes and rows."""

from __future__ import annotations

import importlib
import inspect
from urllib.parse import urlencode

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts import forms as accounts_forms
from accounts import services as accounts_services
from accounts.forms import PinField
from accounts.models import User
from catalog import forms as catalog_forms
from catalog.enums import ProductKind
from catalog.models import Category, Code, Product, Review
from points import services as points_services
from points.exceptions import InvalidPurchaseError
from points.models import Purchase
from pointsmall.content import forms as content_forms
from pointsmall.content.models import CONTACT_MAX, FEEDBACK_TEXT_MAX, Feedback
from tasks.models import SurveyQuestion
from tests.catalog.factories import PIN, delivered_order
from tests.factories import MemberFactory, StaffFactory
from tests.table_digest import table_digest, watched_tables
from tests.tasks.task_helpers import make_survey

pytestmark = pytest.mark.postgres

ADDRESS = {
    "recipient": "王小明", "phone": "13800138000", "province": "上海市", "city": "上海市",
    "district": "浦东新区", "detail": "世纪大道 100 号", "postal_code": "200120",
}  # fmt: skip


@pytest.fixture
def member_client(db, settings):
    settings.RATELIMIT_ENABLE = False
    client = Client()
    member = MemberFactory()
    client.force_login(member)
    client.member = member
    return client


# --- Body size (pointsmall/limits.py; the picture uploads: tests/test_upload_limits.py) ----------


@pytest.mark.parametrize("name", ["address_create", "feedback", "pin_manage"])
def test_a_member_body_over_the_limit_is_refused_before_it_is_read(member_client, settings, name):
    tables = watched_tables()
    before = table_digest(tables)

    response = member_client.generic(
        "POST",
        reverse(name),
        b"recipient=x",
        content_type="application/x-www-form-urlencoded",
        CONTENT_LENGTH=str(settings.REQUEST_BODY_MAX_BYTES + 1),
    )

    assert response.status_code == 413
    assert response.wsgi_request.environ["wsgi.input"].read_started is False
    assert "Nothing was saved" in " ".join(response.content.decode().split())
    assert table_digest(tables) == before


# --- Number of fields --------------------------------------------------------------------------


def test_the_field_and_file_counts_are_set_in_the_settings_not_left_to_django():
    module = importlib.import_module("pointsmall.settings")
    assert module.DATA_UPLOAD_MAX_NUMBER_FIELDS == 1000
    assert module.DATA_UPLOAD_MAX_NUMBER_FILES == 100


@pytest.mark.parametrize("multipart", [False, True], ids=["urlencoded", "multipart"])
def test_too_many_fields_are_refused_with_400_and_a_message(member_client, settings, multipart):
    tables = watched_tables()
    before = table_digest(tables)
    fields = ADDRESS | {f"extra{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)}

    if multipart:
        response = member_client.post(reverse("address_create"), fields)
    else:
        response = member_client.post(
            reverse("address_create"), urlencode(fields), content_type="application/x-www-form-urlencoded"
        )

    assert response.status_code == 400
    page = " ".join(response.content.decode().split())
    assert "That request could not be read" in page
    assert "Nothing was saved" in page
    assert table_digest(tables) == before


def test_just_under_the_field_count_is_read(member_client, settings):
    fields = ADDRESS | {f"extra{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS - len(ADDRESS))}

    response = member_client.post(reverse("address_create"), fields)

    assert response.status_code == 302
    assert member_client.member.addresses.count() == 1


def test_too_many_files_are_refused_with_400(member_client, settings):
    tables = watched_tables()
    before = table_digest(tables)
    files = {
        f"screenshot{i}": SimpleUploadedFile(f"{i}.png", b"x") for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
    }

    response = member_client.post(reverse("feedback"), {"category": "other", "text": "A long enough text"} | files)

    assert response.status_code == 400
    assert "That request could not be read" in " ".join(response.content.decode().split())
    assert table_digest(tables) == before


# --- Text lengths ------------------------------------------------------------------------------

# Every free-text field of a member form: (URL, what else the form needs, the field, its limit,
# the model field that stores it). Each is posted one character too long.


def _address_case(field: str, limit: int, model_max: int | None):
    return ("address_create", lambda w: {}, lambda w: dict(ADDRESS), field, limit, model_max)


TEXT_CASES = {
    "profile display_name": (
        "profile",
        lambda w: {},
        lambda w: {"phone": "", "language": "en"},
        "display_name",
        40,
        40,
    ),
    # A phone is typed with spaces or dashes and stored normalised (accounts.rules.normalize_phone).
    "profile phone": ("profile", lambda w: {}, lambda w: {"display_name": "A", "language": "en"}, "phone", 24, None),
    "address recipient": _address_case("recipient", 40, 40),
    "address phone": _address_case("phone", 24, None),
    "address province": _address_case("province", 40, 40),
    "address city": _address_case("city", 40, 40),
    "address district": _address_case("district", 40, 40),
    "address detail": _address_case("detail", 200, 200),
    "address postal_code": _address_case("postal_code", 6, 6),
    "inline address detail": (
        "redeem_address_add",
        lambda w: {"pk": w["product"].pk},
        lambda w: ADDRESS | {"quantity": "1"},
        "detail",
        200,
        200,
    ),
    "feedback text": (
        "feedback",
        lambda w: {},
        lambda w: {"category": "other", "contact": ""},
        "text",
        FEEDBACK_TEXT_MAX,
        Feedback._meta.get_field("text").max_length,
    ),
    "feedback contact": (
        "feedback",
        lambda w: {},
        lambda w: {"category": "other", "text": "The page does not load."},
        "contact",
        CONTACT_MAX,
        Feedback._meta.get_field("contact").max_length,
    ),
    "review text": (
        "order_review",
        lambda w: {"pk": w["order"].pk},
        lambda w: {"rating": "5"},
        "text",
        1000,
        Review._meta.get_field("text").max_length,
    ),
    "survey text answer": ("task_survey", lambda w: {"task_id": w["survey"].pk}, lambda w: {}, "question", 500, None),
}


@pytest.fixture
def text_world(member_client):
    member = member_client.member
    accounts_services.pin_set(user_id=member.pk, pin=PIN)  # delivered_order redeems with it
    points_services.points_earn(user_id=member.pk, amount=5000, idempotency_key="limits-fund")
    category = Category.objects.create(name_zh="数码", name_en="Electronics", slug="electronics")
    product = Product.objects.create(
        name_zh="测试商品", name_en="Test item", category=category, kind=ProductKind.PHYSICAL,
        points_price=500, stock=100, per_order_limit=5, low_stock_threshold=0,
    )  # fmt: skip
    survey = make_survey(questions=0)
    question = SurveyQuestion.objects.create(task=survey, position=0, text="为什么", text_en="Why?", kind="text")
    return {"product": product, "order": delivered_order(member), "survey": survey, "question": question}


@pytest.mark.parametrize("case", list(TEXT_CASES))
def test_a_text_one_character_too_long_gets_the_forms_error_and_writes_nothing(
    member_client, text_world, media_root, case
):
    name, kwargs, base, field, limit, model_max = TEXT_CASES[case]
    if field == "question":
        field = str(text_world["question"].pk)
    if model_max is not None:
        assert limit <= model_max, "the form may not take more than the model stores"
    tables = watched_tables()
    before = table_digest(tables)

    response = member_client.post(
        reverse(name, kwargs=kwargs(text_world)), base(text_world) | {field: "长" * (limit + 1)}
    )

    assert response.status_code == 200
    form = next(f for f in _bound_forms(response) if field in f.errors)
    assert any(str(limit) in message for message in form.errors[field]), form.errors[field]
    assert table_digest(tables) == before


def _bound_forms(response):
    for context in response.context:
        for layer in context.dicts:
            for value in layer.values():
                if isinstance(value, forms.BaseForm) and value.is_bound:
                    yield value


MEMBER_FORM_MODULES = [
    "accounts.forms",
    "catalog.forms",
    "pointsmall.content.forms",
    "tasks.views.checkin",
    "lottery.forms",
]
# Fields that are not free text, and what bounds them instead. (PIN fields are six digits: PinField.)
NOT_FREE_TEXT = {
    "catalog.forms.RedeemForm.confirmation": "a signed quote the page wrote; a wrong one is a 400",
    "catalog.forms.RedeemForm.idempotency_key": "32 hex digits (RegexValidator)",
    "accounts.forms.PhoneCodeForm.code": "digits of the SMS code's length (clean_code)",
    "accounts.forms.PinChangeForm.password": "checked against the password hash, never stored",
    "accounts.forms.SignupForm.username": "allauth removes it: members sign in by e-mail",
}


def test_every_free_text_field_of_a_member_form_has_a_length_limit():
    missing = []
    for module_name in MEMBER_FORM_MODULES:
        module = importlib.import_module(module_name)
        for form_class in vars(module).values():
            if not (inspect.isclass(form_class) and issubclass(form_class, forms.BaseForm)):
                continue
            if form_class.__module__ != module_name or issubclass(form_class, forms.ModelForm):
                continue  # the admin's model forms are staff input (tests/test_admin_input.py)
            for field_name, field in form_class.base_fields.items():
                if isinstance(field, forms.CharField) and not isinstance(field, PinField | forms.EmailField):
                    qualified = f"{module_name}.{form_class.__name__}.{field_name}"
                    if field.max_length is None and qualified not in NOT_FREE_TEXT:
                        missing.append(qualified)
    assert missing == []


# --- CSV imports: bytes and rows ---------------------------------------------------------------

PURCHASES_URL = "/admin/points/purchase/import/"
HEADER = "order_id,member_email,amount,purchased_at,sku,category\n"


@pytest.fixture
def staff(db, settings):
    settings.ADMIN_REQUIRE_MFA = False
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    return client


@pytest.fixture
def voucher(db):
    category = Category.objects.create(name_zh="券", name_en="Vouchers", slug="vouchers")
    return Product.objects.create(
        name_zh="优惠券", name_en="Voucher", category=category, kind=ProductKind.VIRTUAL,
        points_price=100, stock=0, per_order_limit=5, low_stock_threshold=0,
    )  # fmt: skip


def _purchases(member, n: int) -> str:
    return HEADER + "".join(f"R-{i},{member.email},1,,,\n" for i in range(n))


def _page(response) -> str:
    return " ".join(response.content.decode().split())


def test_purchases_import_takes_its_rows_limit_and_refuses_one_more(staff, member, settings):
    settings.CSV_IMPORT_MAX_ROWS_PURCHASES = 3
    at = staff.post(
        PURCHASES_URL, {"file": SimpleUploadedFile("p.csv", _purchases(member, 3).encode()), "preview": "1"}
    )
    assert at.context["report"] is not None
    assert "At most 3 rows" in _page(at)

    over = staff.post(
        PURCHASES_URL, {"file": SimpleUploadedFile("p.csv", _purchases(member, 4).encode()), "preview": "1"}
    )
    assert over.context["report"] is None
    assert "The file has 4 rows; a page import takes at most 3." in _page(over)
    assert Purchase.objects.count() == 0


def test_purchases_import_refuses_a_file_over_its_byte_limit(staff, member, settings):
    text = _purchases(member, 2)
    settings.CSV_IMPORT_MAX_BYTES = len(text.encode()) - 1
    response = staff.post(PURCHASES_URL, {"file": SimpleUploadedFile("p.csv", text.encode()), "preview": "1"})
    assert response.context["report"] is None
    assert "The file is too large: at most" in _page(response)
    assert Purchase.objects.count() == 0

    settings.CSV_IMPORT_MAX_BYTES = len(text.encode())
    response = staff.post(PURCHASES_URL, {"file": SimpleUploadedFile("p.csv", text.encode()), "preview": "1"})
    assert response.context["report"] is not None


UNREADABLE = "be read as CSV: a cell is longer than 128 KB, or a quote is not closed."  # (the page escapes the "'")


def test_purchases_import_refuses_a_file_the_csv_module_cannot_read(staff, member):
    text = HEADER + f"R-1,{member.email},1,,,{'x' * 200_000}\n"  # one cell over csv's 128 KB
    response = staff.post(PURCHASES_URL, {"file": SimpleUploadedFile("p.csv", text.encode()), "preview": "1"})
    assert response.status_code == 200
    assert UNREADABLE in _page(response)
    assert Purchase.objects.count() == 0


def test_the_purchases_service_refuses_unreadable_csv_before_writing_a_row(member):
    # manage.py points_import_purchases has no form in front of it.
    text = HEADER + f"R-1,{member.email},1,,,\n" + f"R-2,{member.email},1,,,{'x' * 200_000}\n"
    with pytest.raises(InvalidPurchaseError):
        points_services.points_import_purchases(text=text)
    assert Purchase.objects.count() == 0


def _codes_url(product) -> str:
    return f"/admin/catalog/product/{product.pk}/codes/"


@pytest.mark.parametrize("source", ["file", "text"])
def test_codes_import_takes_its_rows_limit_and_refuses_one_more(staff, voucher, settings, source):
    settings.CSV_IMPORT_MAX_ROWS_CODES = 3

    def post(n: int):
        text = "".join(f"CODE-{i:04d}\n" for i in range(n))
        data = {"file": SimpleUploadedFile("c.csv", text.encode())} if source == "file" else {"text": text}
        return staff.post(_codes_url(voucher), data)

    over = post(4)
    assert "There are 4 codes; one import takes at most 3." in _page(over)
    assert Code.objects.count() == 0
    post(3)
    assert Code.objects.count() == 3


def test_codes_import_refuses_a_file_over_its_byte_limit_and_unreadable_csv(staff, voucher, settings):
    text = "CODE-0001\nCODE-0002\nCODE-0003"
    settings.CSV_IMPORT_MAX_BYTES = len(text) - 1
    response = staff.post(_codes_url(voucher), {"file": SimpleUploadedFile("c.csv", text.encode())})
    assert "The file is too large: at most" in _page(response)
    response = staff.post(_codes_url(voucher), {"text": text})
    assert "Paste at most" in _page(response)
    settings.CSV_IMPORT_MAX_BYTES = 2 * 1024 * 1024
    response = staff.post(_codes_url(voucher), {"text": "x" * 200_000})
    assert response.status_code == 200
    assert UNREADABLE in _page(response)
    assert Code.objects.count() == 0
    assert Product.objects.get(pk=voucher.pk).stock == 0


def test_user_model_limits_match_the_profile_form():
    assert (
        accounts_forms.ProfileForm.base_fields["display_name"].max_length
        == User._meta.get_field("display_name").max_length
    )
    assert catalog_forms.ReviewForm.base_fields["text"].max_length == Review._meta.get_field("text").max_length
    assert content_forms.FeedbackForm.base_fields["text"].max_length == FEEDBACK_TEXT_MAX
