"""The member-facing ledger operations: open, earn, spend, refund, reverse, adjust.

Every function is atomic, locks the member's account row first (then lots, which only
account-lock holders touch) and is idempotent by ``idempotency_key``: a second call with
the same key returns the first result and changes nothing; the same key with a different
request raises IdempotencyConflictError.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from points import locks, notices, policies, rules
from points.enums import EntryKind, LotStatus
from points.exceptions import (
    EntryNotFoundError,
    InsufficientPointsError,
    InvalidAmountError,
    InvalidExpiryError,
    InvalidReasonError,
    NothingToRefundError,
    SelfAdjustmentError,
)
from points.models import Account, Entry, Lot, LotMovement, Tier
from points.services import _core, expiry, tiers
from points.services._core import Receipt
from points.signals import points_earned, points_refunded, points_spent


def account_open(*, user_id: int) -> None:
    """Open the member's account if it does not exist. Safe to call any number of times."""
    Account.objects.get_or_create(user_id=user_id, defaults={"tier": Tier.objects.order_by("rank").first()})


@transaction.atomic
def points_earn(
    *,
    user_id: int,
    amount: int,
    idempotency_key: str,
    reference: str = "",
    memo_code: str = "",
    memo_params: dict | None = None,
    available_at: datetime | None = None,
    expires_at: datetime | None = None,
    kind: str = EntryKind.EARN,
    source: str = "",
    now: datetime | None = None,
) -> Receipt:
    """Credit points in a new lot. With ``available_at`` in the future they stay pending until then.

    ``memo_code`` and ``memo_params`` say what the member reads in the history, rendered in
    their language when read (points.notices; InvalidMessageError for an unknown code).
    The lot expires by the operators' expiry policy unless ``expires_at`` is given.
    Points that become available first pay off any debt (docs/decisions/0006).
    ``now``: the instant the entry is dated and the lot earned (default: the clock); the demo
    seeding back-fills history with a past one. Locks: the account. Safe to call twice.
    """
    _core.check_positive(amount)
    memo = _core.memo_fields(memo_code, memo_params)
    account = locks.account_for_update(user_id=user_id)
    if (first := _core.replay(account, key=idempotency_key, kind=kind, size=amount)) is not None:
        return first
    _core.check_not_frozen(account)
    now = now or timezone.now()
    available_at = available_at or now
    if expires_at is not None and expires_at <= max(now, available_at):
        raise InvalidExpiryError()
    _core.settle(account, now)
    pending = available_at > now
    if pending:
        _core.apply_totals(account, pending=amount)
    else:
        _core.apply_totals(account, balance=amount, earned=amount)
    entry = _core.write_entry(
        account,
        kind=kind,
        amount=0 if pending else amount,
        pending_amount=amount if pending else 0,
        reference=reference,
        **memo,
        source=source,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    lot_expiry = expires_at if expires_at is not None else expiry.lot_expiry(now)
    _core.open_lot(account, entry, amount=amount, earned_at=now, available_at=available_at, expires_at=lot_expiry)
    if not pending:
        _core.repay_debt(account, related=entry, now=now)
        tiers.upgrade_if_qualified(account, now)
    points_earned.send(
        sender=Entry,
        user_id=user_id,
        entry_id=entry.pk,
        points=amount,
        source=source,
        pending=pending,
        available_at=available_at,
        memo=notices.nested(memo["memo_code"], memo["memo_params"]) if memo else {},
        balance_after=account.balance,
    )
    return _core.receipt(account, entry)


@transaction.atomic
def points_spend(
    *,
    user_id: int,
    amount: int,
    idempotency_key: str,
    reference: str = "",
    memo_code: str = "",
    memo_params: dict | None = None,
    now: datetime | None = None,
) -> Receipt:
    """Debit points from the lots that expire first. Raises InsufficientPointsError.

    Points held for a host checkout (``Account.held``) are not spendable here: the refusal's
    ``available`` is the balance less what is held.

    ``memo_code``/``memo_params``: the history text (see points_earn). ``now``: the instant
    the spend is dated (default: the clock; see points_earn). Locks: the account.
    Safe to call twice.
    """
    _core.check_positive(amount)
    memo = _core.memo_fields(memo_code, memo_params)
    account = locks.account_for_update(user_id=user_id)
    now = now or timezone.now()
    first, lots = _core.spend_reads(account, key=idempotency_key, size=amount, now=now)
    if first is not None:
        return first
    # After the reads: a replay answers; what settling wrote is rolled back with the refusal.
    _core.check_not_frozen(account)
    # Points held for a host checkout are the member's but not the mall's to spend (docs/decisions/0033).
    available = max(account.balance - account.held, 0)
    if available < amount:
        raise InsufficientPointsError(available=available, required=amount)
    entry = spend_locked(
        account,
        user_id=user_id,
        amount=amount,
        idempotency_key=idempotency_key,
        reference=reference,
        memo=memo,
        now=now,
        lots=lots,
    )
    return _core.receipt(account, entry)


def spend_locked(
    account: Account,
    *,
    user_id: int,
    amount: int,
    idempotency_key: str,
    reference: str,
    memo: dict,
    now: datetime,
    lots: list[tuple[int, int]] | None = None,
) -> Entry:
    """The one spend path: debit ``amount`` from the lots that expire first and write the spend entry.

    Shared by ``points_spend`` and a hold's capture (``points.services.holds``). The caller holds
    the account lock, has settled the account at ``now`` and checked that the points are there.
    ``lots``: the spendable lots as ``_core.settle_for_spend`` returned them under this lock
    (read here when not given).
    """
    first_spend = account.lifetime_spent == 0
    entry = _core.book(
        account,
        totals={"balance": -amount, "spent": amount},
        takes=_core.fifo_takes(account, amount, now, lots),
        sign=-1,
        kind=EntryKind.SPEND,
        amount=-amount,
        reference=reference,
        **memo,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    # Rewards tied to a first redemption (referrals) vest after the same returns window as
    # purchases. Only a first spend has such rewards: later ones skip reading the policy.
    available_at = now + timedelta(days=policies.purchase_policy().pending_days) if first_spend else None
    points_spent.send(
        sender=Entry,
        user_id=user_id,
        entry_id=entry.pk,
        amount=amount,
        reference=reference,
        balance_after=account.balance,
        first=first_spend,
        available_at=available_at,
    )
    return entry


def _entry_of(account: Account, entry_id: int, kinds: tuple[str, ...]) -> Entry:
    entry = Entry.objects.filter(pk=entry_id, account=account, kind__in=kinds).first()
    if entry is None:
        raise EntryNotFoundError()
    return entry


@transaction.atomic
def points_refund(
    *,
    user_id: int,
    spend_entry_id: int,
    idempotency_key: str,
    amount: int | None = None,
    reference: str = "",
    memo_code: str = "",
    memo_params: dict | None = None,
) -> Receipt:
    """Give back (part of) a spend into the very lots it came from, with their original expiry.

    ``memo_code``/``memo_params`` describe the refund in full ("Refunded: Umbrella ×1"); without
    them the history reads "Refunded: <what the spend says>", rendered when read. The spend's
    text is never copied into the refund, so it can't be wrapped twice.

    The part that lands in a lot that has expired since expires at once, in a separate
    expire entry: a refund never mints fresh points (docs/decisions/0005). Without
    ``amount``, all that is left of the spend is refunded. Partial refunds refill the lots
    the spend took from last first. Sends ``points_refunded`` inside the transaction (not
    for a replay), so rewards caused by the spend are withdrawn with it, or not at all.
    Locks: the account (then whatever the signal's receivers lock). Safe to call twice.
    """
    if amount is not None:
        _core.check_positive(amount)
    memo = _core.memo_fields(memo_code, memo_params)
    account = locks.account_for_update(user_id=user_id)
    if (
        first := _core.replay(
            account, key=idempotency_key, kind=EntryKind.REFUND, size=amount, related_entry_id=spend_entry_id
        )
    ) is not None:
        return first
    spend = _entry_of(account, spend_entry_id, (EntryKind.SPEND,))
    consumed = list(LotMovement.objects.filter(entry=spend).order_by("-pk").values_list("lot_id", "amount"))
    refunded: dict[int, int] = defaultdict(int)
    for lot_id, points in LotMovement.objects.filter(
        entry__related_entry=spend, entry__kind=EntryKind.REFUND
    ).values_list("lot_id", "amount"):
        refunded[lot_id] += points
    left_per_lot = [(lot_id, -taken - refunded[lot_id]) for lot_id, taken in consumed]
    left = sum(points for _lot, points in left_per_lot)
    size = amount if amount is not None else left
    if size <= 0 or size > left:
        raise NothingToRefundError(left=left)
    now = timezone.now()
    _core.settle(account, now)
    takes = rules.take_fifo(left_per_lot, size)
    entry = _core.book(
        account,
        totals={"balance": size, "spent": -size},
        takes=takes,
        sign=+1,
        kind=EntryKind.REFUND,
        amount=size,
        reference=reference or spend.reference,
        **memo,
        related_entry=spend,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    expired_lots = set(
        Lot.objects.filter(pk__in=[lot_id for lot_id, _p in takes], expires_at__lte=now).values_list("pk", flat=True)
    )
    lapsed = [(lot_id, points) for lot_id, points in takes if lot_id in expired_lots]
    if lapsed:
        lapsed_points = sum(points for _lot, points in lapsed)
        _core.apply_totals(account, balance=-lapsed_points, expired=lapsed_points)
        expire_entry = _core.write_entry(
            account,
            kind=EntryKind.EXPIRE,
            amount=-lapsed_points,
            reference=entry.reference,
            related_entry=entry,
            created_at=now,
        )
        _core.move(expire_entry, lapsed, sign=-1)
    _core.repay_debt(account, related=entry, now=now)
    points_refunded.send(
        sender=Entry,
        user_id=user_id,
        spend_entry_id=spend.pk,
        refund_entry_id=entry.pk,
        amount=size,
        reference=spend.reference,
        full=size == left,
    )
    return _core.receipt(account, entry)


@transaction.atomic
def points_reverse(
    *,
    user_id: int,
    earn_entry_id: int,
    idempotency_key: str,
    amount: int | None = None,
    reference: str = "",
    memo_code: str = "",
    memo_params: dict | None = None,
) -> Receipt:
    """Take back (part of) an earn, e.g. when the purchase that earned it is refunded.

    ``memo_code``/``memo_params`` say why; without them the history reads "Taken back: <what
    the earn says>", rendered when read (the earn's text is never copied).

    The rule (docs/decisions/0006): still-pending points are cancelled; otherwise points
    come from the earn's own lot first, then from the member's other lots by expiry, and
    whatever the balance cannot cover is recorded as debt that later earnings pay off
    first. Never a negative balance, never a silently skipped claw-back.
    Locks: the account. Safe to call twice.
    """
    if amount is not None:
        _core.check_positive(amount)
    memo = _core.memo_fields(memo_code, memo_params)
    account = locks.account_for_update(user_id=user_id)
    if (
        first := _core.replay(
            account, key=idempotency_key, kind=EntryKind.REVERSE, size=amount, related_entry_id=earn_entry_id
        )
    ) is not None:
        return first
    earn = _entry_of(account, earn_entry_id, (EntryKind.EARN, EntryKind.ADJUST))
    lot = Lot.objects.filter(entry=earn).first()
    if lot is None:
        raise EntryNotFoundError()
    earlier = Entry.objects.filter(related_entry=earn, kind=EntryKind.REVERSE)
    reversed_before = sum(_core.requested_size(e) for e in earlier)
    left = lot.amount - reversed_before
    size = amount if amount is not None else left
    if size <= 0 or size > left:
        raise NothingToRefundError(left=left)
    now = timezone.now()
    _core.settle(account, now)
    lot.refresh_from_db()
    if lot.status == LotStatus.PENDING:
        # Pending points were never spendable: cancelling them is all there is to do.
        cancelled = size
        _core.apply_totals(account, pending=-cancelled)
        entry = _core.write_entry(
            account,
            kind=EntryKind.REVERSE,
            pending_amount=-cancelled,
            reference=reference or earn.reference,
            **memo,
            related_entry=earn,
            idempotency_key=idempotency_key,
            created_at=now,
        )
        _core.move(entry, [(lot.pk, cancelled)], sign=-1)
        if lot.remaining == cancelled:
            Lot.objects.filter(pk=lot.pk).update(status=LotStatus.CANCELLED)
        return _core.receipt(account, entry)
    from_own = min(size, lot.remaining)
    from_others = min(size - from_own, account.balance - from_own)
    shortfall = size - from_own - from_others
    taken = from_own + from_others
    _core.apply_totals(account, balance=-taken, debt=shortfall, earned=-taken - shortfall)
    entry = _core.write_entry(
        account,
        kind=EntryKind.REVERSE,
        amount=-taken,
        debt_change=shortfall,
        reference=reference or earn.reference,
        **memo,
        related_entry=earn,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    if from_own:
        _core.move(entry, [(lot.pk, from_own)], sign=-1)
    if from_others:
        _core.take_fifo(account, entry, from_others, now)
    return _core.receipt(account, entry)


@transaction.atomic
def points_adjust(
    *, user_id: int, amount: int, reason: str, actor_id: int, idempotency_key: str, note: str = ""
) -> Receipt:
    """An operator's manual correction, positive (a new lot) or negative (FIFO), with a reason.

    The reason is the operator's own words and is shown to the member as written in their
    history; ``note`` (optional, up to 500 characters) is for the staff only. Raises
    InvalidAmountError, InvalidReasonError, InsufficientPointsError (a debit larger than the balance) and
    SelfAdjustmentError (``actor_id`` is the member: nobody adjusts their own points). Locks: the
    account. Safe to call twice.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount == 0:
        raise InvalidAmountError()
    reason = (reason or "").strip()
    if not reason:
        raise InvalidReasonError()
    if actor_id == user_id:
        raise SelfAdjustmentError()
    account = locks.account_for_update(user_id=user_id)
    if (first := _core.replay(account, key=idempotency_key, kind=EntryKind.ADJUST, size=amount)) is not None:
        return first
    now = timezone.now()
    _core.settle(account, now)
    if amount < 0 and account.balance < -amount:
        raise InsufficientPointsError(available=account.balance, required=-amount)
    _core.apply_totals(account, balance=amount, earned=max(amount, 0), spent=0)
    entry = _core.write_entry(
        account,
        kind=EntryKind.ADJUST,
        amount=amount,
        memo=reason[:200],
        staff_note=(note or "").strip()[:500],
        actor_id=actor_id,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    if amount > 0:
        _core.open_lot(
            account, entry, amount=amount, earned_at=now, available_at=now, expires_at=expiry.lot_expiry(now)
        )
        _core.repay_debt(account, related=entry, now=now)
        points_earned.send(
            sender=Entry,
            user_id=user_id,
            entry_id=entry.pk,
            points=amount,
            source=EntryKind.ADJUST.value,
            pending=False,
            available_at=now,
            # The reason the operator gave, as the member sees it in their history.
            memo=notices.nested(notices.ADJUSTMENT, {"reason": reason[:200]}),
            balance_after=account.balance,
        )
    else:
        _core.take_fifo(account, entry, -amount, now)
    return _core.receipt(account, entry)
