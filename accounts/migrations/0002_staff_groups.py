"""The staff groups operators are put in, with the permissions their work needs."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

OPERATOR_APPS = {"points", "accounts", "django_celery_beat"}
OPERATOR_EXCLUDED = {
    # The ledger is written only through services; nobody edits or deletes its rows by hand.
    ("points", "add_entry"), ("points", "change_entry"), ("points", "delete_entry"),
    ("points", "add_lot"), ("points", "change_lot"), ("points", "delete_lot"),
    ("points", "add_lotmovement"), ("points", "change_lotmovement"), ("points", "delete_lotmovement"),
    ("points", "add_account"), ("points", "delete_account"),
    ("accounts", "delete_user"),
}
CUSTOMER_SERVICE = {
    ("accounts", "view_user"), ("accounts", "view_address"),
    ("points", "view_account"), ("points", "view_entry"), ("points", "view_lot"),
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after migrate; make them now so the groups can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    operators, _ = Group.objects.get_or_create(name="Operators")
    service, _ = Group.objects.get_or_create(name="Customer service")
    perms = Permission.objects.select_related("content_type")
    operators.permissions.set(
        [
            p for p in perms
            if p.content_type.app_label in OPERATOR_APPS
            and (p.content_type.app_label, p.codename) not in OPERATOR_EXCLUDED
        ]
    )
    service.permissions.set([p for p in perms if (p.content_type.app_label, p.codename) in CUSTOMER_SERVICE])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("points", "0002_default_rows"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
