from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TasksConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tasks"
    verbose_name = _("Check-in, tasks and leaderboard")

    def ready(self) -> None:
        # Events of other apps (accounts, catalog, the ledger) complete tasks: tasks listens.
        from tasks import receivers  # noqa: F401
