"""Give the staff groups of 0002 the permissions of the member models added in 0003."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

NEW_MODELS = {"address", "paymentpin", "notification"}
# Operators manage everything about members except deleting them (deactivate instead).
OPERATORS_EXCLUDED = {"delete_user"}
CUSTOMER_SERVICE = {"view_user", "view_address", "view_notification"}


def grant(apps, schema_editor):
    # Permissions are normally created after migrate; make them now so the groups can hold them.
    accounts = apps.get_app_config("accounts")
    accounts.models_module = True
    create_permissions(accounts, verbosity=0)
    accounts.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = list(Permission.objects.filter(content_type__app_label="accounts"))
    operators, _ = Group.objects.get_or_create(name="Operators")
    service, _ = Group.objects.get_or_create(name="Customer service")
    operators.permissions.add(*[p for p in perms if p.codename not in OPERATORS_EXCLUDED])
    service.permissions.add(*[p for p in perms if p.codename in CUSTOMER_SERVICE])


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="accounts", content_type__model__in=NEW_MODELS)
    for group in Group.objects.filter(name__in=["Operators", "Customer service"]):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_address_paymentpin_notification"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
