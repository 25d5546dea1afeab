from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PointsmallConfig(AppConfig):
    name = "pointsmall"
    verbose_name = "Points mall"

    def ready(self) -> None:
        from pointsmall import wiring
        from pointsmall.site import site_sync_from_settings

        wiring.connect()

        # After the sites app has created its default row (its receiver was connected first).
        post_migrate.connect(site_sync_from_settings, dispatch_uid="pointsmall.site_sync_from_settings")
