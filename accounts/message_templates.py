"""The sandbox operators' message templates are rendered in (e-mail subject and text, SMS).

A separate ``Engine``: no loaders (nothing to include or extend), no libraries to ``{% load %}``,
and only the harmless built-in tags and filters: ``{% debug %}`` (which prints the server's
modules), ``{% load %}``, ``{% url %}``, ``{% csrf_token %}`` and the loader tags are left
out, and so are ``{% autoescape %}`` and the ``safe`` and ``safeseq`` filters (nothing an
operator writes may switch HTML escaping off). The context holds only the message's own
values (see :data:`CONTEXT_NAMES`). Output is plain text (autoescape off): the e-mail's HTML
part escapes it when it places it in its layout.

Size is bounded too (an operator's ``{{ title|ljust:"5000000" }}`` or nested loops must not
render megabytes in a worker): each field's output is capped (:data:`MAX_CHARS`); a filter
whose result is longer than :data:`FILTER_MAX` characters or items fails; ``ljust``, ``rjust``,
``center``, ``stringformat`` and ``floatformat`` refuse a width or precision over
:data:`WIDTH_MAX`; ``join`` refuses a result it would make too long before making it; all
``{% for %}`` loops of one rendering together run at most :data:`LOOP_MAX` times; ``{% lorem %}``
is left out. Each of these raises TemplateTextError: the admin refuses the template, the
worker falls back to the built-in text.

The context is frozen (:func:`freeze`): each rendering gets its own copy in which mappings are
read-only (:class:`FrozenMapping`: no ``clear``, ``pop``, ``popitem``, ``setdefault``,
``update``), lists are tuples and anything else but text, numbers, dates and None becomes
text, so ``{{ params.clear }}`` renders nothing and changes nothing (the review found it
emptied the parameters shared by the subject, text and SMS renderings).

Syntax errors are explained in the operator's language for the common cases (an unknown or
misplaced tag, an unclosed tag, an unknown filter, a name beginning with an underscore, an
unreadable expression, an empty tag, a filter given the wrong number of arguments;
:func:`syntax_error_text`), with Django's own
text inside a translated frame otherwise, and never suggest ``{% load %}`` (not available here).

This module is also the ``builtins`` library of that engine (``register`` below).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping, Sized
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast

from django.template import Context, Engine, Library, TemplateSyntaxError, defaultfilters, defaulttags
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.exceptions import TemplateTextError

# The names every template can use, besides the message's own parameters.
CONTEXT_NAMES = ("title", "body", "link", "mall_name", "member_name", "params")
_UNSAFE_TAGS = {"debug", "load", "url", "csrf_token", "templatetag", "resetcycle", "lorem", "autoescape"}
# Filters that mark text as safe HTML: the output is plain text, escaped where it becomes HTML,
# and an operator must not be able to switch that off (docs/decisions/0029).
_UNSAFE_FILTERS = {"safe", "safeseq"}

# The longest rendered text of each field (characters).
MAX_CHARS = {"email_subject": 200, "email_body": 20_000, "sms_text": 500}
# The longest result of any one filter (characters of a text, items of a list).
FILTER_MAX = 50_000
# The widest width or precision ljust, rjust, center, stringformat and floatformat accept.
WIDTH_MAX = 1_000
# How many times all the {% for %} loops of one rendering may run their body, together.
LOOP_MAX = 1_000
_WIDTH_FILTERS = {"ljust", "rjust", "center", "stringformat", "floatformat"}
_LOOP_COUNT = "accounts.message_templates.loops"


def _too_long(what: str, limit: int) -> TemplateTextError:
    return TemplateTextError(
        _("%(what)s would be longer than %(max)s characters or items") % {"what": what, "max": limit}
    )


def _bounded_filter(name: str, func: Callable) -> Callable:
    @functools.wraps(func)
    def bounded(value: Any, *args: Any, **kwargs: Any) -> Any:
        if name in _WIDTH_FILTERS and args:
            widths = [int(digits) for digits in re.findall(r"\d+", str(args[0]))]
            if any(width > WIDTH_MAX for width in widths):
                raise TemplateTextError(
                    _("the filter %(name)s takes a width of at most %(max)s") % {"name": name, "max": WIDTH_MAX}
                )
        if name == "join" and args and isinstance(value, Sized) and not isinstance(value, str):
            items = list(cast(Iterable[Any], value))
            estimate = len(str(args[0])) * max(len(items) - 1, 0) + sum(len(str(item)) for item in items)
            if estimate > FILTER_MAX:
                raise _too_long(_("the filter %(name)s") % {"name": name}, FILTER_MAX)
        result = func(value, *args, **kwargs)
        if isinstance(result, (str, list, tuple)) and len(result) > FILTER_MAX:
            raise _too_long(_("the filter %(name)s") % {"name": name}, FILTER_MAX)
        return result

    return bounded


class _CountedSequence:
    """What a ``{% for %}`` loops over, counted against :data:`LOOP_MAX` for the whole
    rendering before the loop runs (nested loops add up: 20 × 20 × 20 is 8,420 runs)."""

    def __init__(self, sequence) -> None:
        self.sequence = sequence

    def __str__(self) -> str:
        return str(self.sequence)

    def resolve(self, context, ignore_failures: bool = False):
        values = self.sequence.resolve(context, ignore_failures=ignore_failures)
        if values is None:
            return values
        if not hasattr(values, "__len__"):
            values = list(values)
        runs = context.render_context.get(_LOOP_COUNT, 0) + len(values)
        if runs > LOOP_MAX:
            raise TemplateTextError(_("the loops would run more than %(max)s times") % {"max": LOOP_MAX})
        context.render_context[_LOOP_COUNT] = runs
        return values


def _do_for(parser, token):
    node = defaulttags.do_for(parser, token)
    # Django resolves ``node.sequence`` by duck typing: anything with resolve() will do.
    node.sequence = _CountedSequence(node.sequence)  # type: ignore[assignment]
    return node


register = Library()
register.tags.update({name: tag for name, tag in defaulttags.register.tags.items() if name not in _UNSAFE_TAGS})
register.tags["for"] = _do_for
register.filters.update(
    {
        name: _bounded_filter(name, func)
        for name, func in defaultfilters.register.filters.items()
        if name not in _UNSAFE_FILTERS
    }
)

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


_LOAD_HINT = re.compile(r"\s*Did you forget to register or load this tag\?")
_INVALID_TAG = re.compile(
    r"Invalid block tag on line (?P<line>\d+): '(?P<tag>[^']*)'(?:, expected (?P<expected>.+?))?\."
)
_UNCLOSED_TAG = re.compile(r"Unclosed tag on line (?P<line>\d+): '(?P<tag>[^']*)'\. Looking for one of: (?P<ends>.+)\.")
_INVALID_FILTER = re.compile(r"Invalid filter: '(?P<filter>[^']*)'")
_UNDERSCORE = re.compile(r"Variables and attributes may not begin with underscores: '(?P<name>[^']*)'")
_REMAINDER = re.compile(r"Could not parse the remainder: '(?P<rest>.*)' from '(?P<whole>.*)'$", re.DOTALL)
_EMPTY = re.compile(r"Empty (?P<what>variable|block) tag on line (?P<line>\d+)")
_FILTER_ARGS = re.compile(r"(?P<filter>\w+) requires (?P<wanted>\d+) arguments, (?P<given>\d+) provided")


def syntax_error_text(error: TemplateSyntaxError | str) -> str:
    """Django's syntax error as an operator reads it, in the active language; never a hint
    to ``{% load %}`` a library (there are none here)."""
    detail = str(error)
    if match := _INVALID_TAG.match(detail):
        if match["expected"]:
            expected = match["expected"].replace("'", "").split(" or ")[-1]
            return _(
                "Line %(line)s: {%% %(tag)s %%} is not expected here; close the open tag with {%% %(end)s %%}."
            ) % {
                "line": match["line"],
                "tag": match["tag"],
                "end": expected,
            }
        return _("Line %(line)s: {%% %(tag)s %%} is not a tag message templates can use.") % {
            "line": match["line"],
            "tag": match["tag"],
        }
    if match := _UNCLOSED_TAG.match(detail):
        end = match["ends"].split(", ")[-1]
        return _("Line %(line)s: {%% %(tag)s %%} is never closed; add {%% %(end)s %%}.") % {
            "line": match["line"],
            "tag": match["tag"],
            "end": end,
        }
    if match := _INVALID_FILTER.match(detail):
        return _("“%(filter)s” is not a filter message templates can use.") % {"filter": match["filter"]}
    if match := _UNDERSCORE.match(detail):
        return _("“%(name)s”: names beginning with an underscore cannot be used in message templates.") % {
            "name": match["name"]
        }
    if match := _REMAINDER.match(detail):
        return _("“%(whole)s” cannot be read: “%(rest)s” is not understood.") % {
            "whole": match["whole"],
            "rest": match["rest"],
        }
    if match := _EMPTY.match(detail):
        if match["what"] == "variable":
            return _("Line %(line)s: {{ }} is empty; put a name inside.") % {"line": match["line"]}
        return _("Line %(line)s: {%% %%} is empty; put a tag inside.") % {"line": match["line"]}
    if match := _FILTER_ARGS.match(detail):
        wanted = int(match["wanted"]) - 1  # Django counts the value the filter applies to
        return ngettext(
            "The filter “%(filter)s” takes %(wanted)s argument, %(given)s given.",
            "The filter “%(filter)s” takes %(wanted)s arguments, %(given)s given.",
            wanted,
        ) % {"filter": match["filter"], "wanted": wanted, "given": int(match["given"]) - 1}
    return _("The template has a syntax error: %(detail)s") % {"detail": _LOAD_HINT.sub("", detail).strip()}


def compile_text(source: str):
    try:
        return _engine.from_string(source)
    except TemplateSyntaxError as error:
        raise TemplateTextError(syntax_error_text(error)) from None


_PLAIN = (str, int, float, Decimal, date, datetime, type(None))


class FrozenMapping(Mapping):
    """A read-only mapping: ``get``, ``keys``, ``items``, ``values`` and lookups, no method that
    changes it (and no ``copy`` handing out a mutable one). Prints like a dict."""

    def __init__(self, data: dict) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)


class FrozenList(tuple):
    """A list a template may read (a tuple that prints like a list)."""

    def __repr__(self) -> str:
        return repr(list(self))

    __str__ = __repr__


def freeze(value: Any) -> Any:
    """``value`` as a template may read but never change: mappings become read-only copies,
    lists and tuples tuples, text, numbers, dates and None stay, anything else becomes text."""
    if isinstance(value, _PLAIN):  # bool is an int
        return value
    if isinstance(value, Mapping):
        return FrozenMapping({str(key): freeze(item) for key, item in value.items()})
    if isinstance(value, (list, tuple, set, frozenset)):
        return FrozenList(freeze(item) for item in value)
    return str(value)


def render_text(source: str, context: Mapping[str, Any], *, max_chars: int = FILTER_MAX) -> str:
    """``source`` rendered with ``context``, at most ``max_chars`` characters (see
    :data:`MAX_CHARS` for each field); raises TemplateTextError."""
    template = compile_text(source)
    try:
        frozen = {str(name): freeze(value) for name, value in context.items()}
        text = template.render(Context(frozen, autoescape=False)).strip()
    except TemplateTextError:
        raise
    except TemplateSyntaxError as error:  # a tag whose arguments are checked when it runs
        raise TemplateTextError(syntax_error_text(error)) from None
    except Exception as error:  # a filter given a value it cannot take
        raise TemplateTextError(
            _("A value does not fit where the template uses it: %(detail)s")
            % {"detail": f"{type(error).__name__}: {error}"}
        ) from None
    if len(text) > max_chars:
        raise TemplateTextError(
            _("the text is %(length)s characters long, at most %(max)s are allowed")
            % {"length": len(text), "max": max_chars}
        )
    return text
