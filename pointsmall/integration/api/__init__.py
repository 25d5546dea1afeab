"""The host API, ``/api/v1/`` (Django Ninja): signed JSON requests from integration clients.

Views here are thin: check the signature (``HostSignature``), validate the body (pydantic
schemas in ``api.schemas``), call one service, answer JSON. Every refusal is
``{"code": …, "message": …}`` with a stable code (docs/integration.md):

* a ``DomainError`` keeps its ``http_status``, except the plain 400 ("the rules refuse these
  values"), which the API answers as 422 (the request was well formed, its content is refused);
* a body or parameter that fails its schema is 422 ``invalid_request`` with ``errors``;
* an unsigned or badly signed request is 401, a disabled client or foreign address 403;
* what the API cannot read is answered the same way: 404 ``not_found`` (no endpoint at this
  path under ``/api/v1/``, ``not_found`` below), 405 ``method_not_allowed`` (with ``Allow``),
  413 ``request_too_large``, 422 ``invalid_json`` (a body that is not a JSON document in
  UTF-8, nests too deeply, or uses ``NaN``/``Infinity``). Never an HTML page.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, URLResolver
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.security import APIKeyHeader

from accounts.adapters import client_ip
from pointsmall.integration import services, signing
from pointsmall.integration.api.schemas import responses
from pointsmall.integration.exceptions import (
    ApiNotFoundError,
    InvalidJsonError,
    MethodNotAllowedError,
    RequestTooLargeError,
    SignatureMissingError,
)
from pointsmall.integration.models import Client
from pointsmall.kernel.errors import DomainError
from pointsmall.kernel.ratelimit import RateLimitedError, rate_hit

API_RATE_GROUP = "integration.api"


class HostSignature(APIKeyHeader):
    """HMAC-SHA256 request signing (pointsmall.integration.signing). ``request.auth`` is the Client."""

    param_name = "X-Mall-Signature"
    openapi_description = (
        "HMAC-SHA256, lowercase hex, over METHOD\\npath?query\\ntimestamp\\nnonce\\nsha256_hex(body) "
        "with the client's secret; also send X-Mall-Key, X-Mall-Timestamp (Unix seconds) and "
        "X-Mall-Nonce (16–64 of A-Z a-z 0-9 - _, never reused). See docs/integration.md."
    )

    def authenticate(self, request: HttpRequest, key: str | None) -> Client:
        headers = request.headers
        key_id = headers.get("X-Mall-Key", "")
        timestamp = headers.get("X-Mall-Timestamp", "")
        nonce = headers.get("X-Mall-Nonce", "")
        if not (key and key_id and timestamp and nonce):
            raise SignatureMissingError()
        message = signing.request_string(
            method=request.method or "",
            # request.path is already percent-decoded: the canonical path (signing.canonical_path).
            path=request.path + ("?" + query if (query := request.META.get("QUERY_STRING", "")) else ""),
            timestamp=timestamp,
            nonce=nonce,
            body=request.body,
        )
        client = services.signed_call_verify(
            key_id=key_id, timestamp=timestamp, nonce=nonce, signature=key, message=message, ip=client_ip(request)
        )
        # Per client key, once the signature is good (an unsigned flood never reaches a client's
        # budget): past API_RATE_LIMIT a 429 ``rate_limited`` with Retry-After (docs/decisions/0051).
        rate_hit(
            request,
            group=API_RATE_GROUP,
            key=lambda group, request: f"client:{client.pk}",
            rate=settings.API_RATE_LIMIT,
        )
        return client


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def domain_status(error: DomainError) -> int:
    return 422 if error.http_status == 400 else error.http_status


def _no_constant(name: str) -> Any:
    raise InvalidJsonError()


class StrictJsonParser(Parser):
    """JSON bodies as RFC 8259 has them: UTF-8 only (not UTF-16/32, which ``json.loads`` guesses
    from bytes), no ``NaN``/``Infinity``. Any failure (also a body nested too deeply:
    RecursionError) makes Ninja raise HttpError(400) from it, answered 422 ``invalid_json``."""

    def parse_body(self, request: HttpRequest) -> Any:
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidJsonError() from None
        return json.loads(text, parse_constant=_no_constant)


class HostNinjaAPI(NinjaAPI):
    """NinjaAPI whose 405 answers are JSON: Ninja returns its own text/plain
    HttpResponseNotAllowed from each path's view, without passing through an exception handler."""

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                pattern.callback = self._json_not_allowed(pattern.callback)
        return urls

    def _json_not_allowed(self, view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            response = view(request, *args, **kwargs)
            if isinstance(response, HttpResponseNotAllowed):
                refusal = MethodNotAllowedError(method=(request.method or "")[:16])
                answer = self.create_response(request, error_body(refusal.code, refusal.message), status=405)
                answer["Allow"] = ", ".join(sorted(part.strip() for part in response["Allow"].split(",")))
                return answer
            return response

        return csrf_exempt(wrapped)


api = HostNinjaAPI(
    title="Points Mall host API",
    version="1",
    description="Signed JSON API for the host business: members, purchases, refunds, checkout holds "
    "(积分抵扣), balances and history. Signing, webhooks and a Python client: docs/integration.md.",
    auth=HostSignature(),
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url="/docs",
    parser=StrictJsonParser(),
)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    response = api.create_response(request, error_body(error.code, error.message), status=domain_status(error))
    if isinstance(error, RateLimitedError) and error.retry_after is not None:
        response["Retry-After"] = str(error.retry_after)
    return response


@api.exception_handler(NinjaValidationError)
def on_invalid_request(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    errors = [
        {"loc": [str(part) for part in item.get("loc", ())], "message": str(item.get("msg", ""))}
        for item in error.errors
    ]
    return api.create_response(
        request,
        error_body("invalid_request", _("The request does not match the API's schema."), errors=errors),
        status=422,
    )


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    missing = SignatureMissingError()
    return api.create_response(request, error_body(missing.code, missing.message), status=401)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if error.status_code == 400 and error.__cause__ is not None:
        # Ninja's "Cannot parse request body" (ninja.params.models.BodyModel): our parser's
        # InvalidJsonError, a JSON syntax error, or RecursionError from a deeply nested body.
        refusal = InvalidJsonError()
        return api.create_response(request, error_body(refusal.code, refusal.message), status=refusal.http_status)
    # Any other HttpError (none is raised on this API today): its status, never Ninja's raw text.
    return api.create_response(
        request, error_body("http_error", _("The request could not be completed.")), status=error.status_code
    )


@api.exception_handler(RequestDataTooBig)
def on_too_large(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    refusal = RequestTooLargeError()
    return api.create_response(request, error_body(refusal.code, refusal.message), status=413)


@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    """Every path under ``/api/v1/`` that no endpoint has (urls.py, after ``api.urls``):
    404 ``not_found`` as JSON, whatever the method, signed or not."""
    refusal = ApiNotFoundError()
    return api.create_response(request, error_body(refusal.code, refusal.message), status=404)


class PingOut(Schema):
    ok: bool
    client: str
    key_id: str


@api.get("/ping", summary="Check your signing", tags=["signing"], response=responses({200: PingOut}))
def ping(request: HttpRequest) -> dict[str, Any]:
    """Answers only a correctly signed request: a host's first call while wiring up signing."""
    client: Client = request.auth  # type: ignore[attr-defined]
    return {"ok": True, "client": client.name, "key_id": client.key_id}


api.add_router("", "pointsmall.integration.api.members.router")
api.add_router("", "pointsmall.integration.api.purchases.router")
api.add_router("", "pointsmall.integration.api.holds.router")
