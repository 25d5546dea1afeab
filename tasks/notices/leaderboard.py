"""leaderboard notices."""

from __future__ import annotations
