"""A review carries up to 6 photos (issue #17): each in its own ReviewPhoto row. A review's one
photo from before moves to a row of its own (the file stays where it is)."""

import django.db.models.deletion
from django.db import migrations, models


def photos_to_rows(apps, schema_editor):
    Review = apps.get_model("catalog", "Review")
    ReviewPhoto = apps.get_model("catalog", "ReviewPhoto")
    if "photo" not in {field.name for field in Review._meta.get_fields()}:
        return  # replayed against a later state (tests/conftest.py): nothing left to move
    # Idempotent: a review that has its row already is skipped.
    reviews = Review.objects.exclude(photo="").filter(photos__isnull=True)
    ReviewPhoto.objects.bulk_create(
        ReviewPhoto(review_id=pk, photo=name, sort=0) for pk, name in reviews.values_list("pk", "photo").iterator()
    )


def rows_to_photos(apps, schema_editor):
    Review = apps.get_model("catalog", "Review")
    ReviewPhoto = apps.get_model("catalog", "ReviewPhoto")
    for row in ReviewPhoto.objects.filter(sort=0).iterator():
        Review.objects.filter(pk=row.review_id).update(photo=row.photo)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0014_product_image_alt"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReviewPhoto",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("photo", models.ImageField(upload_to="reviews/%Y/%m/", verbose_name="photo")),
                ("sort", models.PositiveSmallIntegerField(default=0, verbose_name="position")),
                (
                    "review",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="photos",
                        to="catalog.review",
                        verbose_name="review",
                    ),
                ),
            ],
            options={
                "verbose_name": "review photo",
                "verbose_name_plural": "review photos",
                "ordering": ["sort", "pk"],
                "constraints": [models.UniqueConstraint(fields=("review", "sort"), name="catalog_reviewphoto_position")],
            },
        ),
        migrations.RunPython(photos_to_rows, rows_to_photos),
        migrations.RemoveField(
            model_name="review",
            name="photo",
        ),
    ]
