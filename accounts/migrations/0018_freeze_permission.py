"""Freezing points accounts (docs/decisions/0055): operators may freeze and read the freeze history;
customer service reads it (to answer "why can't I redeem?"). Nobody adds, changes or deletes a
freeze row by hand: the services write them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATORS = {("accounts", "freeze_account"), ("points", "view_accountfreeze")}
CUSTOMER_SERVICE = {("points", "view_accountfreeze")}
WRITTEN_BY_SERVICES = {("points", f"{action}_accountfreeze") for action in ("add", "change", "delete")}


def _perms(Permission, pairs):
    return [p for p in Permission.objects.select_related("content_type") if (p.content_type.app_label, p.codename) in pairs]


def grant(apps, schema_editor):
    # Permissions are normally created after migrate; make them now so the groups can hold them.
    for label in ("accounts", "points"):
        config = apps.get_app_config(label)
        config.models_module = True
        create_permissions(config, verbosity=0)
        config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    operators, _ = Group.objects.get_or_create(name="Operators")
    service, _ = Group.objects.get_or_create(name="Customer service")
    operators.permissions.remove(*_perms(Permission, WRITTEN_BY_SERVICES))
    operators.permissions.add(*_perms(Permission, OPERATORS))
    service.permissions.add(*_perms(Permission, CUSTOMER_SERVICE))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group in Group.objects.filter(name__in=["Operators", "Customer service"]):
        group.permissions.remove(*_perms(Permission, OPERATORS | CUSTOMER_SERVICE))


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0017_user_deleted_at'),
        ('points', '0021_account_freeze'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='riskflag',
            options={'permissions': [('freeze_account', "Can freeze and unfreeze members' points accounts")], 'verbose_name': 'risk flag', 'verbose_name_plural': 'risk flags'},
        ),
        migrations.RunPython(grant, revoke),
    ]
