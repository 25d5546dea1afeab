import pytest
from django.urls import reverse

from points import services
from points.models import Account, Entry, Lot
from tests.factories import MemberFactory, StaffFactory


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


# --- Nobody adjusts their own points; links only for those who may follow them ---------------


def staff_in(group: str):
    from django.contrib.auth.models import Group

    user = MemberFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def operator_client(client, settings, db):
    settings.ADMIN_REQUIRE_MFA = False
    operator = staff_in("Operators")
    client.force_login(operator)
    client.user = operator
    return client


def _written():
    return (Entry.objects.count(), Lot.objects.count(), dict(Account.objects.values_list("user_id", "balance")))


def test_an_operator_cannot_adjust_their_own_points(operator_client):
    operator = operator_client.user
    account = Account.objects.get(user=operator)
    before = _written()
    page = operator_client.get(reverse("admin:points_account_change", args=[account.pk])).content.decode()
    assert "Adjust points" not in page
    assert operator_client.get(_adjust_url(operator)).status_code == 403
    response = operator_client.post(
        _adjust_url(operator), {"amount": "5000", "reason": "Bonus", "idempotency_key": "mine"}
    )
    assert response.status_code == 403
    assert _written() == before


def test_a_superuser_cannot_adjust_their_own_points_either(staff_client, staff):
    before = _written()
    assert staff_client.get(_adjust_url(staff)).status_code == 403
    assert _written() == before


def test_the_ledger_refuses_a_self_adjustment_whoever_calls_it(member):
    from points.exceptions import SelfAdjustmentError

    before = _written()
    with pytest.raises(SelfAdjustmentError) as refused:
        services.points_adjust(user_id=member.pk, amount=100, reason="me", actor_id=member.pk, idempotency_key="k")
    assert refused.value.code == "self_adjustment"
    assert refused.value.message == "Nobody may adjust their own points: ask another operator to do it."
    assert _written() == before
    assert services.points_verify().ok


def test_an_operator_adjusts_a_members_points_from_the_account_page(operator_client, member):
    account = Account.objects.get(user=member)
    page = operator_client.get(reverse("admin:points_account_change", args=[account.pk])).content.decode()
    assert f'href="{_adjust_url(member)}"' in page
    response = operator_client.post(
        _adjust_url(member), {"amount": "30", "reason": "Late parcel", "idempotency_key": "o"}
    )
    assert response.status_code == 302
    assert Entry.objects.get(idempotency_key="o").actor_id == operator_client.user.pk
    assert services.points_verify().ok


def test_customer_service_is_shown_the_ledger_links_but_no_adjust_link(client, settings, member):
    settings.ADMIN_REQUIRE_MFA = False
    client.force_login(staff_in("Customer service"))
    account = Account.objects.get(user=member)
    page = client.get(reverse("admin:points_account_change", args=[account.pk])).content.decode()
    assert "Adjust points" not in page
    assert _adjust_url(member) not in page
    entries = reverse("admin:points_entry_changelist") + f"?account__id__exact={account.pk}"
    lots = reverse("admin:points_lot_changelist") + f"?account__id__exact={account.pk}"
    assert f'href="{entries}"' in page
    assert f'href="{lots}"' in page
    assert client.get(entries).status_code == 200
    assert client.get(lots).status_code == 200
    assert client.get(_adjust_url(member)).status_code == 403


# --- The member reads the reason; staff keep their notes apart --------------------------------


def test_the_adjust_form_says_the_reason_is_shown_to_the_member(staff_client, member):
    page = staff_client.get(_adjust_url(member)).content.decode()
    assert "Reason shown to the member" in page
    assert "The member reads this, word for word, in their points history." in page
    assert "Internal note" in page


def test_the_internal_note_is_kept_apart_and_never_shown_to_the_member(staff_client, client, member):
    response = staff_client.post(
        _adjust_url(member),
        {
            "amount": "20",
            "reason": "Sorry for the late parcel",
            "note": "Ticket #4411, courier lost it; approved by Wang",
            "idempotency_key": "adm-note",
        },
    )
    assert response.status_code == 302
    entry = Entry.objects.get(idempotency_key="adm-note")
    assert (entry.memo, entry.staff_note) == (
        "Sorry for the late parcel",
        "Ticket #4411, courier lost it; approved by Wang",
    )
    detail = staff_client.get(reverse("admin:points_entry_change", args=[entry.pk])).content.decode()
    assert "Ticket #4411, courier lost it; approved by Wang" in detail
    client.force_login(member)
    history = client.get(reverse("my_points")).content.decode()
    assert "Sorry for the late parcel" in history
    assert "Ticket #4411" not in history
    assert services.points_verify().ok


def test_an_adjustment_without_a_note_stores_an_empty_one(staff_client, member):
    staff_client.post(_adjust_url(member), {"amount": "5", "reason": "Survey", "idempotency_key": "no-note"})
    assert Entry.objects.get(idempotency_key="no-note").staff_note == ""


# --- Each ledger row with its own balance -------------------------------------------------------


def test_the_ledger_list_shows_each_rows_balance_not_todays(staff_client, member):
    first = services.points_earn(user_id=member.pk, amount=100, idempotency_key="e1")
    services.points_earn(user_id=member.pk, amount=50, idempotency_key="e2")
    response = staff_client.get(reverse("admin:points_entry_changelist"))
    rows = {row.pk: row for row in response.context["cl"].result_list}
    assert rows[first.entry_id].balance_after == 100
    body = response.content.decode()
    assert "150" in body  # the second row's balance after
    assert f"{member.email} · 150" not in body  # no account shown with today's balance on every row
    assert str(Account.objects.get(user=member)) == member.email
    lots = staff_client.get(reverse("admin:points_lot_changelist")).content.decode()
    assert f"{member.email} · " not in lots
