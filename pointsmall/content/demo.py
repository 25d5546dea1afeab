"""Demo content for ``manage.py seed_demo``: announcements (one pinned, one for the top tiers), two
home banners with generated pictures, and two pieces of feedback (one answered). Safe to run twice."""

from __future__ import annotations

import io
import random
from datetime import timedelta
from typing import NotRequired, TypedDict, cast

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from points import selectors as points_selectors
from pointsmall.content import images, services
from pointsmall.content.enums import FeedbackCategory, FeedbackStatus
from pointsmall.content.models import Announcement, Banner, Feedback


class DemoAnnouncement(TypedDict):
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    pinned: bool
    top_tiers: NotRequired[bool]  # for the two highest tiers only (else for everyone)


class DemoBanner(TypedDict):
    title_zh: str
    title_en: str
    link: str
    hue: float  # of the generated picture, 0–1


class DemoFeedback(TypedDict):
    category: str
    text: str
    reply: str  # "" for none


ANNOUNCEMENTS: list[DemoAnnouncement] = [
    {
        "title_zh": "积分商城全新上线",
        "title_en": "The points mall is open",
        "body_zh": "欢迎来到积分商城！\n\n- 每日**签到**领积分\n- 用积分兑换好礼\n\n详见[积分规则](/rules/)。",
        "body_en": "Welcome to the points mall!\n\n- **Check in** daily for points\n- Redeem points for gifts\n\n"
        "See the [points rules](/rules/).",
        "pinned": True,
    },
    {
        "title_zh": "春节期间发货安排",
        "title_en": "Shipping over the Spring Festival",
        "body_zh": "春节期间（除夕至初六）暂停发货，节后按兑换顺序依次发出。",
        "body_en": "Orders are not shipped from New Year's Eve to the sixth day; they go out in order afterwards.",
        "pinned": False,
    },
    {
        "title_zh": "高等级会员专享：限量礼品预告",
        "title_en": "For our top tiers: limited gifts coming",
        "body_zh": "### 专享预告\n\n下周起，高等级会员可优先兑换限量礼品。",
        "body_en": "### Preview\n\nFrom next week, members of the top tiers redeem limited gifts first.",
        "pinned": False,
        "top_tiers": True,
    },
]

BANNERS: list[DemoBanner] = [
    {"title_zh": "每日签到 积分翻倍", "title_en": "Check in daily, earn more", "link": "/mall/", "hue": 0.02},
    {"title_zh": "新品上架", "title_en": "New arrivals", "link": "/mall/products/?sort=newest", "hue": 0.58},
]

FEEDBACK: list[DemoFeedback] = [
    {
        "category": FeedbackCategory.REDEMPTION,
        "text": "兑换的保温杯什么时候发货？订单已经三天了。",
        "reply": "您好，仓库已于今天发出，快递单号可在订单详情中查看。感谢耐心等待！",
    },
    {"category": FeedbackCategory.SUGGESTION, "text": "希望签到日历能显示下个月的奖励。", "reply": ""},
]


def banner_picture(hue: float, seed: str) -> bytes:
    """A wide gradient with soft circles: a stand-in for an operator's banner artwork."""
    width, height = 1600, 500
    rng = random.Random(seed)  # noqa: S311 (decoration, not security)
    left = Image.new("RGB", (width, height), _hsv(hue, 0.75, 0.95))
    right = Image.new("RGB", (width, height), _hsv(hue + 0.08, 0.85, 0.65))
    mask = Image.linear_gradient("L").rotate(90).resize((width, height))
    picture = Image.composite(left, right, mask).convert("RGBA")
    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(7):
        radius = rng.randint(60, 220)
        x, y = rng.randint(0, width), rng.randint(0, height)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(255, 255, 255, rng.randint(20, 45)))
    picture.alpha_composite(overlay)
    out = io.BytesIO()
    picture.convert("RGB").save(out, "JPEG", quality=88)
    return out.getvalue()


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    image = Image.new("HSV", (1, 1), (int((h % 1) * 255), int(s * 255), int(v * 255))).convert("RGB")
    return cast(tuple[int, int, int], image.getpixel((0, 0)))  # a pixel of an RGB image


def seed_content(stdout, *, user_ids: dict[str, int]) -> None:
    """Seed the demo announcements, banners and feedback; send the announcements to the inboxes."""
    now = timezone.now()
    tiers = [code for code, _name in points_selectors.tier_choices()]
    for announcement_row in ANNOUNCEMENTS:
        fields: dict[str, object] = {k: v for k, v in announcement_row.items() if k != "top_tiers"}
        fields["tiers"] = tiers[-2:] if announcement_row.get("top_tiers") and len(tiers) >= 2 else []
        Announcement.objects.get_or_create(
            title_zh=announcement_row["title_zh"], defaults={**fields, "starts_at": now - timedelta(days=1)}
        )
    for index, banner_row in enumerate(BANNERS):
        if Banner.objects.filter(title_zh=banner_row["title_zh"]).exists():
            continue
        picture = banner_picture(banner_row["hue"], banner_row["title_zh"])
        upload = SimpleUploadedFile(f"banner-{index}.jpg", picture, "image/jpeg")
        banner = Banner(
            title_zh=banner_row["title_zh"],
            title_en=banner_row["title_en"],
            link=services.banner_link_check(banner_row["link"]),
            starts_at=now - timedelta(days=1),
            sort=index,
        )
        services.banner_picture_attach(banner=banner, picture=images.banner_picture_prepare(upload=upload))
        banner.save()
    sent = services.announcements_publish(now=now)
    member_id = next(iter(user_ids.values()), None)
    if member_id is not None:
        for feedback_row in FEEDBACK:
            feedback = Feedback.objects.filter(member_id=member_id, text=feedback_row["text"]).first()
            feedback_id = (
                feedback.pk
                if feedback
                else services.feedback_submit(
                    member_id=member_id, category=feedback_row["category"], text=feedback_row["text"]
                )
            )
            if feedback_row["reply"]:
                services.feedback_reply(
                    feedback_id=feedback_id, reply=feedback_row["reply"], status=FeedbackStatus.RESOLVED, actor_id=None
                )
    stdout.write(f"Content: {len(ANNOUNCEMENTS)} announcements ({sent} inbox messages), {len(BANNERS)} banners")
