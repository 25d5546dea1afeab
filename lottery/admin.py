"""Admin of the lottery: the mall-wide policy (one row), campaigns with their prizes inline, a
"Publish" button and action (``lottery.services.lottery_campaign_publish``), a report per
campaign with CSV exports, and read-only lists of what the draw service writes.

Once a campaign is published its terms and prizes are frozen (Chinese promotion rules): the
form shows them read-only, the prizes inline can't add, change or delete, and a POST that
tries anyway is refused, nothing saved, and the attempt is kept in the campaign's history
(an admin LogEntry listing the fields it tried to change).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from functools import partial
from typing import cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from lottery import services as lottery_services
from lottery.forms import (
    CAMPAIGN_FIELDS,
    CAMPAIGN_TERMS,
    PRIZE_FIELDS,
    LotteryCampaignForm,
    LotteryPrizeForm,
    LotteryPrizeFormSet,
)
from lottery.models import Draw, DrawerState, LotteryCampaign, LotteryPolicy, LotteryPrize, PrizeRelease
from lottery.selectors import reports
from points import selectors as points_selectors
from points.validators import BoundedNumbersMixin
from pointsmall.kernel import clock
from pointsmall.kernel.admin import MemberSearchMixin, ReadOnlyAdmin, SingletonAdminMixin, apply_to_selected
from pointsmall.kernel.csv import csv_cell
from pointsmall.kernel.singleton import SINGLETON_PK


def _is_frozen(campaign: LotteryCampaign | None) -> bool:
    return campaign is not None and campaign.pk is not None and campaign.published_at is not None


class _Echo:
    """A file-like object csv.writer writes to that just hands the line back, for streaming."""

    def write(self, value: str) -> str:
        return value


def _csv_response(lines: Iterator[list], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def stream() -> Iterator[str]:
        yield "\ufeff"  # so spreadsheet programs read the Chinese names as UTF-8
        for line in lines:
            yield writer.writerow([csv_cell(v) for v in line])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@admin.register(LotteryPolicy)
class LotteryPolicyAdmin(BoundedNumbersMixin, SingletonAdminMixin, admin.ModelAdmin):
    """The one policy row. Until an operator saves it, the page shows the defaults the mall runs on.
    (The lottery's models keep no django-simple-history tables: the admin's LogEntry history applies.)"""

    fields = ("win_floor_bp", "top_prize_cap")
    # The value of a point (for the top-prize cap and the report) is the ledger's: points › point value.

    def save_model(self, request: HttpRequest, obj: LotteryPolicy, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if "top_prize_cap" in form.changed_data:
            # Published prizes are frozen: a lower cap is checked at the next publication; warn now.
            for warning in reports.over_cap_warnings(point_value_yuan=points_selectors.point_value_yuan()):
                messages.warning(request, warning)

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:lottery_lotterypolicy_change", args=[SINGLETON_PK]))

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        if str(object_id) != str(SINGLETON_PK):
            return None
        return LotteryPolicy.objects.filter(pk=SINGLETON_PK).first() or LotteryPolicy(pk=SINGLETON_PK)


class LotteryPrizeInline(BoundedNumbersMixin, admin.StackedInline):
    model = LotteryPrize
    form = LotteryPrizeForm
    formset = LotteryPrizeFormSet
    extra = 0
    fields = (
        ("position", "kind"),
        ("name", "name_en"),
        "image",
        ("points", "product"),
        ("weight_bp", "quantity", "daily_cap"),
        "market_value",
        "remaining",
    )
    readonly_fields = ("remaining",)
    autocomplete_fields = ()

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return not _is_frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return not _is_frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return not _is_frozen(obj) and super().has_delete_permission(request, obj)


@admin.register(LotteryCampaign)
class LotteryCampaignAdmin(BoundedNumbersMixin, admin.ModelAdmin):
    form = LotteryCampaignForm
    inlines = (LotteryPrizeInline,)
    change_form_template = "admin/lottery/lotterycampaign/change_form.html"
    list_display = ("name", "style", "starts_at", "ends_at", "cost_points", "published_at", "revealed_at", "report")
    list_filter = ("style",)
    search_fields = ("name", "name_en")
    actions = ("publish",)
    fieldsets = (
        (None, {"fields": (("name", "name_en"), ("description", "description_en"), "image", "style")}),
        (
            _("When, for whom, at what cost"),
            {
                "fields": (
                    ("starts_at", "ends_at"),
                    "cost_points",
                    "tier_codes",
                    "min_account_age_days",
                    ("daily_limit", "campaign_limit"),
                    "tier_free_draws",
                )
            },
        ),
        (_("Prizes"), {"fields": ("pity_after", "consolation_prize")}),
        (_("Provably fair"), {"fields": ("seed_hash", "seed_shown", "published_at", "revealed_at")}),
    )

    # --- Frozen after publication --------------------------------------------------------------

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> tuple[str, ...]:
        shown = ("seed_hash", "seed_shown", "published_at", "revealed_at")
        return (*CAMPAIGN_TERMS, "tiers_shown", *shown) if _is_frozen(obj) else shown

    def get_fieldsets(self, request: HttpRequest, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if not _is_frozen(obj):
            return fieldsets
        # Read-only, the tiers show by name (the reader's language), not as stored codes.
        return [
            (title, {**options, "fields": tuple("tiers_shown" if f == "tier_codes" else f for f in options["fields"])})
            for title, options in fieldsets
        ]

    @admin.display(description=_("tiers"))
    def tiers_shown(self, campaign: LotteryCampaign) -> str:
        if not campaign.tier_codes:
            return gettext("Every tier")
        names = dict(points_selectors.tier_choices())
        return ", ".join(names.get(code, code) for code in campaign.tier_codes)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return not _is_frozen(obj) and super().has_delete_permission(request, obj)

    @admin.display(description=_("seed"))
    def seed_shown(self, campaign: LotteryCampaign) -> str:
        if campaign.revealed_at is not None:
            return campaign.seed
        return gettext("Hidden until the campaign has ended.")

    @admin.display(description=_("report"))
    def report(self, campaign: LotteryCampaign) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:lottery_lotterycampaign_report", args=[campaign.pk]), _("Report")
        )

    def attempted_changes(self, request: HttpRequest, campaign: LotteryCampaign) -> list[str]:
        """What a POST to a published campaign's form tries to change among its terms and prizes:
        ``field`` for the campaign, ``prize <id>: field``, ``prize <id>: delete``, ``new prize``.
        Only fields the POST carries count (a read-only form sends none of them)."""
        data = request.POST
        attempts = []

        def sent(name: str, prefix: str = "") -> bool:
            key = f"{prefix}{name}"
            return key in data or f"{key}_0" in data or f"{key}_1" in data

        form_class = forms.modelform_factory(
            LotteryCampaign,
            form=LotteryCampaignForm,
            fields=CAMPAIGN_FIELDS,
            formfield_callback=partial(self.formfield_for_dbfield, request=request),
        )
        prize_form_class = forms.modelform_factory(
            LotteryPrize,
            form=LotteryPrizeForm,
            fields=PRIZE_FIELDS,
            formfield_callback=partial(
                LotteryPrizeInline(LotteryCampaign, self.admin_site).formfield_for_dbfield, request=request
            ),
        )
        form = form_class(data=data, files=request.FILES, instance=campaign)
        attempts += [name for name in form.changed_data if name in CAMPAIGN_TERMS and sent(name)]
        prizes = {p.pk: p for p in campaign.prizes.all()}
        try:
            total = int(data.get("prizes-TOTAL_FORMS", "0"))
        except ValueError:
            total = 0
        for index in range(min(total, 1000)):
            prefix = f"prizes-{index}-"
            raw_id = data.get(f"{prefix}id", "")
            prize = prizes.get(int(raw_id)) if raw_id.isdigit() else None
            if prize is None:
                if any(data.get(f"{prefix}{name}") for name in PRIZE_FIELDS):
                    attempts.append("new prize")
                continue
            if data.get(f"{prefix}DELETE"):
                attempts.append(f"prize {prize.pk}: delete")
            prize_form = prize_form_class(data=data, files=request.FILES, instance=prize, prefix=f"prizes-{index}")
            attempts += [
                f"prize {prize.pk}: {name}"
                for name in prize_form.changed_data
                if name in PRIZE_FIELDS and sent(name, prefix)
            ]
        return attempts

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and object_id is not None:
            campaign = self.get_object(request, object_id)
            if campaign is not None and _is_frozen(campaign) and self.has_change_permission(request, campaign):
                attempts = self.attempted_changes(request, campaign)
                if attempts:
                    self.log_refused(request, campaign, attempts)
                    self.message_user(
                        request,
                        gettext(
                            "This campaign is published: its terms and prizes can't change. "
                            "Nothing was saved; the attempt is kept in its history (%(fields)s)."
                        )
                        % {"fields": ", ".join(attempts)},
                        messages.ERROR,
                    )
                    return HttpResponseRedirect(request.path)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def log_refused(self, request: HttpRequest, campaign: LotteryCampaign, attempts: list[str]) -> None:
        LogEntry.objects.create(
            user_id=cast(int, request.user.pk),
            content_type=ContentType.objects.get_for_model(LotteryCampaign),
            object_id=str(campaign.pk),
            object_repr=str(campaign)[:200],
            action_flag=CHANGE,
            change_message="Refused (published): " + ", ".join(attempts),
            action_time=timezone.now(),
        )

    def save_model(self, request: HttpRequest, obj: LotteryCampaign, form, change: bool) -> None:
        if not change:
            obj.seed, obj.seed_hash = lottery_services.lottery_seed_new()
        super().save_model(request, obj, form, change)

    # --- Publishing --------------------------------------------------------------------------

    @admin.action(description=_("Publish the selected campaigns"), permissions=["change"])
    def publish(self, request: HttpRequest, queryset) -> None:
        apply_to_selected(
            self,
            request,
            queryset.filter(published_at__isnull=True).order_by("pk"),
            lambda c: lottery_services.lottery_campaign_publish(campaign_id=c.pk, actor_id=request.user.pk),
            refused_message=lambda c, reason: (
                gettext("%(name)s was not published: %(reason)s") % {"name": c, "reason": reason}
            ),
            done_message=lambda n: gettext("Published %(n)d campaign(s).") % {"n": n},
        )

    def get_urls(self):
        view = self.admin_site.admin_view
        urls = [
            path("<int:campaign_id>/publish/", view(self.publish_view), name="lottery_lotterycampaign_publish"),
            path("<int:campaign_id>/report/", view(self.report_view), name="lottery_lotterycampaign_report"),
            path("<int:campaign_id>/report.csv", view(self.report_csv_view), name="lottery_lotterycampaign_report_csv"),
            path("<int:campaign_id>/draws.csv", view(self.draws_csv_view), name="lottery_lotterycampaign_draws_csv"),
        ]
        return urls + super().get_urls()

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None):
        campaign = self.get_object(request, object_id)
        extra = {
            **(extra_context or {}),
            "can_publish": campaign is not None
            and campaign.published_at is None
            and self.has_change_permission(request, campaign),
            "frozen": _is_frozen(campaign),
        }
        return super().change_view(request, object_id, form_url, extra)

    @staticmethod
    def _change_url(campaign_id: int) -> str:
        return reverse("admin:lottery_lotterycampaign_change", args=[campaign_id])

    def publish_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        return require_POST(self._publish)(request, campaign_id)

    def _publish(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        campaign = get_object_or_404(LotteryCampaign, pk=campaign_id)
        if not self.has_change_permission(request, campaign):
            raise PermissionDenied
        self.publish(request, LotteryCampaign.objects.filter(pk=campaign.pk))
        return HttpResponseRedirect(self._change_url(campaign.pk))

    # --- Reporting ---------------------------------------------------------------------------

    def _viewable(self, request: HttpRequest, campaign_id: int) -> LotteryCampaign:
        campaign = LotteryCampaign.objects.filter(pk=campaign_id).first()
        if campaign is None:
            raise Http404
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        return campaign

    def report_view(self, request: HttpRequest, campaign_id: int) -> HttpResponse:
        campaign = self._viewable(request, campaign_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": campaign,
            "title": gettext("Report: %(name)s") % {"name": campaign},
            "report": reports.campaign_report(campaign_id=campaign.pk),
        }
        return TemplateResponse(request, "admin/lottery/lotterycampaign/report.html", context)

    def report_csv_view(self, request: HttpRequest, campaign_id: int) -> StreamingHttpResponse:
        campaign = self._viewable(request, campaign_id)
        report = reports.campaign_report(campaign_id=campaign.pk)

        def lines() -> Iterator[list]:
            yield [gettext("figure"), gettext("value")]
            yield [gettext("draws"), report.draws]
            yield [gettext("distinct drawers"), report.drawers]
            yield [gettext("paid draws"), report.paid_draws]
            yield [gettext("free draws"), report.free_draws]
            yield [gettext("pity draws"), report.pity_draws]
            yield [gettext("prize gone: no prize"), report.fell_through]
            yield [gettext("points collected"), report.points_collected]
            yield [gettext("points prizes credited"), report.points_paid]
            yield [gettext("cost of prizes, yuan"), report.prize_cost]
            yield [gettext("χ² p-value"), "" if report.chi_square_p is None else f"{report.chi_square_p:.6f}"]
            yield []
            yield [
                gettext("prize"),
                gettext("kind"),
                gettext("configured %"),
                gettext("realised %"),
                gettext("picked"),
                gettext("awarded"),
                gettext("quantity"),
                gettext("left"),
                gettext("market value, yuan"),
                gettext("cost, yuan"),
                gettext("points credited"),
            ]
            for p in report.prizes:
                yield [
                    p.name,
                    p.kind,
                    p.configured_rate,
                    "" if p.realised_rate is None else p.realised_rate,
                    p.picked,
                    p.awarded,
                    "" if p.quantity is None else p.quantity,
                    "" if p.remaining is None else p.remaining,
                    p.market_value,
                    p.cost,
                    p.points_paid,
                ]

        return _csv_response(lines(), f"lottery-{campaign.pk}-report-{self._stamp()}.csv")

    def draws_csv_view(self, request: HttpRequest, campaign_id: int) -> StreamingHttpResponse:
        campaign = self._viewable(request, campaign_id)

        def lines() -> Iterator[list]:
            yield list(reports.DRAW_COLUMNS)
            for row in reports.draw_rows(campaign_id=campaign.pk):
                yield list(row)

        return _csv_response(lines(), f"lottery-{campaign.pk}-draws-{self._stamp()}.csv")

    @staticmethod
    def _stamp() -> str:
        return clock.business_time(timezone.now()).strftime("%Y%m%d-%H%M")


@admin.register(Draw)
class DrawAdmin(MemberSearchMixin, ReadOnlyAdmin):
    list_display = (
        "pk",
        "campaign",
        "member",
        "created_at",
        "number",
        "prize",
        "outcome",
        "pity",
        "free",
        "cost_points",
    )
    list_filter = ("outcome", "pity", "free", "campaign")
    search_fields = ("member__email", "idempotency_key", "reward_reference")
    list_select_related = ("campaign", "member", "prize")
    show_full_result_count = False
    exclude = ("idempotency_key",)


@admin.register(DrawerState)
class DrawerStateAdmin(ReadOnlyAdmin):
    list_display = ("campaign", "member", "draws", "since_win")
    list_filter = ("campaign",)
    search_fields = ("member__email",)
    list_select_related = ("campaign", "member")


@admin.register(PrizeRelease)
class PrizeReleaseAdmin(ReadOnlyAdmin):
    list_display = ("prize", "day", "released")
    list_filter = ("day",)
    list_select_related = ("prize",)
