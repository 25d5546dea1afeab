"""Commit–reveal: a campaign's seed is published once the campaign has ended."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from lottery.models import LotteryCampaign


@transaction.atomic
def lottery_seeds_reveal(*, now: datetime | None = None) -> int:
    """Reveal the seed of every published campaign that has ended (sets ``revealed_at``).

    Returns how many were revealed. Locks the campaign rows it reveals. Safe to call twice
    (a revealed campaign is left alone). Job ``lottery.seeds_reveal``, every 10 minutes.
    """
    now = now or timezone.now()
    return LotteryCampaign.objects.filter(
        published_at__isnull=False, revealed_at__isnull=True, ends_at__lte=now
    ).update(revealed_at=now)
