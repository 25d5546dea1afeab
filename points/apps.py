from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext_lazy as _


class PointsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "points"
    verbose_name = _("Points")

    def ready(self) -> None:
        # Every app's notices.py registers the message codes it stores (points.notices):
        # imported here, like admin.py, so the ledger renders them without importing any app.
        from points import notices  # noqa: F401

        autodiscover_modules("notices")
