"""The lottery's tables: campaigns, their prizes, each draw, and the counters that keep a
campaign's published promises (per-day prize releases, each member's draws and pity count).

Only ``lottery.services`` writes them. Published before the start and never changed after it
(Chinese promotion rules: prize kinds, quantities or odds, times and conditions are published
before the draw): the campaign's terms and its prizes are frozen once ``published_at`` is set.
Provably fair (commit–reveal): ``seed_hash`` (SHA-256 of ``seed``) is public from publication,
``seed`` only once the campaign has ended (``revealed_at``).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from pointsmall.kernel.singleton import SingletonModel

BASIS_POINTS = 10_000  # 100 % in basis points: prize weights add up to this
TOP_PRIZE_CAP = Decimal("50000")  # yuan; 规范促销行为暂行规定 第十三条: a prize-draw sale's top prize
WIN_FLOOR_MIN_BP = 1000  # 10%: the floor; a policy may only raise it


class LotteryStyle(models.TextChoices):
    WHEEL = "wheel", _("Wheel")
    GRID = "grid", _("9-grid")


class PrizeKind(models.TextChoices):
    POINTS = "points", _("Points")
    PRODUCT = "product", _("Catalog item (an order is placed)")
    CODE = "code", _("Coupon or code (from the item's code pool)")
    NONE = "none", _("No prize (thanks for playing)")


class DrawOutcome(models.TextChoices):
    WON = "won", _("Won")
    NO_PRIZE = "no_prize", _("No prize")
    # The number picked a prize that was sold out or had reached its daily release: the draw
    # falls to "no prize" (or the consolation prize); the other prizes' odds are never re-spread.
    FELL_THROUGH = "fell_through", _("Prize gone: no prize")


class LotteryPolicy(SingletonModel):
    """Mall-wide limits every campaign must meet before it can be published."""

    win_floor_bp = models.PositiveIntegerField(
        _("minimum chance of winning, basis points"),
        default=WIN_FLOOR_MIN_BP,
        validators=[MinValueValidator(WIN_FLOOR_MIN_BP), MaxValueValidator(BASIS_POINTS)],
        help_text=_("1000 = 10%: the chance of winning something other than “no prize”. Never below 10%."),
    )
    top_prize_cap = models.DecimalField(
        _("highest prize value, yuan"),
        max_digits=10,
        decimal_places=2,
        default=TOP_PRIZE_CAP,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(TOP_PRIZE_CAP)],
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("lottery policy")
        verbose_name_plural = _("lottery policy")
        constraints = [
            models.CheckConstraint(
                condition=Q(win_floor_bp__gte=WIN_FLOOR_MIN_BP, win_floor_bp__lte=BASIS_POINTS),
                name="lottery_policy_win_floor_min",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Lottery policy"))


class LotteryCampaign(models.Model):
    name = models.CharField(_("name"), max_length=80, help_text=_("As members read it in Chinese."))
    name_en = models.CharField(_("name (English)"), max_length=80, blank=True)
    description = models.TextField(_("description and rules"), max_length=2000, blank=True)
    description_en = models.TextField(_("description and rules (English)"), max_length=2000, blank=True)
    image = models.ImageField(_("image"), upload_to="lottery/", blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    cost_points = models.PositiveIntegerField(
        _("points per draw"), default=0, validators=[MaxValueValidator(1_000_000)], help_text=_("0: free draws.")
    )
    tier_codes = models.JSONField(_("tiers"), default=list, blank=True, help_text=_("Empty: every tier."))
    min_account_age_days = models.PositiveIntegerField(
        _("minimum account age, days"), default=0, validators=[MaxValueValidator(3650)]
    )
    daily_limit = models.PositiveIntegerField(
        _("draws per member per day"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    campaign_limit = models.PositiveIntegerField(
        _("draws per member in the campaign"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    tier_free_draws = models.BooleanField(
        _("tier free draws apply"),
        default=True,
        help_text=_("Members' monthly free draws (a tier benefit) can be used in this campaign."),
    )
    style = models.CharField(_("display"), max_length=8, choices=LotteryStyle, default=LotteryStyle.WHEEL)
    pity_after = models.PositiveIntegerField(
        _("pity: guaranteed win after N draws without one"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
    )
    consolation_prize = models.ForeignKey(
        "LotteryPrize",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("consolation prize"),
        help_text=_("What a draw gets when its prize is gone; empty: no prize."),
    )
    # Commit–reveal. The seed is secret until the campaign has ended.
    seed = models.CharField(_("seed"), max_length=64, editable=False)
    seed_hash = models.CharField(_("seed SHA-256"), max_length=64, editable=False)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, editable=False)
    revealed_at = models.DateTimeField(_("seed revealed"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("lottery campaign")
        verbose_name_plural = _("lottery campaigns")
        ordering = ["-starts_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="lottery_campaign_window"),
        ]

    def __str__(self) -> str:
        return self.name


class LotteryPrize(models.Model):
    campaign = models.ForeignKey(
        LotteryCampaign, on_delete=models.PROTECT, related_name="prizes", verbose_name=_("campaign")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=80)
    name_en = models.CharField(_("name (English)"), max_length=80, blank=True)
    image = models.ImageField(_("image"), upload_to="lottery/prizes/", blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=PrizeKind)
    points = models.PositiveIntegerField(_("points"), null=True, blank=True, help_text=_("For a points prize."))
    # A catalog item (its own stock and order flow) or a code/coupon item (its code pool).
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("catalog item"),
    )
    weight_bp = models.PositiveIntegerField(
        _("probability, basis points"),
        validators=[MaxValueValidator(BASIS_POINTS)],
        help_text=_("100 = 1%. All prizes of a campaign add up to 10000."),
    )
    quantity = models.PositiveIntegerField(_("quantity"), null=True, blank=True, help_text=_("Empty: unlimited."))
    remaining = models.PositiveIntegerField(_("left"), null=True, blank=True, editable=False)
    daily_cap = models.PositiveIntegerField(
        _("released per day"), null=True, blank=True, validators=[MinValueValidator(1)]
    )
    market_value = models.DecimalField(
        _("market value, yuan"), max_digits=10, decimal_places=2, default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )  # fmt: skip
    # ``remaining`` moves with every draw (a guarded UPDATE): the draws record it, not the history.
    history = HistoricalRecords(excluded_fields=["remaining"])

    class Meta:
        verbose_name = _("prize")
        verbose_name_plural = _("prizes")
        ordering = ["campaign", "position", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(weight_bp__lte=BASIS_POINTS), name="lottery_prize_weight_range"),
            # Stock is decremented with a guarded UPDATE; the database refuses anything below 0.
            models.CheckConstraint(
                condition=Q(remaining__isnull=True) | Q(remaining__gte=0), name="lottery_prize_remaining_positive"
            ),
            models.CheckConstraint(
                condition=Q(remaining__isnull=True) | Q(quantity__isnull=False, remaining__lte=models.F("quantity")),
                name="lottery_prize_remaining_within_quantity",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PrizeRelease(models.Model):
    """How many of a prize have been won on one business day (the daily release cap's counter)."""

    prize = models.ForeignKey(LotteryPrize, on_delete=models.CASCADE, related_name="releases")
    day = models.DateField()
    released = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["prize", "day"], name="lottery_release_once_per_day")]

    def __str__(self) -> str:
        return f"{self.prize_id} {self.day}: {self.released}"


class DrawerState(models.Model):
    """One member in one campaign: draws so far and draws since the last win (pity)."""

    campaign = models.ForeignKey(LotteryCampaign, on_delete=models.CASCADE, related_name="drawers")
    member = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    draws = models.PositiveIntegerField(default=0)
    since_win = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "member"], name="lottery_drawer_once")]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.member_id}: {self.draws}"


class Draw(models.Model):
    """One draw, written in the draw's transaction. Its number is recomputable after the reveal:
    ``HMAC-SHA256(seed, f"{draw.pk}:{client_seed}:{nonce}")`` with rejection sampling into
    0…9999 (``lottery.rules``)."""

    campaign = models.ForeignKey(
        LotteryCampaign, on_delete=models.PROTECT, related_name="draws", verbose_name=_("campaign")
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lottery_draws", verbose_name=_("member")
    )
    idempotency_key = models.CharField(max_length=120, unique=True)
    client_seed = models.CharField(_("client seed"), max_length=64)
    nonce = models.PositiveIntegerField(_("nonce"))
    number = models.PositiveIntegerField(_("number drawn"), null=True, blank=True)  # 0…9999
    pity = models.BooleanField(_("pity draw"), default=False)
    free = models.BooleanField(_("free draw"), default=False)
    cost_points = models.PositiveIntegerField(_("points paid"), default=0)
    picked = models.ForeignKey(
        LotteryPrize, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("prize picked")
    )
    prize = models.ForeignKey(
        LotteryPrize,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="won_draws",
        verbose_name=_("prize won"),
    )
    outcome = models.CharField(_("outcome"), max_length=16, choices=DrawOutcome, blank=True)
    spend_entry_id = models.BigIntegerField(null=True, blank=True)
    reward_reference = models.CharField(_("prize delivered as"), max_length=120, blank=True)
    created_at = models.DateTimeField(_("drawn at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("draw")
        verbose_name_plural = _("draws")
        ordering = ["-pk"]
        indexes = [models.Index(fields=["campaign", "member", "created_at"], name="lottery_draw_member_time")]

    def __str__(self) -> str:
        return f"{self.campaign_id}#{self.pk}"
