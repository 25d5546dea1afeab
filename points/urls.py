from django.urls import path

from points import views

urlpatterns = [
    path("points/", views.my_points, name="my_points"),
    path("points/tier/", views.my_tier, name="my_tier"),
    path("rules/", views.rules_page, name="rules"),
]
