from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pointsmall.integration"
    label = "integration"
    verbose_name = _("Host integration")

    def ready(self) -> None:
        from accounts import services as accounts_services
        from pointsmall.integration import (
            receivers,  # noqa: F401  (connects the webhook receivers)
            selectors,
        )

        # A member a host brought in earns through the host's purchases, not a sign-up bonus.
        accounts_services.signup_bonus_exemption_register(selectors.member_is_host_brought)
