"""Keyed hashes of the short secrets members type: SMS codes and the payment PIN.

A 6-digit code has 10^6 values, so any unkeyed hash of it, however slow, is reversed by
trying them all. What keeps a stored hash useless is a key the table does not hold. One
construction for all of them: HMAC-SHA256 under a key derived from the secret and a
purpose string (Django's ``salted_hmac``), so one secret never yields the same digest for
two purposes. See docs/decisions/0042-payment-pin-hash.md.
"""

from __future__ import annotations

import re

from django.core.exceptions import ImproperlyConfigured
from django.utils.crypto import constant_time_compare, salted_hmac

_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,16}")


def keyed_digest(purpose: str, message: str, *, key: str) -> str:
    """HMAC-SHA256 of ``message`` under ``key`` for ``purpose``: 64 lower-case hex characters."""
    return salted_hmac(purpose, message, secret=key, algorithm="sha256").hexdigest()


def digests_match(expected: str, given: str) -> bool:
    """Compare two digests in constant time (no early exit telling how much of a guess was right)."""
    return constant_time_compare(expected, given)


def keyring_parse(value: str, *, setting: str) -> dict[str, str]:
    """Read ``"id:secret,id:secret"`` (the current key first) into ``{id: secret}`` in that order.

    An id is 1-16 letters, digits, ``-`` or ``_`` (it is stored beside each hash, so it names the
    key without revealing it); a secret may hold any character but ``,``. Raises
    ImproperlyConfigured naming ``setting`` on an empty list, a malformed entry or a repeated id.
    """
    keys: dict[str, str] = {}
    for entry in value.split(","):
        key_id, colon, secret = entry.strip().partition(":")
        if not (colon and _KEY_ID.fullmatch(key_id) and secret) or key_id in keys:
            raise ImproperlyConfigured(
                f"{setting}: expected 'id:secret' entries separated by commas, the current one first, each id "
                "(1-16 letters, digits, - or _) once, e.g. '2:<new random secret>,1:<old secret>'"
            )
        keys[key_id] = secret
    return keys


def development_key(name: str, secret_key: str) -> str:
    """A development-only default for the separate secret ``name``: derived from the secret key for
    that name alone, so it is never the secret key itself. Production sets its own (a deploy check)."""
    return keyed_digest(f"pointsmall.development_key.{name}", "", key=secret_key)
