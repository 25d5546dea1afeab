"""Errors in one kernel: every refusal the apps raise is a ``pointsmall.kernel.errors.DomainError``
living in its app's ``exceptions.py``, and the kernel's helpers show it the same way everywhere."""

from __future__ import annotations

import gettext
import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import translation
from django.utils.functional import Promise

from catalog.enums import ProductKind
from catalog.exceptions import BadSignatureError, InvalidTransitionError, OrderNotFoundError
from points.exceptions import InsufficientPointsError
from pointsmall.kernel.errors import (
    DomainError,
    error_response,
    error_text,
    form_error,
    message_error,
    validation_error,
)
from tests.catalog.factories import PIN, make_member, make_product

APPS = (
    "points",
    "accounts",
    "catalog",
    "tasks",
    "lottery",
    "pointsmall.content",
    "pointsmall.analytics",
    "pointsmall.dashboard",
)
MO_PATH = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.mo"
# Default messages wrapped for translation by the change that made this kernel: the lead adds
# them to the catalogue. Only their type is checked until then; drop a name once translated.
NOT_YET_IN_CATALOGUE: set[str] = set()  # every message is translated; keep it that way


def _app_exception_classes() -> list[type[BaseException]]:
    """Every exception class defined in a module of the apps (migrations aside)."""
    found: dict[str, type[BaseException]] = {}
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" in info.name:
                continue
            module = importlib.import_module(info.name)
            for value in vars(module).values():
                if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == info.name:
                    found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[name] for name in sorted(found)]


ERRORS = _app_exception_classes()


def _id(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def test_the_apps_define_their_errors():
    # A guard against the walk finding nothing (and every parametrized test passing vacuously).
    assert len(ERRORS) > 90


@pytest.mark.parametrize("cls", ERRORS, ids=_id)
def test_every_error_is_a_domain_error_named_error_in_its_apps_exceptions_module(cls):
    assert issubclass(cls, DomainError)
    assert cls.__name__.endswith("Error")
    assert cls.__module__.rsplit(".", 1)[-1] == "exceptions"


@pytest.mark.parametrize("cls", ERRORS, ids=_id)
def test_every_error_has_its_own_code_and_an_http_status(cls):
    assert "code" in vars(cls), "each error names its own code, never its parent's"
    assert isinstance(cls.code, str)
    assert cls.code
    assert 400 <= cls.http_status <= 599


def test_codes_are_unique():
    by_code: dict[str, list[str]] = {}
    for cls in ERRORS:
        by_code.setdefault(cls.code, []).append(_id(cls))
    assert {code: names for code, names in by_code.items() if len(names) > 1} == {}


@pytest.mark.parametrize("cls", ERRORS, ids=_id)
def test_every_default_message_is_translatable(cls):
    assert isinstance(cls.default_message, Promise), "wrap it in gettext_lazy"
    if _id(cls) in NOT_YET_IN_CATALOGUE:
        return
    with MO_PATH.open("rb") as mo:
        catalogue = gettext.GNUTranslations(mo)
    msgid = str(cls.default_message)
    assert msgid in catalogue._catalog, f"not in the zh_Hans catalogue: {msgid!r}"


def test_the_status_says_what_kind_of_refusal_it_is():
    assert DomainError.http_status == 400
    assert OrderNotFoundError.http_status == 404
    assert InvalidTransitionError.http_status == 409
    assert {cls.http_status for cls in ERRORS if cls.__name__.endswith("NotFoundError")} == {404}


# --- the error itself ---------------------------------------------------------------------------


def test_the_message_is_the_default_filled_with_the_params():
    error = InsufficientPointsError(available=5, required=9)
    assert error.message == "Not enough points: you have 5, this needs 9."
    assert str(error) == error_text(error) == error.message
    assert error.params == {"available": 5, "required": 9}
    assert error.as_dict() == {"code": "insufficient_points", "message": error.message, "params": error.params}


def test_a_message_given_at_the_raise_replaces_the_default():
    assert DomainError().message == "The request could not be completed."
    assert DomainError("Only %(n)s left.", n=2).message == "Only 2 left."


def test_the_message_is_in_the_language_active_when_raised():
    with translation.override("zh-hans"):
        chinese = InsufficientPointsError(available=5, required=9).message
    assert chinese != InsufficientPointsError(available=5, required=9).message
    assert "5" in chinese and "9" in chinese


# --- the helpers ----------------------------------------------------------------------------------


def _request(path: str = "/"):
    request = RequestFactory().post(path)
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)
    MessageMiddleware(lambda r: HttpResponse()).process_request(request)
    return request


def _flashed(request) -> list[tuple[int, str]]:
    return [(message.level, message.message) for message in messages.get_messages(request)]


class _Form(forms.Form):
    pin = forms.CharField()


def test_form_error_puts_the_message_under_the_field_or_above_the_form():
    form = _Form({"pin": "1"})
    assert form.is_valid()
    form_error(form, InsufficientPointsError(available=1, required=2), "pin")
    form_error(form, DomainError())
    assert form.errors == {
        "pin": ["Not enough points: you have 1, this needs 2."],
        "__all__": ["The request could not be completed."],
    }
    assert form.errors.as_data()["pin"][0].code == "insufficient_points"


def test_validation_error_carries_message_and_code():
    error = validation_error(InsufficientPointsError(available=1, required=2))
    assert (error.messages, error.code) == (["Not enough points: you have 1, this needs 2."], "insufficient_points")


def test_message_error_flashes_at_error_level_unless_told():
    request = _request()
    message_error(request, InsufficientPointsError(available=1, required=2))
    message_error(request, DomainError(), level=messages.WARNING)
    assert _flashed(request) == [
        (messages.ERROR, "Not enough points: you have 1, this needs 2."),
        (messages.WARNING, "The request could not be completed."),
    ]


def test_message_error_frames_a_row_of_an_admin_action():
    request = _request()
    message_error(request, DomainError(), template="Order #%(id)s: %(message)s", id=7)
    assert _flashed(request) == [(messages.ERROR, "Order #7: The request could not be completed.")]


def test_error_response_is_the_message_with_the_errors_status():
    response = error_response(_request(), InvalidTransitionError(action="shipped", status="Cancelled"))
    assert response.status_code == 409
    assert response["Content-Type"] == "text/plain"
    assert response.content.decode() == "This order can't be shipped in its current state (Cancelled)."


@override_settings(
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "OPTIONS": {"loaders": [("django.template.loaders.locmem.Loader", {"e.html": "{{ error.code }}|{{ x }}"})]},
        }
    ]
)
def test_error_response_renders_a_template_with_the_error():
    response = error_response(_request(), OrderNotFoundError(), "e.html", {"x": "y"})
    assert (response.status_code, response.content) == (404, b"order_not_found|y")


# --- through real views ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_redemption_without_enough_points_re_shows_the_page_with_the_refusal(client):
    member = make_member(points=10)
    client.force_login(member)
    product = make_product(points_price=500, kind=ProductKind.VIRTUAL)
    page = client.get(reverse("redeem_confirm", args=[product.pk]))
    response = client.post(
        reverse("redeem_confirm", args=[product.pk]),
        {
            "quantity": 1,
            "pin": PIN,
            "idempotency_key": "0123456789abcdef0123456789abcdef",
            "confirmation": page.context["confirmation"],
        },
    )
    assert response.status_code == 200
    assert response.context["refusal"].code == "insufficient_points"
    assert "Not enough points: you have 10, this needs 500." in response.content.decode()


@pytest.mark.django_db
def test_a_gateway_callback_with_a_bad_signature_gets_the_message_and_400(client):
    response = client.post(reverse("payment_callback_sandbox"), data=b"{}", content_type="application/json")
    assert response.status_code == BadSignatureError.http_status == 400
    assert response.content.decode() == BadSignatureError().message


@pytest.mark.parametrize("callback", ["payment_callback_sandbox", "refund_callback_sandbox"])
def test_a_gateway_reads_refusals_in_english_whatever_language_it_asks_for(client, callback):
    response = client.post(
        reverse(callback), data=b"{}", content_type="application/json", headers={"accept-language": "zh-hans"}
    )
    assert response.status_code == 400
    assert response.content.decode() == "Invalid notification: missing or wrong signature."
