from decimal import Decimal

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Operators configure these; the purchase records are written only by the services.
OPERATOR_EDITS = ["earningrule", "purchasepolicy", "purchaserate", "campaign", "tier", "tierpolicy"]
OPERATOR_VIEWS = ["purchase", "purchaserefund", "identityclaim"]

TIERS = [
    # code, zh, en, rank, threshold, price %, multiplier, free draws a month
    ("regular", "普通会员", "Regular", 0, 0, 100, Decimal("1.00"), 0),
    ("silver", "银牌会员", "Silver", 1, 1000, 95, Decimal("1.10"), 1),
    ("gold", "金牌会员", "Gold", 2, 5000, 85, Decimal("1.20"), 2),
    ("diamond", "钻石会员", "Diamond", 3, 20000, 75, Decimal("1.50"), 4),
]

RULES = [
    # source, points, daily cap, weekly cap, monthly cap, multipliers apply
    ("signup", 100, None, None, None, False),
    ("purchase", 0, None, None, None, True),
    ("first_purchase", 50, None, None, None, False),
    ("review", 5, 50, None, None, True),
    ("share", 10, 100, None, None, True),
    ("survey", 20, None, None, 200, True),
    ("checkin", 5, None, None, None, True),
    ("task", 0, None, None, None, True),
    ("referral_signup", 50, None, None, None, False),
    ("referral_first_order", 30, None, None, None, False),
    ("lottery", 0, None, None, None, False),
]


def create_defaults(apps, schema_editor):
    Tier = apps.get_model("points", "Tier")
    for code, zh, en, rank, threshold, price, multiplier, draws in TIERS:
        Tier.objects.get_or_create(
            code=code,
            defaults={
                "name_zh": zh, "name_en": en, "rank": rank, "threshold": threshold, "price_percent": price,
                "earn_multiplier": multiplier, "monthly_free_draws": draws,
            },
        )
    EarningRule = apps.get_model("points", "EarningRule")
    for source, points, daily, weekly, monthly, multipliers in RULES:
        EarningRule.objects.get_or_create(
            source=source,
            defaults={
                "points": points, "daily_cap": daily, "weekly_cap": weekly, "monthly_cap": monthly,
                "apply_multipliers": multipliers,
            },
        )
    apps.get_model("points", "TierPolicy").objects.get_or_create(pk=1)
    apps.get_model("points", "PurchasePolicy").objects.get_or_create(pk=1)
    grant_operator_permissions(apps)


def grant_operator_permissions(apps):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    operators, _created = Group.objects.get_or_create(name="Operators")
    wanted = [f"{verb}_{model}" for model in OPERATOR_EDITS for verb in ("add", "change", "view")]
    wanted += [f"view_{model}" for model in OPERATOR_VIEWS]
    operators.permissions.add(*Permission.objects.filter(content_type__app_label="points", codename__in=wanted))


class Migration(migrations.Migration):
    dependencies = [("points", "0003_earning_tiers_campaigns"), ("accounts", "0002_staff_groups")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
