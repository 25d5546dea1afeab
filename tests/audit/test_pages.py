"""The audit pages: one timeline per member and per object, for staff with the permission."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog import services as catalog_services
from catalog.enums import PaymentBackendName, RefundReason, RefundStatus
from catalog.models import CashRefund, StockMovement
from lottery.models import LotteryCampaign, LotteryPrize, PrizeKind
from points import services as points_services
from points.models import EarningRule
from pointsmall.audit import selectors
from tests.catalog.conftest import PIN


def _rows(response) -> list[str]:
    """Each timeline row's cells, tags dropped, joined by " | "."""
    body = response.content.decode()
    table = body.split('data-testid="audit-timeline"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr data-kind[^>]*>(.*?)</tr>", table, re.S)
    return [
        " | ".join(re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S))
        for row in rows
    ]


@pytest.fixture
def story(superuser, make_product, make_buyer, make_address):
    """A member with a bit of everything: points, an order cancelled (a refund), a privilege, an admin edit."""
    member = make_buyer(2000)  # an operator's adjustment funds them
    product = make_product(points_price=500, stock=10)
    order = catalog_services.order_redeem(
        user_id=member.pk,
        product_id=product.pk,
        quantity=1,
        idempotency_key=f"audit:{uuid.uuid4()}",
        pin=PIN,
        address_id=make_address(member),
    )
    catalog_services.order_cancel(order_id=order.pk, actor_id=superuser.pk, reason="Out of stock at the warehouse")
    member.is_staff = True
    member.save()
    LogEntry.objects.log_actions(
        user_id=superuser.pk,
        queryset=type(member).objects.filter(pk=member.pk),
        action_flag=CHANGE,
        change_message="Changed display name.",
    )
    return {"member": member, "product": product, "order": order}


def test_the_member_page_shows_everything_recorded_about_them_newest_first(client, auditor, story):
    client.force_login(auditor)
    member = story["member"]
    response = client.get(reverse("audit:member", args=[member.pk]))
    assert response.status_code == 200
    rows = _rows(response)
    kinds = [row.split(" | ")[1] for row in rows]
    assert kinds == ["Admin", "Privilege", "Ledger", "Order", "Ledger", "Order", "Ledger"]
    admin_row, privilege, refund, cancelled, spend, placed, funded = rows
    assert "Changed display name." in admin_row and "root@staff.example.com" in admin_row
    assert "staff status | no | yes" in privilege
    assert "Refunded +500" in refund and "| 1500 | 2000 |" in refund
    assert "Cancelled" in cancelled and "root@staff.example.com" in cancelled
    assert "| 2000 | 1500 |" in spend
    assert "| — | Approved |" in placed
    assert "| 0 | 2000 |" in funded
    timestamps = [row.split(" | ")[0] for row in rows]
    assert timestamps == sorted(timestamps, reverse=True)


def test_the_member_admin_page_links_to_their_audit_for_those_who_may_see_it(client, superuser, plain_staff, story):
    member = story["member"]
    url = reverse("admin:accounts_user_change", args=[member.pk])
    client.force_login(superuser)
    assert reverse("audit:member", args=[member.pk]) in client.get(url).content.decode()


@pytest.mark.parametrize("who", ["plain_staff", "member"])
def test_the_audit_pages_refuse_staff_without_the_permission_and_members(client, request, who, story):
    client.force_login(request.getfixturevalue(who))
    product = story["product"]
    assert client.get(reverse("audit:member", args=[story["member"].pk])).status_code == 403
    assert client.get(reverse("audit:object", args=["catalog", "product", product.pk])).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client, story):
    response = client.get(reverse("audit:member", args=[story["member"].pk]))
    assert response.status_code == 302


def test_the_product_page_shows_stock_edits_and_its_orders(client, auditor, superuser, story):
    product = story["product"]
    catalog_services.stock_restock(product_id=product.pk, quantity=5, actor_id=superuser.pk, note="Delivery")
    client.force_login(auditor)
    response = client.get(reverse("audit:object", args=["catalog", "product", product.pk]))
    assert response.status_code == 200
    rows = _rows(response)
    kinds = [row.split(" | ")[1] for row in rows]
    assert (
        kinds.count("Stock") == StockMovement.objects.filter(product=product).count() == 3
    )  # the first stock came with the row
    assert kinds.count("Order") == 2
    assert "History" in kinds
    assert any("Delivery" in row and "| 10 | 15 |" in row for row in rows)


def test_a_rule_page_shows_its_versions_old_and_new(client, auditor, superuser):
    rule = EarningRule.objects.order_by("pk").first()
    assert rule is not None
    rule.save()  # a version to compare with (the migrations made the row without one)
    before = rule.points
    rule.points = before + 7
    rule.save()
    client.force_login(auditor)
    response = client.get(reverse("audit:object", args=["points", "earningrule", rule.pk]))
    assert response.status_code == 200
    changed = _rows(response)[0]
    assert f"points: {before} | points: {before + 7}" in changed


def test_an_object_without_a_history_or_unknown_is_not_found(client, auditor, story):
    client.force_login(auditor)
    assert client.get(reverse("audit:object", args=["catalog", "order", story["order"].pk])).status_code == 404
    assert client.get(reverse("audit:object", args=["catalog", "nothing", 1])).status_code == 404
    assert client.get(reverse("audit:object", args=["catalog", "product", "x"])).status_code == 404
    assert client.get(reverse("audit:member", args=[999999])).status_code == 404


def test_a_timeline_page_costs_the_same_queries_however_many_rows(superuser, story):
    member = story["member"]

    def queries(page: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            selectors.member_timeline(user_id=member.pk, page=page, size=3)
        return len(captured)

    few = queries(1)
    for n in range(20):
        points_services.points_adjust(
            user_id=member.pk, amount=1, reason="Bonus", actor_id=superuser.pk, idempotency_key=f"audit:q:{n}"
        )
    assert queries(1) == queries(3) == few <= 6  # 5 sources (+ the user content type, once)


def test_a_product_page_costs_the_same_queries_however_many_rows(superuser, story):
    product = story["product"]

    def queries(page: int) -> int:
        with CaptureQueriesContext(connection) as captured:
            selectors.product_timeline(product_id=product.pk, page=page, size=2)
        return len(captured)

    few = queries(1)
    for n in range(5):
        catalog_services.stock_restock(product_id=product.pk, quantity=1, actor_id=superuser.pk, note=f"n{n}")
        product.refresh_from_db()
        product.points_price += 1
        product.save()
    assert queries(1) == queries(4) == few <= 8


def test_a_campaign_page_shows_its_prizes_versions_too(client, auditor):
    campaign = LotteryCampaign.objects.create(
        name="春季抽奖", starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=7), cost_points=10
    )
    prize = LotteryPrize.objects.create(
        campaign=campaign, name="十积分", kind=PrizeKind.POINTS, points=10, weight_bp=100
    )
    prize.weight_bp = 200
    prize.save()
    client.force_login(auditor)
    rows = _rows(client.get(reverse("audit:object", args=["lottery", "lotterycampaign", campaign.pk])))
    assert len(rows) == 3
    changed, created_prize, created_campaign = (row.split(" | ")[1:5] for row in rows)
    assert changed == [
        "History",
        "Changed prize: probability, basis points",
        "probability, basis points: 100",
        "probability, basis points: 200",
    ]
    assert created_prize[1:] == ["Created prize", "—", "十积分"]
    assert created_campaign[1:] == ["Created lottery campaign", "—", "春季抽奖"]


def test_pages_follow_on_without_losing_or_repeating_a_row(superuser, story):
    member = story["member"]
    everything = selectors.member_timeline(user_id=member.pk, page=1, size=100).rows
    pages = []
    page = 1
    while True:
        timeline = selectors.member_timeline(user_id=member.pk, page=page, size=2)
        pages += timeline.rows
        if not timeline.has_next:
            break
        page += 1
    assert pages == everything
    assert selectors.page_number("abc") == 1 and selectors.page_number("-3") == 1
    assert selectors.page_number("99999") == selectors.MAX_PAGE


def test_a_page_number_that_is_not_one_shows_the_first_page(client, auditor, story):
    client.force_login(auditor)
    response = client.get(reverse("audit:member", args=[story["member"].pk]) + "?page=abc")
    assert response.status_code == 200


def test_the_member_page_shows_a_cash_refund_and_who_recorded_it(client, auditor, superuser, story):
    # The row as catalog.services.refunds leaves it once an operator records the bank transfer.
    CashRefund.objects.create(
        order=story["order"],
        member=story["member"],
        reason=RefundReason.CANCELLED,
        backend=PaymentBackendName.OFFLINE,
        payment_reference="PAY-audit",
        amount=Decimal("9.90"),
        status=RefundStatus.REFUNDED,
        reference="RF-audit",
        refunded_at=timezone.now(),
        recorded_by=superuser,
    )
    client.force_login(auditor)
    rows = _rows(client.get(reverse("audit:member", args=[story["member"].pk])))
    refund = next(row for row in rows if row.split(" | ")[1] == "Refund")
    assert "Cash refund of ¥9.90 for order" in refund
    assert refund.endswith("| — | Refunded | root@staff.example.com")
