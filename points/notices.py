"""Stored texts: a message code plus parameters, rendered in the reader's language when read.

Anything a member reads later (a history line, an inbox message) is stored as a code and
JSON parameters, never as a finished sentence (docs/decisions/0019). Each app's
``notices.py`` registers the codes it writes with :func:`register`; the ledger finds them
without importing any app because ``PointsConfig.ready()`` imports every installed app's
``notices`` module (like the admin's autodiscovery). A new app adds a ``notices.py`` and
touches nothing here.

A renderer takes the stored parameters and returns a :class:`Text` (title, and a body for
inbox messages) in the active language. Parameters are JSON values: numbers, strings, ISO
dates, and bilingual names as ``{"zh": …, "en": …}`` (see :func:`bilingual`), so the
reader's language picks the name too.

This module also holds the ledger's own codes (purchases, and the reasons an earning was
cut short).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import translation
from django.utils.translation import gettext as _

from points.enums import EarningSource
from points.exceptions import InvalidMessageError
from pointsmall.kernel.language import pick_language

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Text:
    """A rendered stored text: a one-line title and, for inbox messages, a body."""

    title: str
    body: str = ""


@dataclass(frozen=True)
class Notice:
    """A text to store: its message code and JSON parameters, rendered when read.

    Each app's ``notices.py`` composes its notices with one function per notice (zulip's
    ``notify_*``); services pass the result on unread: ``**notice.memo`` to a ledger entry,
    ``**notice.message`` to an inbox message, ``notice.nested()`` inside another text.
    """

    code: str
    params: dict = field(default_factory=dict)

    @property
    def memo(self) -> dict:
        """The ``memo_code``/``memo_params`` arguments of a ledger service."""
        return {"memo_code": self.code, "memo_params": self.params}

    @property
    def message(self) -> dict:
        """The ``message_code``/``params`` arguments of ``accounts.services.notification_send``."""
        return {"message_code": self.code, "params": self.params}

    def nested(self) -> dict:
        """The notice as a value inside another text's parameters (see :func:`nested`)."""
        return nested(self.code, self.params)


Params = Mapping[str, Any]
Renderer = Callable[[Params], Text]

_registry: dict[str, Renderer] = {}
# The codes sent as inbox messages (``notification_send``), and a sample of each one's
# parameters where its app gave one: the admin's template picker lists only these.
_inbox: dict[str, dict | None] = {}


def register(
    code: str, *, inbox: bool = False, sample: Params | None = None
) -> Callable[[Callable[[Params], Text | str]], Renderer]:
    """Register a renderer for ``code`` (``"<app>.<what>"``). It may return a Text or a plain title.

    ``inbox=True`` marks a code sent as an inbox message (and so by e-mail and SMS: operators
    may write templates for it); ledger memos and nested reasons are not. ``sample`` is a
    realistic set of its parameters (the admin's trial render and label use it until a real
    message of the code exists). Registering the same function again is harmless (a module
    imported twice); another function for a code that is taken is a programming error.
    """

    def decorator(function: Callable[[Params], Text | str]) -> Renderer:
        def renderer(params: Params) -> Text:
            result = function(params)
            return result if isinstance(result, Text) else Text(str(result))

        renderer.__wrapped__ = function  # type: ignore[attr-defined]
        existing = _registry.get(code)
        if existing is not None and _origin(existing.__wrapped__) != _origin(function):  # type: ignore[attr-defined]
            raise ImproperlyConfigured(f"message code {code!r} is registered twice")
        _registry[code] = renderer
        if inbox or sample is not None:
            _inbox[code] = dict(sample) if sample is not None else None
        return renderer

    return decorator


def _origin(function: Callable) -> tuple[str, str]:
    return function.__module__, function.__qualname__


def is_registered(code: str) -> bool:
    return code in _registry


def codes() -> list[str]:
    return sorted(_registry)


def inbox_codes() -> list[str]:
    """The codes sent as inbox messages (registered with ``inbox=True``), sorted."""
    return sorted(_inbox)


def inbox_sample(code: str) -> dict | None:
    """The sample parameters registered for an inbox code, None when there are none."""
    sample = _inbox.get(code)
    return dict(sample) if sample is not None else None


def render(code: str, params: Params | None = None) -> Text | None:
    """``code`` rendered with ``params`` in the active language; None for an unknown code or
    parameters that do not fit it (the caller then shows its fallback)."""
    renderer = _registry.get(code)
    if renderer is None:
        if code:
            logger.warning("no renderer for stored message code %r", code)
        return None
    try:
        return renderer(params or {})
    except (KeyError, TypeError, ValueError, AttributeError):
        # The parameters' names, not their values: those can be a member's name or address.
        logger.warning(
            "stored message %r does not fit its parameters (named %s)", code, sorted(params or {}), exc_info=True
        )
        return None


def check(code: str, params: Params | None) -> dict:
    """Validate a code and its parameters before they are stored, and return the parameters to store.

    The code must be registered, the parameters JSON values, and the text must render in
    every language of the mall: a mistake fails the write, not a member's page later.
    Raises InvalidMessageError.
    """
    params = dict(params or {})
    if code not in _registry:
        raise InvalidMessageError(reason=_("unknown message code %(code)r") % {"code": code})
    try:
        stored = json.loads(json.dumps(params))
    except (TypeError, ValueError):
        raise InvalidMessageError(reason=_("the parameters of %(code)r are not JSON values") % {"code": code}) from None
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            if render(code, stored) is None:
                raise InvalidMessageError(
                    reason=_("%(code)r cannot be rendered with %(params)r") % {"code": code, "params": stored}
                )
    return stored


def nested(code: str, params: Params | None = None) -> dict:
    """A stored text inside another one's parameters (e.g. why a reward was not paid)."""
    return {"code": code, "params": dict(params or {})}


def render_nested(value: Params | None) -> str:
    """The title of a text stored with :func:`nested`; "" when there is none."""
    if not value:
        return ""
    text = render(value["code"], value.get("params"))
    return text.title if text else ""


# --- Parameter helpers ------------------------------------------------------------------


def bilingual(*, zh: str, en: str) -> dict:
    """A name as both catalogue languages hold it; :func:`localized` picks one when read."""
    return {"zh": zh, "en": en}


def localized(value: Any) -> str:
    """A bilingual value in the active language (the other one when it is empty); a plain string as it is."""
    if isinstance(value, Mapping):
        return str(pick_language(zh=value.get("zh"), en=value.get("en"), fallback=True) or "")
    return "" if value is None else str(value)


def day(value: date | str) -> str:
    """A stored date (ISO) as members read it."""
    return value.isoformat() if isinstance(value, date) else date.fromisoformat(value).isoformat()


def source_label(source: str) -> str:
    return str(EarningSource(source).label) if source in EarningSource.values else source


# --- The ledger's own codes ---------------------------------------------------------------

PURCHASE = "points.purchase"
PURCHASE_REFUND = "points.purchase_refund"
FIRST_PURCHASE_BONUS_REFUND = "points.first_purchase_bonus_refund"
# Why an earning gave fewer points than its rule (AwardResult.reason).
AWARD_CAPPED = "points.award_capped"
AWARD_NONE = "points.award_none"
AWARD_SWITCHED_OFF = "points.award_switched_off"
SIGNUP_NEEDS_EMAIL = "points.signup_needs_email"
SIGNUP_ALREADY_GIVEN = "points.signup_already_given"
# What an operator's manual credit was for, inside the points-earned message: their own words.
ADJUSTMENT = "points.adjustment"
# Points a host checkout hold spent when the host's order was paid (积分抵扣, docs/decisions/0033).
CHECKOUT_PAID = "points.checkout_paid"
# The points a member gave up by deleting their account (docs/decisions/0052).
ACCOUNT_DELETED = "points.account_deleted"


def purchase(*, order: str) -> Notice:
    """History text of the points a host-shop purchase earned."""
    return Notice(PURCHASE, {"order": order})


def purchase_refund(*, order: str) -> Notice:
    """History text of the points taken back when a purchase was refunded."""
    return Notice(PURCHASE_REFUND, {"order": order})


def first_purchase_bonus_refund(*, order: str) -> Notice:
    """History text of a first-purchase bonus taken back with its purchase."""
    return Notice(FIRST_PURCHASE_BONUS_REFUND, {"order": order})


def checkout_paid(*, order: str) -> Notice:
    """History text of the points a hold spent at the host shop's checkout; ``order``: the host's order id."""
    return Notice(CHECKOUT_PAID, {"order": order})


def account_deleted() -> Notice:
    """History text of the points forfeited when the member deleted their account."""
    return Notice(ACCOUNT_DELETED)


def award_capped(*, source: str, granted: int, requested: int) -> Notice:
    """Why an earning gave ``granted`` of ``requested`` points: a cap."""
    return Notice(AWARD_CAPPED, {"source": source, "granted": granted, "requested": requested})


def award_none(*, source: str) -> Notice:
    """Why an earning gave nothing: the member reached a cap."""
    return Notice(AWARD_NONE, {"source": source})


def award_switched_off(*, source: str) -> Notice:
    """Why an earning gave nothing: its rule is off (or worth 0 points)."""
    return Notice(AWARD_SWITCHED_OFF, {"source": source})


def signup_needs_email() -> Notice:
    """Why no sign-up bonus was paid: no verified identity to claim it with."""
    return Notice(SIGNUP_NEEDS_EMAIL)


def signup_already_given() -> Notice:
    """Why no sign-up bonus was paid: this person had it before."""
    return Notice(SIGNUP_ALREADY_GIVEN)


@register(PURCHASE)
def _purchase(params: Params) -> str:
    return _("Purchase %(order)s") % {"order": params["order"]}


@register(PURCHASE_REFUND)
def _purchase_refund(params: Params) -> str:
    return _("Taken back: purchase %(order)s was refunded") % {"order": params["order"]}


@register(FIRST_PURCHASE_BONUS_REFUND)
def _first_purchase_bonus_refund(params: Params) -> str:
    return _("Taken back: first purchase bonus (order %(order)s refunded)") % {"order": params["order"]}


@register(AWARD_CAPPED)
def _award_capped(params: Params) -> str:
    return _("%(granted)s of %(requested)s %(source)s points were added: the rest is over the limit.") % {
        "granted": params["granted"],
        "requested": params["requested"],
        "source": source_label(params["source"]),
    }


@register(AWARD_NONE)
def _award_none(params: Params) -> str:
    return _("You have reached the limit for %(source)s points for now; none were added.") % {
        "source": source_label(params["source"])
    }


@register(AWARD_SWITCHED_OFF)
def _award_switched_off(params: Params) -> str:
    return _("Points for %(source)s are switched off at the moment.") % {"source": source_label(params["source"])}


@register(SIGNUP_NEEDS_EMAIL)
def _signup_needs_email(params: Params) -> str:
    return _("A verified e-mail address is needed for the sign-up bonus.")


@register(ADJUSTMENT)
def _adjustment(params: Params) -> str:
    return _("Added by the mall: %(reason)s") % {"reason": params["reason"]}


@register(SIGNUP_ALREADY_GIVEN)
def _signup_already_given(params: Params) -> str:
    return _("The sign-up bonus was already given to this e-mail address or phone.")


@register(CHECKOUT_PAID)
def _checkout_paid(params: Params) -> str:
    return _("Paid with points at the shop, order %(order)s") % {"order": params["order"]}


@register(ACCOUNT_DELETED)
def _account_deleted(params: Params) -> str:
    return _("Forfeited: the account was deleted")
