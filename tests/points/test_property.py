"""Random sequences of ledger operations against a small in-memory model of the rules.

The model is written from the ledger's rules (DESIGN.md, "The ledger"), not from the
services: lots with availability and expiry, FIFO by expiry, refunds into the lots a
spend took from, reversals from the earn's own lot then the others then debt, debt paid
first by whatever becomes available, and every check done before or after the account is
settled exactly as the rules say. After every step the account, every lot and every
lifetime total must agree with the model, and ``points_verify`` must pass.

Each example runs in a savepoint that is rolled back, on a fresh member, under a frozen
clock that the machine moves forward.
"""

from __future__ import annotations

import copy
import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connection, transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from points import rules, services
from points.enums import LotStatus
from points.exceptions import (
    EntryNotFoundError,
    IdempotencyConflictError,
    InsufficientPointsError,
    InvalidExpiryError,
    NothingToRefundError,
)
from points.models import Account, ExpiryPolicy, Lot
from points.services import Receipt
from pointsmall.kernel.errors import DomainError
from tests.factories import MemberFactory

ZONE = ZoneInfo(django_settings.TIME_ZONE)
T0 = datetime(2025, 1, 10, 12, 0, tzinfo=ZONE)
CLOCK_STEPS = [timedelta(hours=6), timedelta(days=1), timedelta(days=4), timedelta(days=20), timedelta(days=370)]


@dataclass
class ModelLot:
    amount: int
    remaining: int
    status: str
    available_at: datetime
    expires_at: datetime | None


@dataclass
class LedgerModel:
    """What the rules say one member's account holds."""

    now: datetime
    lots: dict[int, ModelLot] = field(default_factory=dict)
    debt: int = 0
    earned: int = 0
    spent: int = 0
    expired: int = 0
    spend_takes: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    refunded: dict[int, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    earn_lot: dict[int, int] = field(default_factory=dict)
    reversed_size: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def balance(self) -> int:
        return sum(lot.remaining for lot in self.lots.values() if lot.status == LotStatus.AVAILABLE)

    @property
    def pending(self) -> int:
        return sum(lot.remaining for lot in self.lots.values() if lot.status == LotStatus.PENDING)

    def _take(self, amount: int) -> list[tuple[int, int]]:
        spendable = sorted(
            (
                (lot.expires_at is None, lot.expires_at or self.now, pk)
                for pk, lot in self.lots.items()
                if lot.status == LotStatus.AVAILABLE
                and lot.remaining > 0
                and (lot.expires_at is None or lot.expires_at > self.now)
            ),
        )
        takes = rules.take_fifo([(pk, self.lots[pk].remaining) for _never, _at, pk in spendable], amount)
        assert sum(points for _pk, points in takes) == amount, "model: lots do not cover the balance"
        for pk, points in takes:
            self.lots[pk].remaining -= points
        return takes

    def expire_due(self) -> None:
        for lot in self.lots.values():
            due = lot.expires_at is not None and lot.expires_at <= self.now
            if lot.status == LotStatus.AVAILABLE and lot.remaining > 0 and due:
                self.expired += lot.remaining
                lot.remaining = 0

    def _repay(self) -> None:
        repay = min(self.debt, self.balance)
        if repay > 0:
            self._take(repay)
            self.debt -= repay

    def settle(self) -> None:
        vested = 0
        for lot in self.lots.values():
            if lot.status == LotStatus.PENDING and lot.available_at <= self.now and lot.remaining > 0:
                lot.status = LotStatus.AVAILABLE
                vested += lot.remaining
        self.earned += vested
        self.expire_due()
        if vested:
            self._repay()

    def has_due_pending(self) -> bool:
        return any(
            lot.status == LotStatus.PENDING and lot.available_at <= self.now and lot.remaining > 0
            for lot in self.lots.values()
        )

    def earn(self, lot_pk: int, amount: int, available_at: datetime | None, expires_at: datetime | None) -> None:
        available_at = available_at or self.now
        if expires_at is not None and expires_at <= max(self.now, available_at):
            raise InvalidExpiryError()
        self.settle()
        pending = available_at > self.now
        if expires_at is None:
            expires_at = rules.expiry_for(self.now, rules.ExpiryRule(), ZONE)
        status = LotStatus.PENDING if pending else LotStatus.AVAILABLE
        self.lots[lot_pk] = ModelLot(amount, amount, status, available_at, expires_at)
        if not pending:
            self.earned += amount
            self._repay()

    def spend(self, entry_id: int, amount: int) -> None:
        self.settle()
        if self.balance < amount:
            raise InsufficientPointsError(available=self.balance, required=amount)
        self.spend_takes[entry_id] = self._take(amount)
        self.spent += amount

    def _refund_left_per_lot(self, spend_id: int) -> list[tuple[int, int]]:
        """What is left to give back per lot, the lot taken from last first."""
        return [(pk, taken - self.refunded[spend_id][pk]) for pk, taken in reversed(self.spend_takes[spend_id])]

    def refund_left(self, spend_id: int) -> int:
        if spend_id not in self.spend_takes:
            return 0
        return sum(points for _pk, points in self._refund_left_per_lot(spend_id))

    def reverse_left(self, earn_id: int) -> int:
        if earn_id not in self.earn_lot:
            return 0
        return self.lots[self.earn_lot[earn_id]].amount - self.reversed_size[earn_id]

    def refund(self, spend_id: int, amount: int | None) -> None:
        if spend_id not in self.spend_takes:
            raise EntryNotFoundError()
        left_per_lot = self._refund_left_per_lot(spend_id)
        left = sum(points for _pk, points in left_per_lot)
        size = amount if amount is not None else left
        if size <= 0 or size > left:
            raise NothingToRefundError(left=left)
        self.settle()
        for pk, points in rules.take_fifo(left_per_lot, size):
            self.refunded[spend_id][pk] += points
            lot = self.lots[pk]
            lot.remaining += points
            if lot.expires_at is not None and lot.expires_at <= self.now:
                # A refund never revives expired points.
                lot.remaining -= points
                self.expired += points
        self.spent -= size
        self._repay()

    def reverse(self, earn_id: int, amount: int | None) -> None:
        if earn_id not in self.earn_lot:
            raise EntryNotFoundError()
        lot = self.lots[self.earn_lot[earn_id]]
        left = lot.amount - self.reversed_size[earn_id]
        size = amount if amount is not None else left
        if size <= 0 or size > left:
            raise NothingToRefundError(left=left)
        self.settle()
        self.reversed_size[earn_id] += size
        if lot.status == LotStatus.PENDING:
            lot.remaining -= size
            if lot.remaining == 0:
                lot.status = LotStatus.CANCELLED
            return
        from_own = min(size, lot.remaining)
        from_others = min(size - from_own, self.balance - from_own)
        shortfall = size - from_own - from_others
        lot.remaining -= from_own
        if from_others:
            self._take(from_others)
        self.debt += shortfall
        self.earned -= size

    def adjust(self, lot_pk: int, amount: int) -> None:
        self.settle()
        if amount < 0 and self.balance < -amount:
            raise InsufficientPointsError(available=self.balance, required=-amount)
        if amount > 0:
            expires_at = rules.expiry_for(self.now, rules.ExpiryRule(), ZONE)
            self.lots[lot_pk] = ModelLot(amount, amount, LotStatus.AVAILABLE, self.now, expires_at)
            self.earned += amount
            self._repay()
        else:
            self._take(-amount)


@dataclass(frozen=True)
class Done:
    """A request that succeeded, to send again (a retry) or to misuse its key."""

    call: Callable[[], Receipt]
    receipt: Receipt
    kind: str
    amount: int | None
    conflicting: Callable[[], Receipt]


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self._travel = time_machine.travel(T0, tick=False)
        self._clock = self._travel.start()
        self.user = MemberFactory()
        self.operator = MemberFactory(is_staff=True)  # nobody adjusts their own points
        self.model = LedgerModel(now=T0)
        self._keys = itertools.count()
        self.done: list[Done] = []
        self.entries: list[int] = []
        self.spends: list[int] = []
        self.earns: list[int] = []

    def teardown(self) -> None:
        self._travel.stop()
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    def _key(self) -> str:
        return f"{self.user.pk}:{next(self._keys)}"

    def _attempt(self, call: Callable[[], Receipt], model_step: Callable[[Receipt | None], None]) -> Receipt | None:
        """Run the service and the model side by side; both succeed or both refuse alike."""
        before = copy.deepcopy(self.model)
        try:
            receipt, error = call(), None
        except DomainError as refused:
            receipt, error = None, refused
        try:
            model_step(receipt)
            expected = None
        except DomainError as predicted:
            self.model, expected = before, predicted
        assert type(error) is type(expected), f"service: {error!r}, model: {expected!r}"
        if error is not None:
            assert error.params == expected.params
            return None
        assert not receipt.replayed
        assert (receipt.balance, receipt.pending, receipt.debt) == (
            self.model.balance,
            self.model.pending,
            self.model.debt,
        )
        self.entries.append(receipt.entry_id)
        return receipt

    @staticmethod
    def _lot_pk(receipt: Receipt | None) -> int:
        return Lot.objects.get(entry_id=receipt.entry_id).pk if receipt else -1

    @initialize(amount=st.integers(1, 300))
    def first_earn(self, amount: int) -> None:
        self._earn(amount, None, None)

    @rule(amount=st.integers(1, 200), data=st.data())
    def earn(self, amount: int, data: st.DataObject) -> None:
        self._earn(amount, None, self._expiry_days(data))

    @rule(amount=st.integers(1, 200), pending_days=st.integers(1, 10), data=st.data())
    def earn_pending(self, amount: int, pending_days: int, data: st.DataObject) -> None:
        self._earn(amount, pending_days, self._expiry_days(data))

    def _expiry_days(self, data: st.DataObject) -> int | None:
        """Days from availability to expiry: by the policy (None), soon, or none at all (refused)."""
        valid = self._mostly(data)
        return data.draw(st.none() | st.integers(1, 40) if valid else st.sampled_from([-1, 0]), label="expiry days")

    def _earn(self, amount: int, pending_days: int | None, expiry_days: int | None) -> None:
        now = self.model.now
        available_at = now + timedelta(days=pending_days) if pending_days else None
        expires_at = (available_at or now) + timedelta(days=expiry_days) if expiry_days is not None else None
        key = self._key()

        def call() -> Receipt:
            return services.points_earn(
                user_id=self.user.pk,
                amount=amount,
                idempotency_key=key,
                available_at=available_at,
                expires_at=expires_at,
            )

        receipt = self._attempt(call, lambda r: self.model.earn(self._lot_pk(r), amount, available_at, expires_at))
        if receipt:
            self.model.earn_lot[receipt.entry_id] = self._lot_pk(receipt)
            self.earns.append(receipt.entry_id)
            self._remember(call, receipt, "earn", amount, key)

    @rule(data=st.data())
    def spend(self, data: st.DataObject) -> None:
        # Mostly what the balance can cover, sometimes a little more.
        balance = self._spendable()
        covered = balance > 0 and self._mostly(data)
        amount = data.draw(
            st.integers(1, balance) if covered else st.integers(balance + 1, balance + 10), label="amount"
        )
        key = self._key()

        def call() -> Receipt:
            return services.points_spend(user_id=self.user.pk, amount=amount, idempotency_key=key)

        receipt = self._attempt(call, lambda r: self.model.spend(r.entry_id if r else -1, amount))
        if receipt:
            self.spends.append(receipt.entry_id)
            self._remember(call, receipt, "spend", amount, key)

    def _spendable(self) -> int:
        """The balance once the account is settled: what a request made now can use."""
        preview = copy.deepcopy(self.model)
        preview.settle()
        return preview.balance

    @staticmethod
    def _mostly(data: st.DataObject) -> bool:
        """True four times in five: most requests are valid, some are not."""
        return data.draw(st.sampled_from([True, True, True, True, False]), label="valid")

    def _target(self, data: st.DataObject, preferred: list[int]) -> int:
        """Usually an entry of the right kind; now and then any entry, to be refused as not found."""
        pool = preferred if self._mostly(data) else self.entries
        return data.draw(st.sampled_from(pool), label="entry")

    @staticmethod
    def _size(data: st.DataObject, left: int) -> int | None:
        """All that is left (None), or an amount up to a little more than is left."""
        return data.draw(st.none() | st.integers(1, left + 3), label="amount")

    @precondition(lambda self: self.spends)
    @rule(data=st.data())
    def refund(self, data: st.DataObject) -> None:
        target = self._target(data, self.spends)
        amount = self._size(data, self.model.refund_left(target))
        key = self._key()

        def call() -> Receipt:
            return services.points_refund(
                user_id=self.user.pk, spend_entry_id=target, idempotency_key=key, amount=amount
            )

        receipt = self._attempt(call, lambda _r: self.model.refund(target, amount))
        if receipt:
            self._remember(call, receipt, "refund", amount, key)

    @precondition(lambda self: self.earns)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        target = self._target(data, self.earns)
        amount = self._size(data, self.model.reverse_left(target))
        key = self._key()

        def call() -> Receipt:
            return services.points_reverse(
                user_id=self.user.pk, earn_entry_id=target, idempotency_key=key, amount=amount
            )

        receipt = self._attempt(call, lambda _r: self.model.reverse(target, amount))
        if receipt:
            self._remember(call, receipt, "reverse", amount, key)

    @rule(data=st.data())
    def adjust(self, data: st.DataObject) -> None:
        amount = data.draw(st.integers(-(self._spendable() + 10), 150).filter(lambda a: a != 0), label="amount")
        key = self._key()

        def call() -> Receipt:
            return services.points_adjust(
                user_id=self.user.pk,
                amount=amount,
                reason="Property test",
                actor_id=self.operator.pk,
                idempotency_key=key,
            )

        receipt = self._attempt(call, lambda r: self.model.adjust(self._lot_pk(r) if r and amount > 0 else -1, amount))
        if receipt:
            if amount > 0:
                self.model.earn_lot[receipt.entry_id] = self._lot_pk(receipt)
                self.earns.append(receipt.entry_id)
            self._remember(call, receipt, "adjust", amount, key)

    def _remember(self, call: Callable[[], Receipt], receipt: Receipt, kind: str, amount: int | None, key: str):
        user_id = self.user.pk
        if kind in {"earn", "spend", "adjust"}:
            # The same kind of request with another amount.
            other = amount + 1 if amount != -1 else -2
            conflicting = {
                "earn": partial(services.points_earn, user_id=user_id, amount=other, idempotency_key=key),
                "spend": partial(services.points_spend, user_id=user_id, amount=other, idempotency_key=key),
                "adjust": partial(
                    services.points_adjust,
                    user_id=user_id,
                    amount=other,
                    reason="x",
                    actor_id=self.operator.pk,
                    idempotency_key=key,
                ),
            }[kind]
        else:
            # Another kind of request under the same key.
            conflicting = partial(services.points_spend, user_id=user_id, amount=1, idempotency_key=key)
        self.done.append(Done(call, receipt, kind, amount, conflicting))

    @rule(step=st.sampled_from(CLOCK_STEPS))
    def time_passes(self, step: timedelta) -> None:
        self.model.now += step
        self._clock.move_to(self.model.now)

    @rule(step=st.sampled_from(CLOCK_STEPS), use_sql=st.booleans())
    def time_passes_and_the_jobs_run(self, step: timedelta, use_sql: bool) -> None:
        self.time_passes(step)
        self.vest()
        self.sweep(use_sql)

    @rule(use_sql=st.booleans())
    def sweep(self, use_sql: bool) -> None:
        use_sql = use_sql and connection.vendor == "postgresql"
        expired_before = self.model.expired
        self.model.expire_due()
        report = services.points_expire(use_sql=use_sql)
        assert report.points == self.model.expired - expired_before

    @rule()
    def vest(self) -> None:
        pending_before = self.model.pending
        if self.model.has_due_pending():
            self.model.settle()
        report = services.points_vest()
        assert report.points == pending_before - self.model.pending

    @precondition(lambda self: self.done)
    @rule(data=st.data())
    def retry(self, data: st.DataObject) -> None:
        done = data.draw(st.sampled_from(self.done))
        again = done.call()
        assert (again.entry_id, again.kind, again.amount, again.replayed) == (
            done.receipt.entry_id,
            done.receipt.kind,
            done.receipt.amount,
            True,
        )

    @precondition(lambda self: self.done)
    @rule(data=st.data())
    def misuse_a_key(self, data: st.DataObject) -> None:
        done = data.draw(st.sampled_from(self.done))
        with pytest.raises(IdempotencyConflictError):
            done.conflicting()

    @invariant()
    def the_ledger_agrees_with_the_model(self) -> None:
        account = Account.objects.get(user=self.user)
        model = self.model
        assert (account.balance, account.pending, account.debt) == (model.balance, model.pending, model.debt)
        assert (account.lifetime_earned, account.lifetime_spent, account.lifetime_expired) == (
            model.earned,
            model.spent,
            model.expired,
        )
        lots = {
            pk: (remaining, status) for pk, remaining, status in account.lots.values_list("pk", "remaining", "status")
        }
        assert lots == {pk: (lot.remaining, lot.status) for pk, lot in model.lots.items()}
        report = services.points_verify()
        assert report.ok, report.violations


def test_random_operation_sequences_keep_the_ledger_equal_to_the_model(db):
    # The model assumes the default expiry policy the migrations install.
    assert rules.ExpiryRule() == rules.ExpiryRule(
        *ExpiryPolicy.objects.values_list("mode", "months", "rounding").get(pk=1)
    )
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            # Every step also runs the ten verify queries; Postgres round trips make each step dearer.
            max_examples=80 if connection.vendor == "sqlite" else 30,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
