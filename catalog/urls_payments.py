"""Paying the cash part of orders, mounted at /mall/pay/."""

from django.urls import path

from catalog import payment_views

urlpatterns = [
    path("<int:order_pk>/", payment_views.payment_start, name="payment_start"),
    path("<int:order_pk>/status/", payment_views.payment_status, name="payment_status"),
    path("sandbox/<str:reference>/", payment_views.sandbox_gateway, name="payment_sandbox_gateway"),
    path("sandbox/<str:reference>/pay/", payment_views.sandbox_pay, name="payment_sandbox_pay"),
    path("sandbox/<str:reference>/cancel/", payment_views.sandbox_cancel, name="payment_sandbox_cancel"),
    path("callback/sandbox/", payment_views.payment_callback_sandbox, name="payment_callback_sandbox"),
    path("callback/sandbox/refund/", payment_views.refund_callback_sandbox, name="refund_callback_sandbox"),
]
