"""Refusals of the tasks app (check-in, tasks, leaderboard), each with a code and a message a
member can read. The base class is ``pointsmall.kernel.errors.DomainError``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _  # noqa: F401

from pointsmall.kernel.errors import DomainError  # noqa: F401

# --- Daily check-in ---------------------------------------------------------------------------

# --- Tasks and surveys ------------------------------------------------------------------------

# --- Leaderboard ------------------------------------------------------------------------------
