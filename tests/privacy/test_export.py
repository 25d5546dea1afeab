import json

import pytest
from django.urls import reverse

from accounts import services as accounts_services
from tests.factories import MemberFactory

pytestmark = pytest.mark.usefixtures("ledger_invariants_hold")


def test_export_is_a_json_attachment_of_the_members_own_data(client, buyer, make_address, fund):
    other = MemberFactory(display_name="Someone else")
    make_address(buyer, recipient="Buyer Wang")
    make_address(other, recipient="Other Li")
    fund(other, 777)
    client.force_login(buyer)

    response = client.post(reverse("data_export"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"].startswith('attachment; filename="points-mall-my-data-')
    data = json.loads(response.content)
    assert set(data) >= {
        "profile",
        "addresses",
        "orders",
        "ledger",
        "referrals",
        "checkins",
        "tasks",
        "draws",
        "notifications",
    }
    assert data["profile"]["email"] == buyer.email
    assert [a["recipient"] for a in data["addresses"]] == ["Buyer Wang"]
    assert [e["amount"] for e in data["ledger"]] == [2000]
    assert data["points"]["balance"] == 2000
    body = response.content.decode()
    assert "Other Li" not in body and other.email not in body
    # The other member's 777 points appear in no amount (a bare "777" could be part of a timestamp or an id).
    assert '"amount": 777' not in body and 777 not in [e["amount"] for e in data["ledger"]]


def test_export_lists_invited_friends_by_public_name_only(client, db):
    inviter = MemberFactory()
    friend = MemberFactory(display_name="Friend")
    code = accounts_services.invite_code_ensure(user_id=inviter.pk)
    accounts_services.referral_bind(invitee_id=friend.pk, code=code)
    client.force_login(inviter)

    data = json.loads(client.post(reverse("data_export")).content)

    assert [r["friend"] for r in data["referrals"]["invited"]] == ["Friend"]
    assert friend.email not in json.dumps(data)


def test_export_needs_sign_in(client, db):
    assert client.post(reverse("data_export")).status_code == 302
    assert client.get(reverse("account_delete")).status_code == 302


def test_export_page_and_policy_page_render(client, member):
    assert client.get(reverse("privacy_policy")).status_code == 200
    assert reverse("privacy_policy") in client.get(reverse("account_signup")).content.decode()
    client.force_login(member)
    page = client.get(reverse("data_export"))
    assert page.status_code == 200
    assert reverse("privacy_policy") in page.content.decode()
