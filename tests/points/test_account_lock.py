"""``points.locks.account_for_update``: the statement compiled once, the row as the ORM reads it."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from points import locks, services
from points.exceptions import AccountNotFoundError
from points.models import Account
from tests.factories import MemberFactory

pytestmark = [pytest.mark.django_db]


def _fields(account: Account) -> dict:
    return {field.attname: getattr(account, field.attname) for field in Account._meta.concrete_fields}


def test_the_locked_account_is_the_row_the_orm_reads():
    member = MemberFactory()
    services.points_earn(user_id=member.pk, amount=40, idempotency_key="e1")
    with transaction.atomic():
        locked = locks.account_for_update(user_id=member.pk)
    expected = Account.objects.get(user=member)
    assert _fields(locked) == _fields(expected)
    assert locked.balance == 40
    # A saved row, as a queryset's get() returns it: saving it would UPDATE, not INSERT.
    assert locked._state.adding is False
    assert locked._state.db == connection.alias


def test_the_account_row_is_locked_for_update():
    member = MemberFactory()
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        locks.account_for_update(user_id=member.pk)
    (query,) = [q["sql"] for q in captured.captured_queries if "points_account" in q["sql"]]
    if connection.features.has_select_for_update:
        assert query.rstrip().endswith("FOR UPDATE")
    assert str(member.pk) in query


def test_an_unknown_member_has_no_account_and_nothing_is_locked():
    with transaction.atomic(), pytest.raises(AccountNotFoundError):
        locks.account_for_update(user_id=987654321)
