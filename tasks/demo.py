"""Demo data of the tasks app: the check-in rules, a month of check-ins, tasks of every kind
and a survey. Safe to run twice: rows are found by their natural keys, check-ins replay.

The check-in history goes through ``tasks.services.checkin_record`` at past instants
(``now=``), so the ledger, the streaks and the cycle bonuses are exactly what members would
have got; nothing is written around the services that own the numbers.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from pointsmall.kernel import clock
from tasks import services
from tasks.enums import TaskEvent
from tasks.models import QuestionKind, SurveyQuestion, Task, TaskCompletion, TaskKind

# (title zh, title en, description zh, description en, points, repeats, how, detail, target, tiers)
TASKS = [
    (
        "完善个人资料",
        "Complete your profile",
        "填写昵称、上传头像并验证手机号。",
        "Add a display name and an avatar, and verify your phone.",
        30,
        TaskKind.ONE_OFF,
        TaskCompletion.EVENT,
        TaskEvent.PROFILE_COMPLETED,
        1,
        [],
    ),
    (
        "设置支付密码",
        "Set a payment PIN",
        "设置6位支付密码，兑换更安全。",
        "Set a 6-digit payment PIN to keep your redemptions safe.",
        20,
        TaskKind.ONE_OFF,
        TaskCompletion.EVENT,
        TaskEvent.PIN_SET,
        1,
        [],
    ),
    (
        "添加收货地址",
        "Add a delivery address",
        "添加一个收货地址，实物兑换更快发货。",
        "Add a delivery address so physical rewards ship faster.",
        10,
        TaskKind.ONE_OFF,
        TaskCompletion.EVENT,
        TaskEvent.ADDRESS_ADDED,
        1,
        [],
    ),
    (
        "首次兑换",
        "Your first redemption",
        "在商城完成第一次兑换。",
        "Redeem anything in the mall for the first time.",
        50,
        TaskKind.ONE_OFF,
        TaskCompletion.EVENT,
        TaskEvent.FIRST_REDEMPTION,
        1,
        [],
    ),
    (
        "邀请好友注册",
        "Invite a friend",
        "好友通过您的邀请链接注册并验证邮箱。",
        "A friend signs up through your invite link and confirms their e-mail.",
        100,
        TaskKind.ONE_OFF,
        TaskCompletion.EVENT,
        TaskEvent.FRIEND_SIGNED_UP,
        1,
        [],
    ),
    (
        "本周连续签到7天",
        "Check in 7 days in a row",
        "本周一到周日每天签到：只计本周内的签到日。",
        "Check in every day of this week, Monday to Sunday: only this week's check-ins count.",
        30,
        TaskKind.WEEKLY,
        TaskCompletion.EVENT,
        TaskEvent.CHECKIN_STREAK,
        7,
        [],
    ),
    (
        "每周晒单评价",
        "Review an order this week",
        "为已收货的订单发表一条评价。",
        "Write a review of an order you received.",
        15,
        TaskKind.WEEKLY,
        TaskCompletion.EVENT,
        TaskEvent.REVIEW_POSTED,
        1,
        ["gold", "diamond"],
    ),
    (
        "阅读积分规则",
        "Read the points rules",
        "了解积分怎么赚、何时过期。",
        "Learn how points are earned and when they expire.",
        5,
        TaskKind.ONE_OFF,
        TaskCompletion.VISIT,
        "/rules/",
        1,
        [],
    ),
    (
        "逛逛商城",
        "Browse the mall today",
        "看看今天有哪些好物可以兑换。",
        "See what you can redeem today.",
        2,
        TaskKind.DAILY,
        TaskCompletion.VISIT,
        "/mall/products/",
        1,
        [],
    ),
    (
        "会员满意度调查",
        "Member satisfaction survey",
        "花一分钟告诉我们您的体验。",
        "Take a minute to tell us how we are doing.",
        20,
        TaskKind.ONE_OFF,
        TaskCompletion.SURVEY,
        "",
        1,
        [],
    ),
]

SURVEY = [
    ("您对积分商城满意吗？", "How satisfied are you with the points mall?", QuestionKind.SINGLE,
     [{"zh": "非常满意", "en": "Very satisfied"}, {"zh": "满意", "en": "Satisfied"},
      {"zh": "一般", "en": "Neutral"}, {"zh": "不满意", "en": "Unsatisfied"}], True),
    ("您最常兑换哪些商品？", "What do you redeem most often?", QuestionKind.MULTIPLE,
     [{"zh": "实物商品", "en": "Goods"}, {"zh": "优惠券", "en": "Coupons"},
      {"zh": "充值卡券", "en": "Top-ups and codes"}, {"zh": "会员权益", "en": "Privileges"}], True),
    ("还有什么建议？", "Anything else you would like to tell us?", QuestionKind.TEXT, [], False),
]  # fmt: skip

# Days ago each demo member did NOT check in (within the last 30): gaps give make-up chances.
CHECKIN_GAPS = {
    "alice@example.com": {4, 11, 12, 19},
    "bob@example.com": {1, 2, 6, 9, 14, 15, 16, 22, 23, 27},
    "carol@example.com": set(range(6, 31)),  # a 5-day streak up to yesterday
}
HISTORY_DAYS = 30


def seed_tasks(stdout) -> None:
    """Ten tasks of every kind (events, visits, a survey), found by their Chinese title."""
    created = 0
    with transaction.atomic():
        for position, row in enumerate(TASKS):
            title, title_en, about, about_en, points, repeats, how, detail, target, tiers = row
            task, new = Task.objects.get_or_create(
                title=title,
                defaults={
                    "title_en": title_en,
                    "description": about,
                    "description_en": about_en,
                    "reward_points": points,
                    "kind": repeats,
                    "completion": how,
                    "event": detail if how == TaskCompletion.EVENT else "",
                    "visit_url": detail if how == TaskCompletion.VISIT else "",
                    "target": target,
                    "tier_codes": tiers,
                    "restartable": how != TaskCompletion.EVENT,
                    "position": (position + 1) * 10,
                },
            )
            created += new
            if new and how == TaskCompletion.SURVEY:
                for number, (text, text_en, kind, choices, required) in enumerate(SURVEY):
                    SurveyQuestion.objects.create(
                        task=task,
                        position=number + 1,
                        text=text,
                        text_en=text_en,
                        kind=kind,
                        choices=choices,
                        required=required,
                    )
    stdout.write(f"Tasks: {len(TASKS)} tasks of every kind and a survey ({created} new).")


def seed_checkins(stdout, *, user_ids: dict[str, int]) -> None:
    """A month of check-ins up to yesterday (today is left for the visitor), with gaps."""
    services.checkin_rules_seed()
    today = clock.business_date(timezone.now())
    made = 0
    for email, gaps in CHECKIN_GAPS.items():
        user_id = user_ids.get(email)
        if user_id is None:
            continue
        for days_ago in range(HISTORY_DAYS, 0, -1):
            if days_ago in gaps:
                continue
            day = today - timedelta(days=days_ago)
            # Mid-morning business time on that day: the way members really check in.
            at = datetime.combine(day, time(9, 30), tzinfo=clock.business_zone())
            made += not services.checkin_record(user_id=user_id, now=at).already
    stdout.write(f"Check-ins: a month of history for {len(CHECKIN_GAPS)} members ({made} new).")


def seed_leaderboard(stdout) -> None:
    report = services.leaderboard_refresh()
    stdout.write(f"Leaderboard: refreshed ({dict(report.ranked)}).")
