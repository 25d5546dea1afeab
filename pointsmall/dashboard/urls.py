from django.contrib import admin
from django.urls import path

from pointsmall.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("<slug:chart>.csv", admin.site.admin_view(views.chart_csv), name="chart_csv"),
]
