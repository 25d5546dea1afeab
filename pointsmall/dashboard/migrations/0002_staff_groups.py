"""Operators see the dashboard and edit the value of a point (which moved from the lottery's
policy, which they edited, to the ledger: docs/decisions/0031)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = [
    ("dashboard", "view_dashboard"),
    ("points", "add_pointvaluepolicy"),
    ("points", "change_pointvaluepolicy"),
    ("points", "view_pointvaluepolicy"),
]


def _permissions(apps):
    Permission = apps.get_model("auth", "Permission")
    found = []
    for app_label, codename in GRANTS:
        found += list(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
    return found


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    operators, _created = Group.objects.get_or_create(name="Operators")
    operators.permissions.add(*_permissions(apps))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for group in Group.objects.filter(name="Operators"):
        group.permissions.remove(*_permissions(apps))


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_daily_metric"),
        ("points", "0015_point_value_policy"),
        ("accounts", "0002_staff_groups"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
