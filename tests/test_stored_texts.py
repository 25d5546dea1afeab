"""Stored texts are rendered in the reader's language when read (issue #8, item 8; docs/decisions/0019).

History rows and inbox messages store a message code and parameters; every notice renders in
both languages; old rows written as sentences are converted by the data migrations; a
member's profile language applies as soon as they sign in, on any device.
"""

from __future__ import annotations

import importlib
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import translation

from accounts import selectors as accounts_selectors
from accounts import services as accounts_services
from accounts.enums import NotificationKind
from accounts.exceptions import InvalidNotificationError
from accounts.models import Notification, User
from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.enums import ProductKind
from catalog.models import Category, Product
from points import notices
from points import selectors as points_selectors
from points import services as points_services
from points.exceptions import InvalidMessageError
from points.models import Entry
from tests.factories import PASSWORD, MemberFactory, StaffFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
PIN = "258014"
F = "fr***@example.com"
GOLD = {"zh": "金牌会员", "en": "Gold"}
UMBRELLA = {"zh": "雨伞", "en": "Umbrella"}

NOTICES = [
    ("points.purchase", {"order": "A1"}, "Purchase A1", "", "购物订单A1", ""),
    ("points.checkout_paid", {"order": "A1"}, "Paid with points at the shop, order A1", "", "积分抵扣：购物订单A1", ""),
    ("points.account_deleted", {}, "Forfeited: the account was deleted", "", "作废：账户已删除", ""),
    (
        "points.purchase_refund",
        {"order": "A1"},
        "Taken back: purchase A1 was refunded",
        "",
        "扣回：购物订单A1已退款",
        "",
    ),
    (
        "points.first_purchase_bonus_refund",
        {"order": "A1"},
        "Taken back: first purchase bonus (order A1 refunded)",
        "",
        "扣回：首单奖励（订单A1已退款）",
        "",
    ),
    (
        "points.award_capped",
        {"source": "share", "granted": 10, "requested": 30},
        "10 of 30 Share points were added: the rest is over the limit.",
        "",
        "本次“分享”应得30积分，实得10积分，其余部分超出上限。",
        "",
    ),
    (
        "points.award_none",
        {"source": "review"},
        "You have reached the limit for Review points for now; none were added.",
        "",
        "您的“评价”积分已达上限，本次未获得积分。",
        "",
    ),
    (
        "points.award_switched_off",
        {"source": "signup"},
        "Points for Sign-up bonus are switched off at the moment.",
        "",
        "“注册奖励”暂不发放积分。",
        "",
    ),
    (
        "points.signup_needs_email",
        {},
        "A verified e-mail address is needed for the sign-up bonus.",
        "",
        "验证邮箱后才能领取注册奖励。",
        "",
    ),
    (
        "points.adjustment",
        {"reason": "Goodwill 补偿"},
        "Added by the mall: Goodwill 补偿",
        "",
        "商城补发：Goodwill 补偿",
        "",
    ),
    (
        "points.signup_already_given",
        {},
        "The sign-up bonus was already given to this e-mail address or phone.",
        "",
        "该邮箱或手机号已领取过注册奖励。",
        "",
    ),
    (
        "accounts.referral_signup",
        {"friend": "fr***@example.com"},
        "Friend joined: fr***@example.com",
        "",
        "好友已加入：fr***@example.com",
        "",
    ),
    (
        "accounts.referral_first_order",
        {"friend": "fr***@example.com"},
        "Friend's first order: fr***@example.com",
        "",
        "好友首单：fr***@example.com",
        "",
    ),
    ("accounts.referral_held", {}, "Invitation held for review", "", "邀请待审核", ""),
    ("accounts.referral_first_order_refunded", {}, "Friend's first order was refunded", "", "好友首单已退款", ""),
    (
        "accounts.expiry_reminder",
        {"points": 1, "dates": [["2026-12-10", 1]]},
        "1 point expires on 2026-12-10",
        "Spend it by the end of 2026-12-10, or it expires. Your points page lists what expires when.",
        "1积分将于2026-12-10过期",
        "请在2026-12-10当天结束前使用，逾期积分将过期。可在“我的积分”页面查看各笔积分的过期时间。",
    ),
    (
        "accounts.expiry_reminder",
        {"points": 1209, "dates": [["2026-12-10", 459], ["2026-12-20", 750]]},
        "1209 points expire between 2026-12-10 and 2026-12-20",
        "2026-12-10: 459 points\n2026-12-20: 750 points\nSpend them by the end of each day, or they expire. "
        "Your points page lists what expires when.",
        "1209积分将于2026-12-10至2026-12-20期间陆续过期",
        "2026-12-10：459积分\n2026-12-20：750积分\n请在各日期当天结束前使用，逾期积分将过期。可在“我的积分”页面查看各笔积分的过期时间。",
    ),
    (
        "accounts.tier_upgraded",
        {"tier": {"zh": "金牌会员", "en": "Gold"}, "percent": 85, "multiplier": "1.2", "draws": 2},
        "Congratulations, you are now Gold",
        # The lottery exists: the free draws are promised (docs/decisions/0020).
        "Your benefits: 15% off the points price, earn points ×1.2 and draw 2 free prizes a month.",
        "恭喜您，已成为金牌会员",
        "您的权益：积分价8.5折，获得积分×1.2，每月可免费抽奖2次。",
    ),
    (
        "accounts.tier_downgraded",
        {"tier": {"zh": "金牌会员", "en": "Gold"}},
        "Your tier is now Gold",
        "Tiers follow the points you earned over the last months. Your tier page shows what it takes to move up again.",
        "您的会员等级已变更为金牌会员",
        "会员等级根据您近几个月获得的积分评定。在会员等级页面可查看再次升级的条件。",
    ),
    (
        "accounts.tier_warning",
        {"points": 320, "date": "2026-06-30", "tier": {"zh": "金牌会员", "en": "Gold"}},
        "Earn 320 more points by 2026-06-30 to keep Gold",
        "Tiers are reviewed on the 1st of each month. Points count once they are available, not while pending.",
        "请在2026-06-30前再获得320积分，即可保持金牌会员",
        "会员等级于每月1日评定。积分到账后才计入，待到账积分不计入。",
    ),
    (
        "accounts.signup_bonus",
        {"points": 100},
        "Welcome! 100 points were added",
        "Thank you for confirming your e-mail address. Spend your points in the mall, or read the points "
        "rules for more ways to earn.",
        "欢迎！已为您添加100积分",
        "感谢您验证邮箱。您可以在积分商城使用积分，或查看积分规则了解更多获得积分的方式。",
    ),
    (
        "accounts.signup_bonus_refused",
        {"reason": {"code": "points.signup_already_given", "params": {}}},
        "About your sign-up bonus",
        "The sign-up bonus was already given to this e-mail address or phone.",
        "关于您的注册奖励",
        "该邮箱或手机号已领取过注册奖励。",
    ),
    (
        "accounts.referral_held_notice",
        {"friend": "fr***@example.com"},
        "Your invitation of fr***@example.com is being reviewed",
        "Several sign-ups came from the same place within a short time, so we check them before paying "
        "invitation rewards. You will get a message when the review is done.",
        "您对fr***@example.com的邀请正在审核中",
        "短时间内同一地点有多个注册，因此我们会在发放邀请奖励前进行审核。审核完成后，您会收到站内信通知。",
    ),
    (
        "accounts.referral_monthly_cap",
        {"friend": "fr***@example.com", "cap": 20},
        "Your friend fr***@example.com joined",
        "You have reached this month's limit of 20 rewarded invitations, so this one earns no points. The "
        "limit starts again on the 1st of next month.",
        "您的好友fr***@example.com已加入",
        "您本月获得邀请奖励的次数已达上限（20次），本次邀请不获得积分。下月1日起重新计算。",
    ),
    (
        "accounts.referral_signup_reward",
        {"friend": "fr***@example.com", "points": 50, "available_at": "2026-12-05T03:00:00+00:00"},
        "Your friend fr***@example.com joined: 50 points for you",
        "They become available at 11:00, after a routine check of recent sign-ups. Their first purchase "
        "earns you a further reward.",
        "您的好友fr***@example.com已加入：您获得50积分",
        "积分将于11:00到账（需先对近期注册进行例行核查）。好友首次购物后，您还将获得额外奖励。",
    ),
    (
        "accounts.referral_signup_reward",
        {"friend": "fr***@example.com", "points": 50, "available_at": None},
        "Your friend fr***@example.com joined: 50 points for you",
        "Thank you for inviting them. Their first purchase earns you a further reward.",
        "您的好友fr***@example.com已加入：您获得50积分",
        "感谢您的邀请。好友首次购物后，您还将获得额外奖励。",
    ),
    (
        "accounts.referral_signup_no_reward",
        {
            "friend": "fr***@example.com",
            "reason": {"code": "points.award_switched_off", "params": {"source": "referral_signup"}},
        },
        "Your friend fr***@example.com joined",
        "Points for Friend signed up are switched off at the moment.",
        "您的好友fr***@example.com已加入",
        "“好友注册”暂不发放积分。",
    ),
    (
        "accounts.referral_first_order_reward",
        {"friend": "fr***@example.com", "points": 30, "available_on": "2026-12-17"},
        "fr***@example.com made a first purchase",
        "30 points for you, available from 2026-12-17, once your friend's returns window is over.",
        "fr***@example.com已完成首次购物",
        "您获得30积分，待好友退货期结束后，将于2026-12-17到账。",
    ),
    (
        "accounts.referral_first_order_reward",
        {"friend": "fr***@example.com", "points": 1, "available_on": None},
        "fr***@example.com made a first purchase",
        "1 point for you, available now.",
        "fr***@example.com已完成首次购物",
        "您获得1积分，已到账。",
    ),
    (
        "accounts.referral_first_order_no_reward",
        {
            "friend": "fr***@example.com",
            "reason": {"code": "points.award_none", "params": {"source": "referral_first_order"}},
        },
        "fr***@example.com made a first purchase",
        "You have reached the limit for Friend's first order points for now; none were added.",
        "fr***@example.com已完成首次购物",
        "您的“好友首单”积分已达上限，本次未获得积分。",
    ),
    (
        "accounts.referral_first_order_withdrawn",
        {"friend": "fr***@example.com", "points": 30},
        "The first-order reward for fr***@example.com was cancelled",
        "Your friend's first order was cancelled or refunded, so its 30 pending points will not be added.",
        "fr***@example.com的首单奖励已取消",
        "您的好友取消了首单或已退款，因此30待到账积分将不会发放。",
    ),
    (
        "accounts.referral_first_order_withdrawn",
        {"friend": "fr***@example.com", "points": 30, "pending": False},
        "The first-order reward for fr***@example.com was cancelled",
        "Your friend's first order was cancelled or refunded, so the 30 points it earned you were taken back.",
        "fr***@example.com的首单奖励已取消",
        "您的好友取消了首单或已退款，因此该首单为您带来的30积分已扣回。",
    ),
    (
        "accounts.referral_self",
        {"friend": "fr***@example.com"},
        "Your friend fr***@example.com joined",
        "This account has your own e-mail address or phone number, so this invitation earns no points.",
        "您的好友fr***@example.com已加入",
        "该账号使用的是您本人的邮箱或手机号，因此本次邀请不获得积分。",
    ),
    (
        "accounts.account_frozen",
        {"reason": "Scripted check-ins"},
        "Your points account is frozen",
        "You cannot earn or spend points until it is unfrozen. If you think this is a mistake, please contact support. "
        "Reason: Scripted check-ins",
        "您的积分账户已冻结",
        "账户解冻前，您不能获得或使用积分。如有疑问，请联系客服。原因：Scripted check-ins",
    ),
    (
        "accounts.pin_locked",
        {"attempts": 5, "locked_until": "2026-03-01T08:15:00+00:00"},
        "Your payment PIN is locked",
        "A wrong payment PIN was entered 5 times in a row, so redeeming with it is locked until 2026-03-01 16:15. "
        "If this was not you, change your password and your payment PIN now.",
        "您的支付密码已锁定",
        "支付密码已连续输错5次，2026-03-01 16:15前无法用它兑换。如果不是您本人操作，请立即修改登录密码和支付密码。",
    ),
    (
        "accounts.account_unfrozen",
        {},
        "Your points account is unfrozen",
        "You can earn and spend points again.",
        "您的积分账户已解冻",
        "您可以重新获得和使用积分了。",
    ),
    (
        "accounts.referral_approved",
        {"friend": "fr***@example.com"},
        "Your invitation of fr***@example.com was approved",
        "You get your reward as soon as your friend confirms their e-mail address.",
        "您对fr***@example.com的邀请已审核通过",
        "好友验证邮箱后，您将立即获得奖励。",
    ),
    (
        "accounts.referral_denied",
        {"friend": "fr***@example.com"},
        "Your invitation of fr***@example.com earns no rewards",
        "After a review, this invitation does not qualify for rewards. Your friend's account is not affected.",
        "您对fr***@example.com的邀请不获得奖励",
        "经审核，本次邀请不符合奖励条件。您好友的账号不受影响。",
    ),
    (
        "accounts.referral_known_email",
        {"friend": "fr***@example.com"},
        "Your friend fr***@example.com joined",
        "This e-mail address was invited before, so this invitation earns no points.",
        "您的好友fr***@example.com已加入",
        "该邮箱此前已被邀请过，因此本次邀请不获得积分。",
    ),
    (
        "catalog.redeemed",
        {"name": {"zh": "雨伞", "en": "Umbrella"}, "quantity": 2},
        "Redeemed: Umbrella ×2",
        "",
        "兑换：雨伞 ×2",
        "",
    ),
    (
        "catalog.refunded",
        {"name": {"zh": "雨伞", "en": "Umbrella"}, "quantity": 2},
        "Refunded: Umbrella ×2",
        "",
        "退回：雨伞 ×2",
        "",
    ),
    ("catalog.review", {"name": {"zh": "雨伞", "en": "Umbrella"}}, "Review: Umbrella", "", "评价：雨伞", ""),
    (
        "catalog.review_removed",
        {"name": {"zh": "雨伞", "en": "Umbrella"}},
        "Review removed: Umbrella",
        "",
        "评价已删除：雨伞",
        "",
    ),
    (
        "catalog.low_stock",
        {"name": {"zh": "雨伞", "en": "Umbrella"}, "stock": 3},
        "Low stock: Umbrella (3 left)",
        "Restock it or take it off the shelf in the admin.",
        "库存不足：雨伞（剩余3件）",
        "请在管理后台补货或将其下架。",
    ),
    ("catalog.payment_timeout", {}, "Payment not received in time", "", "超时未支付", ""),
    ("catalog.coupon_used", {}, "Coupon used in store", "", "优惠券已在门店核销", ""),
    (
        "catalog.privilege_taken_back",
        {},
        "Cancelled before use: the privilege was taken back",
        "",
        "使用前已取消：权益已收回",
        "",
    ),
    ("catalog.codes_imported", {"n": 3}, "3 codes imported", "", "已导入3个兑换码", ""),
    (
        "catalog.lottery_prize",
        {"reference": "lottery.draw:42"},
        "Lottery prize (lottery.draw:42): 0 points",
        "",
        "抽奖奖品（lottery.draw:42）：0 积分",
        "",
    ),
    # The lottery (issue #11).
    (
        "lottery.draw_spend",
        {"campaign": {"zh": "幸运转盘", "en": "Lucky wheel"}},
        "Prize draw: Lucky wheel",
        "",
        "积分抽奖：幸运转盘",
        "",
    ),
    (
        "lottery.prize_points",
        {"campaign": {"zh": "幸运转盘", "en": "Lucky wheel"}, "prize": {"zh": "一百积分", "en": "100 points"}},
        "Prize draw win: 100 points (Lucky wheel)",
        "",
        "抽奖中奖：一百积分（幸运转盘）",
        "",
    ),
    (
        "lottery.winner",
        {"campaign": {"zh": "幸运转盘", "en": "Lucky wheel"}, "prize": {"zh": "保温杯", "en": "Flask"}, "draw": 7},
        "You won Flask",
        "Your draw #7 in “Lucky wheel” won Flask. Points are in your account at once; an item or a code is in "
        "your orders.",
        "恭喜您抽中保温杯",
        "您在“幸运转盘”的第 7 次抽奖抽中了保温杯。积分即时到账；实物或兑换码请在“我的订单”中查看。",
    ),
    (
        "catalog.coupon_second_use_refused",
        {"used_at": "2026-05-01 10:30", "used_by": "Till 1"},
        "Second use refused (used 2026-05-01 10:30 by Till 1)",
        "",
        "拒绝重复核销（已于2026-05-01 10:30由Till 1核销）",
        "",
    ),
    # Leaderboard (tasks): the monthly prize's history text and inbox message.
    (
        "tasks.leaderboard_prize",
        {"month": "2026-10", "rank": 2},
        "Leaderboard prize: no. 2 in 2026-10",
        "",
        "排行榜奖励：2026-10 第2名",
        "",
    ),
    (
        "tasks.leaderboard_prize_message",
        {"month": "2026-10", "rank": 2, "points": 200},
        "You placed no. 2 on the 2026-10 leaderboard",
        "200 points for your place have been added to your account. Thank you for taking part!",
        "恭喜您在2026-10排行榜中获得第2名",
        "200积分奖励已存入您的账户，感谢参与！",
    ),
    # --- tasks: tasks and surveys
    (
        "tasks.task_reward",
        {"task": {"zh": "完善资料", "en": "Complete your profile"}},
        "Task: Complete your profile",
        "",
        "任务：完善资料",
        "",
    ),
    (
        "tasks.task_reward_reversed",
        {"task": {"zh": "首次兑换", "en": "First redemption"}},
        "Task reward taken back (its cause was undone): First redemption",
        "",
        "任务奖励已收回（其原因已撤销）：首次兑换",
        "",
    ),
    # --- tasks: daily check-in
    (
        "tasks.checkin",
        {"day": "2026-01-14", "streak": 3, "multiplier": ""},
        "Daily check-in 2026-01-14 (day 3 of a streak)",
        "",
        "每日签到 2026-01-14（连续第3天）",
        "",
    ),
    (
        "tasks.checkin",
        {"day": "2026-01-14", "streak": 1, "multiplier": "1.5"},
        "Daily check-in 2026-01-14 (day 1 of a streak), check-in card ×1.5",
        "",
        "每日签到 2026-01-14（连续第1天），签到卡 ×1.5",
        "",
    ),
    ("tasks.checkin_makeup", {"day": "2026-01-13"}, "Make-up check-in for 2026-01-13", "", "补签 2026-01-13", ""),
    (
        "tasks.checkin_makeup_spend",
        {"day": "2026-01-13"},
        "Paid for a make-up check-in for 2026-01-13",
        "",
        "补签 2026-01-13 的费用",
        "",
    ),
    (
        "tasks.checkin_bonus",
        {"days": 10, "cycle": "monthly", "cycle_start": "2026-01-01"},
        "Check-in bonus: 10 days in the month of 2026-01-01",
        "",
        "累计签到奖励：2026-01-01 当月签到10天",
        "",
    ),
    (
        "tasks.checkin_bonus",
        {"days": 3, "cycle": "weekly", "cycle_start": "2026-01-12"},
        "Check-in bonus: 3 days in the week of 2026-01-12",
        "",
        "累计签到奖励：2026-01-12 当周签到3天",
        "",
    ),
    (
        "tasks.checkin_reminder",
        {"day": "2026-01-14"},
        "Don't forget to check in today",
        "You haven't checked in on 2026-01-14 yet. Check in to keep your streak going.",
        "今天别忘了签到",
        "您 2026-01-14 还没有签到，现在签到可保持连续天数。",
    ),
    (
        "content.announcement",
        {"title": {"zh": "春节发货安排", "en": "Shipping over the Spring Festival"}},
        "Announcement: Shipping over the Spring Festival",
        "Open the announcement to read it.",
        "公告：春节发货安排",
        "打开公告查看全文。",
    ),
    (
        "content.feedback_reply",
        {"feedback": 7, "category": "redemption", "status": "resolved", "reply": "已发货 Shipped."},
        "Reply to your feedback #7 (Products and redemption)",
        "Status: Resolved. 已发货 Shipped.",
        "您的反馈 #7（商品与兑换）有了回复",
        "状态：已解决。已发货 Shipped.",
    ),
    # Issue #12 ("Events"): the zh texts below pass once the lead's .po has these translations.
    (
        "catalog.order_received",
        {"order": 7, "name": UMBRELLA},
        "Order #7 received: Umbrella",
        "The mall is checking your order. You will get a message when it is approved.",
        "订单#7已收到：雨伞",
        "商城正在审核您的订单，审核通过后会给您发消息。",
    ),
    (
        "catalog.order_payment_due",
        {"order": 7, "name": UMBRELLA, "cash": "12.50", "pay_by": "2025-06-01T02:15:00+00:00"},
        "Order #7: one more step to pay for Umbrella",
        "Pay ¥12.50 by 2025-06-01 10:15, or the order is cancelled and your points come back.",
        "订单#7：还差一步，请为雨伞付款",
        "请在2025-06-01 10:15前支付¥12.50，否则订单将被取消，积分将退回。",
    ),
    (
        "catalog.order_paid",
        {"order": 7, "name": UMBRELLA, "cash": "12.50"},
        "Order #7 paid: Umbrella",
        "We received your payment of ¥12.50.",
        "订单#7已付款：雨伞",
        "我们已收到您支付的¥12.50。",
    ),
    (
        "catalog.order_approved",
        {"order": 7, "name": UMBRELLA},
        "Order #7 · To ship: Umbrella",
        "Your order is being packed and will ship soon.",
        "订单#7 · 待发货：雨伞",
        "您的订单正在打包，即将发货。",
    ),
    (
        "catalog.order_rejected",
        {"order": 7, "name": UMBRELLA, "reason": "Out of season", "points": 500, "cash": "12.50"},
        "Order #7 · Declined: Umbrella",
        "The mall could not accept this order: Out of season. Your 500 points were refunded. "
        "The ¥12.50 you paid is being refunded to your original payment method.",
        "订单#7 · 未通过：雨伞",
        "商城无法接受此订单：Out of season。您的500积分已退回。您支付的¥12.50正在原路退回。",
    ),
    (
        "catalog.order_shipped",
        {"order": 7, "name": UMBRELLA, "carrier": "SF Express", "tracking": "SF123"},
        "Order #7 · To receive: Umbrella",
        "Carrier: SF Express. Tracking number: SF123. Confirm receipt once it arrives.",
        "订单#7 · 待收货：雨伞",
        "承运商：SF Express。运单号：SF123。收到后请确认收货。",
    ),
    (
        "catalog.order_delivered",
        {"order": 7, "name": UMBRELLA},
        "Order #7 · Delivered: Umbrella",
        "Confirm receipt and tell other members what you think.",
        "订单#7 · 已签收：雨伞",
        "请确认收货，并与其他会员分享您的评价。",
    ),
    (
        "catalog.order_code_ready",
        {"order": 7, "name": UMBRELLA, "coupon": False},
        "Order #7: your code for Umbrella is ready",
        "Open the order to see it. Keep it to yourself: anyone who has it can use it.",
        "订单#7：雨伞的兑换码已就绪",
        "请打开订单查看。请勿泄露：任何人获得后都可以使用。",
    ),
    (
        "catalog.order_completed",
        {"order": 7, "name": UMBRELLA},
        "Order #7 completed: Umbrella",
        "All done. Enjoy!",
        "订单#7已完成：雨伞",
        "已全部完成，祝您使用愉快！",
    ),
    (
        "catalog.order_cancelled",
        {"order": 7, "name": UMBRELLA, "by": "operator", "reason": "Damaged", "points": 500, "cash": ""},
        "Order #7 cancelled: Umbrella",
        "The mall cancelled this order: Damaged. Your 500 points were refunded.",
        "订单#7已取消：雨伞",
        "商城已取消此订单：Damaged。您的500积分已退回。",
    ),
    (
        "catalog.order_refunded",
        {"order": 7, "name": UMBRELLA, "cash": "12.50", "late": False},
        "Order #7: ¥12.50 refunded",
        "¥12.50 was refunded to your original payment method.",
        "订单#7：¥12.50已退款",
        "¥12.50已原路退回。",
    ),
    (
        "accounts.points_earned",
        {"points": 800, "what": {"code": "points.purchase", "params": {"order": "A1"}}, "available_on": "2025-06-08"},
        "You earned 800 points",
        "For: Purchase A1\nThey are pending until 2025-06-08, then you can spend them.",
        "您获得了800积分",
        "来源：购物订单A1\n这些积分在2025-06-08前为待到账，之后即可使用。",
    ),
    (
        "tasks.task_available",
        {"task": {"zh": "完善资料", "en": "Complete your profile"}, "points": 50},
        "New task: Complete your profile",
        "Complete it to earn 50 points. Open your tasks to start.",
        "新任务：完善资料",
        "完成即可获得50积分。打开任务页面开始吧。",
    ),
]


def read(language: str, code: str, params: dict) -> tuple[str, str]:
    with translation.override(language):
        text = notices.render(code, params)
    assert text is not None
    return text.title, text.body


@pytest.mark.parametrize(
    ("code", "params", "en_title", "en_body", "zh_title", "zh_body"),
    NOTICES,
    ids=[f"{row[0]}-{i}" for i, row in enumerate(NOTICES)],
)
def test_every_notice_renders_in_both_languages(code, params, en_title, en_body, zh_title, zh_body):
    assert read("en", code, params) == (en_title, en_body)
    assert read("zh-hans", code, params) == (zh_title, zh_body)


def test_every_registered_code_is_rendered_above():
    # A new app's notices.py registers its codes at start-up (autodiscovered): each needs a row above.
    assert set(notices.codes()) == {row[0] for row in NOTICES}


def test_a_new_app_adds_its_codes_without_touching_the_ledger(member, monkeypatch):
    monkeypatch.setattr(notices, "_registry", dict(notices._registry))

    @notices.register("lottery.prize_won")  # what a lottery/notices.py would do
    def _prize_won(params):
        return f"Prize: {notices.localized(params['prize'])}"

    points_services.points_earn(
        user_id=member.pk,
        amount=10,
        idempotency_key="e",
        memo_code="lottery.prize_won",
        memo_params={"prize": {"zh": "耳机", "en": "Headphones"}},
    )
    assert (history(member, "en"), history(member, "zh-hans")) == (["Prize: Headphones"], ["Prize: 耳机"])
    with pytest.raises(ImproperlyConfigured):
        notices.register("lottery.prize_won")(lambda params: "another text for a taken code")


def test_a_code_that_does_not_exist_or_does_not_fit_is_refused_when_written(member):
    with pytest.raises(InvalidMessageError):
        points_services.points_earn(user_id=member.pk, amount=10, idempotency_key="e", memo_code="points.nope")
    with pytest.raises(InvalidMessageError):
        points_services.points_earn(user_id=member.pk, amount=10, idempotency_key="e", memo_code="catalog.redeemed")
    with pytest.raises(InvalidNotificationError):
        accounts_services.notification_send(
            user_id=member.pk, kind=NotificationKind.POINTS, message_code="accounts.tier_warning", params={"x": 1}
        )
    assert (Entry.objects.count(), Notification.objects.count()) == (0, 0)


def test_a_row_whose_code_is_no_longer_known_still_reads(member):
    receipt = points_services.points_earn(
        user_id=member.pk, amount=10, idempotency_key="e", memo_code="points.purchase", memo_params={"order": "A1"}
    )
    Entry.objects.filter(pk=receipt.entry_id).update(memo_code="lottery.gone")
    assert history(member) == ["Earned"]


# --- History: written in one language, read in another ---------------------------------------


@pytest.fixture
def umbrella(db) -> Product:
    category = Category.objects.create(name_zh="生活", name_en="Living", slug="living")
    return Product.objects.create(
        name_zh="雨伞", name_en="Umbrella", category=category, kind=ProductKind.PHYSICAL, points_price=100, stock=5
    )


@pytest.fixture
def buyer(db):
    user = MemberFactory()
    accounts_services.pin_set(user_id=user.pk, pin=PIN)
    points_services.points_adjust(
        user_id=user.pk, amount=500, reason="Welcome gift", actor_id=StaffFactory().pk, idempotency_key="fund"
    )
    return user


def history(user, language: str = "en") -> list[str]:
    with translation.override(language):
        return [row.description for row in points_selectors.history(user_id=user.pk).object_list]


def redeem(user, product: Product, key: str = "r1"):
    address = accounts_services.address_create(
        user_id=user.pk,
        recipient="王小明",
        phone="13800138000",
        province="上海市",
        city="上海市",
        district="浦东新区",
        detail="世纪大道 100 号",
        postal_code="200120",
    )
    return catalog_services.order_redeem(
        user_id=user.pk, product_id=product.pk, quantity=1, idempotency_key=key, pin=PIN, address_id=address.id
    )


def test_a_redemption_made_in_chinese_reads_in_english_for_an_english_reader(buyer, umbrella):
    with translation.override("zh-hans"):
        redeem(buyer, umbrella)
    # The operator's adjustment reason is their own words: shown as written in both languages.
    assert history(buyer, "en") == ["Redeemed: Umbrella ×1", "Adjusted by the mall: Welcome gift"]
    assert history(buyer, "zh-hans") == ["兑换：雨伞 ×1", "商城调整：Welcome gift"]


def test_a_redemption_made_in_english_reads_in_chinese_for_a_chinese_reader(buyer, umbrella):
    with translation.override("en"):
        redeem(buyer, umbrella)
    assert history(buyer, "zh-hans")[0] == "兑换：雨伞 ×1"
    entry = Entry.objects.get(kind="spend")
    assert (entry.memo_code, entry.memo_params, entry.memo) == (
        "catalog.redeemed",
        {"name": UMBRELLA, "quantity": 1},
        "",
    )


def test_a_cancelled_order_reads_refunded_once_in_each_language(buyer, umbrella):
    order = redeem(buyer, umbrella)
    with translation.override("zh-hans"):
        catalog_services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk)
    assert history(buyer, "en")[:2] == ["Refunded: Umbrella ×1", "Redeemed: Umbrella ×1"]
    assert history(buyer, "zh-hans")[:2] == ["退回：雨伞 ×1", "兑换：雨伞 ×1"]
    assert points_services.points_verify().ok


def test_a_refund_or_reversal_without_a_text_of_its_own_names_what_it_undoes_once(member):
    earned = points_services.points_earn(
        user_id=member.pk, amount=100, idempotency_key="e", memo_code="points.purchase", memo_params={"order": "A1"}
    )
    spent = points_services.points_spend(user_id=member.pk, amount=30, idempotency_key="s")
    for key, amount in (("r1", 10), ("r2", 20)):
        points_services.points_refund(
            user_id=member.pk, spend_entry_id=spent.entry_id, idempotency_key=key, amount=amount
        )
    points_services.points_reverse(user_id=member.pk, earn_entry_id=earned.entry_id, idempotency_key="v", amount=5)
    assert history(member, "en") == [
        "Taken back: Purchase A1",
        "Points refunded",
        "Points refunded",
        "Spent",
        "Purchase A1",
    ]
    assert history(member, "zh-hans")[0] == "扣回：购物订单A1"
    assert Entry.objects.filter(kind__in=["refund", "reverse"]).exclude(memo="").count() == 0
    assert points_services.points_verify().ok


# --- Inbox: sent in one language, read in another ---------------------------------------------


def test_an_inbox_message_sent_while_chinese_is_active_reads_in_english(client, member, settings):
    settings.NOTIFY_POINTS_EARNED_MIN = 10_000  # only the tier's message (test_points_earned_notice has the other)
    User.objects.filter(pk=member.pk).update(language="en")
    with translation.override("zh-hans"):
        points_services.points_earn(user_id=member.pk, amount=1000, idempotency_key="e")  # reaches Silver
    stored = Notification.objects.values("message_code", "params", "title", "body").get(user=member)
    assert stored == {
        "message_code": "accounts.tier_upgraded",
        "params": {"tier": {"zh": "银牌会员", "en": "Silver"}, "percent": 95, "multiplier": "1.1", "draws": 1},
        "title": "",
        "body": "",
    }
    client.force_login(member)
    page = client.get(reverse("inbox")).content.decode()
    assert "Congratulations, you are now Silver" in page
    assert "银牌会员" not in page
    with translation.override("zh-hans"):
        [message] = accounts_selectors.notification_list(user_id=member.pk).object_list
    assert message.title == "恭喜您，已成为银牌会员"


def test_an_operators_free_text_message_is_shown_as_written(member):
    accounts_services.notification_send(
        user_id=member.pk, kind=NotificationKind.ANNOUNCEMENT, title="Maintenance tonight", body="22:00–23:00"
    )
    with translation.override("zh-hans"):
        [message] = accounts_selectors.notification_list(user_id=member.pk).object_list
    assert (message.title, message.body) == ("Maintenance tonight", "22:00–23:00")


# --- The data migrations -------------------------------------------------------------------


entry_migration = importlib.import_module("points.migrations.0009_entry_texts_to_codes")
notification_migration = importlib.import_module("accounts.migrations.0010_notification_texts_to_codes")


@pytest.mark.parametrize(
    ("kind", "memo", "related_memo", "expected"),
    [
        ("spend", "Redeemed: Umbrella ×1", "", ("catalog.redeemed", {"name": "Umbrella", "quantity": 1})),
        ("spend", "兑换：雨伞 ×2", "", ("catalog.redeemed", {"name": "雨伞", "quantity": 2})),
        (
            "refund",
            "Refunded: Umbrella ×1",
            "Redeemed: Umbrella ×1",
            ("catalog.refunded", {"name": "Umbrella", "quantity": 1}),
        ),
        (
            "refund",
            "退回：Umbrella ×1",
            "Redeemed: Umbrella ×1",
            ("catalog.refunded", {"name": "Umbrella", "quantity": 1}),
        ),
        # A refund that copied its spend's memo: the refund's own wording, not "Refunded: Redeemed: …".
        ("refund", "兑换：雨伞 ×1", "兑换：雨伞 ×1", ("catalog.refunded", {"name": "雨伞", "quantity": 1})),
        ("earn", "Review: Umbrella", "", ("catalog.review", {"name": "Umbrella"})),
        ("earn", "评价：雨伞", "", ("catalog.review", {"name": "雨伞"})),
        ("earn", "Purchase A-1", "", ("points.purchase", {"order": "A-1"})),
        ("vest", "购物订单A-1", "", ("points.purchase", {"order": "A-1"})),
        ("reverse", "Refund of purchase A-1", "Purchase A-1", ("points.purchase_refund", {"order": "A-1"})),
        ("reverse", "购物订单A-1退款", "购物订单A-1", ("points.purchase_refund", {"order": "A-1"})),
        (
            "reverse",
            "First purchase bonus (order A-1 refunded)",
            "",
            ("points.first_purchase_bonus_refund", {"order": "A-1"}),
        ),
        ("reverse", "首单奖励（订单A-1已退款）", "", ("points.first_purchase_bonus_refund", {"order": "A-1"})),
        ("earn", "Friend joined: fr***@example.com", "", ("accounts.referral_signup", {"friend": F})),
        ("earn", "好友已加入：fr***@example.com", "", ("accounts.referral_signup", {"friend": F})),
        ("earn", "Friend's first order: fr***@example.com", "", ("accounts.referral_first_order", {"friend": F})),
        ("earn", "好友首单：fr***@example.com", "", ("accounts.referral_first_order", {"friend": F})),
        ("reverse", "Invitation held for review", "Friend joined: x", ("accounts.referral_held", {})),
        ("reverse", "邀请待审核", "", ("accounts.referral_held", {})),
        ("reverse", "Friend's first order was refunded", "", ("accounts.referral_first_order_refunded", {})),
        ("reverse", "好友首单已退款", "", ("accounts.referral_first_order_refunded", {})),
        # A reversal that only copied its earn's memo says nothing of its own: "Taken back: <the earn>".
        ("reverse", "Friend joined: fr***@example.com", "Friend joined: fr***@example.com", ("", {})),
        # Operators' words and texts in no known format stay as written.
        ("adjust", "Purchase A-1", "", None),
        ("earn", "Bonus for the Spring Festival", "", None),
        ("spend", "", "", None),
    ],
)
def test_the_entry_migration_recognises_the_old_texts_in_both_languages(kind, memo, related_memo, expected):
    result = entry_migration.convert(kind, memo, related_memo)
    assert (result[:2] if result else None) == expected


def old_entry(user, key: str, memo: str, **kwargs) -> Entry:
    """An entry as the mall wrote it before codes: a sentence in ``memo``."""
    receipt = points_services.points_earn(user_id=user.pk, amount=10, idempotency_key=key, **kwargs)
    Entry.objects.filter(pk=receipt.entry_id).update(memo=memo, memo_code="", memo_params={})
    return Entry.objects.get(pk=receipt.entry_id)


def test_the_entry_migration_converts_stored_rows_and_can_run_twice(buyer, umbrella):
    order = redeem(buyer, umbrella)
    catalog_services.order_cancel(order_id=order.pk, member_id=buyer.pk, actor_id=buyer.pk)
    # The rows as the old code wrote them: the redemption in English, the refund in Chinese.
    Entry.objects.filter(kind="spend").update(memo="Redeemed: Umbrella ×1", memo_code="", memo_params={})
    Entry.objects.filter(kind="refund").update(memo="退回：Umbrella ×1", memo_code="", memo_params={})
    old_entry(buyer, "p", "购物订单A-1")
    old_entry(buyer, "x", "Bonus for the Spring Festival")

    entry_migration.forwards(django_apps, None)
    entry_migration.forwards(django_apps, None)

    rows = list(Entry.objects.order_by("pk").values_list("kind", "memo_code", "memo_params", "memo"))
    assert rows == [
        ("adjust", "", {}, "Welcome gift"),
        ("spend", "catalog.redeemed", {"name": UMBRELLA, "quantity": 1}, "Redeemed: Umbrella ×1"),
        ("refund", "catalog.refunded", {"name": UMBRELLA, "quantity": 1}, "退回：Umbrella ×1"),
        ("earn", "points.purchase", {"order": "A-1"}, "购物订单A-1"),
        ("earn", "", {}, "Bonus for the Spring Festival"),
    ]
    # The example: an English member no longer reads "Refunded: 退回：Umbrella ×1".
    assert history(buyer, "en") == [
        "Bonus for the Spring Festival",
        "Purchase A-1",
        "Refunded: Umbrella ×1",
        "Redeemed: Umbrella ×1",
        "Adjusted by the mall: Welcome gift",
    ]
    assert history(buyer, "zh-hans")[1:4] == ["购物订单A-1", "退回：雨伞 ×1", "兑换：雨伞 ×1"]


def test_the_entry_migration_drops_copied_memos_and_its_reversal_puts_them_back(member):
    earn = old_entry(member, "e", "Friend joined: fr***@example.com")
    reversal = points_services.points_reverse(user_id=member.pk, earn_entry_id=earn.pk, idempotency_key="v")
    Entry.objects.filter(pk=reversal.entry_id).update(memo="Friend joined: fr***@example.com")

    entry_migration.forwards(django_apps, None)

    assert Entry.objects.filter(pk=reversal.entry_id).values_list("memo_code", "memo").get() == ("", "")
    assert history(member, "en") == ["Taken back: Friend joined: fr***@example.com", "Friend joined: fr***@example.com"]
    entry_migration.backwards(django_apps, None)
    assert list(Entry.objects.order_by("pk").values_list("memo_code", "memo")) == [
        ("", "Friend joined: fr***@example.com"),
        ("", "Friend joined: fr***@example.com"),
    ]


T0 = datetime(2026, 12, 5, 10, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        (
            "1209 points expire on 2026-12-10",
            "Spend them by the end of 2026-12-10, or they expire. Your points page lists what expires when.",
            ("accounts.expiry_reminder", {"points": 1209, "dates": [["2026-12-10", 1209]]}),
        ),
        (
            "120积分将于2026-12-31过期",
            "请在2026-12-31当天结束前使用，逾期积分将过期。可在“我的积分”页面查看各笔积分的过期时间。",
            ("accounts.expiry_reminder", {"points": 120, "dates": [["2026-12-31", 120]]}),
        ),
        (
            "Congratulations, you are now Gold",
            "Your benefits: redeem at 85% of the points price, earn points ×1.2 and draw 2 free prizes a month.",
            ("accounts.tier_upgraded", {"tier": GOLD, "percent": 85, "multiplier": "1.2", "draws": 2}),
        ),
        (
            "恭喜您，已成为金牌会员",
            "您的权益：按积分价的85%兑换，获得积分×1.2，每月可免费抽奖2次。",
            ("accounts.tier_upgraded", {"tier": GOLD, "percent": 85, "multiplier": "1.2", "draws": 2}),
        ),
        (
            "您的会员等级已变更为银牌会员",
            "会员等级根据您近几个月获得的积分评定。在会员等级页面可查看再次升级的条件。",
            ("accounts.tier_downgraded", {"tier": {"zh": "银牌会员", "en": "Silver"}}),
        ),
        (
            "Earn 320 more points by 2026-06-30 to keep Gold",
            "Tiers are reviewed on the 1st of each month. Points count once they are available, not while pending.",
            ("accounts.tier_warning", {"points": 320, "date": "2026-06-30", "tier": GOLD}),
        ),
        (
            "Welcome! 1 point was added",
            "Thank you for confirming your e-mail address. Spend your points in the mall, "
            "or read the points rules for more ways to earn.",
            ("accounts.signup_bonus", {"points": 1}),
        ),
        (
            "关于您的注册奖励",
            "“注册奖励”暂不发放积分。",
            (
                "accounts.signup_bonus_refused",
                {"reason": {"code": "points.award_switched_off", "params": {"source": "signup"}}},
            ),
        ),
        (
            "Your friend fr***@example.com joined: 50 points for you",
            "They become available at 11:00, after a routine check of recent sign-ups. "
            "Their first purchase earns you a further reward.",
            (
                "accounts.referral_signup_reward",
                {"friend": F, "points": 50, "available_at": "2026-12-05T11:00:00+08:00"},
            ),
        ),
        (
            "您的好友fr***@example.com已加入",
            "您本月获得邀请奖励的次数已达上限（20次），本次邀请不获得积分。下月1日起重新计算。",
            ("accounts.referral_monthly_cap", {"friend": F, "cap": 20}),
        ),
        (
            "Your friend fr***@example.com joined",
            "This e-mail address was invited before, so this invitation earns no points.",
            ("accounts.referral_known_email", {"friend": F}),
        ),
        (
            "fr***@example.com已完成首次购物",
            "您获得30积分，待好友退货期结束后，将于2026-12-17到账。",
            ("accounts.referral_first_order_reward", {"friend": F, "points": 30, "available_on": "2026-12-17"}),
        ),
        (
            "fr***@example.com made a first purchase",
            "You have reached the limit for Friend's first order points for now; none were added.",
            (
                "accounts.referral_first_order_no_reward",
                {"friend": F, "reason": {"code": "points.award_none", "params": {"source": "referral_first_order"}}},
            ),
        ),
        (
            "The first-order reward for fr***@example.com was cancelled",
            "Your friend's first purchase was refunded within its returns window, so its 30 "
            "pending points will not be added.",
            ("accounts.referral_first_order_withdrawn", {"friend": F, "points": 30}),
        ),
        (
            "您对fr***@example.com的邀请不获得奖励",
            "经审核，本次邀请不符合奖励条件。您好友的账号不受影响。",
            ("accounts.referral_denied", {"friend": F}),
        ),
        (
            "Low stock: Umbrella (3 left)",
            "Restock it or take it off the shelf in the admin.",
            ("catalog.low_stock", {"name": "Umbrella", "stock": 3}),
        ),
        # Unknown titles, and known titles with a body the mall never wrote, stay as written.
        ("Maintenance tonight", "22:00–23:00", None),
        ("Your friend fr***@example.com joined", "Something else entirely.", None),
    ],
)
def test_the_notification_migration_recognises_the_old_messages_in_both_languages(db, title, body, expected):
    tiers = notification_migration.tier_names(django_apps)
    assert notification_migration.convert(title, body, T0, lambda name: tiers.get(name, name)) == expected


def test_the_notification_migration_converts_stored_rows_and_can_run_twice(member):
    for title, body in (
        (
            "1209 points expire on 2026-12-10",
            "Spend them by the end of 2026-12-10, or they expire. Your points page lists what expires when.",
        ),
        ("Maintenance tonight", "22:00–23:00"),
    ):
        Notification.objects.create(user=member, kind=NotificationKind.POINTS, title=title, body=body)

    notification_migration.forwards(django_apps, None)
    notification_migration.forwards(django_apps, None)

    assert list(Notification.objects.order_by("pk").values_list("message_code", "params")) == [
        ("accounts.expiry_reminder", {"points": 1209, "dates": [["2026-12-10", 1209]]}),
        ("", {}),
    ]
    with translation.override("zh-hans"):
        titles = [n.title for n in accounts_selectors.notification_list(user_id=member.pk).object_list]
    assert sorted(titles) == ["1209积分将于2026-12-10过期", "Maintenance tonight"]


# --- The profile language follows the member -------------------------------------------------


def test_signing_in_on_a_fresh_client_switches_to_the_profile_language(client, member):
    User.objects.filter(pk=member.pk).update(language="zh-hans")
    response = client.post(
        reverse("account_login"), {"login": member.email, "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "zh-hans"
    page = client.get(reverse("my_points"), HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="zh-hans">' in page.content.decode()


def test_a_member_who_never_chose_keeps_the_language_they_signed_in_with(client, member):
    assert member.language == ""
    client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert User.objects.get(pk=member.pk).language == "zh-hans"


def test_every_request_of_a_signed_in_member_uses_the_profile_language(client, member):
    User.objects.filter(pk=member.pk).update(language="zh-hans")
    client.force_login(member)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("my_points"), HTTP_ACCEPT_LANGUAGE="en")
    assert '<html lang="zh-hans">' in response.content.decode()
    assert response.cookies["django_language"].value == "zh-hans"
    # Signed out (allauth's logout keeps cookies), the device keeps the member's language.
    client.post(reverse("account_logout"))
    assert '<html lang="zh-hans">' in client.get(reverse("rules"), HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_the_language_switcher_saves_a_members_choice_in_the_profile(client, member):
    User.objects.filter(pk=member.pk).update(language="en")
    client.force_login(member)
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/points/"})
    assert (response.status_code, response["Location"]) == (302, "/points/")
    assert response.cookies["django_language"].value == "zh-hans"
    assert User.objects.get(pk=member.pk).language == "zh-hans"
    assert '<html lang="zh-hans">' in client.get("/points/").content.decode()


def test_a_visitors_language_switch_changes_no_profile(client, member):
    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    assert response.cookies["django_language"].value == "zh-hans"
    assert User.objects.filter(language="zh-hans").count() == 0


def test_the_order_note_migration_turns_the_timeout_note_into_a_code(buyer, umbrella):
    from catalog.models import OrderEvent

    migration = importlib.import_module("catalog.migrations.0007_order_event_notes_to_codes")
    order = redeem(buyer, umbrella)
    OrderEvent.objects.filter(order=order).update(note="超时未支付")
    for note in ("Changed my mind", "Coupon used in store", "拒绝重复核销（已于2026-05-01 10:30由Till 1核销）"):
        OrderEvent.objects.create(order=order, from_status="approved", to_status="approved", note=note)

    migration.forwards(django_apps, None)
    migration.forwards(django_apps, None)

    assert list(OrderEvent.objects.filter(order=order).order_by("pk").values_list("note", flat=True)) == [
        "catalog.payment_timeout",
        "Changed my mind",
        "catalog.coupon_used",
        'catalog.coupon_second_use_refused {"used_at":"2026-05-01 10:30","used_by":"Till 1"}',
    ]
    with translation.override("en"):
        notes = [e.note for e in catalog_selectors.order_detail(member_id=buyer.pk, order_id=order.pk).events]
    assert notes == [
        "Payment not received in time",
        "Changed my mind",
        "Coupon used in store",
        "Second use refused (used 2026-05-01 10:30 by Till 1)",
    ]
