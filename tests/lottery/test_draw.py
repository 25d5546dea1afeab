"""Drawing: cost, replay, limits, eligibility, free draws, stock and daily release, fall-through, pity,
fulfilment (points, catalog items, codes) and the winner's notice. Numbers are fixed per test by
replacing the formula (``rules.draw_number``); the formula itself is tested in test_rules/test_fairness."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from accounts.enums import NotificationKind
from accounts.models import Address, Notification
from catalog import notices as catalog_notices
from catalog import services as catalog_services
from catalog.enums import ProductKind
from catalog.models import Category, Code, Order, OrderEvent, Product
from lottery import rules, selectors, services
from lottery.exceptions import (
    AddressRequiredError,
    CampaignDrawLimitError,
    CampaignNotFoundError,
    CampaignNotRunningError,
    DailyDrawLimitError,
    NotEligibleError,
)
from lottery.models import Draw, DrawerState, DrawOutcome, LotteryPrize, PrizeKind, PrizeRelease
from points import services as points_services
from points.confirmation import Totals
from points.exceptions import IdempotencyConflictError, InsufficientPointsError, PriceChangedError
from points.models import Entry
from tests.factories import StaffFactory
from tests.lottery.core_helpers import T0, balance, draw, make_campaign, member_with, prize, snapshot

pytestmark = pytest.mark.django_db

NO_PRIZE, TOP, SMALL = 9000, 500, 2000  # numbers landing on "no prize", 100 points, 10 points


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def numbers(monkeypatch):
    """The numbers the next draws get, in order."""
    queue: list[int] = []

    def next_number(**kwargs):
        return queue.pop(0)

    monkeypatch.setattr(rules, "draw_number", next_number)
    return queue


@pytest.fixture(autouse=True)
def ledger_consistent(db):
    yield
    report = points_services.points_verify()
    assert report.ok, report.violations


def test_a_paid_draw_that_wins_points(numbers):
    campaign = make_campaign()
    member = member_with(1000)
    numbers.append(TOP)
    result = draw(member, campaign, key="req-1", client_seed="mine")
    assert (result.outcome, result.prize_name, result.prize_kind, result.points_won) == (
        DrawOutcome.WON, "100 points", PrizeKind.POINTS, 100,
    )  # fmt: skip
    assert (result.number, result.cost_points, result.free, result.pity, result.replayed) == (
        TOP,
        10,
        False,
        False,
        False,
    )
    assert result.message == "You won 100 points!"
    assert balance(member) == 1000 - 10 + 100
    row = Draw.objects.get()
    assert (row.client_seed, row.nonce, row.number, row.picked_id, row.prize_id) == (
        "mine", 1, TOP, prize(campaign, 0).pk, prize(campaign, 0).pk,
    )  # fmt: skip
    assert row.reward_reference.startswith("points.entry:")
    assert prize(campaign, 0).remaining == 49
    spend = Entry.objects.get(pk=row.spend_entry_id)
    assert (spend.amount, spend.idempotency_key, spend.reference) == (-10, "lottery:req-1", f"lottery.draw:{row.pk}")
    earn = Entry.objects.get(idempotency_key=f"lottery.prize:{row.pk}")
    assert (earn.amount, earn.reference, earn.source) == (100, f"lottery.draw:{row.pk}", "lottery")
    state = DrawerState.objects.get()
    assert (state.draws, state.since_win) == (1, 0)
    notice = Notification.objects.get(user=member, kind=NotificationKind.ACTIVITY)
    assert (notice.kind, notice.message_code, notice.dedupe_key) == (
        NotificationKind.ACTIVITY, "lottery.winner", f"lottery.draw:{row.pk}",
    )  # fmt: skip


def test_no_prize_charges_and_counts_towards_pity(numbers):
    campaign = make_campaign()
    member = member_with(1000)
    numbers.append(NO_PRIZE)
    result = draw(member, campaign)
    assert (result.outcome, result.prize_id, result.prize_name, result.points_won) == (
        DrawOutcome.NO_PRIZE,
        None,
        "",
        0,
    )
    assert balance(member) == 990
    assert Draw.objects.get().picked_id == prize(campaign, 2).pk
    assert DrawerState.objects.get().since_win == 1
    assert not Notification.objects.filter(user=member, kind=NotificationKind.ACTIVITY).exists()


def test_a_client_seed_is_made_when_none_is_given():
    campaign = make_campaign()
    member = member_with(1000)
    result = draw(member, campaign)
    row = Draw.objects.get()
    assert len(row.client_seed) == 16
    assert result.number == rules.draw_number(seed=campaign.seed, draw_id=row.pk, client_seed=row.client_seed, nonce=1)


def test_a_replayed_request_is_the_first_draw(numbers):
    campaign = make_campaign()
    member = member_with(1000)
    numbers.append(TOP)
    first = draw(member, campaign, key="same")
    before = snapshot()
    again = draw(member, campaign, key="same")
    assert again.replayed and not first.replayed
    assert (again.draw_id, again.outcome, again.prize_id, again.number) == (
        first.draw_id, first.outcome, first.prize_id, first.number,
    )  # fmt: skip
    assert snapshot() == before
    assert balance(member) == 1090
    assert Entry.objects.filter(idempotency_key="lottery:same").count() == 1
    with pytest.raises(IdempotencyConflictError):
        draw(member_with(100), campaign, key="same")


def test_not_enough_points_writes_nothing():
    campaign = make_campaign(cost_points=500)
    member = member_with(499)
    before = snapshot()
    with pytest.raises(InsufficientPointsError):
        draw(member, campaign)
    assert snapshot() == before


def test_the_confirmed_cost_must_be_the_cost(numbers):
    campaign = make_campaign()
    member = member_with(1000)
    token = services.lottery_draw_confirmation_sign(user_id=member.pk, campaign_id=campaign.pk)
    confirmed = services.lottery_draw_confirmation_read(token=token, user_id=member.pk, campaign_id=campaign.pk)
    assert confirmed == Totals(points=10)
    before = snapshot()
    with pytest.raises(PriceChangedError):
        draw(member, campaign, confirmed=Totals(points=5))
    assert snapshot() == before
    numbers.append(NO_PRIZE)
    assert draw(member, campaign, confirmed=confirmed).cost_points == 10


def test_unpublished_and_unknown_campaigns_are_not_found():
    member = member_with(1000)
    hidden = make_campaign(publish=False)
    for campaign_id in (hidden.pk, 999_999):
        with pytest.raises(CampaignNotFoundError):
            services.lottery_draw(user_id=member.pk, campaign_id=campaign_id, idempotency_key=f"x{campaign_id}")
    assert Draw.objects.count() == 0


def test_draws_only_inside_the_window(frozen):
    member = member_with(1000)
    upcoming = make_campaign(starts_at=T0 + timedelta(hours=1))
    before = snapshot()
    with pytest.raises(CampaignNotRunningError):
        draw(member, upcoming)
    ended = make_campaign(starts_at=T0 - timedelta(days=2), ends_at=T0)
    with pytest.raises(CampaignNotRunningError):
        draw(member, ended)
    assert snapshot()["draws"] == before["draws"] == 0


def test_tier_and_account_age_eligibility():
    campaign = make_campaign(tier_codes=["gold", "diamond"], min_account_age_days=30)
    regular = member_with(1000, joined=T0 - timedelta(days=100))
    young_gold = member_with(1000, tier="gold", joined=T0 - timedelta(days=29, hours=23))
    old_gold = member_with(1000, tier="gold", joined=T0 - timedelta(days=30))
    with pytest.raises(NotEligibleError) as caught:
        draw(regular, campaign)
    assert caught.value.message == "You can't take part in this prize draw: for members of Gold, Diamond"
    with pytest.raises(NotEligibleError) as caught:
        draw(young_gold, campaign)
    assert caught.value.message == "You can't take part in this prize draw: accounts at least 30 days old"
    assert Draw.objects.count() == 0
    draw(old_gold, campaign)
    assert Draw.objects.count() == 1


def test_the_daily_limit_counts_the_business_day(frozen, numbers):
    campaign = make_campaign(daily_limit=2)
    member = member_with(1000)
    numbers.extend([NO_PRIZE] * 3)
    # 23:30 in Shanghai (15:30 UTC) and 23:59, then 00:01 the next business day.
    late = T0.replace(hour=15, minute=30)
    frozen.move_to(late)
    draw(member, campaign, now=late)
    draw(member, campaign, now=late + timedelta(minutes=29))
    before = snapshot()
    with pytest.raises(DailyDrawLimitError) as caught:
        draw(member, campaign, now=late + timedelta(minutes=29, seconds=30))
    assert caught.value.message == "You have used all 2 draws of today. Come back tomorrow."
    assert snapshot() == before
    next_day = late + timedelta(minutes=31)
    frozen.move_to(next_day)
    draw(member, campaign, now=next_day)
    assert Draw.objects.count() == 3


def test_the_campaign_limit(numbers):
    campaign = make_campaign(campaign_limit=2)
    member = member_with(1000)
    numbers.extend([NO_PRIZE] * 2)
    draw(member, campaign)
    draw(member, campaign)
    before = snapshot()
    with pytest.raises(CampaignDrawLimitError):
        draw(member, campaign)
    assert snapshot() == before
    # Another member has their own limit.
    numbers.append(NO_PRIZE)
    draw(member_with(100), campaign)


def test_tier_free_draws_are_used_first_each_month(frozen, numbers):
    campaign = make_campaign(ends_at=T0 + timedelta(days=40))
    other = make_campaign(name="九宫格")
    no_free = make_campaign(name="不送", tier_free_draws=False)
    gold = member_with(1000, tier="gold")  # 2 free draws a month
    numbers.extend([NO_PRIZE] * 6)
    first = draw(gold, campaign)
    second = draw(gold, other)
    third = draw(gold, campaign)
    assert [(r.free, r.cost_points) for r in (first, second, third)] == [(True, 0), (True, 0), (False, 10)]
    assert draw(gold, no_free).free is False
    assert balance(gold) == 980
    page = selectors.campaign_page(campaign_id=campaign.pk, user_id=gold.pk)
    assert (page.member.free_left, page.member.cost_points) == (0, 10)
    # The next business month (Shanghai) brings two more.
    june = T0.replace(month=5, day=31, hour=16, minute=0)  # 2026-06-01 00:00 in Shanghai
    frozen.move_to(june)
    assert services.lottery_draw_cost(user_id=gold.pk, campaign_id=campaign.pk) == Totals(points=0)
    assert draw(gold, campaign, now=june).free is True


def test_a_free_campaign_costs_nothing_and_uses_no_free_draw(numbers):
    campaign = make_campaign(cost_points=0)
    silver = member_with(1, tier="silver")
    numbers.append(NO_PRIZE)
    result = draw(silver, campaign)
    assert (result.free, result.cost_points) == (False, 0)
    assert Draw.objects.get().spend_entry_id is None


def test_a_sold_out_prize_falls_to_no_prize(numbers):
    campaign = make_campaign()
    LotteryPrize.objects.filter(pk=prize(campaign, 0).pk).update(remaining=0)
    member = member_with(1000)
    numbers.append(TOP)
    result = draw(member, campaign)
    assert (result.outcome, result.prize_id, result.points_won) == (DrawOutcome.FELL_THROUGH, None, 0)
    assert result.message == "That prize is gone for now: no prize this time."
    row = Draw.objects.get()
    assert (row.picked_id, row.prize_id) == (prize(campaign, 0).pk, None)
    assert balance(member) == 990
    assert prize(campaign, 0).remaining == 0


def test_a_sold_out_prize_falls_to_the_consolation_prize(numbers):
    campaign = make_campaign()
    small = prize(campaign, 1)
    type(campaign).objects.filter(pk=campaign.pk).update(consolation_prize=small)
    LotteryPrize.objects.filter(pk=prize(campaign, 0).pk).update(remaining=0)
    member = member_with(1000)
    numbers.append(TOP)
    result = draw(member, campaign)
    assert (result.outcome, result.prize_id, result.points_won) == (DrawOutcome.FELL_THROUGH, small.pk, 10)
    assert prize(campaign, 1).remaining == 499
    assert balance(member) == 1000
    assert DrawerState.objects.get().since_win == 1  # a consolation is not a win for pity


def test_the_daily_release_cap(frozen, numbers):
    prizes = [
        {"name": "大奖", "kind": PrizeKind.POINTS, "points": 100, "weight_bp": 1000, "quantity": 50, "daily_cap": 2},
        {"name": "谢谢参与", "kind": PrizeKind.NONE, "weight_bp": 9000},
    ]
    campaign = make_campaign(prizes=prizes)
    members = [member_with(100) for _ in range(4)]
    numbers.extend([TOP] * 4)
    outcomes = [draw(m, campaign).outcome for m in members[:3]]
    assert outcomes == [DrawOutcome.WON, DrawOutcome.WON, DrawOutcome.FELL_THROUGH]
    assert list(PrizeRelease.objects.values_list("day", "released")) == [(T0.date(), 2)]
    assert prize(campaign, 0).remaining == 48
    tomorrow = T0 + timedelta(days=1)
    frozen.move_to(tomorrow)
    assert draw(members[3], campaign, now=tomorrow).outcome == DrawOutcome.WON
    assert sorted(PrizeRelease.objects.values_list("day", "released")) == [(T0.date(), 2), (tomorrow.date(), 1)]


def test_pity_after_n_draws_without_a_win(numbers):
    campaign = make_campaign(pity_after=3)
    member = member_with(1000)
    numbers.extend([NO_PRIZE, NO_PRIZE, NO_PRIZE, NO_PRIZE, NO_PRIZE])
    results = [draw(member, campaign) for _ in range(4)]
    assert [r.outcome for r in results] == [DrawOutcome.NO_PRIZE] * 3 + [DrawOutcome.WON]
    assert [r.pity for r in results] == [False, False, False, True]
    # 9000 mapped onto the winning prizes (1000 + 2000): 9000 × 3000 // 10000 = 2700 → the 10-point prize.
    assert results[3].prize_id == prize(campaign, 1).pk
    assert DrawerState.objects.get().since_win == 0
    assert draw(member, campaign).pity is False


def test_pity_only_picks_prizes_in_stock(numbers):
    campaign = make_campaign(pity_after=1)
    LotteryPrize.objects.filter(pk=prize(campaign, 1).pk).update(remaining=0)
    member = member_with(1000)
    numbers.extend([NO_PRIZE, NO_PRIZE])
    draw(member, campaign)
    result = draw(member, campaign)
    assert (result.pity, result.prize_id) == (True, prize(campaign, 0).pk)


def _item(kind=ProductKind.PHYSICAL, stock=5) -> Product:
    category = Category.objects.create(name_zh="奖品", name_en="Prizes", slug=f"prizes-{kind}")
    return Product.objects.create(
        name_zh="保温杯", name_en="Flask", category=category, kind=kind, points_price=500, stock=stock,
        per_order_limit=5, low_stock_threshold=0,
    )  # fmt: skip


def _item_campaign(product) -> object:
    prizes = [
        {"name": "保温杯", "name_en": "Flask", "kind": PrizeKind.PRODUCT if product.kind == ProductKind.PHYSICAL
         else PrizeKind.CODE, "product": product, "weight_bp": 1000, "quantity": 3},
        {"name": "谢谢参与", "kind": PrizeKind.NONE, "weight_bp": 9000},
    ]  # fmt: skip
    return make_campaign(prizes=prizes)


def test_a_physical_prize_needs_an_address_before_drawing(numbers):
    campaign = _item_campaign(_item())
    member = member_with(1000)
    before = snapshot()
    with pytest.raises(AddressRequiredError):
        draw(member, campaign)
    assert snapshot() == before


def test_a_physical_prize_is_a_zero_point_order_to_the_default_address(numbers):
    product = _item()
    campaign = _item_campaign(product)
    member = member_with(1000)
    Address.objects.create(
        user=member, recipient="张三", phone="13800000000", province="上海", city="上海", detail="人民路 1 号",
        is_default=True,
    )  # fmt: skip
    numbers.append(TOP)
    result = draw(member, campaign)
    order = Order.objects.get()
    assert result.outcome == DrawOutcome.WON
    assert result.reward_reference == f"catalog.order:{order.pk}"
    assert (order.points_total, order.cash_total, order.quantity, order.recipient, order.idempotency_key) == (
        0, 0, 1, "张三", f"lottery.draw:{result.draw_id}",
    )  # fmt: skip
    event = OrderEvent.objects.get(order=order)
    assert catalog_notices.note_text(event.note) == f"Lottery prize (lottery.draw:{result.draw_id}): 0 points"
    product.refresh_from_db()
    assert (product.stock, product.sold) == (4, 1)
    # The catalog service is idempotent by reference.
    again = catalog_services.prize_order_place(
        member_id=member.pk, product_id=product.pk, reference=f"lottery.draw:{result.draw_id}"
    )
    assert again == order.pk and Order.objects.count() == 1


def test_a_code_prize_takes_a_code_and_falls_through_when_none_is_left(numbers):
    product = _item(kind=ProductKind.VIRTUAL, stock=0)
    catalog_services.codes_import(product_id=product.pk, text="CODE-1\nCODE-2\nCODE-3", actor_id=StaffFactory().pk)
    campaign = _item_campaign(product)  # 3 published, 3 codes
    Code.objects.filter(code__in=["CODE-2", "CODE-3"]).delete()  # the pool shrinks after publication
    first, second = member_with(100), member_with(100)
    numbers.extend([TOP, TOP])
    assert draw(first, campaign).outcome == DrawOutcome.WON
    assert Code.objects.get().order.member_id == first.pk
    result = draw(second, campaign)
    assert (result.outcome, result.prize_id) == (DrawOutcome.FELL_THROUGH, None)
    assert prize(campaign, 0).remaining == 2  # the failed award was undone
    assert Order.objects.count() == 1


def test_selectors_show_the_page_my_draws_and_masked_winners(numbers):
    campaign = make_campaign(daily_limit=5, pity_after=10)
    member = member_with(1000)
    type(member).objects.filter(pk=member.pk).update(display_name="张三丰")
    numbers.extend([TOP, NO_PRIZE])
    won = draw(member, campaign)
    draw(member, campaign)
    page = selectors.campaign_page(campaign_id=campaign.pk, user_id=member.pk)
    assert (page.name, page.status, page.win_rate, page.seed, page.revealed) == (
        "Lucky wheel",
        "running",
        "30.00%",
        "",
        False,
    )
    assert [(p.name, p.probability, p.remaining) for p in page.prizes] == [
        ("100 points", "10.00%", 49), ("10 points", "20.00%", 500), ("Thanks for playing", "70.00%", None),
    ]  # fmt: skip
    m = page.member
    assert (m.draws_today, m.left_today, m.left_in_campaign, m.since_win, m.balance, m.eligible) == (
        2, 3, None, 1, 1080, True,
    )  # fmt: skip
    rows = selectors.my_draws(user_id=member.pk)
    assert [(r.outcome, r.prize_name) for r in rows] == [(DrawOutcome.NO_PRIZE, ""), (DrawOutcome.WON, "100 points")]
    assert [(w.draw_id, w.masked_name, w.prize_name) for w in selectors.winners(campaign_id=campaign.pk)] == [
        (won.draw_id, "张**", "100 points")
    ]
    assert [c.id for c in selectors.campaigns_live()] == [campaign.pk]


def test_campaigns_live_lists_running_upcoming_and_recently_finished():
    running = make_campaign(ends_at=T0 + timedelta(days=3))
    running_longer = make_campaign(ends_at=T0 + timedelta(days=5))
    upcoming = make_campaign(starts_at=T0 + timedelta(days=1))
    finished = make_campaign(
        starts_at=T0 - timedelta(days=40), ends_at=T0 - timedelta(days=29), now=T0 - timedelta(days=35)
    )
    make_campaign(starts_at=T0 - timedelta(days=50), ends_at=T0 - timedelta(days=31), now=T0 - timedelta(days=45))
    make_campaign(publish=False)
    cards = selectors.campaigns_live()
    assert [(c.id, c.status) for c in cards] == [
        (running.pk, "running"), (running_longer.pk, "running"), (upcoming.pk, "upcoming"), (finished.pk, "ended"),
    ]  # fmt: skip
    with pytest.raises(CampaignNotFoundError):
        selectors.campaign_page(campaign_id=make_campaign(publish=False).pk)


def test_a_physical_prize_ships_to_the_chosen_address_of_the_member_only(numbers):
    from accounts.exceptions import AddressNotFoundError

    campaign = _item_campaign(_item())
    assert selectors.campaign_page(campaign_id=campaign.pk).needs_address is True
    assert selectors.campaign_page(campaign_id=make_campaign().pk).needs_address is False
    member, stranger = member_with(1000), member_with(1000)
    theirs = Address.objects.create(
        user=stranger, recipient="李四", phone="13900000000", province="北京", city="北京", detail="长安街 1 号"
    )
    before = snapshot()
    with pytest.raises(AddressNotFoundError):
        draw(member, campaign, address_id=theirs.pk)
    assert snapshot() == before
    numbers.append(TOP)
    result = draw(stranger, campaign, address_id=theirs.pk)
    assert Order.objects.get().recipient == "李四" and result.outcome == DrawOutcome.WON
