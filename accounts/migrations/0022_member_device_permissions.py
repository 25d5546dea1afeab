"""Nobody in a staff group holds permissions on the device records (docs/decisions/0056).

``MemberDevice`` is evidence for the fraud rules, written only by ``accounts.devices``; it has no
admin. 0002 gives Operators every permission of the apps it names as they exist when it runs, so a
replay of it against today's models (the test suite's reference data) would hand them
add/change/delete on these rows: this takes them away again, whenever 0002 ran.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def no_group_edits_devices(apps, schema_editor):
    accounts = apps.get_app_config("accounts")
    accounts.models_module = True
    create_permissions(accounts, verbosity=0)
    accounts.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    devices = Permission.objects.filter(content_type__app_label="accounts", content_type__model="memberdevice")
    for group in Group.objects.all():
        group.permissions.remove(*devices)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0021_fraud_signals"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(no_group_edits_devices, migrations.RunPython.noop)]
