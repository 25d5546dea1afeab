"""The default rules page text promised check-ins, tasks and prize draws, which don't exist yet.

Replace it with a text that names only what the mall does today, where an operator has not
edited it (docs/decisions/0020). Idempotent; the reverse puts the old default back where
the new one is still untouched.
"""

from django.db import migrations

OLD_ZH = """一、积分获取
会员通过购物、每日签到、完成任务、发表评价和邀请好友获得积分。购物积分在退货期结束后到账，到账前显示为“待到账”。

二、积分使用
积分可在积分商城兑换商品、优惠券与抽奖机会。兑换时优先使用最早过期的积分。积分不可转让、不可兑换现金。"""

OLD_EN = """1. Earning points
Members earn points by shopping, checking in daily, completing tasks, writing reviews and inviting friends. Purchase points arrive once the returns window is over; until then they show as pending.

2. Spending points
Points can be redeemed for goods, coupons and prize draws. Points that expire first are always used first. Points cannot be transferred or exchanged for cash."""

NEW_ZH = """一、积分获取
会员通过注册、购物、发表评价和邀请好友获得积分。购物积分在退货期结束后到账，到账前显示为“待到账”。

二、积分使用
积分可在积分商城兑换商品、优惠券和会员权益。兑换时优先使用最早过期的积分。积分不可转让、不可兑换现金。"""

NEW_EN = """1. Earning points
Members earn points by signing up, shopping, writing reviews and inviting friends. Purchase points arrive once the returns window is over; until then they show as pending.

2. Spending points
Points can be redeemed for goods, coupons and member privileges. Points that expire first are always used first. Points cannot be transferred or exchanged for cash."""


def _replace(apps, pairs):
    RulesPage = apps.get_model("points", "RulesPage")
    for field, old, new in pairs:
        RulesPage.objects.filter(pk=1, **{field: old}).update(**{field: new})


def forwards(apps, schema_editor):
    _replace(apps, [("body_zh", OLD_ZH, NEW_ZH), ("body_en", OLD_EN, NEW_EN)])


def backwards(apps, schema_editor):
    _replace(apps, [("body_zh", NEW_ZH, OLD_ZH), ("body_en", NEW_EN, OLD_EN)])


class Migration(migrations.Migration):
    dependencies = [("points", "0006_tier_trials")]

    operations = [migrations.RunPython(forwards, backwards)]
