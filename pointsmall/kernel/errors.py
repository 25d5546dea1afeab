"""The one base class of every refusal the apps raise, and the one way to show it.

A refusal (``DomainError``) carries a stable machine ``code`` (class attribute: stored,
logged, asserted in tests, read by templates; never changes), a translatable ``message``
(``default_message`` is a ``gettext_lazy`` string whose ``%(name)s`` placeholders are
filled from the keyword arguments), the ``params`` themselves and an ``http_status``
(400 by default; 404 for "not found", 409 for a conflict with the current state, 429
for a rate limit or lock-out). Each app's errors live in its ``exceptions.py`` and are
named ``…Error``.

The helpers below turn a refusal into what the caller shows: a form error, a flash
message, a ValidationError, an HTTP response. Views, admin and forms use them instead
of writing ``error.message`` into each place by hand.

Anchors: HackSoft ``styleguide_example/core/exceptions.py`` (``ApplicationError`` with
``message`` + ``extra``); zulip ``zerver/lib/exceptions.py`` (``JsonableError``: ``code``,
``msg_format``, ``http_status_code``, ``data``).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    """A request the rules refuse. ``DomainError(message=None, **params)``.

    ``message`` replaces ``default_message`` for this one raise (it should itself be a
    translated string); either way the ``params`` are formatted into it (``%(name)s``),
    in the language active when it is raised. ``str(error)`` is the message.
    """

    code: str = "error"
    default_message: str | Promise = _("The request could not be completed.")
    http_status: int = 400

    def __init__(self, message: str | Promise | None = None, **params: Any) -> None:
        self.params: dict[str, Any] = params
        text = str(message or self.default_message)
        self.message: str = text % params if params else text
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        """``{"code", "message", "params"}``: the refusal as data (a JSON body, a log line)."""
        return {"code": self.code, "message": self.message, "params": self.params}


def error_text(error: DomainError) -> str:
    """The message a member or operator reads, in the language active when it was raised."""
    return error.message


def form_error(form: forms.BaseForm, error: DomainError, field: str | None = None) -> None:
    """Show the refusal on ``form``: under ``field``, or above the form (``None``)."""
    form.add_error(field, forms.ValidationError(error_text(error), code=error.code))


def validation_error(error: DomainError) -> forms.ValidationError:
    """The refusal as a ``ValidationError`` (same message, ``code`` = the error's code), for ``clean_*``."""
    return forms.ValidationError(error_text(error), code=error.code)


def message_error(
    request: HttpRequest,
    error: DomainError,
    *,
    level: int = messages.ERROR,
    template: str | Promise | None = None,
    **params: Any,
) -> None:
    """Flash the refusal (django.contrib.messages) at ``level`` (ERROR unless told).

    ``template`` frames it, e.g. ``_("Order #%(id)s: %(message)s")`` with ``id=7``, for an
    admin action that reports one line per row; ``%(message)s`` is the refusal's message.
    """
    text = error_text(error)
    if template is not None:
        text = str(template) % {**params, "message": text}
    messages.add_message(request, level, text)


def error_response(
    request: HttpRequest,
    error: DomainError,
    template: str | None = None,
    context: dict[str, Any] | None = None,
) -> HttpResponse:
    """An HTTP response with status ``error.http_status``.

    With ``template``: that page rendered with ``error`` (and ``context``) in its context.
    Without: the message as the plain-text body (for a machine caller, e.g. a payment
    gateway's callback).
    """
    if template is not None:
        return render(request, template, {**(context or {}), "error": error}, status=error.http_status)
    return HttpResponse(error_text(error), status=error.http_status, content_type="text/plain")
