import pytest
from django.urls import reverse

from points import services
from points.models import Account, Entry, Lot
from tests.factories import StaffFactory


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def staff_client(client, staff, settings):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(staff)
    return client


def _adjust_url(member):
    return reverse("admin:points_account_adjust", args=[Account.objects.get(user=member).pk])


def test_operator_credits_points_with_a_reason_and_is_recorded_as_actor(staff_client, staff, member):
    response = staff_client.post(
        _adjust_url(member), {"amount": "150", "reason": "Goodwill for late delivery", "idempotency_key": "adm-1"}
    )
    assert response.status_code == 302
    entry = Entry.objects.get(idempotency_key="adm-1")
    assert (entry.kind, entry.amount, entry.actor_id, entry.memo) == (
        "adjust",
        150,
        staff.pk,
        "Goodwill for late delivery",
    )
    assert Account.objects.get(user=member).balance == 150


def test_operator_debits_points_first_expiring_first(staff_client, member):
    services.points_earn(user_id=member.pk, amount=100, idempotency_key="e1")
    response = staff_client.post(
        _adjust_url(member), {"amount": "-40", "reason": "Duplicate credit", "idempotency_key": "adm-2"}
    )
    assert response.status_code == 302
    assert Account.objects.get(user=member).balance == 60
    assert services.points_verify().ok


def test_double_submitted_adjust_form_has_one_effect(staff_client, member):
    data = {"amount": "10", "reason": "Survey prize", "idempotency_key": "adm-3"}
    staff_client.post(_adjust_url(member), data)
    staff_client.post(_adjust_url(member), data)
    assert Account.objects.get(user=member).balance == 10
    assert Entry.objects.filter(kind="adjust").count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "0", "reason": "x", "idempotency_key": "k"}, "Enter a number other than zero."),
        ({"amount": "5", "reason": "   ", "idempotency_key": "k"}, "This field is required."),
        ({"amount": "abc", "reason": "x", "idempotency_key": "k"}, "Enter a whole number."),
        (
            {"amount": "-500", "reason": "Too much", "idempotency_key": "k"},
            "Not enough points: you have 100, this needs 500.",
        ),
    ],
)
def test_bad_adjustments_show_the_reason_and_write_nothing(staff_client, member, data, message):
    services.points_earn(user_id=member.pk, amount=100, idempotency_key="e1")
    before = (Entry.objects.count(), Lot.objects.count(), Account.objects.get(user=member).balance)
    response = staff_client.post(_adjust_url(member), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert (Entry.objects.count(), Lot.objects.count(), Account.objects.get(user=member).balance) == before


def test_ledger_rows_are_read_only_in_admin(staff_client, member):
    receipt = services.points_earn(user_id=member.pk, amount=100, idempotency_key="e1")
    assert staff_client.get(reverse("admin:points_entry_add")).status_code == 403
    change_url = reverse("admin:points_entry_change", args=[receipt.entry_id])
    assert staff_client.get(change_url).status_code == 200
    staff_client.post(change_url, {"amount": "999999"})
    assert Entry.objects.get(pk=receipt.entry_id).amount == 100
    delete_url = reverse("admin:points_entry_delete", args=[receipt.entry_id])
    assert staff_client.post(delete_url, {"post": "yes"}).status_code == 403
    assert Entry.objects.filter(pk=receipt.entry_id).exists()


def test_account_search_by_member_email(staff_client, member, other_member):
    response = staff_client.get(reverse("admin:points_account_changelist"), {"q": member.email})
    body = response.content.decode()
    assert member.email in body
    assert other_member.email not in body


def test_members_cannot_reach_the_adjust_view(client, member):
    client.force_login(member)
    response = client.post(_adjust_url(member), {"amount": "1000", "reason": "me", "idempotency_key": "x"})
    assert response.status_code == 403
    assert "This area is for mall staff" in response.content.decode()
    assert Account.objects.get(user=member).balance == 0
    assert not Entry.objects.exists()


def test_expiry_policy_changes_are_kept_in_history(staff_client):
    from points.models import ExpiryPolicy

    url = reverse("admin:points_expirypolicy_change", args=[1])
    response = staff_client.post(url, {"mode": "rolling", "months": "6", "rounding": "month", "reminder_days": "14"})
    assert response.status_code == 302
    policy = ExpiryPolicy.objects.get(pk=1)
    assert (policy.months, policy.rounding, policy.reminder_days) == (6, "month", 14)
    assert policy.history.count() >= 1
    assert policy.history.first().history_user is not None
