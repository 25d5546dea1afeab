"""Side effects after commit: a failure there never turns a committed success into an error.

Anchor: zulip ``zerver/actions`` (work after the transaction) and Django's
``transaction.on_commit(robust=True)``. Work that must not be lost goes through an outbox
row written inside the transaction instead; this helper is for effects that may be retried
or dropped (a Celery nudge, a cache counter, deleting a replaced file).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import transaction

logger = logging.getLogger("pointsmall.after_commit")


def after_commit(effect: Callable[[], object], *, label: str | None = None, using: str | None = None) -> None:
    """Run ``effect()`` once the current transaction commits (at once outside one).

    An exception raised by ``effect`` is logged with its traceback (logger
    ``pointsmall.after_commit``) and swallowed: the write it follows has committed, so
    the caller must still see success. Nothing runs if the transaction rolls back.
    ``label`` names the effect in that log line (default: the function's qualified name,
    e.g. ``deliveries_queue.<locals>.<lambda>``). Publishing a job goes through
    ``pointsmall.kernel.publish``, which handles a broker away itself (one line, no traceback).
    """
    name = label or getattr(effect, "__qualname__", None) or repr(effect)

    def run() -> None:
        try:
            effect()
        except Exception:
            logger.exception("side effect after commit failed: %s", name)

    transaction.on_commit(run, using=using)
