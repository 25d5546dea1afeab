"""Row locks of the ledger. The account row is the one lock every writer takes first."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from django.db import connection
from django.db.transaction import TransactionManagementError

from points.exceptions import AccountNotFoundError
from points.models import Account, Campaign, Lot, Purchase, Tier


def account_for_update(*, user_id: int) -> Account:
    """Lock and return a member's account; raises AccountNotFoundError.

    Every ledger write starts here, so the statement is compiled by the ORM once per process
    and then only executed (issue #15 P9: compiling it cost about as much CPU as the rest of a
    spend's reads); the row becomes an ``Account`` as the ORM's own ``get`` would make it.
    """
    if connection.vendor != "postgresql":
        # SQLite (the demo) has no row locks, and its raw rows need the ORM's converters
        # (aware datetimes): the ORM's own read.
        try:
            return Account.objects.select_for_update().get(user_id=user_id)
        except Account.DoesNotExist:
            raise AccountNotFoundError() from None
    if connection.get_autocommit():
        # What the ORM's select_for_update() says: outside a transaction the lock would end at once.
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    sql, attnames = _account_for_update_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id])
        row = cursor.fetchone()
    if row is None:
        raise AccountNotFoundError()
    return Account.from_db(connection.alias, attnames, row)


@cache
def _account_for_update_sql() -> tuple[str, list[str]]:
    """``Account.objects.select_for_update().filter(user_id=…)`` compiled: its SQL (one
    parameter, the user id) and the attribute name of each column it selects, in order."""
    compiler = Account.objects.select_for_update().filter(user_id=0).query.get_compiler(connection.alias)
    sql, params = compiler.as_sql()
    if list(params) != [0]:
        raise RuntimeError(f"unexpected parameters {params!r} in the account lock's SQL")
    return sql, [column.target.attname for column, _sql, _alias in compiler.select]


def accounts_for_update_skip_locked(*, account_ids: Iterable[int]) -> list[int]:
    """Lock the given accounts in primary-key order, skipping any a member is using right now."""
    return list(
        Account.objects.select_for_update(skip_locked=True)
        .filter(pk__in=list(account_ids))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def account_with_tier_for_update(*, account_id: int) -> Account:
    """Lock and return an account by its id, with its tier read (not locked)."""
    return Account.objects.select_for_update(of=("self",)).select_related("tier").get(pk=account_id)


def lots_for_update_skip_locked(**filters: object) -> list[int]:
    """Lock the lots matching ``filters`` in primary-key order, skipping any another job holds.

    Only jobs that never take an account lock afterwards use this (the expiry reminders):
    lots are otherwise changed only by holders of their account's lock.
    """
    return list(
        Lot.objects.select_for_update(skip_locked=True).filter(**filters).order_by("pk").values_list("pk", flat=True)
    )


def campaign_for_update(*, campaign_id: int) -> Campaign:
    """Lock and return a campaign (its budget is spent under this lock). Take the account lock first."""
    return Campaign.objects.select_for_update().get(pk=campaign_id)


def campaign_budget_used_for_update(*, campaign_id: int) -> int:
    """Lock a campaign and return its ``budget_used`` (points given so far) as earnings left it.

    The admin's campaign form reads it under the lock (the admin view is one transaction), so
    its budget check compares with what earnings have really used. Raises ``Campaign.DoesNotExist``.
    """
    return Campaign.objects.select_for_update().values_list("budget_used", flat=True).get(pk=campaign_id)


def tier_ladder_for_update() -> list[int]:
    """Lock every tier row in primary-key order (returns their ids) until the transaction ends.

    Two operators editing two tiers at once then cannot each pass the ladder check against the
    other's old values.
    """
    return list(Tier.objects.select_for_update().order_by("pk").values_list("pk", flat=True))


def purchase_for_update(*, purchase_id: int) -> Purchase:
    """Lock and return a recorded purchase (a refund of it). Take the member's account lock first."""
    return Purchase.objects.select_for_update().get(pk=purchase_id)
