"""Which of the catalogue's two languages the reader gets.

Bilingual content (operator-entered names and texts) is stored as a ``…_zh`` and a ``…_en``
field. The active Django language decides: any English (``en``, ``en-gb``) reads the English
field, everything else (``zh-hans``, no language active) the Chinese one, the mall's default.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

from django.conf import settings
from django.utils.translation import get_language
from django.utils.translation import gettext as _

T = TypeVar("T")


def is_site_language(code: str | None) -> bool:
    """Whether ``code`` is one of the mall's languages (``settings.LANGUAGES``: ``zh-hans``, ``en``),
    exactly as stored in a member's profile; ``""`` and None are not."""
    return bool(code) and code in dict(settings.LANGUAGES)


def reader_is_english() -> bool:
    """True when the active language is any English; False for Chinese or no active language."""
    return (get_language() or "").startswith("en")


def pick_language(*, zh: T, en: T, fallback: bool = False) -> T:
    """``en`` for an English reader, ``zh`` for everyone else.

    With ``fallback=True`` an empty choice (``""``, ``None``) gives the other language's value
    instead, for texts where one language may be left blank.
    """
    first, second = (en, zh) if reader_is_english() else (zh, en)
    if fallback and not first:
        return second
    return first


def sentences(*parts: str) -> str:
    """Sentences joined as the reader's language writes them: a space between English sentences,
    nothing between Chinese ones (their full stop "。" already separates them). Empty parts are left out."""
    separator = " " if reader_is_english() else ""
    return separator.join(part for part in parts if part)


def tier_discount_text(price_percent: int | str | None) -> str:
    """A tier's redemption price (``price_percent``, the share of the price paid, 1–100) as
    members read a discount: "8.5折" in Chinese (tenths paid), "15% off" in English (share
    taken off); 100 (or nothing): "full price" / "原价".

    The two languages count different things, so this is not one sentence translated.
    """
    try:
        percent = int(price_percent or 100)
    except (TypeError, ValueError):
        return ""
    if percent >= 100:
        return _("full price")
    if (get_language() or "").startswith("zh"):
        tenths = Decimal(percent) / 10  # exact: 85 -> 8.5, 80 -> 8
        return f"{tenths.normalize():f}折"
    return _("%(percent)s%% off") % {"percent": 100 - percent}
