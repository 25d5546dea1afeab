from django.db import migrations

RULES_ZH = """一、积分获取
会员通过购物、每日签到、完成任务、发表评价和邀请好友获得积分。购物积分在退货期结束后到账，到账前显示为“待到账”。

二、积分使用
积分可在积分商城兑换商品、优惠券与抽奖机会。兑换时优先使用最早过期的积分。积分不可转让、不可兑换现金。"""

RULES_EN = """1. Earning points
Members earn points by shopping, checking in daily, completing tasks, writing reviews and inviting friends. Purchase points arrive once the returns window is over; until then they show as pending.

2. Spending points
Points can be redeemed for goods, coupons and prize draws. Points that expire first are always used first. Points cannot be transferred or exchanged for cash."""


def create_default_rows(apps, schema_editor):
    ExpiryPolicy = apps.get_model("points", "ExpiryPolicy")
    RulesPage = apps.get_model("points", "RulesPage")
    ExpiryPolicy.objects.get_or_create(pk=1)
    RulesPage.objects.get_or_create(pk=1, defaults={"body_zh": RULES_ZH, "body_en": RULES_EN})


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]

    operations = [migrations.RunPython(create_default_rows, migrations.RunPython.noop)]
