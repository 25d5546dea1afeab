"""The catalog's URLs: member pages, staff pages and the payment gateway callbacks."""

from django.urls import include, path

urlpatterns = [
    path("", include("catalog.urls_member")),
    path("staff/", include("catalog.urls_staff")),
    path("pay/", include("catalog.urls_payments")),
]
