from django.urls import path

from pointsmall.integration.api import api

urlpatterns = [path("api/v1/", api.urls)]
