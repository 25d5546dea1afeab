"""Addresses get the division code of their region (accounts.regions, the region picker).

Existing addresses keep their province / city / district text as typed; the code is filled where
the three names are one chain of the division data, and left empty otherwise (the edit page
then shows the saved text and asks for the region again: docs/decisions/0061).
"""

from django.db import migrations, models

BATCH = 1000


def fill_region_codes(apps, schema_editor):
    from accounts import regions

    Address = apps.get_model("accounts", "Address")
    changed = []
    for address in Address.objects.filter(region_code="").only("province", "city", "district").iterator(BATCH):
        code = regions.region_code(province=address.province, city=address.city, district=address.district)
        if code:
            address.region_code = code
            changed.append(address)
    Address.objects.bulk_update(changed, ["region_code"], batch_size=BATCH)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0018_freeze_permission")]

    operations = [
        migrations.AddField(
            model_name="address",
            name="region_code",
            field=models.CharField(blank=True, max_length=6, verbose_name="region code"),
        ),
        migrations.RunPython(fill_region_codes, migrations.RunPython.noop),
    ]
