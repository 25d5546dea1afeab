"""Operators freeze and unfreeze members' points accounts; the member is told (docs/decisions/0055)."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts import notices
from accounts.enums import NotificationKind
from accounts.models import RiskFlag
from accounts.services.notifications import notification_send
from accounts.services.referrals import referral_rewards_pay_due
from points import services as points_services
from points.notices import Notice


@transaction.atomic
def account_freeze(*, user_id: int, actor_id: int, reason: str) -> int:
    """Freeze the member's points account (points.services.points_account_freeze: no earning, no
    spending) and put a transactional message in their inbox, with ``reason``, in their language.
    Returns the id of the ``AccountFreeze`` row.

    Raises FreezeReasonRequiredError (empty or over 500 characters), SelfFreezeError (``actor_id``
    is ``user_id``: staff never act on their own account), AccountAlreadyFrozenError,
    AccountNotFoundError; any refusal writes nothing. Locks: the points account.
    """
    freeze_id = points_services.points_account_freeze(user_id=user_id, actor_id=actor_id, reason=reason)
    _tell(user_id, freeze_id, notices.account_frozen(reason=" ".join(reason.split())))
    return freeze_id


@transaction.atomic
def account_unfreeze(*, user_id: int, actor_id: int, reason: str) -> int:
    """Unfreeze the member's points account, tell them, and pay the referral rewards kept back while
    it was frozen (``referral_rewards_pay_due``, docs/decisions/0056). Returns the ``AccountFreeze``
    row's id. Raises as ``account_freeze`` does, with AccountNotFrozenError for an account that is
    not frozen. Locks: the points account, then the member's referrals as inviter, in pk order."""
    freeze_id = points_services.points_account_unfreeze(user_id=user_id, actor_id=actor_id, reason=reason)
    _tell(user_id, freeze_id, notices.account_unfrozen())
    referral_rewards_pay_due(inviter_id=user_id)
    return freeze_id


def _tell(user_id: int, freeze_id: int, notice: Notice) -> None:
    # Transactional: it is about the member's own account, so it reaches the inbox whatever
    # their preferences; keyed by the freeze row, so it is sent once per change.
    notification_send(
        user_id=user_id,
        kind=NotificationKind.ACCOUNT,
        **notice.message,
        link=reverse("my_points"),
        dedupe_key=f"accounts.freeze:{freeze_id}",
        transactional=True,
    )


@transaction.atomic
def risk_flags_resolve(*, flag_ids: list[int], actor_id: int) -> int:
    """Mark the open ones of ``flag_ids`` resolved by ``actor_id`` now; returns how many were open.
    A resolved flag stays (the record of the review); resolving it again changes nothing. Locks nothing:
    one guarded UPDATE (``resolved_at IS NULL``), so two operators resolving at once resolve each flag once."""
    return RiskFlag.objects.filter(pk__in=flag_ids, resolved_at__isnull=True).update(
        resolved_at=timezone.now(), resolved_by_id=actor_id
    )
