from django.urls import path

from pointsmall.analytics import views

app_name = "analytics"

urlpatterns = [path("beacon", views.beacon, name="beacon")]
