"""Give every existing member an invite code, and the staff groups what referral review needs."""

import secrets

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Kept here rather than imported: a migration must not change when accounts.rules does.
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
LENGTH = 8
OPERATORS = {"view_invitecode", "view_referral", "review_referral"}
CUSTOMER_SERVICE = {"view_invitecode", "view_referral"}
# The services write these rows. On a fresh database 0004 (which makes permissions from the
# current models, not the historical ones) has already given operators these; take them back
# so fresh and upgraded databases end the same.
WRITTEN_BY_SERVICES = {
    f"{action}_{model}" for action in ("add", "change", "delete") for model in ("invitecode", "referral")
}


def create_invite_codes(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    InviteCode = apps.get_model("accounts", "InviteCode")
    taken = set(InviteCode.objects.values_list("code", flat=True))
    rows = []
    for user_id in User.objects.filter(invite_code__isnull=True).values_list("pk", flat=True).iterator():
        code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        while code in taken:
            code = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))
        taken.add(code)
        rows.append(InviteCode(user_id=user_id, code=code))
    InviteCode.objects.bulk_create(rows, batch_size=1000)


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
        ("accounts", "0005_invitecode_referral"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(create_invite_codes, migrations.RunPython.noop),
        migrations.RunPython(grant, revoke),
    ]
