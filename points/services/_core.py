"""Building blocks shared by the ledger services. Callers hold the account lock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.db import IntegrityError, connection
from django.db.models import BigIntegerField, Case, F, Q, Sum, When
from django.utils import timezone
from django.utils.translation import gettext as _

from points import notices, rules
from points.enums import EntryKind, HoldStatus, LotStatus
from points.exceptions import AccountFrozenError, IdempotencyConflictError, InvalidAmountError, InvalidMessageError
from points.models import Account, Entry, Hold, Lot, LotMovement
from points.services import entry_log, expiry, tiers
from points.services.entry_log import EntryLine


@dataclass(frozen=True)
class Receipt:
    """What a ledger service hands back: the entry it wrote and the account after it."""

    entry_id: int
    kind: str
    amount: int
    pending_amount: int
    debt_change: int
    balance: int
    pending: int
    debt: int
    replayed: bool = False


def check_positive(amount: object) -> int:
    # bool is an int subclass; True points are a bug in the caller, not one point.
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise InvalidAmountError()
    return amount


def check_not_frozen(account: Account) -> None:
    """Refuse earning or spending on a frozen account (docs/decisions/0055): AccountFrozenError.

    Called on the locked row, after the key's replay (a retry of what was done before the freeze
    answers what was done) and before anything is written, or inside the service's atomic block
    so its rollback takes back what settling wrote. Under the lock, a freeze either committed
    before (this sees it) or waits for this write to end: no earn or spend slips past one.
    """
    if account.frozen_at is not None:
        raise AccountFrozenError()


def receipt(account: Account, entry: Entry, *, replayed: bool = False) -> Receipt:
    return Receipt(
        entry_id=entry.pk,
        kind=entry.kind,
        amount=entry.amount,
        pending_amount=entry.pending_amount,
        debt_change=entry.debt_change,
        balance=account.balance,
        pending=account.pending,
        debt=account.debt,
        replayed=replayed,
    )


def requested_size(entry: Entry) -> int:
    """The size of the request that wrote ``entry``, to compare a replay with the original."""
    if entry.kind == EntryKind.REVERSE:
        return -entry.amount - entry.pending_amount + entry.debt_change
    if entry.kind == EntryKind.SPEND:
        return -entry.amount
    return entry.amount + entry.pending_amount


def replay(
    account: Account, *, key: str, kind: str, size: int | None, related_entry_id: int | None = None
) -> Receipt | None:
    """The first result for ``key`` when it was used before, or None; a different request is refused.

    ``size`` None ("all that is left") matches any earlier size of the same kind. A refund
    or reversal must also name the same spend or earn: replaying another one's receipt
    would report success for a refund that never happened.

    Called after the account lock is held, so a concurrent first use has committed or not
    started: the unique constraint on the key is the backstop, never the normal path.
    """
    entry = Entry.objects.filter(idempotency_key=key).first()
    if entry is None:
        return None
    if (
        entry.account_id != account.pk
        or entry.kind != kind
        or (size is not None and requested_size(entry) != size)
        or (related_entry_id is not None and entry.related_entry_id != related_entry_id)
    ):
        raise IdempotencyConflictError()
    return receipt(account, entry, replayed=True)


_TOTALS = ("balance", "pending", "debt", "lifetime_earned", "lifetime_spent", "lifetime_expired")


def apply_totals(
    account: Account,
    *,
    balance: int = 0,
    pending: int = 0,
    debt: int = 0,
    earned: int = 0,
    spent: int = 0,
    expired: int = 0,
) -> None:
    """Change the cached totals in the database with F() and mirror them on the locked row.

    The mirror is exact because every writer holds the account lock.
    """
    changes = _totals(balance, pending, debt, earned, spent, expired)
    Account.objects.filter(pk=account.pk).update(
        **{name: F(name) + change for name, change in changes.items()}, updated_at=timezone.now()
    )
    _mirror(account, changes)


def _totals(balance: int, pending: int, debt: int, earned: int, spent: int, expired: int) -> dict[str, int]:
    """The account columns a write changes, by name, in ``_TOTALS`` order."""
    return dict(zip(_TOTALS, (balance, pending, debt, earned, spent, expired), strict=True))


def _mirror(account: Account, changes: dict[str, int]) -> None:
    for name, change in changes.items():
        setattr(account, name, getattr(account, name) + change)


def memo_fields(code: str, params: dict | None) -> dict:
    """The entry fields of a history text: a checked code and its parameters (InvalidMessageError if wrong)."""
    if not code:
        if params:
            raise InvalidMessageError(reason=_("parameters without a message code"))
        return {}
    return {"memo_code": code, "memo_params": notices.check(code, params)}


def write_entry(account: Account, *, kind: str, amount: int = 0, pending_amount: int = 0, **fields) -> Entry:
    """Append an entry. A key committed meanwhile by another member's request (the replay
    check only sees keys of this account's serialised requests) is a conflict, not a crash.

    No savepoint of its own (issue #19: it cost a SAVEPOINT/RELEASE pair per write): every
    caller is a ledger service under ``transaction.atomic``, and a failed INSERT ends that
    service anyway. The error raised here leaves the service's atomic block, which rolls back
    its transaction (or its savepoint, when a caller's transaction encloses it), so nothing
    the service wrote survives. The clash is told apart from other integrity errors by the
    constraint it broke, because the aborted transaction can run no query to look the key up.
    """
    try:
        entry = Entry.objects.create(
            account=account,
            kind=kind,
            amount=amount,
            pending_amount=pending_amount,
            balance_after=account.balance,
            pending_after=account.pending,
            **fields,
        )
    except IntegrityError as error:
        if fields.get("idempotency_key") and _is_key_clash(error):
            raise IdempotencyConflictError() from None
        raise
    entry_log.entries_logged([EntryLine(entry.pk, account.pk, kind, amount, pending_amount, entry.reference)])
    return entry


def _is_key_clash(error: IntegrityError) -> bool:
    """Whether an entry INSERT failed on the unique idempotency key (not a check or a foreign key)."""
    diag = getattr(error.__cause__, "diag", None)
    if diag is not None:  # Postgres names the constraint: points_entry_idempotency_key_<hash>_uniq
        return "idempotency_key" in (diag.constraint_name or "")
    return str(error).startswith("UNIQUE constraint failed: points_entry.idempotency_key")


def open_lot(
    account: Account,
    entry: Entry,
    *,
    amount: int,
    earned_at: datetime,
    available_at: datetime,
    expires_at: datetime | None,
) -> Lot:
    # Decided against the caller's own clock reading: a second timezone.now() here could
    # disagree with the one that booked the points as pending or available.
    status = LotStatus.PENDING if available_at > earned_at else LotStatus.AVAILABLE
    lot = Lot.objects.create(
        account=account,
        entry=entry,
        amount=amount,
        remaining=amount,
        status=status,
        earned_at=earned_at,
        available_at=available_at,
        expires_at=expires_at,
    )
    LotMovement.objects.create(entry=entry, lot=lot, amount=amount)
    return lot


def spendable_lots(account: Account, now: datetime) -> list[tuple[int, int]]:
    """(lot id, remaining) of available, unexpired lots, earliest expiry first (FIFO by expiry)."""
    return list(
        Lot.objects.filter(account=account, status=LotStatus.AVAILABLE, remaining__gt=0)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by(F("expires_at").asc(nulls_last=True), "pk")
        .values_list("pk", "remaining")
    )


def move(entry: Entry, takes: list[tuple[int, int]], *, sign: int) -> None:
    """Take (sign -1) or put back (sign +1) points on lots, recording each movement.

    One UPDATE for all the lots and one INSERT for all the movements, whatever their number
    (issue #19: one UPDATE per lot before). The UPDATE is guarded so a lot can never leave
    0..amount even if a caller is wrong; ``takes`` names each lot once.
    """
    if not takes:
        return
    changed = _change_remaining([(lot_id, sign * points) for lot_id, points in takes])
    if changed != len(takes):
        raise RuntimeError(f"lots {takes} cannot move {sign:+d} × points; ledger invariant broken")
    LotMovement.objects.bulk_create(
        [LotMovement(entry=entry, lot_id=lot_id, amount=sign * points) for lot_id, points in takes]
    )


# Postgres: one statement whatever the number of lots, its text the same for every size.
_CHANGE_REMAINING_SQL = """
UPDATE points_lot AS l SET remaining = l.remaining + t.change
FROM unnest(%s::bigint[], %s::bigint[]) AS t(id, change)
WHERE l.id = t.id AND l.remaining + t.change BETWEEN 0 AND l.amount
"""


def _change_remaining(changes: list[tuple[int, int]]) -> int:
    """Add each change to its lot's ``remaining`` where the result stays in 0..amount; returns
    the number of lots changed (fewer than given: a guard refused one)."""
    if len(changes) == 1:
        ((lot_id, change),) = changes
        bounds = Q(remaining__gte=-change) if change < 0 else Q(remaining__lte=F("amount") - change)
        return Lot.objects.filter(bounds, pk=lot_id).update(remaining=F("remaining") + change)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_CHANGE_REMAINING_SQL, [[i for i, _c in changes], [c for _i, c in changes]])
            return cursor.rowcount
    guard = Q()
    for lot_id, change in changes:
        guard |= (
            Q(pk=lot_id, remaining__gte=-change) if change < 0 else Q(pk=lot_id, remaining__lte=F("amount") - change)
        )
    new_remaining = Case(
        *[When(pk=lot_id, then=F("remaining") + change) for lot_id, change in changes],
        output_field=BigIntegerField(),
    )
    return Lot.objects.filter(guard).update(remaining=new_remaining)


# Postgres: a write's totals, entry, lots and movements in one statement (issue #19's next step,
# docs/decisions/0046). Every part runs on the statement's one snapshot, so none reads another's
# rows: the entry id reaches the movements through RETURNING, the rest was decided in Python under
# the account lock. The movements are numbered in the order they are taken (refunds rely on it).
_BOOK_SQL = """
WITH entry AS (
    INSERT INTO points_entry ({columns}) VALUES ({values}) RETURNING id
), totals AS (
    UPDATE points_account SET {totals}, updated_at = %s WHERE id = %s RETURNING 1
), lots AS (
    UPDATE points_lot AS l SET remaining = l.remaining + t.change
    FROM unnest(%s::bigint[], %s::bigint[]) AS t(id, change)
    WHERE l.id = t.id AND l.remaining + t.change BETWEEN 0 AND l.amount
    RETURNING 1
), movements AS (
    INSERT INTO points_lotmovement (entry_id, lot_id, amount)
    SELECT entry.id, t.id, t.change
    FROM entry, unnest(%s::bigint[], %s::bigint[]) WITH ORDINALITY AS t(id, change, n)
    ORDER BY t.n
    RETURNING 1
)
SELECT entry.id, (SELECT count(*) FROM totals), (SELECT count(*) FROM lots) FROM entry
"""


@cache
def _book_sql() -> tuple[list, str]:
    """The entry's columns (every concrete field but the id, as the model has them) and the statement."""
    fields = [field for field in Entry._meta.local_concrete_fields if not field.primary_key]
    return fields, _BOOK_SQL.format(
        columns=", ".join(connection.ops.quote_name(str(field.column)) for field in fields),
        values=", ".join(["%s"] * len(fields)),
        totals=", ".join(f"{name} = {name} + %s" for name in _TOTALS),
    )


def book(
    account: Account,
    *,
    totals: dict[str, int],
    takes: list[tuple[int, int]],
    sign: int,
    kind: str,
    amount: int = 0,
    **fields,
) -> Entry:
    """``apply_totals``, ``write_entry`` and ``move`` in that order: one write's whole effect.

    ``totals``: keyword arguments of ``apply_totals`` (points by column, e.g. ``balance=-5``);
    ``takes``/``sign``: as ``move`` takes them (``takes`` may be empty); the rest: the entry's
    fields, as ``write_entry`` takes them. Returns the entry written.

    On Postgres it is one round trip where the three send four statements; elsewhere it is the
    three. Raises what they raise: IdempotencyConflictError for a key another request used
    meanwhile, RuntimeError when a lot would leave 0..amount (the ledger's invariant).
    """
    changes = _totals(**{"balance": 0, "pending": 0, "debt": 0, "earned": 0, "spent": 0, "expired": 0, **totals})
    if connection.vendor != "postgresql":
        apply_totals(account, **totals)
        entry = write_entry(account, kind=kind, amount=amount, **fields)
        move(entry, takes, sign=sign)
        return entry
    _mirror(account, changes)
    entry = Entry(
        account=account,
        kind=kind,
        amount=amount,
        balance_after=account.balance,
        pending_after=account.pending,
        **fields,
    )
    entry_fields, sql = _book_sql()
    values = [field.get_db_prep_save(field.pre_save(entry, True), connection) for field in entry_fields]
    lot_ids = [lot_id for lot_id, _points in takes]
    changes_by_lot = [sign * points for _lot_id, points in takes]
    params = [*values, *changes.values(), timezone.now(), account.pk, lot_ids, changes_by_lot, lot_ids, changes_by_lot]
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            entry_id, accounts_changed, lots_changed = cursor.fetchone()
    except IntegrityError as error:
        if fields.get("idempotency_key") and _is_key_clash(error):
            raise IdempotencyConflictError() from None
        raise
    if accounts_changed != 1 or lots_changed != len(takes):
        raise RuntimeError(
            f"account {account.pk}, lots {takes}: cannot move {sign:+d} × points; ledger invariant broken"
        )
    entry.pk = entry_id
    entry._state.adding = False
    entry._state.db = connection.alias
    entry_log.entries_logged([EntryLine(entry.pk, account.pk, kind, amount, entry.pending_amount, entry.reference)])
    return entry


def fifo_takes(
    account: Account, amount: int, now: datetime, lots: list[tuple[int, int]] | None = None
) -> list[tuple[int, int]]:
    """(lot id, points) taking ``amount`` from ``lots`` (default: the account's spendable lots,
    read now) in order; RuntimeError when they do not cover it (the balance said they would)."""
    takes = rules.take_fifo(spendable_lots(account, now) if lots is None else lots, amount)
    if sum(points for _lot, points in takes) != amount:
        raise RuntimeError(f"account {account.pk}: lots do not cover the balance; ledger invariant broken")
    return takes


def take_fifo(
    account: Account, entry: Entry, amount: int, now: datetime, lots: list[tuple[int, int]] | None = None
) -> None:
    """Take ``amount`` from ``lots`` (default: the account's spendable lots, read now) in order."""
    move(entry, fifo_takes(account, amount, now, lots), sign=-1)


def vest_account(account: Account, now: datetime) -> int:
    """Make the account's due pending lots spendable, one vest entry per lot. Returns points vested."""
    due = list(
        Lot.objects.filter(account=account, status=LotStatus.PENDING, available_at__lte=now, remaining__gt=0)
        .select_related("entry")
        .order_by("available_at", "pk")
    )
    vested = 0
    for lot in due:
        if Lot.objects.filter(pk=lot.pk, status=LotStatus.PENDING).update(status=LotStatus.AVAILABLE) != 1:
            raise RuntimeError(f"lot {lot.pk} vested twice; ledger invariant broken")
        apply_totals(account, balance=lot.remaining, pending=-lot.remaining, earned=lot.remaining)
        write_entry(
            account,
            kind=EntryKind.VEST,
            amount=lot.remaining,
            pending_amount=-lot.remaining,
            reference=lot.entry.reference,
            memo_code=lot.entry.memo_code,
            memo_params=lot.entry.memo_params,
            memo=lot.entry.memo,
            related_entry=lot.entry,
            created_at=now,
        )
        vested = vested + lot.remaining
    return vested


def repay_debt(account: Account, *, related: Entry | None, now: datetime) -> None:
    """Points that just became available pay off what the member owes, before anything else.

    Follow-up entries (repay, vest, a refund's lapse) carry no idempotency key of their own:
    a key derived from the caller's could collide with a key some caller chose, and the
    unique constraint would then refuse every later settle of the account. They are made
    once by the locked operation that causes them and linked to it by ``related_entry``.
    """
    repay = min(account.debt, account.balance)
    if repay <= 0:
        return
    apply_totals(account, balance=-repay, debt=-repay)
    entry = write_entry(
        account,
        kind=EntryKind.DEBT_REPAY,
        amount=-repay,
        debt_change=-repay,
        related_entry=related,
        created_at=now,
    )
    take_fifo(account, entry, repay, now)


def expire_holds(account: Account, now: datetime) -> int:
    """End the locked account's active holds whose ``expires_at`` is ``now`` or earlier: status
    expired, ``settled_at`` ``now`` (like the sweep), ``held`` less their points. Returns the
    points freed. The sweep ``points_holds_expire`` does
    the same for accounts nobody touches (docs/decisions/0033)."""
    due = Hold.objects.filter(account=account, status=HoldStatus.ACTIVE, expires_at__lte=now)
    total = due.aggregate(total=Sum("amount"))["total"] or 0
    if not total:
        return 0
    due.update(status=HoldStatus.EXPIRED, settled_at=now)
    changed = Account.objects.filter(pk=account.pk, held__gte=total).update(
        held=F("held") - total, updated_at=timezone.now()
    )
    if changed != 1:
        raise RuntimeError(f"account {account.pk}: held points below its holds; ledger invariant broken")
    account.held = account.held - total
    return total


def _due(account: Account, now: datetime) -> Q:
    """The lots that settling at ``now`` changes: available ones past their expiry, and pending
    ones past ``available_at`` — looked for only when the account has pending points at all
    (``pending`` is the sum of its pending lots' ``remaining``, an invariant points_verify checks)."""
    due = Q(status=LotStatus.AVAILABLE, expires_at__lte=now)
    if account.pending:
        due |= Q(status=LotStatus.PENDING, available_at__lte=now)
    return due


def settle(account: Account, now: datetime) -> None:
    """Bring a locked account up to ``now``: end overdue holds, vest what is due, expire what
    is due, pay debt. The entries this writes are dated ``now`` (the caller's instant, a past
    one when seeding).

    Every service calls this (or ``settle_for_spend``) first, so a member can never spend
    points that expired a minute ago but were not swept yet, nor miss points that vested a
    minute ago, and a hold past its ``expires_at`` never keeps points from the member while
    the hold sweep has not run yet.

    Settles only when something is due (issue #19): one query finds out, and the account
    row (``held``, ``pending``) already says when there is nothing to look for.
    """
    if account.held:
        expire_holds(account, now)
    if Lot.objects.filter(_due(account, now), account=account, remaining__gt=0).exists():
        _settle_lots(account, now)


def settle_for_spend(account: Account, now: datetime) -> list[tuple[int, int]]:
    """``settle`` the locked account, then return its spendable lots as ``spendable_lots`` does.

    One read serves both when nothing is due, the usual case: the spendable lots, read with
    the expired and the due pending ones, which sort first or are told by their status. Only
    when one of those is there does it settle as ``settle`` does and read the lots again.
    """
    if account.held:
        expire_holds(account, now)
    wanted = Q(status=LotStatus.AVAILABLE)
    if account.pending:
        wanted |= Q(status=LotStatus.PENDING, available_at__lte=now)
    rows = list(
        Lot.objects.filter(wanted, account=account, remaining__gt=0)
        .order_by(F("expires_at").asc(nulls_last=True), "pk")
        .values_list("pk", "remaining", "status", "expires_at")
    )
    return _spendable_unless_due(account, now, rows)


def _spendable_unless_due(account: Account, now: datetime, rows: list[tuple]) -> list[tuple[int, int]]:
    """(lot id, remaining) from ``settle_for_spend``'s read (id, remaining, status, expiry), in its
    order; when a row is due (pending, or expired) the account settles and the lots are read again."""
    if any(status != LotStatus.AVAILABLE or (expires and expires <= now) for _pk, _r, status, expires in rows):
        _settle_lots(account, now)
        return spendable_lots(account, now)
    return [(pk, remaining) for pk, remaining, _status, _expires in rows]


# ``replay``'s read and ``settle_for_spend``'s in one statement: the key's entry, if any, sorts
# first (part 0), then the lots in ``spendable_lots``' order. Both see one snapshot taken after
# the account lock was granted, so a concurrent first use of the key has committed or not begun.
_SPEND_READS_SQL = """
SELECT 0, id, 0, '', NULL::timestamptz FROM points_entry WHERE idempotency_key = %s
UNION ALL
SELECT 1, id, remaining, status, expires_at FROM points_lot
WHERE account_id = %s AND remaining > 0
  AND (status = %s OR (%s AND status = %s AND available_at <= %s))
ORDER BY 1, 5 ASC NULLS LAST, 2
"""


def spend_reads(
    account: Account, *, key: str, size: int, now: datetime
) -> tuple[Receipt | None, list[tuple[int, int]]]:
    """``replay`` for a spend of ``size`` points, then ``settle_for_spend``, on the locked account.

    Returns (the first receipt, []) when ``key`` was used before (IdempotencyConflictError when
    for another request), else (None, the spendable lots as (lot id, remaining), FIFO by expiry).
    On Postgres, when the account holds no points (no holds to end between the two), the two
    reads are one round trip; a replay then reads its entry once more (rare, and not a write).
    """
    if connection.vendor != "postgresql" or account.held:
        if (first := replay(account, key=key, kind=EntryKind.SPEND, size=size)) is not None:
            return first, []
        return None, settle_for_spend(account, now)
    with connection.cursor() as cursor:
        cursor.execute(
            _SPEND_READS_SQL,
            [key, account.pk, LotStatus.AVAILABLE, bool(account.pending), LotStatus.PENDING, now],
        )
        rows = cursor.fetchall()
    if rows and rows[0][0] == 0:
        return replay(account, key=key, kind=EntryKind.SPEND, size=size), []
    return None, _spendable_unless_due(account, now, [row[1:] for row in rows])


def _settle_lots(account: Account, now: datetime) -> None:
    """Vest and expire the locked account's due lots, then pay debt from what vested."""
    vested = vest_account(account, now)
    _lots, expired_points, _members = expiry.expire_accounts([account.pk], now, now=now)
    if expired_points:
        account.refresh_from_db(fields=["balance", "pending", "debt", "lifetime_expired"])
    if vested:
        repay_debt(account, related=None, now=now)
        # Vested points now count for tiers (pending ones never do).
        tiers.upgrade_if_qualified(account, now)
