"""Take off the shelf every privilege item that has no effect the mall can deliver yet.

Before effects existed, privilege items ("Free shipping pass", "Double check-in points,
7 days") took points and did nothing (docs/decisions/0020). Right after 0003 no item has an
effect, so every privilege item on the shelf goes off it; an operator puts one back on sale
after giving it an available effect (a tier trial). Idempotent; the reverse leaves the shelf
as it is (which items were on it before is not known, and selling them again would repeat
the fault).
"""

from django.db import migrations

# Effects a service delivers when this migration runs (catalog.services.privileges).
AVAILABLE = ["tier_trial"]


def take_off_shelf(apps, schema_editor):
    Product = apps.get_model("catalog", "Product")
    Product.objects.filter(kind="privilege", on_shelf=True).exclude(effect__in=AVAILABLE).update(on_shelf=False)


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_product_effects")]

    operations = [migrations.RunPython(take_off_shelf, migrations.RunPython.noop)]
