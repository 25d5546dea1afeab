from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.overview, name="account_overview"),
]
