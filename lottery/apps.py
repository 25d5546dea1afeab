from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LotteryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "lottery"
    verbose_name = _("Prize draws")

    def ready(self) -> None:
        # The ledger's announcements the lottery listens to (a change of the point value).
        from lottery import receivers  # noqa: F401
