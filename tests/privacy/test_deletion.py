from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts_services
from accounts.exceptions import (
    AccountDeletedError,
    DeletionNeedsPasswordError,
    DeletionNotConfirmedError,
    DeletionPasswordIncorrectError,
)
from accounts.models import Address, InviteCode, Notification, PaymentPin
from catalog import services as catalog_services
from catalog.enums import OrderStatus
from catalog.models import Order
from points import services as points_services
from points.enums import EntryKind, LotStatus
from points.models import Account, Entry, IdentityClaim, Lot
from pointsmall.privacy import services
from tests.catalog.conftest import PIN
from tests.factories import PASSWORD, MemberFactory

pytestmark = pytest.mark.usefixtures("ledger_invariants_hold")


def _delete(user, **overrides):
    values = {"user_id": user.pk, "password": PASSWORD, "confirmation": user.email}
    values.update(overrides)
    return services.member_delete(**values)


def _redeem(buyer, product, address_id, key):
    return catalog_services.order_redeem(
        user_id=buyer.pk, product_id=product.pk, quantity=1, idempotency_key=key, pin=PIN, address_id=address_id
    )


def _written():
    return (
        Entry.objects.count(),
        Order.objects.filter(status=OrderStatus.CANCELLED).count(),
        Address.objects.count(),
        get_user_model().objects.filter(deleted_at__isnull=False).count(),
    )


def test_deletion_forfeits_points_keeps_books_and_erases_personal_data(buyer, make_product, make_address):
    address_id = make_address(buyer)
    product = make_product(points_price=300)
    _redeem(buyer, product, address_id, "privacy-1")
    points_services.points_earn(
        user_id=buyer.pk, amount=50, idempotency_key="pending-1", available_at=timezone.now() + timedelta(days=7)
    )
    email = buyer.email

    result = _delete(buyer)

    # The order under review was cancelled: its 300 points came back, then everything was forfeited.
    assert result.orders_cancelled == [Order.objects.get(member=buyer).pk]
    assert result.forfeited == 2000 + 50
    forfeit = Entry.objects.get(kind=EntryKind.FORFEIT, account__user=buyer)
    assert (forfeit.amount, forfeit.pending_amount, forfeit.balance_after, forfeit.pending_after) == (-2000, -50, 0, 0)
    assert forfeit.memo_code == "points.account_deleted"
    account = Account.objects.get(user=buyer)
    assert (account.balance, account.pending, account.held) == (0, 0, 0)
    assert not Lot.objects.filter(account=account, status=LotStatus.PENDING).exists()
    assert points_services.points_verify().ok

    kept = Order.objects.get(member=buyer)
    assert kept.status == OrderStatus.CANCELLED
    assert (kept.recipient, kept.phone, kept.address, kept.postal_code) == ("", "", "", "")
    assert Entry.objects.filter(account=account).count() > 1  # the history stays, anonymised by the user row

    user = get_user_model().objects.get(pk=buyer.pk)
    assert user.email == accounts_services.tombstone_email(buyer.pk)
    assert (user.display_name, user.phone, user.username, user.is_active) == ("", None, None, False)
    assert not user.has_usable_password()
    assert user.deleted_at is not None
    assert not Address.objects.filter(user=buyer).exists()
    assert not PaymentPin.objects.filter(user=buyer).exists()
    assert not Notification.objects.filter(user=buyer).exists()
    assert not InviteCode.objects.filter(user=buyer).exists()
    assert not EmailAddress.objects.filter(user=buyer).exists()
    assert not IdentityClaim.objects.filter(identity_hash__icontains=email.split("@")[0]).exists()


def test_signing_up_again_with_the_same_email_gets_no_second_bonus(db, settings):
    member = MemberFactory()
    first = accounts_services.signup_bonus_claim(user_id=member.pk, email=member.email)
    assert first.granted > 0
    email = member.email
    _delete(member)

    again = MemberFactory(email=email)
    second = accounts_services.signup_bonus_claim(user_id=again.pk, email=email)

    assert second.granted == 0
    assert points_services.points_verify().ok


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"password": "wrong"}, DeletionPasswordIncorrectError),
        ({"confirmation": ""}, DeletionNotConfirmedError),
        ({"confirmation": "someone@example.com"}, DeletionNotConfirmedError),
    ],
)
def test_refusals_write_nothing(buyer, make_address, overrides, error):
    make_address(buyer)
    before = _written()

    with pytest.raises(error):
        _delete(buyer, **overrides)

    assert _written() == before
    assert get_user_model().objects.get(pk=buyer.pk).is_active


def test_deleting_twice_is_refused(buyer):
    _delete(buyer)
    before = _written()

    with pytest.raises(AccountDeletedError):
        _delete(buyer)

    assert _written() == before


def test_a_member_without_a_password_is_sent_to_their_host(db):
    member = MemberFactory()
    member.set_unusable_password()
    member.save()

    with pytest.raises(DeletionNeedsPasswordError):
        _delete(member)


def test_delete_page_shows_the_exact_points_forfeited(client, buyer):
    client.force_login(buyer)

    page = client.get(reverse("account_delete"))

    assert page.status_code == 200
    assert "forfeits your 2000 points" in page.content.decode()


def test_delete_view_refuses_a_wrong_password_and_keeps_the_member_signed_in(client, buyer):
    client.force_login(buyer)

    response = client.post(reverse("account_delete"), {"password": "nope", "confirmation": buyer.email})

    assert response.status_code == 400
    assert "Your password is not correct" in response.content.decode()
    assert not Entry.objects.filter(kind=EntryKind.FORFEIT).exists()
    assert client.get(reverse("account_overview")).status_code == 200


def test_delete_view_deletes_and_signs_out(client, buyer):
    client.force_login(buyer)

    response = client.post(reverse("account_delete"), {"password": PASSWORD, "confirmation": buyer.email.upper()})

    assert response.status_code == 302
    assert Entry.objects.filter(kind=EntryKind.FORFEIT, account__user=buyer, amount=-2000).exists()
    assert client.get(reverse("account_overview")).status_code == 302  # to the sign-in page
    assert not client.login(email=buyer.email, password=PASSWORD)


def test_other_sessions_of_a_deleted_member_end(client, buyer):
    client.force_login(buyer)
    _delete(buyer)

    assert client.get(reverse("account_overview")).status_code == 302


def test_the_delete_form_is_rate_limited_so_a_stolen_session_cannot_guess_the_password(client, buyer, settings):
    settings.ACCOUNT_DELETE_RATE_LIMIT = "3/10m"
    client.force_login(buyer)
    for n in range(3):
        wrong = client.post(reverse("account_delete"), {"password": f"guess{n}", "confirmation": buyer.email})
        assert wrong.status_code == 400

    refused = client.post(reverse("account_delete"), {"password": PASSWORD, "confirmation": buyer.email})

    assert refused.status_code == 429 and refused["Retry-After"]
    assert not Entry.objects.filter(kind=EntryKind.FORFEIT).exists()
    assert get_user_model().objects.get(pk=buyer.pk).deleted_at is None


def test_a_deleted_account_earns_nothing_more(buyer):
    from points.exceptions import AccountFrozenError

    _delete(buyer)

    with pytest.raises(AccountFrozenError):
        points_services.points_earn(user_id=buyer.pk, amount=10, idempotency_key="late-earn")
    assert Account.objects.get(user=buyer).balance == 0
    assert points_services.points_verify().ok
