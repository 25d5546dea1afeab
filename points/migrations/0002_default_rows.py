from django.db import migrations

RULES_ZH = """一、积分获取
会员通过购物、每日签到、完成任务、发表评价和邀请好友获得积分。购物积分在退货期结束后到账。

二、积分使用
积分可在积分商城兑换商品、优惠券与抽奖机会。兑换时优先使用最早过期的积分。

三、积分有效期
积分自获得之日起计算有效期，到期未使用的积分将自动作废。到期前系统会通过站内信提醒。

四、退款与撤销
兑换订单取消或退款时，积分退回原批次并保留原有效期；若原批次已过期，退回部分随即作废。
购物退款时，该笔购物所得积分将被收回；余额不足部分记为待还积分，由之后获得的积分优先抵扣。"""

RULES_EN = """1. Earning points
Members earn points by shopping, checking in daily, completing tasks, writing reviews and inviting friends. Purchase points arrive once the returns window is over.

2. Spending points
Points can be redeemed for goods, coupons and prize draws. Points that expire first are always used first.

3. Expiry
Points expire after the period below, counted from the day they were earned. We send an in-site reminder before points expire.

4. Refunds and reversals
When a redemption is cancelled or refunded, the points go back into the batches they came from and keep their original expiry date; any part whose batch has already expired expires straight away.
When a purchase is refunded, the points it earned are taken back; if the balance cannot cover them, the difference is owed and paid off first from points earned later."""


def create_default_rows(apps, schema_editor):
    ExpiryPolicy = apps.get_model("points", "ExpiryPolicy")
    RulesPage = apps.get_model("points", "RulesPage")
    ExpiryPolicy.objects.get_or_create(pk=1)
    RulesPage.objects.get_or_create(pk=1, defaults={"body_zh": RULES_ZH, "body_en": RULES_EN})


class Migration(migrations.Migration):
    dependencies = [("points", "0001_initial")]

    operations = [migrations.RunPython(create_default_rows, migrations.RunPython.noop)]
