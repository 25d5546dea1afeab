from django.contrib import admin
from django.urls import path

from pointsmall.audit import views

app_name = "audit"

# Not /admin/audit/: that is the admin's own prefix for this app's models (the privilege changes).
urlpatterns = [
    path(
        "reveal/<slug:app_label>/<slug:model_name>/<str:object_id>/",
        admin.site.admin_view(views.pii_reveal),
        name="reveal",
    ),
    path("member/<int:user_id>/", admin.site.admin_view(views.member_audit), name="member"),
    path(
        "<slug:app_label>/<slug:model_name>/<str:object_id>/", admin.site.admin_view(views.object_audit), name="object"
    ),
]
