"""after_commit: an effect runs once the write commits, and its failure never reaches the caller."""

from __future__ import annotations

import logging

import pytest
from django.db import transaction

from pointsmall.kernel.transactions import after_commit


@pytest.mark.django_db(transaction=True)
def test_the_effect_runs_after_commit_and_not_before():
    ran = []
    with transaction.atomic():
        after_commit(lambda: ran.append("sent"))
        assert ran == []
    assert ran == ["sent"]


@pytest.mark.django_db(transaction=True)
def test_nothing_runs_when_the_transaction_rolls_back():
    ran = []
    with pytest.raises(RuntimeError), transaction.atomic():
        after_commit(lambda: ran.append("sent"))
        raise RuntimeError("the write failed")
    assert ran == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_effect_is_logged_and_the_commit_still_succeeds(caplog):
    def broker_down() -> None:
        raise ConnectionError("broker unreachable")

    later = []
    with caplog.at_level(logging.ERROR, logger="pointsmall.after_commit"), transaction.atomic():
        after_commit(broker_down)
        after_commit(lambda: later.append("ran"))
    assert later == ["ran"]  # one failing effect does not stop the next
    assert [r.exc_info[0] for r in caplog.records] == [ConnectionError]


@pytest.mark.django_db(transaction=True)
def test_a_failing_effect_is_named_by_its_label(caplog):
    def broken() -> None:
        raise ValueError("a bug")

    with caplog.at_level(logging.ERROR, logger="pointsmall.after_commit"), transaction.atomic():
        after_commit(lambda: broken(), label="queue deliveries")
    [record] = caplog.records
    assert record.getMessage() == "side effect after commit failed: queue deliveries"
