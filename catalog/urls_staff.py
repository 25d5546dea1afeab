"""Pages for shop staff, mounted at /mall/staff/."""

from django.urls import path

from catalog import staff_views

urlpatterns = [
    path("coupons/", staff_views.coupon_verify, name="coupon_verify"),
]
