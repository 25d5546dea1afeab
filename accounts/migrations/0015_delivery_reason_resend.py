"""Deliveries: a reason code instead of English prose, and the permission to send failed ones again.

Skip reasons were stored as English sentences in ``last_error``; they become codes in
``reason`` (shown translated, docs/decisions/0019). Operators may send failed deliveries
again (``resend_delivery``, the admin action "Send again").
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations, models

PROSE = {
    "the member has no verified e-mail address": "no_email",
    "the member has no verified phone number": "no_phone",
    "the member switched this channel off for this kind": "switched_off",
}


def forwards(apps, schema_editor):
    Delivery = apps.get_model("accounts", "Delivery")
    for text, code in PROSE.items():
        Delivery.objects.filter(status="skipped", last_error=text).update(reason=code, last_error="")
    Delivery.objects.filter(status="failed", reason="").update(reason="gave_up")
    accounts = apps.get_app_config("accounts")
    accounts.models_module = True
    create_permissions(accounts, verbosity=0)
    accounts.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    operators, _ = Group.objects.get_or_create(name="Operators")
    operators.permissions.add(
        *Permission.objects.filter(content_type__app_label="accounts", codename="resend_delivery")
    )


def backwards(apps, schema_editor):
    Delivery = apps.get_model("accounts", "Delivery")
    for text, code in PROSE.items():
        Delivery.objects.filter(status="skipped", reason=code).update(last_error=text)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0014_delivery_and_template_permissions"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="delivery",
            options={
                "permissions": [("resend_delivery", "Can send failed deliveries again")],
                "verbose_name": "delivery",
                "verbose_name_plural": "deliveries",
            },
        ),
        migrations.AddField(
            model_name="delivery",
            name="reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("no_email", "The member has no verified e-mail address"),
                    ("no_phone", "The member has no verified phone number"),
                    ("switched_off", "The member switched this channel off for this kind"),
                    ("permanent", "Refused for good by the provider (not retried)"),
                    ("gave_up", "Still failing after the last attempt"),
                    ("template_fallback", "The operator's template failed; the built-in text was sent"),
                ],
                max_length=20,
                verbose_name="reason",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
