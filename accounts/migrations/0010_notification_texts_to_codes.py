"""Inbox messages written as finished sentences become message codes and parameters.

Before, a notification's title and body were written in the language active when it was
sent. This recognises every message the mall sent, in English and in Chinese (the msgids and
zh_Hans msgstrs of the time, frozen here: singular and plural English forms, the one Chinese
form), and stores the code and parameters its notices.py renders in the reader's language
(docs/decisions/0019). Title and body stay as they were (the admin shows them; a reversal of
this migration only drops the codes). A message in no known format stays as written.

Tier names are looked up in the tier table to keep both languages; a name it doesn't know
stays as written. Idempotent: rows with a code are never looked at again.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations

BATCH = 1000
_GROUPS = {
    "points": r"\d+",
    "cap": r"\d+",
    "stock": r"-?\d+",
    "draws": r"\d+",
    "percent": r"\d+",
    "granted": r"\d+",
    "requested": r"\d+",
    "multiplier": r"\d+(?:\.\d+)?",
    "date": r"\d{4}-\d{2}-\d{2}",
    "time": r"\d{2}:\d{2}",
}
NUMBERS = {"points", "cap", "stock", "draws", "percent", "granted", "requested"}


def _pattern(text_format: str) -> re.Pattern:
    regex = ""
    for part in re.split(r"(%\(\w+\)s|%%)", text_format):
        name = re.fullmatch(r"%\((\w+)\)s", part)
        if name:
            regex += f"(?P<{name[1]}>{_GROUPS.get(name[1], '.+?')})"
        elif part == "%%":
            regex += "%"
        else:
            regex += re.escape(part)
    return re.compile(f"^{regex}$", re.DOTALL)


def _patterns(*formats: str) -> list[re.Pattern]:
    return [_pattern(f) for f in formats]


def _match(patterns: list[re.Pattern], text: str) -> dict | None:
    for pattern in patterns:
        found = pattern.match(text)
        if found:
            return {k: int(v) if k in NUMBERS else v for k, v in found.groupdict().items()}
    return None


# --- Frozen texts (English singular, English plural, Chinese) -----------------------------

SOURCES = {  # earning source labels, both languages → code
    "Sign-up bonus": "signup",
    "注册奖励": "signup",
    "Purchase": "purchase",
    "购物": "purchase",
    "First purchase bonus": "first_purchase",
    "首单奖励": "first_purchase",
    "Review": "review",
    "评价": "review",
    "Share": "share",
    "分享": "share",
    "Survey": "survey",
    "问卷调查": "survey",
    "Daily check-in": "checkin",
    "每日签到": "checkin",
    "Task": "task",
    "任务": "task",
    "Friend signed up": "referral_signup",
    "好友注册": "referral_signup",
    "Friend's first order": "referral_first_order",
    "好友首单": "referral_first_order",
    "Prize draw": "lottery",
    "抽奖": "lottery",
}
REASONS = [  # why an earning gave less: bodies of refusals → points.notices codes
    (
        "points.award_switched_off",
        _patterns("Points for %(source)s are switched off at the moment.", "“%(source)s”暂不发放积分。"),
    ),
    (
        "points.award_none",
        _patterns(
            "You have reached the limit for %(source)s points for now; none were added.",
            "您的“%(source)s”积分已达上限，本次未获得积分。",
        ),
    ),
    (
        "points.award_capped",
        _patterns(
            "%(granted)s of %(requested)s %(source)s points were added: the rest is over the limit.",
            "本次“%(source)s”应得%(requested)s积分，实得%(granted)s积分，其余部分超出上限。",
        ),
    ),
    (
        "points.signup_needs_email",
        _patterns("A verified e-mail address is needed for the sign-up bonus.", "验证邮箱后才能领取注册奖励。"),
    ),
    (
        "points.signup_already_given",
        _patterns(
            "The sign-up bonus was already given to this e-mail address or phone.", "该邮箱或手机号已领取过注册奖励。"
        ),
    ),
]

EXPIRY_TITLE = _patterns(
    "%(points)s point expires on %(date)s", "%(points)s points expire on %(date)s", "%(points)s积分将于%(date)s过期"
)
EXPIRY_BODY = _patterns(
    "Spend them by the end of %(date)s, or they expire. Your points page lists what expires when.",
    "请在%(date)s当天结束前使用，逾期积分将过期。可在“我的积分”页面查看各笔积分的过期时间。",
)
UPGRADE_TITLE = _patterns("Congratulations, you are now %(tier)s", "恭喜您，已成为%(tier)s")
UPGRADE_BODY = _patterns(
    "Your benefits: redeem at %(percent)s%% of the points price, earn points ×%(multiplier)s "
    "and draw %(draws)s free prize a month.",
    "Your benefits: redeem at %(percent)s%% of the points price, earn points ×%(multiplier)s "
    "and draw %(draws)s free prizes a month.",
    "您的权益：按积分价的%(percent)s%%兑换，获得积分×%(multiplier)s，每月可免费抽奖%(draws)s次。",
)
DOWNGRADE_TITLE = _patterns("Your tier is now %(tier)s", "您的会员等级已变更为%(tier)s")
DOWNGRADE_BODY = _patterns(
    "Tiers follow the points you earned over the last months. Your tier page shows what it takes to move up again.",
    "会员等级根据您近几个月获得的积分评定。在会员等级页面可查看再次升级的条件。",
)
WARNING_TITLE = _patterns(
    "Earn %(points)s more point by %(date)s to keep %(tier)s",
    "Earn %(points)s more points by %(date)s to keep %(tier)s",
    "请在%(date)s前再获得%(points)s积分，即可保持%(tier)s",
)
WARNING_BODY = _patterns(
    "Tiers are reviewed on the 1st of each month. Points count once they are available, not while pending.",
    "会员等级于每月1日评定。积分到账后才计入，待到账积分不计入。",
)
WELCOME_TITLE = _patterns(
    "Welcome! %(points)s point was added", "Welcome! %(points)s points were added", "欢迎！已为您添加%(points)s积分"
)
WELCOME_BODY = _patterns(
    "Thank you for confirming your e-mail address. Spend your points in the mall, "
    "or read the points rules for more ways to earn.",
    "感谢您验证邮箱。您可以在积分商城使用积分，或查看积分规则了解更多获得积分的方式。",
)
REFUSED_TITLE = _patterns("About your sign-up bonus", "关于您的注册奖励")
HELD_TITLE = _patterns("Your invitation of %(friend)s is being reviewed", "您对%(friend)s的邀请正在审核中")
HELD_BODY = _patterns(
    "Several sign-ups came from the same place within a short time, so we check them before "
    "paying invitation rewards. You will get a message when the review is done.",
    "短时间内同一地点有多个注册，因此我们会在发放邀请奖励前进行审核。审核完成后，您会收到站内信通知。",
)
JOINED_TITLE = _patterns("Your friend %(friend)s joined", "您的好友%(friend)s已加入")
CAP_BODY = _patterns(
    "You have reached this month's limit of %(cap)s rewarded invitation, so this one earns no "
    "points. The limit starts again on the 1st of next month.",
    "You have reached this month's limit of %(cap)s rewarded invitations, so this one earns no "
    "points. The limit starts again on the 1st of next month.",
    "您本月获得邀请奖励的次数已达上限（%(cap)s次），本次邀请不获得积分。下月1日起重新计算。",
)
KNOWN_EMAIL_BODY = _patterns(
    "This e-mail address was invited before, so this invitation earns no points.",
    "该邮箱此前已被邀请过，因此本次邀请不获得积分。",
)
REWARD_TITLE = _patterns(
    "Your friend %(friend)s joined: %(points)s point for you",
    "Your friend %(friend)s joined: %(points)s points for you",
    "您的好友%(friend)s已加入：您获得%(points)s积分",
)
REWARD_CHECKING_BODY = _patterns(
    "They become available at %(time)s, after a routine check of recent sign-ups. "
    "Their first purchase earns you a further reward.",
    "积分将于%(time)s到账（需先对近期注册进行例行核查）。好友首次购物后，您还将获得额外奖励。",
)
REWARD_NOW_BODY = _patterns(
    "Thank you for inviting them. Their first purchase earns you a further reward.",
    "感谢您的邀请。好友首次购物后，您还将获得额外奖励。",
)
FIRST_ORDER_TITLE = _patterns("%(friend)s made a first purchase", "%(friend)s已完成首次购物")
FIRST_ORDER_LATER_BODY = _patterns(
    "%(points)s point for you, available from %(date)s, once your friend's returns window is over.",
    "%(points)s points for you, available from %(date)s, once your friend's returns window is over.",
    "您获得%(points)s积分，待好友退货期结束后，将于%(date)s到账。",
)
FIRST_ORDER_NOW_BODY = _patterns(
    "%(points)s point for you, available now.", "%(points)s points for you, available now.", "您获得%(points)s积分，已到账。"
)
WITHDRAWN_TITLE = _patterns(
    "The first-order reward for %(friend)s was cancelled", "%(friend)s的首单奖励已取消"
)
WITHDRAWN_BODY = _patterns(
    "Your friend's first purchase was refunded within its returns window, so its %(points)s "
    "pending point will not be added.",
    "Your friend's first purchase was refunded within its returns window, so its %(points)s "
    "pending points will not be added.",
    "您的好友在退货期内对首次购物办理了退款，因此%(points)s待到账积分将不会发放。",
)
APPROVED_TITLE = _patterns("Your invitation of %(friend)s was approved", "您对%(friend)s的邀请已审核通过")
APPROVED_BODY = _patterns(
    "You get your reward as soon as your friend confirms their e-mail address.", "好友验证邮箱后，您将立即获得奖励。"
)
DENIED_TITLE = _patterns("Your invitation of %(friend)s earns no rewards", "您对%(friend)s的邀请不获得奖励")
DENIED_BODY = _patterns(
    "After a review, this invitation does not qualify for rewards. Your friend's account is not affected.",
    "经审核，本次邀请不符合奖励条件。您好友的账号不受影响。",
)
LOW_STOCK_TITLE = _patterns("Low stock: %(name)s (%(stock)s left)", "库存不足：%(name)s（剩余%(stock)s件）")
LOW_STOCK_BODY = _patterns("Restock it or take it off the shelf in the admin.", "请在管理后台补货或将其下架。")


def reason(body: str) -> dict | None:
    """A refusal's body as a stored reason (points.notices.nested), or None."""
    for code, patterns in REASONS:
        params = _match(patterns, body)
        if params is None:
            continue
        if "source" in params:
            if params["source"] not in SOURCES:
                return None
            params["source"] = SOURCES[params["source"]]
        return {"code": code, "params": params}
    return None


def _checked_at(created_at: datetime, hour_minute: str) -> str:
    """The date-time a sign-up reward became available, from its "HH:MM" and when it was announced."""
    local = created_at.astimezone(ZoneInfo(settings.TIME_ZONE))
    hours, minutes = (int(x) for x in hour_minute.split(":"))
    at = local.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if at < local - timedelta(minutes=1):
        at += timedelta(days=1)
    return at.isoformat()




def convert(title: str, body: str, created_at: datetime, tier: Callable[[str], object] = str) -> tuple[str, dict] | None:
    """(code, parameters) of an old message, or None to leave it as written.

    ``tier`` turns a tier name as written into what to store (both names when known).
    """
    if (t := _match(EXPIRY_TITLE, title)) and (b := _match(EXPIRY_BODY, body)) and b["date"] == t["date"]:
        return "accounts.expiry_reminder", {"points": t["points"], "dates": [[t["date"], t["points"]]]}
    if (t := _match(UPGRADE_TITLE, title)) and (b := _match(UPGRADE_BODY, body)):
        return "accounts.tier_upgraded", {"tier": tier(t["tier"]), **b}
    if (t := _match(DOWNGRADE_TITLE, title)) and _match(DOWNGRADE_BODY, body) is not None:
        return "accounts.tier_downgraded", {"tier": tier(t["tier"])}
    if (t := _match(WARNING_TITLE, title)) and _match(WARNING_BODY, body) is not None:
        return "accounts.tier_warning", {"points": t["points"], "date": t["date"], "tier": tier(t["tier"])}
    if (t := _match(WELCOME_TITLE, title)) and _match(WELCOME_BODY, body) is not None:
        return "accounts.signup_bonus", {"points": t["points"]}
    if _match(REFUSED_TITLE, title) is not None and (why := reason(body)):
        return "accounts.signup_bonus_refused", {"reason": why}
    if (t := _match(HELD_TITLE, title)) and _match(HELD_BODY, body) is not None:
        return "accounts.referral_held_notice", {"friend": t["friend"]}
    if t := _match(REWARD_TITLE, title):
        if b := _match(REWARD_CHECKING_BODY, body):
            at = _checked_at(created_at, b["time"])
            return "accounts.referral_signup_reward", {"friend": t["friend"], "points": t["points"], "available_at": at}
        if _match(REWARD_NOW_BODY, body) is not None:
            return "accounts.referral_signup_reward", {"friend": t["friend"], "points": t["points"], "available_at": None}
        return None
    if t := _match(JOINED_TITLE, title):
        if b := _match(CAP_BODY, body):
            return "accounts.referral_monthly_cap", {"friend": t["friend"], "cap": b["cap"]}
        if _match(KNOWN_EMAIL_BODY, body) is not None:
            return "accounts.referral_known_email", {"friend": t["friend"]}
        if why := reason(body):
            return "accounts.referral_signup_no_reward", {"friend": t["friend"], "reason": why}
        return None
    if t := _match(FIRST_ORDER_TITLE, title):
        if b := _match(FIRST_ORDER_LATER_BODY, body):
            params = {"friend": t["friend"], "points": b["points"], "available_on": b["date"]}
            return "accounts.referral_first_order_reward", params
        if b := _match(FIRST_ORDER_NOW_BODY, body):
            params = {"friend": t["friend"], "points": b["points"], "available_on": None}
            return "accounts.referral_first_order_reward", params
        if why := reason(body):
            return "accounts.referral_first_order_no_reward", {"friend": t["friend"], "reason": why}
        return None
    if (t := _match(WITHDRAWN_TITLE, title)) and (b := _match(WITHDRAWN_BODY, body)):
        return "accounts.referral_first_order_withdrawn", {"friend": t["friend"], "points": b["points"]}
    if (t := _match(APPROVED_TITLE, title)) and _match(APPROVED_BODY, body) is not None:
        return "accounts.referral_approved", {"friend": t["friend"]}
    if (t := _match(DENIED_TITLE, title)) and _match(DENIED_BODY, body) is not None:
        return "accounts.referral_denied", {"friend": t["friend"]}
    if (t := _match(LOW_STOCK_TITLE, title)) and _match(LOW_STOCK_BODY, body) is not None:
        return "catalog.low_stock", {"name": t["name"], "stock": t["stock"]}
    return None


def tier_names(apps) -> dict[str, dict]:
    """{name in either language: {"zh": …, "en": …}} of the tiers."""
    Tier = apps.get_model("points", "Tier")
    names: dict[str, dict] = {}
    for name_zh, name_en in Tier.objects.values_list("name_zh", "name_en"):
        both = {"zh": name_zh, "en": name_en}
        names.setdefault(name_zh, both)
        names.setdefault(name_en, both)
    return names


def forwards(apps, schema_editor) -> None:
    Notification = apps.get_model("accounts", "Notification")
    tiers = tier_names(apps)

    def tier(name: str) -> object:
        return tiers.get(name, name)

    rows = Notification.objects.filter(message_code="").order_by("pk").values_list("pk", "title", "body", "created_at")
    after = 0
    while True:
        batch = list(rows.filter(pk__gt=after)[:BATCH])
        if not batch:
            return
        after = batch[-1][0]
        updates = []
        for pk, title, body, created_at in batch:
            result = convert(title, body, created_at, tier)
            if result is not None:
                updates.append(Notification(pk=pk, message_code=result[0], params=result[1]))
        Notification.objects.bulk_update(updates, ["message_code", "params"])


def backwards(apps, schema_editor) -> None:
    """Drop the codes: a message that has only a code gets its text in the mall's default
    language (the old way) first."""
    from django.utils import translation

    from points import notices  # the live renderers: only to write the text back once

    Notification = apps.get_model("accounts", "Notification")
    with translation.override(settings.LANGUAGE_CODE):
        for pk, code, params in (
            Notification.objects.exclude(message_code="").filter(title="").values_list("pk", "message_code", "params")
        ):
            text = notices.render(code, params)
            if text is not None:
                Notification.objects.filter(pk=pk).update(title=text.title[:120], body=text.body[:2000])
    Notification.objects.exclude(message_code="").exclude(title="").update(message_code="", params={})


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_notification_message_code"),
        # Read only: the tier names, to keep both languages of a tier named in a message.
        ("points", "0005_tier_code_label"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
