"""Which of the catalogue's two languages the reader gets.

Bilingual content (operator-entered names and texts) is stored as a ``…_zh`` and a ``…_en``
field. The active Django language decides: any English (``en``, ``en-gb``) reads the English
field, everything else (``zh-hans``, no language active) the Chinese one, the mall's default.
"""

from __future__ import annotations

from typing import TypeVar

from django.conf import settings
from django.utils.translation import get_language

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
