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
