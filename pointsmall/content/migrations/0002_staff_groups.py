"""Permissions of the staff groups on announcements, banners and feedback: Operators publish
announcements and banners and answer feedback; Customer service answers feedback and reads the
announcements and banners. Members write feedback: nobody adds or deletes it by hand."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MEMBER_WRITTEN = {"add_feedback", "delete_feedback"}
CUSTOMER_SERVICE = {"view_feedback", "change_feedback", "view_announcement", "view_banner"}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    content = Permission.objects.filter(content_type__app_label="content")
    operators, _ = Group.objects.get_or_create(name="Operators")
    operators.permissions.add(*content.exclude(codename__in=MEMBER_WRITTEN))
    service, _ = Group.objects.get_or_create(name="Customer service")
    service.permissions.add(*content.filter(codename__in=CUSTOMER_SERVICE))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    content = Permission.objects.filter(content_type__app_label="content")
    for group in Group.objects.filter(name__in=["Operators", "Customer service"]):
        group.permissions.remove(*content)


class Migration(migrations.Migration):
    dependencies = [
        ("content", "0001_initial"),
        ("accounts", "0002_staff_groups"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
