"""Bring rows saved before operator input was validated (docs/decisions/0014) into the new rules.

- Campaign sources become a list of distinct known earning-source codes. An empty value
  (``[]``, ``""``, null) stays "every source". A string is read as codes (``"purchase"``
  → ``["purchase"]``). A value that names no known source (``5``, ``["nonsense"]``) never
  applied, or took the mall down: the campaign is switched off with its sources emptied,
  so switching it back on is an operator's visible choice.
- Policy numbers outside the new ranges are brought to the nearest allowed value.

Idempotent: a second run finds nothing to change. The reverse is a no-op (the old values
were the fault).
"""

import re

from django.db import migrations

SOURCES = [
    "signup",
    "purchase",
    "first_purchase",
    "review",
    "share",
    "survey",
    "checkin",
    "task",
    "referral_signup",
    "referral_first_order",
    "lottery",
]

# model, field, lowest, highest
POLICY_RANGES = [
    ("ExpiryPolicy", "months", 1, 120),
    ("ExpiryPolicy", "reminder_days", 0, 365),
    ("TierPolicy", "window_months", 1, 120),
    ("TierPolicy", "max_downgrade_steps", 1, 100),
    ("TierPolicy", "warn_days_before", 0, 31),
    ("PurchasePolicy", "pending_days", 0, 365),
]


def known_sources(raw):
    """(codes, readable): the known codes ``raw`` names, in the enum's order, or None for every source."""
    if raw is None or raw == [] or (isinstance(raw, str) and not raw.strip()):
        return None, True
    if isinstance(raw, str):
        items = re.findall(r"[a-z_]+", raw.lower())
    elif isinstance(raw, list):
        items = raw
    else:
        return [], False
    named = {item for item in items if isinstance(item, str)}
    codes = [code for code in SOURCES if code in named]
    return codes, bool(codes)


def fix_rows(apps, schema_editor):
    Campaign = apps.get_model("points", "Campaign")
    for campaign in Campaign.objects.order_by("pk"):
        codes, readable = known_sources(campaign.sources)
        if codes is None:
            if campaign.sources != []:
                Campaign.objects.filter(pk=campaign.pk).update(sources=[])
        elif not readable:
            Campaign.objects.filter(pk=campaign.pk).update(sources=[], active=False)
        elif codes != campaign.sources:
            Campaign.objects.filter(pk=campaign.pk).update(sources=codes)
    for model_name, field, lowest, highest in POLICY_RANGES:
        model = apps.get_model("points", model_name)
        model.objects.filter(**{f"{field}__lt": lowest}).update(**{field: lowest})
        model.objects.filter(**{f"{field}__gt": highest}).update(**{field: highest})


class Migration(migrations.Migration):
    dependencies = [("points", "0010_entry_staff_note")]

    operations = [migrations.RunPython(fix_rows, migrations.RunPython.noop)]
