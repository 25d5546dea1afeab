"""What every endpoint of the host API shares: the error body, the answers every signed call
can get, and writing a stored answer back (an idempotent replay)."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from ninja import Schema


class ErrorDetail(Schema):
    loc: list[str]
    message: str


class ErrorOut(Schema):
    """Every refusal: a stable ``code``, a ``message`` in the request's language, and for
    ``invalid_request`` the fields at fault."""

    code: str
    message: str
    errors: list[ErrorDetail] | None = None


def responses(success: dict[int, Any], *refusals: int) -> dict[int, Any]:
    """An operation's documented answers: its success, the signature refusals every call can
    get (401 unsigned or badly signed, 403 client switched off or address not allowed), 422 for
    a body or parameter that fails the schema, and the ``refusals`` of its own."""
    return {**success, **dict.fromkeys(sorted({401, 403, 422, *refusals}), ErrorOut)}


def answer(status: int, body: dict[str, Any], *, replayed: bool = False) -> HttpResponse:
    """``body`` as the API's JSON response; a replayed idempotent answer says so in a header."""
    from pointsmall.integration.api import api

    response = api.create_response(None, body, status=status)  # type: ignore[arg-type]
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response
