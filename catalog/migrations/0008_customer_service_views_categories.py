"""Customer service may look at categories: the product pages they may view link to them.

Without it the category on a product's page (read-only for them) is a link that answers 403.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CUSTOMER_SERVICE = {"view_category"}


def grant(apps, schema_editor):
    catalog = apps.get_app_config("catalog")
    catalog.models_module = True
    create_permissions(catalog, verbosity=0)
    catalog.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    service, _ = Group.objects.get_or_create(name="Customer service")
    service.permissions.add(*Permission.objects.filter(content_type__app_label="catalog", codename__in=CUSTOMER_SERVICE))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="catalog", codename__in=CUSTOMER_SERVICE)
    for group in Group.objects.filter(name="Customer service"):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0007_order_event_notes_to_codes"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
