from django.urls import path

from points import views

urlpatterns = [
    path("points/", views.my_points, name="my_points"),
    path("rules/", views.rules_page, name="rules"),
]
