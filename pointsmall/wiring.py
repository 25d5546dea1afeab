"""Signals of one app connected to the receivers of another, where neither may import the other.

The feature apps may use only the public modules of accounts and none of the catalog's
(pyproject.toml import contracts); the project package may import every app, so the
connections that cross those lines are made here, once, from PointsmallConfig.ready().
"""

from __future__ import annotations


def connect() -> None:
    from accounts import signals as accounts_signals
    from catalog import signals as catalog_signals
    from tasks import receivers as tasks_receivers

    for signal, function in (
        (accounts_signals.profile_completed, tasks_receivers.on_profile_completed),
        (accounts_signals.payment_pin_set, tasks_receivers.on_payment_pin_set),
        (accounts_signals.address_added, tasks_receivers.on_address_added),
        (accounts_signals.friend_signed_up, tasks_receivers.on_friend_signed_up),
        (catalog_signals.redemption_placed, tasks_receivers.on_redemption_placed),
        (catalog_signals.review_posted, tasks_receivers.on_review_posted),
        (catalog_signals.review_removed, tasks_receivers.on_review_removed),
    ):
        signal.connect(function, dispatch_uid=f"tasks.{function.__name__}")
    connect_lottery()
    connect_catalog_cache()
    connect_content_cache()
    connect_checkin_rules_cache()


def connect_checkin_rules_cache() -> None:
    """Retire the check-in page's cached rules whenever an operator saves or deletes the policy,
    a streak reward, a cycle bonus or an earning rule (the check-in's fixed points)."""
    from django.db.models.signals import post_delete, post_save

    from points.models import EarningRule
    from pointsmall import cache as fragments
    from tasks.models.checkin import CheckinPolicy, CycleBonus, StreakReward
    from tasks.selectors.checkin import RULES_GENERATION

    def changed(sender, **kwargs) -> None:
        fragments.generation_bump(RULES_GENERATION)

    for model in (CheckinPolicy, StreakReward, CycleBonus, EarningRule):
        name = model.__name__
        post_save.connect(changed, sender=model, dispatch_uid=f"checkin.cache.save.{name}", weak=False)
        post_delete.connect(changed, sender=model, dispatch_uid=f"checkin.cache.delete.{name}", weak=False)


def connect_content_cache() -> None:
    """Retire the cached banners and announcements whenever an operator saves or deletes one."""
    from django.db.models.signals import post_delete, post_save

    from pointsmall import cache as fragments
    from pointsmall.content.models import Announcement, Banner

    def changed(sender, **kwargs) -> None:
        fragments.generation_bump("content")

    for model in (Announcement, Banner):
        post_save.connect(changed, sender=model, dispatch_uid=f"content.cache.save.{model.__name__}", weak=False)
        post_delete.connect(changed, sender=model, dispatch_uid=f"content.cache.delete.{model.__name__}", weak=False)


def connect_catalog_cache() -> None:
    """A tier renamed or re-priced changes the catalog's cards ("Gold+" badges): retire the
    cached catalog pages (docs/decisions/0048). The ledger may not import the catalog."""
    from django.db.models.signals import post_delete, post_save

    from catalog.selectors.cached import catalog_changed
    from points.models import Tier

    def changed(sender, **kwargs) -> None:
        catalog_changed()

    post_save.connect(changed, sender=Tier, dispatch_uid="catalog.cache.save.Tier", weak=False)
    post_delete.connect(changed, sender=Tier, dispatch_uid="catalog.cache.delete.Tier", weak=False)


def connect_lottery() -> None:
    """The lottery delivers catalog-item and code prizes as catalog orders (it may not import the catalog)."""
    from catalog import services as catalog_services
    from lottery.services import fulfilment

    fulfilment.fulfiller_register(
        fulfilment.PRODUCT,
        catalog_services.prize_order_place,
        needs_address=catalog_services.prize_needs_address,
        capacity=catalog_services.prize_capacity,
        market_value=catalog_services.prize_market_value,
    )
