from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PointsmallConfig(AppConfig):
    name = "pointsmall"
    verbose_name = "Points mall"

    def ready(self) -> None:
        from pointsmall import wiring
        from pointsmall.privileges import register_checkin_privileges
        from pointsmall.site import site_sync_from_settings

        wiring.connect()
        # The check-in app delivers the catalog's check-in privileges (neither imports the other).
        register_checkin_privileges()

        # After the sites app has created its default row (its receiver was connected first).
        post_migrate.connect(site_sync_from_settings, dispatch_uid="pointsmall.site_sync_from_settings")
