"""The value of a point moves to the ledger (points.PointValuePolicy, docs/decisions/0031): the
lottery policy's value is copied there, then its column goes."""

from django.db import migrations


def copy_point_value(apps, schema_editor):
    LotteryPolicy = apps.get_model("lottery", "LotteryPolicy")
    PointValuePolicy = apps.get_model("points", "PointValuePolicy")
    policy = LotteryPolicy.objects.filter(pk=1).first()
    # getattr: the tests' reference-data restore runs this with today's models, which lack the column.
    value = getattr(policy, "point_value_yuan", None)
    if value is not None:
        PointValuePolicy.objects.update_or_create(pk=1, defaults={"yuan_per_point": value})


def copy_back(apps, schema_editor):
    LotteryPolicy = apps.get_model("lottery", "LotteryPolicy")
    PointValuePolicy = apps.get_model("points", "PointValuePolicy")
    value = PointValuePolicy.objects.filter(pk=1).first()
    if value is not None and hasattr(LotteryPolicy, "point_value_yuan"):
        LotteryPolicy.objects.filter(pk=1).update(point_value_yuan=value.yuan_per_point)


class Migration(migrations.Migration):
    dependencies = [
        ("lottery", "0002_staff_groups"),
        ("points", "0015_point_value_policy"),
    ]

    operations = [
        migrations.RunPython(copy_point_value, copy_back),
        migrations.RemoveConstraint(
            model_name="lotterypolicy",
            name="lottery_policy_point_value_positive",
        ),
        migrations.RemoveField(
            model_name="lotterypolicy",
            name="point_value_yuan",
        ),
    ]
