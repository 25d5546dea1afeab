"""Refusals of the host integration. The API answers each as JSON ``{"code", "message"}``
with its ``http_status`` (docs/integration.md lists the codes)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from pointsmall.kernel.errors import DomainError


class SignatureMissingError(DomainError):
    code = "signature_missing"
    http_status = 401
    default_message = _(
        "The request is not signed: send X-Mall-Key, X-Mall-Timestamp, X-Mall-Nonce and X-Mall-Signature."
    )


class UnknownClientError(DomainError):
    code = "unknown_client"
    http_status = 401
    default_message = _("No integration client has this key id.")


class BadSignatureError(DomainError):
    code = "bad_signature"
    http_status = 401
    default_message = _("The signature does not match the request.")


class StaleTimestampError(DomainError):
    code = "stale_timestamp"
    http_status = 401
    default_message = _("The timestamp is more than 5 minutes away from the server's clock.")


class NonceReusedError(DomainError):
    code = "nonce_reused"
    http_status = 401
    default_message = _("This nonce was already used: sign every request with a new one.")


class InvalidNonceError(DomainError):
    code = "invalid_nonce"
    http_status = 401
    default_message = _("The nonce must be 16 to 64 letters, digits, “-” or “_”.")


class ClientDisabledError(DomainError):
    code = "client_disabled"
    http_status = 403
    default_message = _("This integration client is switched off.")


class AddressNotAllowedError(DomainError):
    code = "address_not_allowed"
    http_status = 403
    default_message = _("Requests from this IP address are not allowed for this client.")


class InvalidAllowedIpsError(DomainError):
    code = "invalid_allowed_ips"
    default_message = _(
        "“%(value)s” is not an IP address or network (one per line, e.g. 203.0.113.7 or 203.0.113.0/24)."
    )


class MemberNotFoundError(DomainError):
    code = "member_not_found"
    http_status = 404
    default_message = _("This client has no member with this external id.")


class RequestConflictError(DomainError):
    code = "idempotency_conflict"
    http_status = 409
    default_message = _("This id was already used with a different request body.")


class OrderIdTakenError(DomainError):
    code = "order_id_taken"
    http_status = 409
    default_message = _("This order id was already reported by another client or imported: use another id.")


class PurchaseTooOldError(DomainError):
    code = "purchase_too_old"
    http_status = 422
    default_message = _(
        "purchased_at is more than %(days)s days ago: the API takes recent purchases only "
        "(ask the mall's operators to import older ones)."
    )


class HoldNotFoundError(DomainError):
    code = "hold_not_found"
    http_status = 404
    default_message = _("This client has no hold with this id.")


class WebhookUrlInvalidError(DomainError):
    code = "webhook_url_invalid"
    default_message = _("A webhook URL must be an http or https address with a host name.")


class WebhookPortInvalidError(DomainError):
    code = "webhook_port_invalid"
    default_message = _("The port of a webhook URL must be a number from 1 to 65535.")


class WebhookCredentialsInUrlError(DomainError):
    code = "webhook_credentials_in_url"
    default_message = _(
        "A webhook URL may not carry a user name or password: it would be shown on admin pages. "
        "Deliveries are signed, so the receiver can check they come from the mall."
    )


class WebhookHttpsRequiredError(DomainError):
    code = "webhook_https_required"
    default_message = _("A webhook URL must use https.")


class WebhookHostNotAllowedError(DomainError):
    code = "webhook_host_not_allowed"
    default_message = _(
        "The webhook host %(host)s is a loopback, private, link-local or reserved address (%(address)s): "
        "the mall does not call its own network."
    )


class WebhookHostUnresolvedError(DomainError):
    code = "webhook_host_unresolved"
    default_message = _("The webhook host %(host)s has no address (DNS lookup failed).")


class MemberUnavailableError(DomainError):
    """The external id is linked to an account the integration may not touch (a staff account)."""

    code = "member_unavailable"
    http_status = 409
    default_message = _("This member cannot be managed through the integration.")


class RedirectNotAllowedError(DomainError):
    code = "redirect_not_allowed"
    default_message = _("A login link may only lead to a page of the mall.")


class LinkIncompleteError(DomainError):
    code = "link_incomplete"
    default_message = _("The login link is missing key, uid, ts, nonce or sign, or its uid is not valid.")


class MemberInactiveError(DomainError):
    code = "member_inactive"
    http_status = 403
    default_message = _("This account is closed and cannot sign in.")


# --- Requests the API cannot read (answered by api/__init__.py, never raised by a service) ------


class ApiNotFoundError(DomainError):
    code = "not_found"
    http_status = 404
    default_message = _("There is no such API endpoint: check the path (docs/integration.md lists them).")


class MethodNotAllowedError(DomainError):
    code = "method_not_allowed"
    http_status = 405
    default_message = _("This endpoint does not take %(method)s; the Allow header lists the methods it takes.")


class InvalidJsonError(DomainError):
    code = "invalid_json"
    http_status = 422
    default_message = _("The request body is not a JSON document in UTF-8.")


class RequestTooLargeError(DomainError):
    code = "request_too_large"
    http_status = 413
    default_message = _("The request body is too large.")
