"""Catalog permissions for the staff groups, and the "Shop staff" group that verifies coupons in store.

``catalog.verify_coupon`` is created here rather than declared in a model's Meta: it guards a
page, not a model operation, and this keeps the models untouched.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Rows the services write and the audit depends on: nobody deletes them by hand.
OPERATOR_NO_DELETE = {"order", "stockmovement", "orderevent", "code"}
CUSTOMER_SERVICE = {"view_order", "view_product", "view_orderevent"}
VERIFY_COUPON = ("verify_coupon", "Can verify coupons in store")


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    code_type = ContentType.objects.get(app_label="catalog", model="code")
    verify, _ = Permission.objects.get_or_create(
        content_type=code_type, codename=VERIFY_COUPON[0], defaults={"name": VERIFY_COUPON[1]}
    )
    catalog = Permission.objects.filter(content_type__app_label="catalog").select_related("content_type")
    operators, _ = Group.objects.get_or_create(name="Operators")
    operators.permissions.add(
        *[
            p for p in catalog
            if not (p.codename.startswith("delete_") and p.content_type.model in OPERATOR_NO_DELETE)
        ]
    )
    service, _ = Group.objects.get_or_create(name="Customer service")
    service.permissions.add(*catalog.filter(codename__in=CUSTOMER_SERVICE))
    shop_staff, _ = Group.objects.get_or_create(name="Shop staff")
    shop_staff.permissions.add(verify)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    catalog = Permission.objects.filter(content_type__app_label="catalog")
    for group in Group.objects.filter(name__in=["Operators", "Customer service"]):
        group.permissions.remove(*catalog)
    Group.objects.filter(name="Shop staff").delete()
    catalog.filter(codename=VERIFY_COUPON[0]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0001_initial"),
        ("accounts", "0002_staff_groups"),
        ("points", "0004_default_rules_and_tiers"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
