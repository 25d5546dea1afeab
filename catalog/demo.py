"""Demo catalog: categories, ~60 products with generated pictures, flash sales, sale prices,
code pools, a shop-staff account and orders in every state for the demo members.

Idempotent: rows are found by stable keys (category slug, product English name, order
idempotency key) and every write goes through the catalog's services, so a second run
changes nothing. Orders are placed with ``order_redeem`` (PIN and all) and moved on with
the order services, so the ledger sees exactly what a real member and operator would do.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import random
import textwrap
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw, ImageFont

from accounts import selectors as accounts_selectors
from accounts import services as accounts_services
from catalog import services
from catalog.enums import OrderStatus, ProductKind
from catalog.images import product_image_create
from catalog.models import Category, Code, Order, Product, SalePrice, StockMovement
from pointsmall.kernel.errors import DomainError

DEMO_PIN = "246810"
SHOP_STAFF_EMAIL = "shop@example.com"
SHOP_STAFF_PASSWORD = "demo-shop-2026"  # noqa: S105 (a demo account; printed on purpose)
PICTURE_SIDE = 640
P, V, C, PR = ProductKind.PHYSICAL, ProductKind.VIRTUAL, ProductKind.COUPON, ProductKind.PRIVILEGE

# slug, Chinese, English, base hue (0-1) for the pictures, icon
CATEGORIES = [
    ("electronics", "数码电子", "Electronics", 0.58, "device"),
    ("home", "家居生活", "Home", 0.08, "house"),
    ("apparel", "服饰鞋包", "Apparel", 0.92, "shirt"),
    ("food", "美食饮品", "Food & drinks", 0.03, "cup"),
    ("books-stationery", "图书文具", "Books & stationery", 0.12, "book"),
    ("sports", "运动户外", "Sports & outdoors", 0.36, "ball"),
    ("beauty", "美妆个护", "Beauty & care", 0.86, "bottle"),
    ("virtual-top-ups", "虚拟充值", "Virtual top-ups", 0.72, "bolt"),
    ("travel-tickets", "旅行票务", "Travel & tickets", 0.52, "plane"),
    ("coupons", "优惠券", "Coupons", 0.0, "ticket"),
]


@dataclass(frozen=True)
class Item:
    category: str
    name_en: str
    name_zh: str
    description_en: str
    description_zh: str
    kind: str
    market_price: str
    points: int
    stock: int
    cash: str = "0"
    extra: dict = field(default_factory=dict)


# Flash windows and sale prices are set relative to the first run: "now" is a flash sale running
# for a few more hours, "soon" one that starts in an hour.
ITEMS = [
    # Electronics
    Item(
        "electronics",
        "Wireless earbuds",
        "无线蓝牙耳机",
        "Noise-reducing earbuds with a pocket charging case and 24 hours of music.",
        "主动降噪，充电仓随身携带，续航24小时。",
        P,
        "199",
        15900,
        40,
        extra={"sort_weight": 20},
    ),
    Item(
        "electronics",
        "Smart watch",
        "智能手表",
        "Heart rate, sleep and workout tracking with a bright always-on display. Gold members and above.",
        "心率、睡眠、运动全天候监测，常亮显示屏。金牌会员及以上专享。",
        P,
        "1299",
        39900,
        15,
        cash="499",
        extra={"min_tier_rank": 2, "requires_review": True},
    ),
    Item(
        "electronics",
        "Power bank 20000 mAh",
        "20000毫安充电宝",
        "Charges a phone four times; USB-C in and out, 22.5 W fast charging.",
        "可为手机充电四次，USB-C双向快充22.5W。",
        P,
        "129",
        9900,
        80,
        extra={"sale": 7900},
    ),
    Item(
        "electronics",
        "Mechanical keyboard",
        "机械键盘",
        "Hot-swappable switches, white backlight and a detachable USB-C cable.",
        "热插拔轴体，白色背光，可拆卸USB-C线缆。",
        P,
        "399",
        29900,
        3,
        extra={"requires_review": True},
    ),
    Item(
        "electronics",
        "65 W USB-C charger",
        "65W氮化镓快充充电器",
        "One small GaN charger for laptop, tablet and phone. Flash sale: limited stock.",
        "氮化镓小体积，笔记本、平板、手机一个搞定。限时抢购，数量有限。",
        P,
        "149",
        9900,
        20,
        extra={"flash": "now", "sale": 5900, "per_order_limit": 1, "per_day_limit": 1},
    ),
    Item(
        "electronics",
        "Portable Bluetooth speaker",
        "便携蓝牙音箱",
        "Waterproof speaker with deep bass and 12 hours of play.",
        "防水设计，低音浑厚，连续播放12小时。",
        P,
        "259",
        19900,
        25,
    ),
    # Home
    Item(
        "home",
        "Insulated tumbler 500 ml",
        "保温杯500毫升",
        "Keeps drinks hot for 12 hours. Points plus a small cash part.",
        "12小时长效保温。积分加少量现金即可兑换。",
        P,
        "89",
        1500,
        60,
        cash="19.90",
    ),
    Item(
        "home",
        "Bamboo cutting board",
        "竹制砧板",
        "Sturdy, knife-friendly bamboo board with a juice groove.",
        "竹制材质坚固耐用，不伤刀，带导流槽。",
        P,
        "69",
        4900,
        50,
    ),
    Item(
        "home",
        "Aroma diffuser",
        "香薰加湿器",
        "Quiet ultrasonic diffuser with a warm night light.",
        "超声波静音雾化，附暖光小夜灯。",
        P,
        "159",
        11900,
        30,
    ),
    Item(
        "home",
        "Ceramic tea set",
        "陶瓷茶具套装",
        "Hand-glazed teapot with four cups. For Diamond members.",
        "手工施釉茶壶配四只茶杯。钻石会员专享。",
        P,
        "239",
        17900,
        12,
        extra={"min_tier_rank": 3},
    ),
    Item(
        "home",
        "Memory foam pillow",
        "记忆棉枕头",
        "Slow-rebound pillow that follows the neck. Flash sale starts soon.",
        "慢回弹记忆棉，贴合颈椎曲线。限时抢购即将开始。",
        P,
        "199",
        14900,
        18,
        extra={"flash": "soon", "sale": 8900, "per_order_limit": 1},
    ),
    Item(
        "home",
        "Non-stick frying pan",
        "不粘煎锅",
        "28 cm pan for every hob, induction included.",
        "28厘米，燃气灶、电磁炉通用。",
        P,
        "179",
        12900,
        2,
    ),
    # Apparel
    Item(
        "apparel",
        "Canvas tote bag",
        "帆布托特包",
        "Heavy cotton canvas with an inner pocket.",
        "加厚纯棉帆布，带内袋。",
        P,
        "59",
        3900,
        100,
    ),
    Item(
        "apparel",
        "Cotton crew socks, 3 pairs",
        "纯棉袜三双装",
        "Breathable combed cotton. One pack a day per member.",
        "精梳棉透气舒适。每人每天限兑一份。",
        P,
        "39",
        1900,
        200,
        extra={"per_day_limit": 1},
    ),
    Item(
        "apparel",
        "Lightweight rain jacket",
        "轻便防雨夹克",
        "Packs into its own pocket; sealed seams.",
        "可收纳进口袋，压胶防水走线。",
        P,
        "299",
        22900,
        20,
    ),
    Item(
        "apparel",
        "Baseball cap",
        "棒球帽",
        "Washed cotton cap with an adjustable strap.",
        "水洗棉，可调节后扣。",
        P,
        "79",
        4900,
        45,
    ),
    Item(
        "apparel",
        "Running shoes",
        "跑步鞋",
        "Cushioned daily trainers. Orders are checked before shipping.",
        "缓震日常跑鞋。订单需审核后发货。",
        P,
        "499",
        29900,
        10,
        cash="99",
        extra={"requires_review": True},
    ),
    Item(
        "apparel",
        "Knitted scarf",
        "针织围巾",
        "Soft wool blend in winter red.",
        "柔软羊毛混纺，冬日红。",
        P,
        "129",
        8900,
        0,
    ),
    # Food & drinks
    Item(
        "food",
        "High-mountain oolong gift box",
        "高山乌龙茶礼盒",
        "Two tins of spring-harvest oolong.",
        "春茶两罐装，清香回甘。",
        P,
        "268",
        19900,
        15,
    ),
    Item(
        "food",
        "Mixed nuts, 30 daily packs",
        "每日坚果30包",
        "A small pack a day: walnuts, almonds, cashews and berries.",
        "每天一小包：核桃、巴旦木、腰果和莓果。",
        P,
        "99",
        6900,
        70,
        extra={"sale": 5900},
    ),
    Item(
        "food",
        "Single-origin coffee beans",
        "单品咖啡豆",
        "Yunnan Arabica, medium roast, 454 g.",
        "云南阿拉比卡，中度烘焙，454克。",
        P,
        "89",
        6500,
        40,
    ),
    Item(
        "food",
        "Dark chocolate box",
        "黑巧克力礼盒",
        "Twenty 70% cacao squares.",
        "70%可可，20枚装。",
        P,
        "79",
        5500,
        35,
    ),
    Item(
        "food",
        "Organic rice 5 kg",
        "有机大米5公斤",
        "Northeast japonica rice, this year's harvest.",
        "东北粳米，当季新米。",
        P,
        "69",
        4800,
        50,
    ),
    Item(
        "food",
        "Wildflower honey 500 g",
        "土蜂蜜500克",
        "Raw honey from mountain apiaries.",
        "山区蜂场原蜜。",
        P,
        "59",
        3900,
        30,
    ),
    # Books & stationery
    Item(
        "books-stationery",
        "Gel pen set, 12 colours",
        "中性笔12色套装",
        "Smooth 0.5 mm gel pens.",
        "0.5毫米顺滑中性笔。",
        P,
        "25",
        300,
        150,
    ),
    Item(
        "books-stationery",
        "Hardcover notebook",
        "精装笔记本",
        "A5 dotted pages, lay-flat binding.",
        "A5点阵内页，可平摊装订。",
        P,
        "39",
        900,
        120,
    ),
    Item(
        "books-stationery",
        "Limited-edition artist sketchbook",
        "限量艺术家手账本",
        "Numbered edition, one per member; orders are reviewed.",
        "限量编号版，每人限兑一本，订单需审核。",
        P,
        "129",
        1200,
        30,
        extra={"requires_review": True, "lifetime_limit": 1},
    ),
    Item(
        "books-stationery",
        "Bestselling novel",
        "畅销小说",
        "This year's favourite of our members.",
        "会员年度最爱读物。",
        P,
        "49",
        2900,
        40,
    ),
    Item(
        "books-stationery",
        "Desk organiser",
        "桌面收纳盒",
        "Walnut-finish organiser with five compartments.",
        "胡桃木纹，五格收纳。",
        P,
        "59",
        3500,
        25,
    ),
    Item(
        "books-stationery",
        "Watercolour paint set",
        "水彩颜料套装",
        "24 colours with a travel brush.",
        "24色，附旅行水笔。",
        P,
        "89",
        5900,
        20,
    ),
    # Sports & outdoors
    Item(
        "sports",
        "Yoga mat",
        "瑜伽垫",
        "6 mm non-slip mat with a carry strap.",
        "6毫米防滑，附背带。",
        P,
        "129",
        4900,
        35,
    ),
    Item(
        "sports",
        "Speed jump rope",
        "竞速跳绳",
        "Ball-bearing handles, adjustable cable.",
        "轴承手柄，绳长可调。",
        P,
        "39",
        1900,
        60,
    ),
    Item(
        "sports",
        "Camping lantern",
        "露营灯",
        "Rechargeable lantern, three light modes.",
        "可充电，三档亮度。",
        P,
        "119",
        8900,
        22,
    ),
    Item(
        "sports",
        "Fitness tracker band",
        "运动手环",
        "Steps, heart rate and sleep; two weeks per charge. Flash sale now.",
        "计步、心率、睡眠监测，续航两周。限时抢购进行中。",
        P,
        "229",
        16900,
        12,
        extra={"flash": "now", "sale": 11900, "per_order_limit": 1},
    ),
    Item(
        "sports",
        "Sports water bottle",
        "运动水壶",
        "750 ml, leak-proof flip lid.",
        "750毫升，防漏翻盖。",
        P,
        "49",
        2900,
        80,
    ),
    Item(
        "sports",
        "Badminton racket set",
        "羽毛球拍套装",
        "Two carbon rackets and three shuttles.",
        "碳素球拍两支，附羽毛球三只。",
        P,
        "159",
        11900,
        16,
    ),
    # Beauty & care
    Item(
        "beauty",
        "Hand cream gift set",
        "护手霜礼盒",
        "Three scents, 30 ml each.",
        "三种香型，每支30毫升。",
        P,
        "79",
        4900,
        40,
    ),
    Item(
        "beauty",
        "Sheet masks, 10 pack",
        "面膜10片装",
        "Hydrating masks with hyaluronic acid.",
        "玻尿酸补水面膜。",
        P,
        "99",
        6900,
        50,
        extra={"sale": 5500},
    ),
    Item(
        "beauty",
        "Sunscreen SPF 50",
        "防晒霜SPF50",
        "Light, water-resistant daily sunscreen.",
        "轻薄防水，日常防晒。",
        P,
        "129",
        8900,
        30,
    ),
    Item(
        "beauty",
        "Electric toothbrush",
        "电动牙刷",
        "Sonic toothbrush with two heads. Points plus cash.",
        "声波电动牙刷，附两个刷头。积分加现金兑换。",
        P,
        "299",
        19900,
        20,
        cash="29",
    ),
    Item(
        "beauty",
        "Lip balm trio",
        "润唇膏三支装",
        "Unscented, honey and mint.",
        "无香、蜂蜜、薄荷三款。",
        P,
        "45",
        2500,
        60,
    ),
    Item(
        "beauty",
        "Ionic hair dryer",
        "负离子吹风机",
        "Fast, quiet and gentle on hair. Gold members and above.",
        "速干静音，负离子护发。金牌会员及以上专享。",
        P,
        "399",
        29900,
        10,
        extra={"min_tier_rank": 2},
    ),
    # Virtual top-ups (codes) and privileges
    Item(
        "virtual-top-ups",
        "Mobile top-up ¥10",
        "话费充值10元",
        "A top-up code for any carrier, delivered at once.",
        "全网通话费充值码，即时到账。",
        V,
        "10",
        1000,
        40,
    ),
    Item(
        "virtual-top-ups",
        "Mobile top-up ¥50",
        "话费充值50元",
        "A top-up code for any carrier, delivered at once.",
        "全网通话费充值码，即时到账。",
        V,
        "50",
        4900,
        25,
    ),
    Item(
        "virtual-top-ups",
        "Video streaming VIP, 1 month",
        "视频会员月卡",
        "One month of ad-free streaming. One a day per member.",
        "一个月免广告观影。每人每天限兑一次。",
        V,
        "25",
        2200,
        30,
        extra={"per_day_limit": 1},
    ),
    Item(
        "virtual-top-ups",
        "Music streaming, 3 months",
        "音乐会员季卡",
        "Three months of lossless music.",
        "三个月无损音乐畅听。",
        V,
        "45",
        3900,
        20,
    ),
    Item(
        "virtual-top-ups",
        "Cloud storage, 1 year",
        "网盘会员年卡",
        "2 TB for a year.",
        "一年2TB空间。",
        V,
        "118",
        9900,
        10,
    ),
    Item(
        "virtual-top-ups",
        "Game credits 600",
        "游戏点券600",
        "600 credits for popular mobile games. Restocking soon.",
        "热门手游600点券。即将补货。",
        V,
        "60",
        5500,
        0,
    ),
    # Privileges do what they say (docs/decisions/0020): a tier trial is delivered when the
    # order completes. The check-in cards wait, declared and off the shelf, for the check-in app.
    Item(
        "virtual-top-ups",
        "Gold tier trial, 7 days",
        "金牌会员体验卡（7天）",
        "Enjoy Gold member prices and ×1.2 points for 7 days from redemption. For members below Gold.",
        "兑换后7天内享受金牌会员兑换价和1.2倍积分。适用于金牌以下会员。",
        PR,
        "10",
        600,
        500,
        extra={"effect": "tier_trial", "effect_tier": "gold", "effect_days": 7, "per_order_limit": 4},
    ),
    Item(
        "virtual-top-ups",
        "Silver tier trial, 30 days",
        "银牌会员体验卡（30天）",
        "Enjoy Silver member prices and ×1.1 points for 30 days from redemption. For Regular members.",
        "兑换后30天内享受银牌会员兑换价和1.1倍积分。适用于普通会员。",
        PR,
        "5",
        400,
        500,
        extra={"effect": "tier_trial", "effect_tier": "silver", "effect_days": 30, "per_order_limit": 1},
    ),
    Item(
        "virtual-top-ups",
        "Double check-in points, 7 days",
        "签到双倍积分卡（7天）",
        "A week of double points for daily check-ins.",
        "连续7天签到积分翻倍。",
        PR,
        "5",
        400,
        500,
        extra={"effect": "checkin_multiplier", "effect_days": 7, "effect_multiplier": Decimal("2"), "on_shelf": False},
    ),
    # Travel & tickets
    Item(
        "travel-tickets",
        "Airport lounge pass",
        "机场贵宾厅单次券",
        "One visit to partner lounges in 40 airports. Gold members and above.",
        "全国40个机场合作贵宾厅单次使用。金牌会员及以上专享。",
        C,
        "200",
        15000,
        10,
        extra={"min_tier_rank": 2, "coupon_valid_days": 180},
    ),
    Item(
        "travel-tickets",
        "Cinema ticket voucher",
        "电影票兑换券",
        "One 2D ticket at partner cinemas.",
        "合作影院2D电影票一张。",
        C,
        "45",
        3500,
        30,
        extra={"coupon_valid_days": 60},
    ),
    Item(
        "travel-tickets",
        "Theme park day ticket",
        "主题乐园一日票",
        "Entry for one adult; orders are reviewed before the code is sent.",
        "成人一日票，审核通过后发放兑换码。",
        V,
        "399",
        29900,
        8,
        cash="100",
        extra={"requires_review": True},
    ),
    Item(
        "travel-tickets",
        "Train ticket voucher ¥50",
        "火车票代金券50元",
        "Take ¥50 off a train ticket booked in the app.",
        "在App购买火车票立减50元。",
        V,
        "50",
        4900,
        20,
    ),
    Item(
        "travel-tickets",
        "Hotel night voucher",
        "酒店住宿券",
        "One night at partner hotels. For Diamond members.",
        "合作酒店住宿一晚。钻石会员专享。",
        C,
        "399",
        35000,
        5,
        extra={"min_tier_rank": 3, "coupon_valid_days": 365},
    ),
    Item(
        "travel-tickets",
        "Museum annual pass",
        "博物馆年票",
        "A year of visits to the city museums.",
        "一年内不限次参观市内博物馆。",
        C,
        "120",
        9900,
        12,
        extra={"coupon_valid_days": 365},
    ),
    # Coupons (used in store)
    Item(
        "coupons",
        "Café latte voucher",
        "咖啡拿铁兑换券",
        "One medium latte at partner cafés. Show the code at the counter.",
        "合作咖啡店中杯拿铁一杯，到店出示券码。",
        C,
        "32",
        990,
        50,
        extra={"coupon_valid_days": 30, "sort_weight": 30},
    ),
    Item(
        "coupons",
        "Bubble tea voucher",
        "奶茶兑换券",
        "Any classic milk tea at partner shops.",
        "合作门店任意经典奶茶一杯。",
        C,
        "18",
        600,
        60,
        extra={"coupon_valid_days": 30},
    ),
    Item(
        "coupons",
        "¥20 off at the supermarket",
        "超市满100减20券",
        "¥20 off a ¥100 shop at partner supermarkets.",
        "合作超市满100元减20元。",
        C,
        "20",
        1500,
        40,
        extra={"coupon_valid_days": 14},
    ),
    Item(
        "coupons",
        "Bakery voucher ¥50",
        "面包店50元代金券",
        "¥50 to spend at partner bakeries.",
        "合作面包店50元代金券。",
        C,
        "50",
        3900,
        25,
        extra={"coupon_valid_days": 60},
    ),
    Item(
        "coupons",
        "Car wash voucher",
        "洗车券",
        "One standard wash at partner car washes.",
        "合作洗车店标准洗车一次。",
        C,
        "40",
        2900,
        3,
        extra={"coupon_valid_days": 90},
    ),
    Item(
        "coupons",
        "Bouquet of fresh flowers",
        "鲜花束兑换券",
        "A seasonal bouquet from partner florists.",
        "合作花店当季花束一束。",
        C,
        "99",
        7900,
        15,
        extra={"coupon_valid_days": 30},
    ),
]


@dataclass(frozen=True)
class DemoOrder:
    key: str
    email: str
    product: str
    quantity: int
    target: str
    used_in_store: bool = False


# One or more orders in every state. Balances of the demo members (seeding.py) cover them.
ORDERS = [
    DemoOrder("topup", "alice@example.com", "Mobile top-up ¥10", 1, OrderStatus.COMPLETED),
    DemoOrder("latte", "alice@example.com", "Café latte voucher", 1, OrderStatus.COMPLETED),
    DemoOrder("latte", "bob@example.com", "Café latte voucher", 1, OrderStatus.COMPLETED, used_in_store=True),
    DemoOrder("tumbler", "bob@example.com", "Insulated tumbler 500 ml", 1, OrderStatus.AWAITING_PAYMENT),
    DemoOrder("toothbrush", "alice@example.com", "Electric toothbrush", 1, OrderStatus.APPROVED),
    DemoOrder("sketchbook", "carol@example.com", "Limited-edition artist sketchbook", 1, OrderStatus.PENDING_REVIEW),
    DemoOrder("yoga", "bob@example.com", "Yoga mat", 1, OrderStatus.SHIPPED),
    DemoOrder("chocolate", "alice@example.com", "Dark chocolate box", 1, OrderStatus.DELIVERED),
    DemoOrder("pens", "carol@example.com", "Gel pen set, 12 colours", 2, OrderStatus.COMPLETED),
    DemoOrder("sketchbook", "bob@example.com", "Limited-edition artist sketchbook", 1, OrderStatus.REJECTED),
    DemoOrder("cap", "alice@example.com", "Baseball cap", 1, OrderStatus.CANCELLED),
    DemoOrder("gold-trial", "carol@example.com", "Gold tier trial, 7 days", 1, OrderStatus.COMPLETED),
]
FORWARD = [
    OrderStatus.AWAITING_PAYMENT,
    OrderStatus.PENDING_REVIEW,
    OrderStatus.APPROVED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
]
ADDRESSES = {
    "alice@example.com": ("王爱丽", "13800138001", "上海市", "上海市", "浦东新区", "世纪大道100号8楼", "200120"),
    "bob@example.com": ("李博", "13900139002", "北京市", "北京市", "朝阳区", "建国路88号3单元502", "100022"),
    "carol@example.com": ("张可", "13700137003", "广东省", "深圳市", "南山区", "科技园南路18号", "518057"),
}


# --- Pictures -------------------------------------------------------------------------


def _rgb(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    return tuple(round(c * 255) for c in colorsys.hsv_to_rgb(hue % 1.0, saturation, value))


def _icon(draw: ImageDraw.ImageDraw, icon: str, cx: int, cy: int, r: int) -> None:
    white, line = (255, 255, 255, 235), max(r // 9, 4)
    if icon == "device":
        draw.rounded_rectangle((cx - r * 0.55, cy - r, cx + r * 0.55, cy + r), radius=r // 5, outline=white, width=line)
        draw.rounded_rectangle(
            (cx - r * 0.4, cy - r * 0.8, cx + r * 0.4, cy + r * 0.6), radius=r // 12, fill=(255, 255, 255, 90)
        )
        draw.ellipse((cx - r * 0.1, cy + r * 0.72, cx + r * 0.1, cy + r * 0.92), fill=white)
    elif icon == "house":
        draw.polygon([(cx - r, cy - r * 0.05), (cx, cy - r), (cx + r, cy - r * 0.05)], outline=white, width=line)
        draw.rectangle((cx - r * 0.7, cy - r * 0.05, cx + r * 0.7, cy + r * 0.9), outline=white, width=line)
        draw.rectangle((cx - r * 0.18, cy + r * 0.35, cx + r * 0.18, cy + r * 0.9), fill=white)
    elif icon == "shirt":
        points = [
            (-1, -0.6),
            (-0.45, -0.95),
            (-0.2, -0.75),
            (0.2, -0.75),
            (0.45, -0.95),
            (1, -0.6),
            (0.78, -0.15),
            (0.55, -0.3),
            (0.55, 0.95),
            (-0.55, 0.95),
            (-0.55, -0.3),
            (-0.78, -0.15),
        ]
        draw.polygon([(cx + x * r, cy + y * r) for x, y in points], outline=white, width=line)
    elif icon == "cup":
        draw.rounded_rectangle(
            (cx - r * 0.7, cy - r * 0.3, cx + r * 0.45, cy + r * 0.9), radius=r // 6, outline=white, width=line
        )
        draw.arc((cx + r * 0.2, cy - r * 0.1, cx + r * 0.95, cy + r * 0.55), start=-90, end=90, fill=white, width=line)
        for dx in (-0.4, -0.1, 0.2):
            draw.arc(
                (cx + (dx - 0.12) * r, cy - r, cx + (dx + 0.12) * r, cy - r * 0.45),
                start=100,
                end=260,
                fill=white,
                width=line // 2 + 1,
            )
    elif icon == "book":
        draw.rounded_rectangle((cx - r, cy - r * 0.75, cx, cy + r * 0.8), radius=r // 10, outline=white, width=line)
        draw.rounded_rectangle((cx, cy - r * 0.75, cx + r, cy + r * 0.8), radius=r // 10, outline=white, width=line)
        for dy in (-0.4, -0.1, 0.2):
            draw.line((cx + r * 0.2, cy + dy * r, cx + r * 0.8, cy + dy * r), fill=white, width=line // 2 + 1)
    elif icon == "ball":
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=white, width=line)
        draw.arc((cx - r * 1.6, cy - r, cx + r * 0.4, cy + r), start=-50, end=50, fill=white, width=line)
        draw.arc((cx - r * 0.4, cy - r, cx + r * 1.6, cy + r), start=130, end=230, fill=white, width=line)
    elif icon == "bottle":
        draw.rounded_rectangle(
            (cx - r * 0.5, cy - r * 0.45, cx + r * 0.5, cy + r), radius=r // 4, outline=white, width=line
        )
        draw.rectangle((cx - r * 0.22, cy - r, cx + r * 0.22, cy - r * 0.45), fill=white)
        draw.ellipse((cx - r * 0.2, cy + r * 0.05, cx + r * 0.2, cy + r * 0.45), fill=(255, 255, 255, 120))
    elif icon == "bolt":
        points = [(0.15, -1), (-0.6, 0.12), (-0.05, 0.12), (-0.2, 1), (0.6, -0.15), (0.05, -0.15)]
        draw.polygon([(cx + x * r, cy + y * r) for x, y in points], fill=white)
    elif icon == "plane":
        points = [
            (0, -1),
            (0.14, -0.6),
            (0.14, -0.2),
            (1, 0.25),
            (1, 0.42),
            (0.14, 0.15),
            (0.12, 0.7),
            (0.38, 0.9),
            (0.38, 1),
            (0, 0.9),
            (-0.38, 1),
            (-0.38, 0.9),
            (-0.12, 0.7),
            (-0.14, 0.15),
            (-1, 0.42),
            (-1, 0.25),
            (-0.14, -0.2),
            (-0.14, -0.6),
        ]
        draw.polygon([(cx + x * r, cy + y * r) for x, y in points], fill=white)
    else:  # ticket
        draw.rounded_rectangle((cx - r, cy - r * 0.6, cx + r, cy + r * 0.6), radius=r // 6, outline=white, width=line)
        draw.line((cx + r * 0.35, cy - r * 0.5, cx + r * 0.35, cy + r * 0.5), fill=white, width=line // 2 + 1)
        draw.ellipse((cx - r * 0.65, cy - r * 0.4, cx - r * 0.35, cy - r * 0.1), outline=white, width=line // 2 + 1)
        draw.ellipse((cx - r * 0.15, cy + r * 0.1, cx + r * 0.15, cy + r * 0.4), outline=white, width=line // 2 + 1)
        draw.line((cx - r * 0.1, cy - r * 0.4, cx - r * 0.6, cy + r * 0.4), fill=white, width=line // 2 + 1)


# A font with the accented Latin letters of the demo names, where the system has one.
_FONT_FILES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
)


def _picture_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in _FONT_FILES:
        if Path(path).exists():
            return ImageFont.truetype(path, size=size)
    return ImageFont.load_default(size=size)


def _drawable(text: str, font) -> str:
    """``text`` with every character the font cannot draw replaced, never a tofu box (⊠).

    "¥" becomes "CNY "; an accented letter the font lacks loses its accent ("é" → "e").
    """
    text = text.replace("¥", "CNY ") if not _has_glyph(font, "¥") else text
    out = []
    for char in text:
        if char.isspace() or _has_glyph(font, char):
            out.append(char)
        else:
            base = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            out.append(base or "?")
    return "".join(out)


def _has_glyph(font, char: str) -> bool:
    # A missing glyph renders as the font's .notdef box: compare with a character no font has.
    try:
        return _mask_bytes(font, char) != _mask_bytes(font, "\U0010fffd")
    except (OSError, ValueError):
        return False


def _mask_bytes(font, char: str) -> tuple:
    mask = font.getmask(char)
    return mask.size, bytes(Image.Image()._new(mask).tobytes())


def product_picture(name: str, hue: float, icon: str) -> bytes:
    """A distinct, recognisable product picture: a two-tone gradient, soft circles, an icon and the name."""
    rng = random.Random(hashlib.sha256(name.encode()).digest())  # noqa: S311 (decoration, not security)
    side = PICTURE_SIDE
    hue += rng.uniform(-0.05, 0.05)
    top = Image.new("RGB", (side, side), _rgb(hue, 0.55, 0.98))
    bottom = Image.new("RGB", (side, side), _rgb(hue + 0.08, 0.85, 0.72))
    picture = Image.composite(bottom, top, Image.linear_gradient("L").resize((side, side))).convert("RGBA")
    overlay = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(5):
        radius = rng.randint(side // 10, side // 3)
        x, y = rng.randint(0, side), rng.randint(0, side)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(255, 255, 255, rng.randint(18, 40)))
    _icon(draw, icon, side // 2, int(side * 0.4), side // 5)
    font = _picture_font(side // 14)
    lines = textwrap.wrap(_drawable(name, font), width=22)[:2]
    y = int(side * 0.72)
    for line in lines:
        width = draw.textlength(line, font=font)
        draw.text(((side - width) / 2 + 2, y + 3), line, font=font, fill=(0, 0, 0, 70))
        draw.text(((side - width) / 2, y), line, font=font, fill=(255, 255, 255, 255))
        y += int(side / 13)
    picture.alpha_composite(overlay)
    out = io.BytesIO()
    picture.convert("RGB").save(out, "PNG", compress_level=1)
    return out.getvalue()


# --- Catalog --------------------------------------------------------------------------


def _codes(product: Product, count: int) -> str:
    """Stable codes, so importing them again on a second run adds nothing."""
    prefix = "CP" if product.kind == ProductKind.COUPON else "VC"
    lines = []
    for n in range(count):
        digest = hashlib.sha256(f"{product.name_en}:{n}".encode()).hexdigest().upper()
        lines.append(f"{prefix}-{digest[:4]}-{digest[4:8]}-{digest[8:12]}")
    return "\n".join(lines)


def _product_fields(item: Item, category: Category, now) -> dict:
    extra = dict(item.extra)
    flash = extra.pop("flash", None)
    extra.pop("sale", None)  # a SalePrice row, not a product field
    fields = {
        "name_zh": item.name_zh,
        "description_en": item.description_en,
        "description_zh": item.description_zh,
        "category": category,
        "kind": item.kind,
        "market_price": Decimal(item.market_price),
        "points_price": item.points,
        "cash_price": Decimal(item.cash),
        "low_stock_threshold": 3 if item.kind in (V, C) else 5,
        "supplier": "Demo Supplies Co." if item.kind == P else "",
        **extra,
    }
    if flash == "now":
        fields.update(flash_sale=True, sale_starts_at=now - timedelta(hours=1), sale_ends_at=now + timedelta(hours=3))
    elif flash == "soon":
        fields.update(flash_sale=True, sale_starts_at=now + timedelta(hours=1), sale_ends_at=now + timedelta(hours=7))
    return fields


def _seed_product(item: Item, category: Category, hue: float, icon: str, admin_id: int | None, now) -> bool:
    product, created = Product.objects.get_or_create(
        name_en=item.name_en, category=category, defaults=_product_fields(item, category, now)
    )
    if not product.images.exists():
        picture = ContentFile(product_picture(item.name_en, hue, icon), name="demo.png")
        product_image_create(product_id=product.pk, upload=picture)
    if product.needs_code:
        services.codes_import(product_id=product.pk, text=_codes(product, item.stock), actor_id=admin_id)
    elif item.stock and not StockMovement.objects.filter(product=product).exists():
        services.stock_adjust(
            product_id=product.pk, delta=item.stock, actor_id=admin_id, reason="Demo: first delivery", restock=True
        )
    sale = item.extra.get("sale")
    if sale:
        starts, ends = (
            (product.sale_starts_at, product.sale_ends_at)
            if product.flash_sale
            else (now - timedelta(days=1), now + timedelta(days=6))
        )
        SalePrice.objects.get_or_create(
            product=product, points_price=sale, defaults={"starts_at": starts, "ends_at": ends}
        )
    return created


# --- People and orders ------------------------------------------------------------------


def _shop_staff(stdout) -> None:
    user, created = get_user_model().objects.get_or_create(
        email=SHOP_STAFF_EMAIL, defaults={"display_name": "门店店员 Shop staff"}
    )
    if created:
        user.set_password(SHOP_STAFF_PASSWORD)
        user.save()
    EmailAddress.objects.get_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    group, _created = Group.objects.get_or_create(name="Shop staff")
    user.groups.add(group)
    login = f"{SHOP_STAFF_EMAIL} / {SHOP_STAFF_PASSWORD}" if created else f"{SHOP_STAFF_EMAIL} (exists)"
    stdout.write(f"Shop staff: {login} — coupon desk at /mall/staff/coupons/")


def _ready_member(user) -> int | None:
    """A PIN and a shipping address for a demo member; returns the address id."""
    if not accounts_selectors.pin_is_set(user_id=user.pk):
        accounts_services.pin_set(user_id=user.pk, pin=DEMO_PIN)
    addresses = accounts_selectors.address_list(user_id=user.pk)
    if addresses:
        return addresses[0].id
    recipient, phone, province, city, district, detail, postal_code = ADDRESSES[user.email]
    address = accounts_services.address_create(
        user_id=user.pk,
        recipient=recipient,
        phone=phone,
        province=province,
        city=city,
        district=district,
        detail=detail,
        postal_code=postal_code,
        is_default=True,
    )
    return address.id


def _step(order: Order, admin_id: int | None) -> Order:
    """Move an order one step along the happy path, as the operator (or member) would."""
    if order.status == OrderStatus.AWAITING_PAYMENT:
        return services.order_mark_paid(
            order_id=order.pk, payment_reference=f"offline:{admin_id}:{order.pk}", actor_id=admin_id
        )
    if order.status == OrderStatus.PENDING_REVIEW:
        return services.order_approve(order_id=order.pk, actor_id=admin_id)
    if order.status == OrderStatus.APPROVED:
        return services.order_ship(
            order_id=order.pk,
            actor_id=admin_id,
            carrier="顺丰速运 SF Express",
            tracking_number=f"SF{1400000000 + order.pk}",
        )
    if order.status == OrderStatus.SHIPPED:
        return services.order_deliver(order_id=order.pk, actor_id=admin_id)
    return services.order_confirm_receipt(order_id=order.pk, member_id=order.member_id)


def _advance(order: Order, target: str, admin_id: int | None) -> Order:
    if target == OrderStatus.REJECTED and order.status in (OrderStatus.PENDING_REVIEW, OrderStatus.APPROVED):
        return services.order_reject(
            order_id=order.pk, actor_id=admin_id, reason="Only one limited edition per household"
        )
    if target == OrderStatus.CANCELLED and order.status in (OrderStatus.PENDING_REVIEW, OrderStatus.APPROVED):
        return services.order_cancel(order_id=order.pk, member_id=order.member_id, reason="Ordered the wrong colour")
    if target not in FORWARD:
        return order
    while order.status in FORWARD and FORWARD.index(order.status) < FORWARD.index(target):
        order = _step(order, admin_id)
    return order


def _seed_orders(stdout, admin_id: int | None) -> list[Order]:
    members = {u.email: u for u in get_user_model().objects.filter(email__in={o.email for o in ORDERS})}
    addresses: dict[str, int | None] = {}
    products = {p.name_en: p for p in Product.objects.filter(name_en__in={o.product for o in ORDERS})}
    placed: list[Order] = []
    for spec in ORDERS:
        member = members.get(spec.email)
        if member is None:
            continue
        if spec.email not in addresses:
            addresses[spec.email] = _ready_member(member)
        product = products[spec.product]
        try:
            order = services.order_redeem(
                user_id=member.pk,
                product_id=product.pk,
                quantity=spec.quantity,
                idempotency_key=f"demo:catalog:{spec.email}:{spec.key}",
                pin=DEMO_PIN,
                address_id=addresses[spec.email] if product.kind == ProductKind.PHYSICAL else None,
            )
            order = _advance(order, spec.target, admin_id)
            if spec.used_in_store and admin_id is not None:
                code = Code.objects.filter(order=order).first()
                if code is not None and code.used_at is None:
                    services.coupon_redeem_in_store(code_id=code.pk, code=code.code, actor_id=admin_id)
        except DomainError as error:
            stdout.write(f"  skipped demo order {spec.key} for {spec.email}: {error.message}")
            continue
        placed.append(order)
    return placed


def seed_catalog(stdout) -> None:
    """Seed the demo catalog and orders. Safe to run twice: the second run changes nothing."""
    now = timezone.now()
    admin = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    admin_id = admin.pk if admin else None
    created = 0
    # One transaction for the catalog (one commit instead of hundreds); the orders below are
    # placed one by one, as members would, because the PIN check must commit on its own.
    with transaction.atomic():
        for sort, (slug, zh, en, hue, icon) in enumerate(CATEGORIES):
            category, _created = Category.objects.get_or_create(
                slug=slug, defaults={"name_zh": zh, "name_en": en, "sort": (sort + 1) * 10}
            )
            for item in (i for i in ITEMS if i.category == slug):
                created += _seed_product(item, category, hue, icon, admin_id, now)
    stdout.write(f"Catalog: {len(ITEMS)} products in {len(CATEGORIES)} categories ({created} new).")
    _shop_staff(stdout)
    orders = _seed_orders(stdout, admin_id)
    if orders:
        stdout.write(f"Demo orders: {len(orders)} in every state. Demo payment PIN: {DEMO_PIN}")
    unused = (
        Code.objects.filter(order__in=orders, product__kind=ProductKind.COUPON, used_at__isnull=True)
        .values_list("code", flat=True)
        .first()
    )
    if unused:
        stdout.write(f"A coupon to verify at /mall/staff/coupons/: {unused}")
