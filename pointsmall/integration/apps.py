from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pointsmall.integration"
    label = "integration"
    verbose_name = _("Host integration")

    def ready(self) -> None:
        from pointsmall.integration import receivers  # noqa: F401  (connects the webhook receivers)
