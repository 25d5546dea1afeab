from django.urls import path, re_path

from pointsmall.integration import views
from pointsmall.integration.api import api, not_found

urlpatterns = [
    path("api/v1/", api.urls),
    # After the API's own paths: anything else under /api/v1/ is a JSON 404, not an HTML page.
    re_path(r"^api/v1/(?P<rest>.*)$", not_found),
    path("sso/login", views.sso_login, name="sso_login"),
]
