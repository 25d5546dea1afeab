from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pointsmall.audit"
    label = "audit"
    verbose_name = _("Audit trail")

    def ready(self) -> None:
        from django.contrib import admin

        from pointsmall.audit import actions, receivers

        receivers.connect()
        # The admin registered every ModelAdmin in its own ready(), which runs first (it is the
        # first installed app); pointsmall.admin's re-registrations are in by then too.
        actions.log_admin_actions(admin.site)
