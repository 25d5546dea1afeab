"""The coupon desk (核销): staff look a coupon up and mark it used once; a second use is refused and logged."""

from __future__ import annotations

import html
import logging
import threading
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from catalog import services
from catalog.enums import OrderStatus, ProductKind
from catalog.exceptions import CouponAlreadyUsedError, CouponExpiredError, CouponNotActiveError, CouponNotFoundError
from catalog.models import Code, OrderEvent
from catalog.notices import note_text
from tests.catalog.conftest import PIN
from tests.factories import MemberFactory

URL = "/mall/staff/coupons/"


@pytest.fixture
def coupon_product(make_product, make_codes):
    product = make_product(
        name_en="Latte voucher", name_zh="拿铁券", kind=ProductKind.COUPON, stock=0, coupon_valid_days=30
    )
    make_codes(product, 3)
    return product


def redeem(buyer, product, **extra):
    return services.order_redeem(
        user_id=buyer.pk,
        product_id=product.pk,
        quantity=1,
        idempotency_key=f"test:{uuid.uuid4()}",
        pin=PIN,
        **extra,
    )


@pytest.fixture
def coupon(buyer, coupon_product) -> Code:
    order = redeem(buyer, coupon_product)
    assert order.status == OrderStatus.COMPLETED
    return Code.objects.get(order=order)


@pytest.fixture
def shop_staff(db):
    user = MemberFactory(email="till1@example.com", display_name="Till 1")
    user.groups.add(Group.objects.get(name="Shop staff"))
    return user


@pytest.fixture
def staff_client(client, shop_staff):
    client.force_login(shop_staff)
    return client


def use(client, code: Code, value: str | None = None):
    return client.post(URL, {"action": "use", "code": value or code.code, "code_id": code.pk})


def used_state(code: Code) -> tuple:
    code.refresh_from_db()
    return code.used_at, code.used_by_id


def test_the_url_name_is_coupon_verify():
    assert reverse("coupon_verify") == URL


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"


def test_a_member_without_the_permission_gets_403_and_nothing_is_used(client, member, coupon):
    client.force_login(member)
    assert client.get(URL).status_code == 403
    assert use(client, coupon).status_code == 403
    assert used_state(coupon) == (None, None)


def test_staff_without_the_shop_role_get_403(client, db):
    client.force_login(MemberFactory(is_staff=True))
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize("who", ["shop staff", "operator", "superuser"])
def test_shop_staff_operators_and_superusers_may_verify(client, db, who):
    if who == "superuser":
        user = MemberFactory(is_staff=True, is_superuser=True)
    else:
        user = MemberFactory(is_staff=who == "operator")
        user.groups.add(Group.objects.get(name="Shop staff" if who == "shop staff" else "Operators"))
    client.force_login(user)
    response = client.get(URL)
    assert response.status_code == 200
    assert "autofocus" in response.content.decode()


def test_looking_up_a_coupon_shows_item_masked_owner_and_validity(staff_client, coupon, buyer):
    response = staff_client.post(URL, {"action": "lookup", "code": f"  {coupon.code}\n"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Latte voucher" in body
    assert f"{buyer.email[:2]}***@example.com" in body
    assert buyer.email not in body
    assert timezone.localtime(coupon.valid_until).strftime("%Y-%m-%d %H:%M") in body
    assert 'data-state="valid"' in body
    assert f'name="code_id" value="{coupon.pk}"' in body
    assert used_state(coupon) == (None, None)


def test_a_hand_typed_lower_case_code_still_matches(staff_client, coupon):
    response = staff_client.post(URL, {"action": "lookup", "code": coupon.code.lower()})
    assert 'data-state="valid"' in response.content.decode()


def test_an_unknown_code_gets_a_clear_message(staff_client, coupon):
    response = staff_client.post(URL, {"action": "lookup", "code": "NO-SUCH-CODE"})
    assert response.status_code == 200
    assert "No coupon has this code. Check the code and try again." in response.content.decode()
    assert 'data-testid="coupon"' not in response.content.decode()


def test_an_empty_lookup_asks_for_a_code(staff_client, db):
    response = staff_client.post(URL, {"action": "lookup", "code": "   "})
    assert "This field is required." in response.content.decode()


def test_a_code_still_in_the_pool_is_not_a_coupon_anyone_holds(staff_client, coupon, coupon_product):
    free = Code.objects.filter(product=coupon_product, order__isnull=True).first()
    with pytest.raises(CouponNotFoundError):
        services.coupon_lookup(code=free.code)
    response = staff_client.post(URL, {"action": "lookup", "code": free.code})
    assert "No coupon has this code." in response.content.decode()


def test_a_virtual_items_code_is_not_a_store_coupon(staff_client, make_product, make_codes, buyer):
    topup = make_product(name_en="Top-up", kind=ProductKind.VIRTUAL, stock=0)
    make_codes(topup, 1)
    order = redeem(buyer, topup)
    code = Code.objects.get(order=order)
    with pytest.raises(CouponNotFoundError):
        services.coupon_lookup(code=code.code)
    response = use(staff_client, code)
    assert "No coupon has this code." in response.content.decode()
    assert used_state(code) == (None, None)


def test_marking_used_sets_who_and_when_once_and_notes_it_on_the_order(staff_client, shop_staff, coupon):
    with time_machine.travel("2026-05-01 10:30 +08:00", tick=False):
        response = use(staff_client, coupon)
    assert response.status_code == 302
    assert response["Location"] == URL
    used_at, used_by = used_state(coupon)
    assert (timezone.localtime(used_at).strftime("%Y-%m-%d %H:%M"), used_by) == ("2026-05-01 10:30", shop_staff.pk)
    event = OrderEvent.objects.filter(order_id=coupon.order_id).order_by("pk").last()
    assert (event.actor_id, event.note, event.to_status) == (shop_staff.pk, "catalog.coupon_used", "completed")
    assert note_text(event.note) == "Coupon used in store"
    page = staff_client.get(URL)
    assert "Used: Latte voucher for " in page.content.decode()


def test_a_second_use_is_refused_with_when_and_by_whom_and_logged(staff_client, shop_staff, coupon, caplog):
    with time_machine.travel("2026-05-01 10:30 +08:00", tick=False):
        use(staff_client, coupon)
    first = used_state(coupon)
    other_till = MemberFactory(email="till2@example.com")
    other_till.groups.add(Group.objects.get(name="Shop staff"))
    staff_client.force_login(other_till)
    with caplog.at_level(logging.WARNING, logger="catalog.services.coupons"):
        response = use(staff_client, coupon)
    body = response.content.decode()
    assert response.status_code == 200
    assert "This coupon was already used on 2026-05-01 10:30 (verified by Till 1)." in body
    assert 'data-state="used"' in body
    assert "Mark used" not in body
    assert used_state(coupon) == first
    assert "Second in-store use of coupon" in caplog.text
    note = OrderEvent.objects.filter(order_id=coupon.order_id, actor=other_till).get()
    # Stored as a code with its parameters, read in each reader's language.
    assert note_text(note.note) == "Second use refused (used 2026-05-01 10:30 by Till 1)"
    with translation.override("zh-hans"):
        assert note_text(note.note) == "拒绝重复核销（已于2026-05-01 10:30由Till 1核销）"


def test_the_service_refuses_a_second_use(coupon, shop_staff):
    services.coupon_redeem_in_store(code_id=coupon.pk, code=coupon.code, actor_id=shop_staff.pk)
    with pytest.raises(CouponAlreadyUsedError):
        services.coupon_redeem_in_store(code_id=coupon.pk, code=coupon.code, actor_id=shop_staff.pk)
    assert OrderEvent.objects.filter(order_id=coupon.order_id, actor=shop_staff).count() == 2


def test_an_expired_coupon_is_refused_and_nothing_is_written(staff_client, shop_staff, coupon):
    events = OrderEvent.objects.count()
    with time_machine.travel(coupon.valid_until + timedelta(seconds=1), tick=False):
        staff_client.force_login(shop_staff)
        lookup = staff_client.post(URL, {"action": "lookup", "code": coupon.code})
        response = use(staff_client, coupon)
    assert 'data-state="expired"' in lookup.content.decode()
    until = timezone.localtime(coupon.valid_until).strftime("%Y-%m-%d %H:%M")
    assert f"This coupon expired on {until}." in response.content.decode()
    assert used_state(coupon) == (None, None)
    assert OrderEvent.objects.count() == events


def test_a_coupon_whose_order_awaits_review_cannot_be_used(staff_client, make_product, make_codes, buyer):
    product = make_product(name_en="VIP lounge", kind=ProductKind.COUPON, stock=0, requires_review=True)
    make_codes(product, 1)
    order = redeem(buyer, product)
    code = Code.objects.get(order=order)
    with pytest.raises(CouponNotActiveError):
        services.coupon_redeem_in_store(code_id=code.pk, code=code.code, actor_id=buyer.pk)
    response = use(staff_client, code)
    assert "This coupon can't be used yet: its order is Under review." in html.unescape(response.content.decode())
    assert used_state(code) == (None, None)


def test_a_code_id_that_does_not_match_the_code_is_refused(staff_client, coupon, coupon_product, buyer):
    other = Code.objects.get(order=redeem(buyer, coupon_product))
    response = use(staff_client, other, value=coupon.code)
    assert "No coupon has this code." in response.content.decode()
    assert used_state(other) == (None, None)
    assert used_state(coupon) == (None, None)


def test_a_garbled_use_form_writes_nothing(staff_client, coupon):
    response = staff_client.post(URL, {"action": "use", "code": coupon.code, "code_id": "abc"})
    assert response.status_code == 302
    assert used_state(coupon) == (None, None)


def test_expired_service_error_names_the_date(coupon, shop_staff):
    with time_machine.travel(coupon.valid_until, tick=False), pytest.raises(CouponExpiredError):
        services.coupon_redeem_in_store(code_id=coupon.pk, code=coupon.code, actor_id=shop_staff.pk)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_tills_scanning_the_same_coupon_at_once_use_it_once(make_product, make_codes, make_buyer):
    product = make_product(name_en="Latte voucher", kind=ProductKind.COUPON, stock=0)
    make_codes(product, 1)
    code = Code.objects.get(order=redeem(make_buyer(2000), product))
    tills = [MemberFactory() for _ in range(8)]
    barrier = threading.Barrier(len(tills))
    outcomes: list[str] = []

    def scan(till) -> None:
        try:
            barrier.wait()
            services.coupon_redeem_in_store(code_id=code.pk, code=code.code, actor_id=till.pk)
            outcomes.append("used")
        except CouponAlreadyUsedError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=scan, args=(till,)) for till in tills]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 7 + ["used"]
    code.refresh_from_db()
    assert code.used_by_id in {t.pk for t in tills}
