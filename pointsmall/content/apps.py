from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContentConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "pointsmall.content"
    label = "content"
    verbose_name = _("Announcements and feedback")
