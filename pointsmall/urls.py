from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from accounts import views as accounts_views
from catalog import views as catalog_views
from pointsmall import views as project_views

admin.site.site_header = _("Points Mall · operations")
admin.site.site_title = _("Points Mall admin")
admin.site.index_title = _("Operations")

urlpatterns = [
    # The mall's front page is the catalog's home; /mall/ serves it too.
    path("", catalog_views.home, name="home"),
    path("favicon.ico", project_views.favicon),
    # Admin sign-in goes through allauth so two-factor authentication applies to it.
    path("admin/login/", RedirectView.as_view(pattern_name="account_login", query_string=True)),
    path("admin/dashboard/", include("pointsmall.dashboard.urls")),
    path("admin/audit-trail/", include("pointsmall.audit.urls")),
    path("admin/", admin.site.urls),
    # allauth's e-mail page, minus filing a host member's stand-in address as theirs (decision 0035).
    path("accounts/email/", accounts_views.email_addresses),
    path("accounts/", include("allauth.urls")),
    # The language switcher also saves a signed-in member's choice in their profile.
    path("i18n/setlang/", accounts_views.set_language, name="set_language"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("pointsmall.privacy.urls")),
    path("me/", include("accounts.urls")),
    path("", include("points.urls")),
    path("mall/", include("catalog.urls")),
    path("", include("tasks.urls")),
    path("", include("lottery.urls")),
    path("", include("pointsmall.content.urls")),
    path("analytics/", include("pointsmall.analytics.urls")),
    path("", include("pointsmall.integration.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

handler400 = "pointsmall.views.bad_request"
handler403 = "pointsmall.views.permission_denied"
handler404 = "pointsmall.views.page_not_found"
handler500 = "pointsmall.views.server_error"
# allauth answers its own rate limits (sign-up, password reset, e-mail confirmation) with this.
handler429 = "pointsmall.throttle.too_many_requests"
