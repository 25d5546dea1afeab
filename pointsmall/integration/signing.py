"""The one signing scheme of the host integration: HMAC-SHA256 with the client's secret.

Used for API requests (the host signs, we check), login links (the host signs, we check) and
webhooks (we sign, the host checks). Pure functions of their inputs, no database: the docs'
Python client example and the tests use exactly these rules (docs/integration.md).

* API request: ``string_to_sign = METHOD \\n path?query \\n timestamp \\n nonce \\n sha256_hex(body)``,
  the path percent-decoded (``/purchases/A:1/refunds`` whether the client sent ``:`` or ``%3A``)
  and the query string exactly as sent (``canonical_path``);
  headers ``X-Mall-Key``, ``X-Mall-Timestamp`` (Unix seconds), ``X-Mall-Nonce``,
  ``X-Mall-Signature`` (lowercase hex).
* Login link: every query parameter but ``sign``, sorted by name, each name and value
  percent-encoded (RFC 3986: everything but ``A-Z a-z 0-9 - . _ ~``), as ``name=value`` joined
  by ``&``; ``sign`` is the hex HMAC of that. Encoding makes the text unambiguous: an ``&`` or
  ``=`` inside a value is ``%26`` / ``%3D``, never a separator.
* Webhook: ``X-Mall-Signature: t=<timestamp>,v1=<hex>[,v1=<hex>]`` where each ``v1`` is the
  HMAC of ``"<timestamp>.<raw body>"`` with one of the client's live secrets (two during a
  rotation's overlap), the scheme Stripe's webhooks use.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote

# Requests and links older (or further in the future) than this are refused; nonces are kept this long.
MAX_AGE_SECONDS = 300
# A signature as sent: 64 hex digits (either case). Anything else is refused before comparing:
# hmac.compare_digest raises TypeError on a str with non-ASCII characters.
SIGNATURE_PATTERN = re.compile(r"[0-9a-fA-F]{64}")


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical_path(path_with_query: str) -> str:
    """The path a request signs: percent-decoded, then ``?`` and the query string as sent.

    Decoding makes the signature independent of how an HTTP library escapes a path (some
    encode ``:`` and ``@``, some do not); the query is kept as sent because decoding it could
    merge two different queries into one text.
    """
    path, mark, query = path_with_query.partition("?")
    return unquote(path) + (mark + query if query else "")


def request_string(*, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The text an API request's signature covers (``path`` includes the query string as sent)."""
    return "\n".join([method.upper(), path, timestamp, nonce, body_hash(body)])


def link_string(params: Mapping[str, str]) -> str:
    """The text a login link's ``sign`` covers: the other parameters sorted by name, each name
    and value percent-encoded (only RFC 3986 unreserved characters stay as they are), as
    ``a=1&b=%2Fmall%2F``. One text means one set of parameters: without the encoding
    ``uid=m1&redirect=/p&ts=T&uid=victim&zzz=`` could be re-read as other parameters."""
    return "&".join(
        f"{quote(name, safe='')}={quote(params[name], safe='')}" for name in sorted(params) if name != "sign"
    )


def webhook_string(*, timestamp: str, body: bytes) -> bytes:
    return timestamp.encode() + b"." + body


def sign(secret: str, message: str | bytes) -> str:
    """Lowercase hex HMAC-SHA256 of ``message`` (UTF-8 when text) under ``secret``."""
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def matches(secrets: Iterable[str], message: str | bytes, signature: str) -> bool:
    """True when ``signature`` is the HMAC of ``message`` under any of ``secrets`` (constant time).

    ``signature`` is untrusted text (a header, a query parameter): anything but 64 hex digits is
    False at once, and the comparison is of ASCII bytes, so no input can raise.
    """
    if not isinstance(signature, str) or not SIGNATURE_PATTERN.fullmatch(signature):
        return False
    given = signature.lower().encode("ascii")
    found = False
    for secret in secrets:
        # No early return: the time taken does not say which secret matched.
        found |= hmac.compare_digest(sign(secret, message).encode("ascii"), given)
    return found


def webhook_header(*, secrets: Iterable[str], timestamp: str, body: bytes) -> str:
    """The ``X-Mall-Signature`` value of a webhook body: ``t=…,v1=…`` (one ``v1`` per live secret)."""
    message = webhook_string(timestamp=timestamp, body=body)
    return ",".join([f"t={timestamp}", *(f"v1={sign(secret, message)}" for secret in secrets)])
