"""The host API, ``/api/v1/`` (Django Ninja): signed JSON requests from integration clients.

Views here are thin: check the signature (``HostSignature``), validate the body (pydantic
schemas in ``api.schemas``), call one service, answer JSON. Every refusal is
``{"code": …, "message": …}`` with a stable code (docs/integration.md):

* a ``DomainError`` keeps its ``http_status``, except the plain 400 ("the rules refuse these
  values"), which the API answers as 422 (the request was well formed, its content is refused);
* a body or parameter that fails its schema is 422 ``invalid_request`` with ``errors``;
* an unsigned or badly signed request is 401, a disabled client or foreign address 403.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyHeader

from accounts.adapters import client_ip
from pointsmall.integration import services, signing
from pointsmall.integration.exceptions import SignatureMissingError
from pointsmall.integration.models import Client
from pointsmall.kernel.errors import DomainError


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
        return services.signed_call_verify(
            key_id=key_id, timestamp=timestamp, nonce=nonce, signature=key, message=message, ip=client_ip(request)
        )


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def domain_status(error: DomainError) -> int:
    return 422 if error.http_status == 400 else error.http_status


api = NinjaAPI(
    title="Points Mall host API",
    version="1",
    description="Signed JSON API for the host business: members, purchases, refunds, checkout holds "
    "(积分抵扣), balances and history. Signing, webhooks and a Python client: docs/integration.md.",
    auth=HostSignature(),
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url="/docs",
)


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    return api.create_response(request, error_body(error.code, error.message), status=domain_status(error))


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
    return api.create_response(request, error_body("http_error", str(error)), status=error.status_code)


@api.get("/ping", summary="Check your signing", tags=["signing"])
def ping(request: HttpRequest) -> dict[str, Any]:
    """Answers only a correctly signed request: a host's first call while wiring up signing."""
    client: Client = request.auth  # type: ignore[attr-defined]
    return {"ok": True, "client": client.name, "key_id": client.key_id}


api.add_router("", "pointsmall.integration.api.members.router")
api.add_router("", "pointsmall.integration.api.purchases.router")
api.add_router("", "pointsmall.integration.api.holds.router")
