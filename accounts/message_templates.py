"""The sandbox operators' message templates are rendered in (e-mail subject and text, SMS).

A separate ``Engine``: no loaders (nothing to include or extend), no libraries to ``{% load %}``,
and only the harmless built-in tags and filters: ``{% debug %}`` (which prints the server's
modules), ``{% load %}``, ``{% url %}``, ``{% csrf_token %}`` and the loader tags are left
out. The context holds only the message's own values (see :data:`CONTEXT_NAMES`). Output is
plain text (autoescape off): the e-mail's HTML part escapes it when it places it in its layout.

This module is also the ``builtins`` library of that engine (``register`` below).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.template import Context, Engine, Library, TemplateSyntaxError, defaultfilters, defaulttags

from accounts.exceptions import TemplateTextError

# The names every template can use, besides the message's own parameters.
CONTEXT_NAMES = ("title", "body", "link", "mall_name", "member_name", "params")
_UNSAFE_TAGS = {"debug", "load", "url", "csrf_token", "templatetag", "resetcycle"}

register = Library()
register.tags.update({name: tag for name, tag in defaulttags.register.tags.items() if name not in _UNSAFE_TAGS})
register.filters.update(defaultfilters.register.filters)

_engine = Engine(
    dirs=[],
    app_dirs=False,
    loaders=[],
    libraries={},
    builtins=["accounts.message_templates"],
    autoescape=False,
    string_if_invalid="",
    debug=False,
)
# Engine() adds Django's default builtins; keep only ours.
_engine.builtins = ["accounts.message_templates"]
_engine.template_builtins = _engine.get_template_builtins(_engine.builtins)


def compile_text(source: str):
    try:
        return _engine.from_string(source)
    except TemplateSyntaxError as error:
        raise TemplateTextError(str(error)) from None


def render_text(source: str, context: Mapping[str, Any]) -> str:
    """``source`` rendered with ``context``; raises TemplateTextError."""
    template = compile_text(source)
    try:
        return template.render(Context(dict(context), autoescape=False)).strip()
    except Exception as error:  # a filter given a value it cannot take
        raise TemplateTextError(f"{type(error).__name__}: {error}") from None
