"""``{{ note|note_text }}``: a note the mall stored as a code (``catalog.notices.event_note``),
in the reader's language; a person's note as written."""

from __future__ import annotations

from django import template

from catalog import notices

register = template.Library()


@register.filter
def note_text(note: str) -> str:
    return notices.note_text(note or "")
