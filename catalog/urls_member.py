"""The member's pages of the catalog, mounted at /mall/."""

from django.urls import path

from catalog import views

urlpatterns = [
    path("", views.home, name="mall_home"),
    path("products/", views.product_list, name="product_list"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
    path("products/<int:pk>/redeem/", views.redeem_confirm, name="redeem_confirm"),
    path("products/<int:pk>/address/", views.redeem_address_add, name="redeem_address_add"),
    path("orders/", views.order_list, name="order_list"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/cancel/", views.order_cancel, name="order_cancel"),
    path("orders/<int:pk>/confirm-receipt/", views.order_confirm_receipt, name="order_confirm_receipt"),
    path("orders/<int:pk>/review/", views.order_review, name="order_review"),
]
