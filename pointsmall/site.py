"""The Sites framework's row is what allauth signs e-mails with: keep it equal to the settings."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext


def mall_site_name() -> str:
    """The mall's name as e-mails sign it: MALL_NAME, else the default name in the mall's language."""
    if settings.MALL_NAME:
        return settings.MALL_NAME
    with translation.override(settings.LANGUAGE_CODE):
        return gettext("Points Mall")


def site_sync_from_settings(sender, app_config=None, using: str = "default", **kwargs) -> None:
    """Set Site(SITE_ID) to MALL_DOMAIN and the mall's name on every migrate (never "example.com").

    Idempotent: runs on each ``migrate`` and writes only when a value differs.
    """
    if app_config is None or app_config.label != "sites":
        return
    from django.contrib.sites.models import Site

    name, domain = mall_site_name()[:50], settings.MALL_DOMAIN[:100]
    site, created = Site.objects.using(using).get_or_create(
        pk=settings.SITE_ID, defaults={"name": name, "domain": domain}
    )
    if not created and (site.name, site.domain) != (name, domain):
        Site.objects.using(using).filter(pk=site.pk).update(name=name, domain=domain)
    Site.objects.clear_cache()
