"""A flash sale under a crowd (issue #18): losers are refused before any expensive work, every
loser hears "sold out", and admission control answers the overflow at once with 503 + Retry-After.

"Before any expensive work" is proved with what the work leaves behind — queries on the catalog,
the PIN or the ledger, and the PIN's failure counter — never with timings.
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.exceptions import PinIncorrectError
from accounts.models import PaymentPin
from catalog import flash_gate, services
from catalog.enums import ProductKind
from catalog.exceptions import NoCodesLeftError, SaleEndedError, SaleNotStartedError, SoldOutError
from catalog.models import Code, Order
from points.confirmation import Totals
from pointsmall.kernel import admission
from pointsmall.kernel.admission import BusyError
from tests.catalog.conftest import PIN, WRONG_PIN

pytestmark = [pytest.mark.redis, pytest.mark.usefixtures("ledger_invariants_hold")]

KEY = "0123456789abcdef0123456789abcdef"
# What a redemption's work reads or writes: the product and its codes, the PIN, the ledger's lots and entries.
EXPENSIVE = ("catalog_product", "catalog_code", "accounts_paymentpin", "points_entry")


@pytest.fixture(autouse=True)
def _clean_admission():
    admission.outage_reset()
    connection_ = admission._client_for(admission.settings.REDIS_URL) if admission.settings.REDIS_URL else None

    def clear() -> None:
        if connection_ is not None:
            for key in connection_.scan_iter(match=f"{admission.KEY_PREFIX}*"):
                connection_.delete(key)

    clear()
    yield
    clear()
    admission.outage_reset()


@pytest.fixture
def gate():
    connection_ = flash_gate.client()
    assert connection_ is not None
    return connection_


@pytest.fixture
def flash_product(make_product):
    return make_product(flash_sale=True, stock=5, per_order_limit=5, kind=ProductKind.PRIVILEGE, points_price=100)


@pytest.fixture
def signed_in(client, buyer):
    client.force_login(buyer)
    return client


def failed_attempts(user) -> int:
    return PaymentPin.objects.get(user_id=user.pk).failed_attempts


def post(client, product, *, pin=PIN, quantity=1, key=KEY, headers=None):
    user_id = int(client.session["_auth_user_id"])
    totals = Totals(points=product.points_price * quantity, cash=Decimal(product.cash_price) * quantity)
    token = services.redemption_confirmation_sign(
        user_id=user_id, product_id=product.pk, quantity=quantity, totals=totals
    )
    data = {"quantity": quantity, "pin": pin, "idempotency_key": key, "confirmation": token}
    return client.post(reverse("redeem_confirm", args=[product.pk]), data, headers=headers)


def refusal_code(response) -> str:
    assert response.status_code == 200
    return response.context["refusal"].code


def expensive(queries) -> list[str]:
    """The queries that did a redemption's work: any write or savepoint, or a read of its tables."""
    return [
        q["sql"] for q in queries if not q["sql"].startswith("SELECT") or any(table in q["sql"] for table in EXPENSIVE)
    ]


# --- 1. refused before any expensive work ----------------------------------------------------------


def test_a_sold_out_counter_refuses_with_no_database_work(flash_product, gate, django_assert_num_queries):
    gate.set(flash_gate.key_for(flash_product.pk), 0)
    with django_assert_num_queries(0), pytest.raises(SoldOutError, match=r"^Sold out\.$"):
        services.redemption_precheck(product_id=flash_product.pk, quantity=1)


def test_the_redeem_post_of_a_sold_out_flash_item_touches_no_pin_catalog_or_ledger_row(
    signed_in, buyer, flash_product, gate, nothing_written
):
    gate.set(flash_gate.key_for(flash_product.pk), 0)  # the database still has 5: only the gate says no
    with nothing_written(), CaptureQueriesContext(connection) as queries:
        response = post(signed_in, flash_product, pin=WRONG_PIN)
    assert refusal_code(response) == "sold_out"
    assert "Sold out." in response.content.decode()
    # Read: the session, the member, the header's balance and whether this key already placed an order.
    assert expensive(queries.captured_queries) == []
    assert failed_attempts(buyer) == 0  # the wrong PIN was never checked


def test_a_flash_sale_not_started_or_ended_is_refused_before_the_pin(signed_in, buyer, make_product, nothing_written):
    now = timezone.now()
    soon = make_product(
        flash_sale=True, kind=ProductKind.PRIVILEGE, sale_starts_at=now + timedelta(hours=1), points_price=100
    )
    over = make_product(
        flash_sale=True,
        kind=ProductKind.PRIVILEGE,
        sale_starts_at=now - timedelta(hours=2),
        sale_ends_at=now - timedelta(hours=1),
        points_price=100,
    )
    with nothing_written(), CaptureQueriesContext(connection) as queries:
        early = post(signed_in, soon, pin=WRONG_PIN)
        late = post(signed_in, over, pin=WRONG_PIN)
    assert refusal_code(early) == "sale_not_started"
    assert refusal_code(late) == "sale_ended"
    # Per product: the gate's counter built (one read), the sale window read (one primary-key read);
    # nothing else of the catalog, no PIN, no ledger, no write.
    work = expensive(queries.captured_queries)
    assert len(work) == 4 and all(sql.startswith('SELECT "catalog_product"."') for sql in work)
    assert failed_attempts(buyer) == 0
    with pytest.raises(SaleNotStartedError):
        services.order_redeem(user_id=buyer.pk, product_id=soon.pk, quantity=1, idempotency_key="s", pin=WRONG_PIN)
    with pytest.raises(SaleEndedError):
        services.order_redeem(user_id=buyer.pk, product_id=over.pk, quantity=1, idempotency_key="e", pin=WRONG_PIN)
    assert failed_attempts(buyer) == 0


def test_the_service_refuses_a_sold_out_flash_item_before_checking_the_pin(buyer, flash_product, gate, nothing_written):
    gate.set(flash_gate.key_for(flash_product.pk), 0)
    with nothing_written(), pytest.raises(SoldOutError):
        services.order_redeem(
            user_id=buyer.pk, product_id=flash_product.pk, quantity=1, idempotency_key="k1", pin=WRONG_PIN
        )
    assert failed_attempts(buyer) == 0


def test_the_pin_is_still_checked_before_anything_is_sold_and_the_units_go_back(
    buyer, flash_product, gate, nothing_written
):
    with nothing_written(pins_may_change=True), pytest.raises(PinIncorrectError):
        services.order_redeem(
            user_id=buyer.pk, product_id=flash_product.pk, quantity=2, idempotency_key="k2", pin=WRONG_PIN
        )
    assert failed_attempts(buyer) == 1
    assert int(gate.get(flash_gate.key_for(flash_product.pk))) == 5  # held for the PIN check, given back


def test_a_retried_post_of_the_winner_gets_its_order_even_once_sold_out(signed_in, buyer, make_product):
    last = make_product(flash_sale=True, stock=1, kind=ProductKind.PRIVILEGE, points_price=100)
    first = post(signed_in, last)
    order = Order.objects.get()
    assert first.status_code == 302
    again = post(signed_in, last)  # the double click: the same key, after the last unit sold
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert Order.objects.count() == 1 and order.member_id == buyer.pk


# --- 2. every loser hears "sold out" --------------------------------------------------------------


def test_losers_of_an_item_that_left_the_shelf_when_it_sold_out_hear_sold_out_not_404(
    client, make_buyer, make_product, nothing_written
):
    winner, loser = make_buyer(), make_buyer()
    for flash in (False, True):
        item = make_product(flash_sale=flash, stock=1, auto_off_shelf=True, kind=ProductKind.PRIVILEGE, points_price=1)
        services.order_redeem(user_id=winner.pk, product_id=item.pk, quantity=1, idempotency_key=f"w{flash}", pin=PIN)
        item.refresh_from_db()
        assert not item.on_shelf  # it left the shelf by itself
        client.force_login(loser)
        with nothing_written():
            assert refusal_code(post(client, item, key=f"{KEY[:-1]}{int(flash)}")) == "sold_out"
            page = client.get(reverse("redeem_confirm", args=[item.pk]))
            assert refusal_code(page) == "sold_out"
            with pytest.raises(SoldOutError):
                services.order_redeem(user_id=loser.pk, product_id=item.pk, quantity=1, idempotency_key="l", pin=PIN)


def test_an_item_off_the_shelf_with_stock_left_is_still_unavailable(signed_in, make_product):
    item = make_product(stock=3, on_shelf=False, kind=ProductKind.PRIVILEGE)
    assert post(signed_in, item).status_code == 404
    assert signed_in.get(reverse("redeem_confirm", args=[item.pk])).status_code == 404


def _hold_every_code(product_id: int, locked: threading.Event, done: threading.Event) -> threading.Thread:
    """Another redemption in flight: it holds the free codes locked until ``done``."""

    def run() -> None:
        try:
            with transaction.atomic():
                list(Code.objects.select_for_update().filter(product_id=product_id, order__isnull=True))
                locked.set()
                done.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert locked.wait(30)
    return thread


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("flash", [False, True])
def test_a_loser_racing_for_the_last_code_hears_sold_out_not_out_of_codes(
    flash, make_buyer, make_product, make_codes, nothing_written
):
    buyer = make_buyer()
    item = make_product(flash_sale=flash, stock=0, kind=ProductKind.COUPON, points_price=100)
    make_codes(item, 1)  # stock 1, one code
    locked, done = threading.Event(), threading.Event()
    holder = _hold_every_code(item.pk, locked, done)
    try:
        with nothing_written(), pytest.raises(SoldOutError, match=r"^Sold out\.$"):
            services.order_redeem(user_id=buyer.pk, product_id=item.pk, quantity=1, idempotency_key="race", pin=PIN)
    finally:
        done.set()
        holder.join(30)
    if flash:  # the gate's unit went back: the winner's attempt rolled back, so one is left
        assert int(flash_gate.client().get(flash_gate.key_for(item.pk))) == 1


def test_a_regular_item_whose_codes_were_never_imported_says_out_of_codes(buyer, make_product, nothing_written):
    item = make_product(stock=3, kind=ProductKind.COUPON, points_price=100)  # stock without codes: an operator slip
    with nothing_written(), pytest.raises(NoCodesLeftError):
        services.order_redeem(user_id=buyer.pk, product_id=item.pk, quantity=1, idempotency_key="nc", pin=PIN)


# --- 3. admission control ---------------------------------------------------------------------------


def test_a_slot_over_the_limit_is_refused_at_once_and_every_exit_gives_its_place_back():
    with admission.slot("t", limit=2), admission.slot("t", limit=2):
        assert admission.in_use("t") == 2
        with pytest.raises(BusyError) as busy, admission.slot("t", limit=2):
            pass
        assert busy.value.retry_after == 2 and busy.value.http_status == 503
        assert busy.value.message == "We are very busy right now. Please try again in 2 seconds."
    assert admission.in_use("t") == 0
    with pytest.raises(ZeroDivisionError), admission.slot("t", limit=1):
        assert admission.in_use("t") == 1
        1 / 0  # noqa: B018 (an exception inside the block)
    assert admission.in_use("t") == 0
    with admission.slot("t", limit=1):  # the place really came back
        pass


def _release_after(seconds: float, block) -> threading.Thread:
    """Run ``block`` (a context manager holding a place) in a thread, leaving it after ``seconds``."""
    entered = threading.Event()

    def run() -> None:
        with block:
            entered.set()
            threading.Event().wait(seconds)

    thread = threading.Thread(target=run)
    thread.start()
    assert entered.wait(5)
    return thread


def test_a_request_waits_for_a_place_that_frees_during_its_wait():
    holder = _release_after(0.2, admission.slot("w", limit=1))
    with admission.slot("w", limit=1, wait=5):
        assert admission.in_use("w") == 1  # the holder's place, now ours
    holder.join()
    assert admission.in_use("w") == 0


def test_a_wait_that_ends_with_every_place_still_taken_says_busy():
    with admission.slot("w", limit=1):
        with pytest.raises(BusyError), admission.slot("w", limit=1, wait=0.1):
            pass
        assert admission.in_use("w") == 1


def test_only_max_waiters_threads_of_a_process_wait_the_next_is_told_busy_at_once():
    waiting = threading.Event()
    outcome: list[str] = []

    def waiter() -> None:
        waiting.set()
        try:
            with admission.slot("w", limit=1, wait=1.0, max_waiters=1):
                outcome.append("place")
        except BusyError:
            outcome.append("busy")

    with admission.slot("w", limit=1):
        thread = threading.Thread(target=waiter)
        thread.start()
        assert waiting.wait(5)
        for _ in range(200):  # until the first waiter counts as waiting
            if admission._waiting.get("w"):
                break
            threading.Event().wait(0.005)
        # A second would-be waiter of the same process is refused without waiting.
        with pytest.raises(BusyError), admission.slot("w", limit=1, wait=30, max_waiters=1):
            pass
    thread.join()
    assert outcome == ["place"]  # the first waiter got the place once it was given back


def test_without_redis_a_request_also_waits_for_a_process_place(settings):
    settings.REDIS_URL = ""
    holder = _release_after(0.2, admission.slot("local-w", limit=1))
    with admission.slot("local-w", limit=1, wait=5):
        pass
    holder.join()


def test_a_place_held_by_a_killed_worker_frees_itself_at_its_deadline(gate):
    key = admission.key_for("t")
    seconds, micros = gate.time()
    gate.zadd(key, {"killed-worker": seconds * 1000 + micros // 1000 - 1})  # its deadline passed
    with admission.slot("t", limit=1):
        assert admission.in_use("t") == 1
    assert gate.zscore(key, "killed-worker") is None


def test_without_redis_each_process_keeps_its_own_places(settings):
    settings.REDIS_URL = ""
    with admission.slot("local", limit=1), pytest.raises(BusyError), admission.slot("local", limit=1):
        pass
    with admission.slot("local", limit=1):
        pass


def test_an_unreachable_redis_falls_back_to_the_process_places(settings, caplog):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    with admission.slot("down", limit=1), pytest.raises(BusyError), admission.slot("down", limit=1):
        pass
    assert "admission: Redis unavailable" in caplog.text


def _fill(gate, kind: str, n: int) -> None:
    seconds, _micros = gate.time()
    gate.zadd(admission.key_for(kind), {f"other-{i}": (seconds + 60) * 1000 for i in range(n)})


def test_a_full_redeem_path_answers_503_with_retry_after_and_does_nothing(
    signed_in, buyer, flash_product, gate, settings, nothing_written
):
    settings.ADMISSION_WAIT_SECONDS = 0.05  # no place frees: the wait ends in "busy"
    _fill(gate, "redeem", settings.ADMISSION_REDEEM_SLOTS)
    with nothing_written():
        page = post(signed_in, flash_product, pin=WRONG_PIN)
        as_json = post(signed_in, flash_product, headers={"Accept": "application/json"})
        fragment = post(signed_in, flash_product, headers={"HX-Request": "true"})
    assert (page.status_code, page["Retry-After"]) == (503, "2") and "no-store" in page["Cache-Control"]
    body = page.content.decode()
    assert 'data-testid="busy"' in body and "Please try again in 2 seconds." in body and "<html" in body
    assert (as_json.status_code, as_json["Retry-After"]) == (503, "2")
    assert json.loads(as_json.content) == {
        "code": "busy",
        "message": "We are very busy right now. Please try again in 2 seconds.",
        "params": {"seconds": 2},
    }
    assert fragment.status_code == 503 and fragment.content.decode().startswith('<div class="alert')
    assert failed_attempts(buyer) == 0
    # Nothing was sold; the member's one unit stays reserved for the retry (one, however often told "busy").
    assert int(gate.get(flash_gate.key_for(flash_product.pk))) == 4
    assert flash_gate.reserved(product_id=flash_product.pk, member_id=buyer.pk)


def test_the_busy_page_speaks_the_members_language(signed_in, flash_product, gate, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    settings.ADMISSION_WAIT_SECONDS = 0
    _fill(gate, "redeem", settings.ADMISSION_REDEEM_SLOTS)
    page = post(signed_in, flash_product, headers={"Accept-Language": "zh-hans"})
    assert page.status_code == 503 and 'lang="zh' in page.content.decode()


def test_a_sold_out_answer_is_given_even_when_every_place_is_taken(signed_in, flash_product, gate, settings):
    # "Sold out" is cheaper and truer than "busy": the refusal comes before admission.
    _fill(gate, "redeem", settings.ADMISSION_REDEEM_SLOTS)
    gate.set(flash_gate.key_for(flash_product.pk), 0)
    assert refusal_code(post(signed_in, flash_product)) == "sold_out"


def test_a_redemption_gives_its_place_back_when_it_succeeds_or_is_refused(signed_in, make_product):
    sold, refused = (make_product(flash_sale=True, kind=ProductKind.PRIVILEGE, points_price=100) for _ in range(2))
    assert refusal_code(post(signed_in, refused, pin=WRONG_PIN, key="f" * 32)) == "pin_incorrect"
    assert post(signed_in, sold).status_code == 302
    assert admission.in_use("redeem") == 0


# --- 4. the early refusal: before the session, the member, CSRF and messages -----------------------


def test_a_sold_out_refusal_runs_no_sql_through_the_whole_middleware_stack(signed_in, buyer, flash_product, gate):
    gate.set(flash_gate.key_for(flash_product.pk), 0)
    url = reverse("redeem_confirm", args=[flash_product.pk])
    with CaptureQueriesContext(connection) as queries:
        refused = post(signed_in, flash_product, pin=WRONG_PIN)
        page = signed_in.get(url)
        csrf_missing = signed_in.post(url, {"quantity": 1, "pin": PIN, "idempotency_key": "e" * 32})
    assert queries.captured_queries == []  # not even the session or the member
    for response in (refused, page, csrf_missing):
        assert response.status_code == 200 and 'data-code="sold_out"' in response.content.decode()
        assert "no-store" in response["Cache-Control"] and "Set-Cookie" not in response.headers
    assert failed_attempts(buyer) == 0 and not Order.objects.exists()


def test_the_early_refusal_speaks_the_browsers_language(client, flash_product, gate, settings):
    gate.set(flash_gate.key_for(flash_product.pk), 0)
    url = reverse("redeem_confirm", args=[flash_product.pk])
    chinese = client.get(url, headers={"Accept-Language": "zh-hans"})
    assert "已售罄。" in chinese.content.decode() and chinese["Content-Language"] == "zh-hans"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the cookie outranks Accept-Language
    english = client.get(url, headers={"Accept-Language": "zh-hans"})
    assert "Sold out." in english.content.decode() and 'lang="en"' in english.content.decode()


def test_the_early_refusal_lets_through_what_it_cannot_answer(signed_in, flash_product, gate, nothing_written):
    key = flash_gate.key_for(flash_product.pk)
    gate.set(key, 2)
    with nothing_written():
        # Fewer left than asked: refused early with the units left.
        assert refusal_code(post(signed_in, flash_product, quantity=3, pin=WRONG_PIN)) == "out_of_stock"
        # A quantity that is no number is the form's to explain (the full path), never "sold out".
        bad = signed_in.post(reverse("redeem_confirm", args=[flash_product.pk]), {"quantity": "many", "pin": PIN})
    assert bad.status_code == 200 and 'data-code="sold_out"' not in bad.content.decode()
    assert bad.context["form_errors"]  # the form explains the quantity; nothing was sold
    gate.delete(key)  # no counter: the gate has no say, the full path sells (and builds the counter)
    assert post(signed_in, flash_product).status_code == 302
    assert Order.objects.count() == 1


def test_a_key_that_placed_an_order_is_remembered_for_the_early_refusal(signed_in, buyer, make_product, gate):
    last = make_product(flash_sale=True, stock=1, kind=ProductKind.PRIVILEGE, points_price=100)
    assert post(signed_in, last).status_code == 302
    assert gate.sismember(f"{flash_gate.PLACED_PREFIX}{last.pk}", KEY)
    assert flash_gate.early_refusal(product_id=last.pk, quantity=1, request_key=KEY) is None
    assert isinstance(flash_gate.early_refusal(product_id=last.pk, quantity=1, request_key="x" * 32), SoldOutError)


# --- 5. units reserved on arrival ------------------------------------------------------------------


def test_the_first_buyers_reserve_the_units_and_the_rest_hear_sold_out_before_any_sale(
    signed_in, buyer, make_product, gate
):
    item = make_product(flash_sale=True, stock=1, kind=ProductKind.PRIVILEGE, points_price=100)
    gate.set(flash_gate.key_for(item.pk), 1)
    assert flash_gate.reserve(product_id=item.pk, quantity=1, member_id=buyer.pk) is None
    assert int(gate.get(flash_gate.key_for(item.pk))) == 0 and not Order.objects.exists()
    late = flash_gate.reserve(product_id=item.pk, quantity=1, member_id=buyer.pk + 1000)
    assert isinstance(late, SoldOutError)
    # The same member again (a retry after "busy") keeps its reservation; the sale claims it, not a second unit.
    assert flash_gate.reserve(product_id=item.pk, quantity=1, member_id=buyer.pk) is None
    assert post(signed_in, item, key=KEY).status_code == 302
    assert Order.objects.get().member_id == buyer.pk
    assert int(gate.get(flash_gate.key_for(item.pk))) == 0
    assert not flash_gate.reserved(product_id=item.pk, member_id=buyer.pk)


def test_a_reservation_whose_sale_fails_or_never_comes_goes_back_to_the_gate(
    signed_in, buyer, make_product, gate, nothing_written
):
    item = make_product(flash_sale=True, stock=2, kind=ProductKind.PRIVILEGE, points_price=100)
    counter = flash_gate.key_for(item.pk)
    gate.set(counter, 2)
    with nothing_written(pins_may_change=True):
        assert refusal_code(post(signed_in, item, pin=WRONG_PIN)) == "pin_incorrect"
    assert int(gate.get(counter)) == 2 and failed_attempts(buyer) == 1  # the PIN was checked, the unit came back
    assert not flash_gate.reserved(product_id=item.pk, member_id=buyer.pk)
    gone, other, late = 900_001, 900_002, 900_003
    for member in (gone, other):
        assert flash_gate.reserve(product_id=item.pk, quantity=1, member_id=member) is None
    assert isinstance(flash_gate.reserve(product_id=item.pk, quantity=1, member_id=late), SoldOutError)
    gate.zadd(f"flash:reserved-until:{item.pk}", {str(gone): 0})  # its deadline passed, nobody claimed it
    assert flash_gate.reserve(product_id=item.pk, quantity=1, member_id=late) is None
    assert flash_gate.reserved(product_id=item.pk, member_id=late)
    assert not flash_gate.reserved(product_id=item.pk, member_id=gone)
    assert int(gate.get(counter)) == 0


def test_a_visitor_a_forged_session_or_a_large_quantity_reserves_nothing(client, signed_in, make_product, gate):
    item = make_product(flash_sale=True, stock=5, per_order_limit=5, kind=ProductKind.PRIVILEGE, points_price=100)
    counter = flash_gate.key_for(item.pk)
    gate.set(counter, 5)
    url = reverse("redeem_confirm", args=[item.pk])
    form = {"quantity": 1, "pin": PIN, "idempotency_key": KEY}
    client.logout()
    assert client.post(url, form).status_code == 302  # to sign in
    client.cookies["sessionid"] = "forged" * 5
    assert client.post(url, form).status_code == 302
    assert int(gate.get(counter)) == 5
    assert flash_gate.reserve(product_id=item.pk, quantity=3, member_id=1) is None  # not refused, not reserved
    assert int(gate.get(counter)) == 5
