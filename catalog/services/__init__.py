"""The catalog's public write surface."""

from catalog.services.alerts import low_stock_notify
from catalog.services.coupons import CouponView, coupon_lookup, coupon_redeem_in_store
from catalog.services.orders import (
    order_approve,
    order_cancel,
    order_confirm_receipt,
    order_deliver,
    order_event_record,
    order_mark_paid,
    order_reject,
    order_ship,
    orders_cancel_unpaid,
    orders_close_for_deletion,
)
from catalog.services.payments import PaymentOutcome as PaymentOutcome
from catalog.services.payments import payment_begin as payment_begin
from catalog.services.payments import payment_notification_apply as payment_notification_apply
from catalog.services.payments import payment_offline_late_record as payment_offline_late_record
from catalog.services.prizes import prize_capacity, prize_market_value, prize_needs_address, prize_order_place
from catalog.services.redemption import (
    Quote,
    order_redeem,
    redemption_confirmation_read,
    redemption_confirmation_sign,
    redemption_precheck,
    redemption_quote,
)
from catalog.services.refunds import RefundOutcome as RefundOutcome
from catalog.services.refunds import cash_refund_record as cash_refund_record
from catalog.services.refunds import cash_refund_request as cash_refund_request
from catalog.services.refunds import cash_refund_retry as cash_refund_retry
from catalog.services.refunds import cash_refunds_retry_due as cash_refunds_retry_due
from catalog.services.refunds import refund_notification_apply as refund_notification_apply
from catalog.services.reviews import ReviewResult, review_post, review_remove
from catalog.services.stock import (
    CodeImportReport,
    codes_import,
    stock_adjust,
    stock_correct,
    stock_restock,
    stock_return,
    stock_take,
)
from catalog.services.views_log import product_view_record

__all__ = [
    "CodeImportReport",
    "CouponView",
    "Quote",
    "ReviewResult",
    "codes_import",
    "coupon_lookup",
    "coupon_redeem_in_store",
    "low_stock_notify",
    "order_approve",
    "order_cancel",
    "order_confirm_receipt",
    "order_deliver",
    "order_event_record",
    "order_mark_paid",
    "order_redeem",
    "order_reject",
    "order_ship",
    "orders_cancel_unpaid",
    "orders_close_for_deletion",
    "prize_capacity",
    "prize_market_value",
    "prize_needs_address",
    "prize_order_place",
    "product_view_record",
    "redemption_confirmation_read",
    "redemption_confirmation_sign",
    "redemption_precheck",
    "redemption_quote",
    "review_post",
    "review_remove",
    "stock_adjust",
    "stock_correct",
    "stock_restock",
    "stock_return",
    "stock_take",
]
