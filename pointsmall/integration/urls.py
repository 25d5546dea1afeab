from django.urls import path

from pointsmall.integration import views
from pointsmall.integration.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("sso/login", views.sso_login, name="sso_login"),
]
