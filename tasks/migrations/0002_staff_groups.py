"""Permissions of the staff groups on the tasks app: Operators run check-in rules, tasks and
surveys and the leaderboard; Customer service reads members' check-ins, task progress and
answers. Rows the services write (check-ins, cards, boosts, progress, answers, standings,
payouts) are never deleted by hand: their admins are read-only, and no group may delete them.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

SERVICE_WRITTEN = {
    "checkin",
    "makeupcardgrant",
    "checkinboost",
    "checkinreminder",
    "taskprogress",
    "taskeventreceipt",
    "surveyresponse",
    "leaderboardstanding",
    "leaderboardpayout",
}
CUSTOMER_SERVICE = {
    "view_checkin",
    "view_makeupcardgrant",
    "view_checkinboost",
    "view_task",
    "view_surveyquestion",
    "view_taskprogress",
    "view_surveyresponse",
}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    tasks = Permission.objects.filter(content_type__app_label="tasks").select_related("content_type")
    operators, _ = Group.objects.get_or_create(name="Operators")
    operators.permissions.add(
        *[
            p
            for p in tasks
            if not (p.content_type.model in SERVICE_WRITTEN and not p.codename.startswith("view_"))
        ]
    )
    service, _ = Group.objects.get_or_create(name="Customer service")
    service.permissions.add(*tasks.filter(codename__in=CUSTOMER_SERVICE))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    tasks = Permission.objects.filter(content_type__app_label="tasks")
    for group in Group.objects.filter(name__in=["Operators", "Customer service"]):
        group.permissions.remove(*tasks)


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0001_initial"),
        ("accounts", "0002_staff_groups"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
