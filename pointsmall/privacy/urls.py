from django.urls import path

from pointsmall.privacy import views

urlpatterns = [
    path("privacy/", views.privacy_policy, name="privacy_policy"),
    path("me/data/", views.data_export, name="data_export"),
    path("me/delete/", views.account_delete, name="account_delete"),
]
