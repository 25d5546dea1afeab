"""Reviews remember the ledger entry of their review points, so removing a review can take them back."""

from django.db import migrations, models


def link_review_points(apps, schema_editor):
    """Point every existing review at its review-points entry (key ``catalog.review:<order>``).

    Idempotent: only reviews without a link are looked at. Reviews that earned nothing keep none.
    """
    Review = apps.get_model("catalog", "Review")
    Entry = apps.get_model("points", "Entry")
    for review in Review.objects.filter(points_entry_id__isnull=True).only("pk", "order_id").iterator():
        entry_id = (
            Entry.objects.filter(idempotency_key=f"catalog.review:{review.order_id}", kind="earn")
            .values_list("pk", flat=True)
            .first()
        )
        if entry_id is not None:
            Review.objects.filter(pk=review.pk).update(points_entry_id=entry_id)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_cash_refunds"),
        ("points", "0005_tier_code_label"),
    ]

    operations = [
        migrations.AddField(
            model_name="review",
            name="points_entry_id",
            field=models.BigIntegerField(blank=True, editable=False, null=True, verbose_name="review points entry"),
        ),
        migrations.RunPython(link_review_points, migrations.RunPython.noop),
    ]
