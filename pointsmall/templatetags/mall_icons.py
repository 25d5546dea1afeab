"""``{% icon "name" %}``: one icon of the vendored Tabler set (static/vendor/tabler-icons-*/, MIT),
inline, so it takes the text's colour and needs no request of its own.

Only the icons the mall uses are vendored; an unknown name draws the fallback (a neutral
"category" shape) rather than nothing, so a mistyped or removed icon never leaves a hole.
Icons are decorative (``aria-hidden``): the text beside them says what they mean.
"""

from __future__ import annotations

import re
from functools import lru_cache

from django import template
from django.contrib.staticfiles import finders
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

ICON_DIR = "vendor/tabler-icons-3.52.0/outline"
FALLBACK_ICON = "category"
_NAME = re.compile(r"^[a-z0-9-]{1,40}$")


@lru_cache(maxsize=256)
def _svg(name: str) -> str | None:
    if not _NAME.match(name):
        return None
    path = finders.find(f"{ICON_DIR}/{name}.svg")
    if not path:
        return None
    with open(path, encoding="utf-8") as handle:
        svg = handle.read()
    # The file's fixed 24 px size and class give way to ours (CSS sizes the icon: 1em by default).
    svg = re.sub(r'\s(width|height)="24"', "", svg, count=2)
    svg = re.sub(r'class="[^"]*"', 'class="icon" aria-hidden="true" focusable="false"', svg, count=1)
    return " ".join(svg.split())


def icon_exists(name: str) -> bool:
    """Whether ``name`` is one of the vendored icons."""
    return _svg(name) is not None


@register.simple_tag
def icon(name: str) -> SafeString:
    """The inline SVG of icon ``name`` (the fallback icon when there is no such icon)."""
    svg = _svg(str(name or "")) or _svg(FALLBACK_ICON) or ""
    return mark_safe(svg)  # noqa: S308 (our own vendored files, read from static/, never user input)
