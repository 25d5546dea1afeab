"""Exactly-once API operations: the same key and body replay the first answer, the same key
with another body is 409 (docs/integration.md, "Idempotency").

The record is inserted first, in the operation's own transaction: a concurrent duplicate
blocks on the unique index until the first commits, then reads its stored answer. A refused
operation (a DomainError) rolls its record back with everything else, so the host can fix
the cause (create the member, say) and retry with the same id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction

from pointsmall.integration.exceptions import RequestConflictError
from pointsmall.integration.models import IdempotencyRecord


def request_hash(body: Any) -> str:
    """SHA-256 of the request's meaning: its parsed body as canonical JSON (key order and
    whitespace do not count; ``"10.0"`` and ``"10.00"`` are different bodies)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_once(
    *, client_id: int, scope: str, key: str, body: Any, operation: Callable[[], tuple[int, dict[str, Any]]]
) -> tuple[int, dict[str, Any], bool]:
    """Run ``operation`` (returns ``(status, response)``) once per ``(client, scope, key)``.

    Returns ``(status, response, replayed)``. Raises RequestConflictError (409) when the key
    was used with a different ``body``; whatever ``operation`` raises rolls back and propagates.
    """
    digest = request_hash(body)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    client_id=client_id, scope=scope, key=key, request_hash=digest
                )
        except IntegrityError:
            earlier = IdempotencyRecord.objects.get(client_id=client_id, scope=scope, key=key)
            if earlier.request_hash != digest:
                raise RequestConflictError() from None
            return earlier.status_code, earlier.response, True
        status, response = operation()
        IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=status, response=response)
        return status, response, False


def owner_of(*, scope: str, key: str) -> int | None:
    """The client id that ran ``scope``/``key`` first (e.g. who reported a purchase), or None."""
    return IdempotencyRecord.objects.filter(scope=scope, key=key).values_list("client_id", flat=True).first()
