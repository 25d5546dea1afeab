"""Permissions of the staff groups on the lottery: Operators run campaigns, prizes and the
policy and read what the draw service wrote; Customer service reads campaigns and draws. Rows
the services write (draws, daily prize releases, drawer states) are never changed or deleted by
hand: their admins are read-only, and no group may change or delete them.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SERVICE_WRITTEN = {"draw", "prizerelease", "drawerstate"}
CUSTOMER_SERVICE = {"view_draw", "view_lotterycampaign", "view_lotteryprize"}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    lottery = Permission.objects.filter(content_type__app_label="lottery").select_related("content_type")
    operators, _ = Group.objects.get_or_create(name="Operators")
    operators.permissions.add(
        *[
            p
            for p in lottery
            if not (p.content_type.model in SERVICE_WRITTEN and not p.codename.startswith("view_"))
        ]
    )
    service, _ = Group.objects.get_or_create(name="Customer service")
    service.permissions.add(*lottery.filter(codename__in=CUSTOMER_SERVICE))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    lottery = Permission.objects.filter(content_type__app_label="lottery")
    for group in Group.objects.filter(name__in=["Operators", "Customer service"]):
        group.permissions.remove(*lottery)


class Migration(migrations.Migration):
    dependencies = [
        ("lottery", "0001_initial"),
        ("accounts", "0002_staff_groups"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
