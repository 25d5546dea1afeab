"""The staff groups' permissions on deliveries, preferences and message templates.

Operators edit message templates and read deliveries and preferences; customer service reads
deliveries and preferences (to answer "I never got the e-mail"). The services write deliveries
and preferences: on a fresh database 0004 (which makes permissions from the current models)
has already given operators every permission of them; take those back so fresh and upgraded
databases end the same.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATORS = {
    "view_delivery",
    "view_notificationpreference",
    "view_messagetemplate",
    "add_messagetemplate",
    "change_messagetemplate",
    "delete_messagetemplate",
}
CUSTOMER_SERVICE = {"view_delivery", "view_notificationpreference", "view_messagetemplate"}
# Deliveries and preferences are written by the services; history rows by simple_history.
WRITTEN_BY_SERVICES = {
    f"{action}_{model}" for action in ("add", "change", "delete") for model in ("delivery", "notificationpreference")
} | {f"{action}_historicalmessagetemplate" for action in ("add", "change", "delete", "view")}


def grant(apps, schema_editor):
    # Permissions are normally created after migrate; make them now so the groups can hold them.
    accounts = apps.get_app_config("accounts")
    accounts.models_module = True
    create_permissions(accounts, verbosity=0)
    accounts.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = list(Permission.objects.filter(content_type__app_label="accounts", codename__in=OPERATORS))
    operators, _ = Group.objects.get_or_create(name="Operators")
    service, _ = Group.objects.get_or_create(name="Customer service")
    operators.permissions.remove(
        *Permission.objects.filter(content_type__app_label="accounts", codename__in=WRITTEN_BY_SERVICES)
    )
    operators.permissions.add(*perms)
    service.permissions.add(*[p for p in perms if p.codename in CUSTOMER_SERVICE])


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="accounts", codename__in=OPERATORS)
    for group in Group.objects.filter(name__in=["Operators", "Customer service"]):
        group.permissions.remove(*perms)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0013_delivery_preferences_templates"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
