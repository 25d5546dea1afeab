"""Bounds and checks for what operators type into admin (docs/decisions/0014).

Operator input is validated as strictly as member input: every number a service reads has
a range, every list a set of known values, and both database engines refuse the same
values (SQLite would store a 64-bit number in a column Postgres caps at 2³¹ − 1, so each
field states the smaller bound itself). Other apps import these bounds from here: they may
not import ``points.models``.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from points.enums import EarningSource

# The largest value of Postgres' integer / smallint columns (PositiveIntegerField, PositiveSmallIntegerField).
INT_MAX = 2_147_483_647
SMALL_INT_MAX = 32_767

# A multiplier above this is a typo (20 for 2.0), not a promotion.
MAX_MULTIPLIER = Decimal(10)
# Points per yuan: 1 is usual, 100 (a point worth a fen) is the most any mall gives.
MAX_POINTS_PER_YUAN = Decimal(1000)
# What one point may be worth, yuan (PointValuePolicy): 1 yuan a point is already ten times the
# usual 100 points = 1 yuan of the malls we know; above it is a typo (1000 for 0.001) that would
# multiply the points liability and value every points prize of a live draw far above the legal
# top-prize cap (docs/decisions/0014, 0031).
MAX_YUAN_PER_POINT = Decimal(1)
# Rolling windows and expiry periods in months: ten years.
MAX_MONTHS = 120
# A returns window or an expiry reminder ahead of time, in days: a year.
MAX_DAYS = 365


# --- Text people read ------------------------------------------------------------------
# One rule for every text typed by a member (accounts.rules.clean_member_text) or an operator
# (validate_operator_text): no character that reorders or hides what others read.

DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Control characters that are whitespace: kept as a space or a line break.
WHITESPACE_CONTROLS = frozenset("\t\n\r\x0b\x0c\x85")
# Invisible characters an operator has no reason to type in a name members read.
INVISIBLE = frozenset("\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\ufeff")


def unsafe_char(text: str) -> str | None:
    """The first character that may never be stored in a text people read, or None: a
    direction override/embedding/isolate (U+202A..U+202E, U+2066..U+2069), a control
    character other than whitespace, or a lone surrogate."""
    for ch in text:
        if ch in DIRECTION_CONTROLS:
            return ch
        category = unicodedata.category(ch)
        if (category == "Cc" and ch not in WHITESPACE_CONTROLS) or category == "Cs":
            return ch
    return None


def validate_operator_text(value: object) -> None:
    """Operator text that members read (campaign, tier, category and product names and
    descriptions): refused, not silently changed, when it holds a character from
    ``unsafe_char`` or an invisible one (zero-width, BOM, soft hyphen, direction marks)."""
    if not isinstance(value, str):
        return
    bad = unsafe_char(value) or next((ch for ch in value if ch in INVISIBLE), None)
    if bad is not None:
        raise ValidationError(
            _("Remove the invisible or direction-changing character U+%(code)s: members would see the text garbled."),
            code="unsafe_text",
            params={"code": f"{ord(bad):04X}"},
        )


def validate_earning_sources(value: object) -> None:
    """A campaign's sources: a list of distinct known earning source codes (empty: every source)."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValidationError(
            _("Choose the sources from the list (a list of earning sources, or none for every source)."),
            code="invalid_sources",
        )
    unknown = [item for item in value if item not in EarningSource.values]
    if unknown:
        raise ValidationError(
            _("Unknown earning source: %(sources)s."),
            code="unknown_source",
            params={"sources": ", ".join(unknown)},
        )
    if len(set(value)) != len(value):
        raise ValidationError(_("Each source can be chosen once."), code="duplicate_source")


def number_bounds(db_field: models.Field) -> dict[str, int | Decimal]:
    """``min_value`` / ``max_value`` for a number field's form field, from the model field's validators.

    Django gives a model form's number field only the column's sign (``min_value=0``); the
    ranges above would surface later, from model validation, beside that first message.
    Passing them to the form field gives one message with the real bound, and the input
    carries ``min``/``max`` so the browser says it before the form is sent.
    """
    if not isinstance(db_field, models.IntegerField | models.DecimalField) or db_field.choices:
        return {}
    bounds: dict[str, int | Decimal] = {}
    for validator in db_field.validators:
        if isinstance(validator, MinValueValidator):
            bounds["min_value"] = max(bounds.get("min_value", validator.limit_value), validator.limit_value)
        elif isinstance(validator, MaxValueValidator):
            bounds["max_value"] = min(bounds.get("max_value", validator.limit_value), validator.limit_value)
    return bounds


class BoundedNumbersMixin:
    """For a ModelAdmin or inline: number fields refuse what the model field's validators refuse."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        return super().formfield_for_dbfield(db_field, request, **{**number_bounds(db_field), **kwargs})
