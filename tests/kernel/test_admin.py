"""The shared admin pieces: read-only bases and "apply a service to each selected row"."""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.test import RequestFactory

from pointsmall.kernel.admin import ReadOnlyAdmin, ReadOnlyInline, SingletonAdminMixin, apply_to_selected
from pointsmall.kernel.errors import DomainError


class Refused(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class Recorder:
    """Stands in for a ModelAdmin: keeps what message_user was given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def message_user(self, request, message, level) -> None:
        self.sent.append((str(message), level))


@pytest.fixture
def request_():
    return RequestFactory().post("/admin/")


def test_every_row_goes_through_and_one_success_message_counts_them(request_):
    seen, admin = [], Recorder()
    done = apply_to_selected(
        admin,
        request_,
        [1, 2, 3],
        seen.append,
        refusals=(Refused,),
        refused_message=lambda row, reason: f"#{row}: {reason}",
        done_message=lambda n: f"{n} done.",
    )
    assert (done, seen, admin.sent) == (3, [1, 2, 3], [("3 done.", messages.SUCCESS)])


def test_a_refused_row_is_named_with_its_reason_and_the_others_still_go_through(request_):
    seen, admin = [], Recorder()

    def action(row: int) -> None:
        if row == 2:
            raise Refused("out of stock")
        seen.append(row)

    done = apply_to_selected(
        admin,
        request_,
        [1, 2, 3, 4],
        action,
        refusals=(Refused,),
        refuse=lambda row: "your own" if row == 4 else None,
        refused_message=lambda row, reason: f"#{row}: {reason}",
        done_message=lambda n: f"{n} done.",
        level=messages.WARNING,
    )
    assert done == 2
    assert seen == [1, 3]
    assert admin.sent == [
        ("#2: out of stock", messages.WARNING),
        ("#4: your own", messages.WARNING),
        ("2 done.", messages.SUCCESS),
    ]


def test_nothing_done_sends_no_success_message(request_):
    admin = Recorder()

    def action(row: int) -> None:
        raise Refused("no")

    done = apply_to_selected(
        admin, request_, [1], action, refusals=(Refused,), refused_message=lambda r, m: m, done_message=str
    )
    assert (done, admin.sent) == (0, [("no", messages.ERROR)])


def test_an_error_that_is_not_a_refusal_propagates(request_):
    def action(row: int) -> None:
        raise KeyError(row)

    with pytest.raises(KeyError):
        apply_to_selected(Recorder(), request_, [1], action, refusals=(Refused,), refused_message=lambda r, m: m)


@pytest.mark.parametrize("base", [ReadOnlyAdmin, ReadOnlyInline])
def test_read_only_bases_refuse_add_change_and_delete(base, request_):
    allowed = (
        base.has_add_permission(None, request_),
        base.has_change_permission(None, request_, obj=None),
        base.has_delete_permission(None, request_, obj=None),
    )
    assert allowed == (False, False, False)


def test_read_only_inline_shows_no_extra_rows_or_delete_boxes():
    assert (ReadOnlyInline.extra, ReadOnlyInline.can_delete, ReadOnlyInline.show_change_link) == (0, False, False)


def test_a_policy_row_is_never_added_or_deleted(request_):
    assert SingletonAdminMixin.has_add_permission(None, request_) is False
    assert SingletonAdminMixin.has_delete_permission(None, request_, obj=None) is False


def test_a_domain_error_is_a_refusal_by_default(request_):
    def action(row: int) -> None:
        raise DomainError("not now")

    admin = Recorder()
    assert apply_to_selected(admin, request_, [1], action, refused_message=lambda r, m: m) == 0
    assert admin.sent == [("not now", messages.ERROR)]
