"""Staff never grant themselves or anyone else more than they have, through any admin page.

The walk is generic: it takes every ModelAdmin in ``admin.site._registry`` and every staff
group the data migrations created, signs in as a staff member of each group, and then
opens and submits every add and change form (as a browser would, with
``is_superuser``/``is_staff``/``groups``/``user_permissions``/``permissions`` added), runs
every admin action on every row, and follows every admin link it is shown. A ModelAdmin or
a staff group added later is walked without touching this module; give a new model a row in
``_one_of_everything`` so its change form is walked too (a test below insists).

"Privileges" are what the snapshot in ``_privileges`` holds: superuser and staff flags,
groups, permissions, passwords, sign-in identities (e-mail addresses, social logins,
authenticators), what periodic tasks run, and what staff hold as members themselves
(their points, their orders, the invitations that pay them).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlencode, urlsplit

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Group, Permission
from django.contrib.sites.models import Site
from django.db import transaction
from django.db.models import Q
from django.test import RequestFactory
from django.urls import resolve, reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from accounts import selectors as accounts_selectors
from accounts import services as accounts_services
from accounts.enums import NotificationKind, RiskReason
from accounts.models import MessageTemplate, Referral, User
from catalog import services as catalog_services
from catalog.enums import ProductKind
from catalog.models import Order, SalePrice
from lottery import services as lottery_services
from lottery.models import LotteryPolicy, LotteryPrize
from points import services as points_services
from points.models import Account, Campaign, PurchaseRate
from pointsmall.analytics import demo as analytics_demo
from pointsmall.integration import services as integration_services
from pointsmall.integration import webhooks
from pointsmall.integration.models import WebhookEndpoint
from pointsmall.kernel import clock
from tasks import services as tasks_services
from tasks.models import LeaderboardExclusion, LeaderboardPolicy, LeaderboardPrize, SurveyQuestion, Task
from tasks.rules import leaderboard as tasks_rules
from tests.catalog.factories import (
    PIN,
    add_address,
    add_codes,
    delivered_order,
    make_member,
    make_product,
    redeem,
)
from tests.factories import MemberFactory

STAFF_GROUPS = {"Operators", "Customer service", "Shop staff"}  # what the data migrations create today
PRIVILEGE_NAMES = frozenset({"is_superuser", "is_staff", "groups", "user_permissions", "permissions"})
PASSWORD_NAMES = frozenset({"password", "password1", "password2", "usable_password"})


# --- The staff and the mall they walk -------------------------------------------------------


@pytest.fixture(autouse=True)
def _admin_settings(settings, tmp_path):
    settings.ADMIN_REQUIRE_MFA = False
    settings.CATALOG_PAYMENT_BACKEND = "offline"
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def staff(db) -> dict[str, User]:
    """A staff member in each staff group that exists (the migrations' and any added later), and a superuser."""
    people = {}
    for group in Group.objects.order_by("name"):
        user = MemberFactory(email=f"{group.name.lower().replace(' ', '-')}@staff.example.com", is_staff=True)
        user.groups.add(group)
        people[group.name] = user
    people["superuser"] = MemberFactory(email="root@staff.example.com", is_staff=True, is_superuser=True)
    return people


@pytest.fixture
def world(staff) -> dict:
    """At least one row of every model the admin shows, and for each staff member what they
    hold as a member: points, an unpaid cash order, an order waiting for review, and a held
    invitation that would pay them if approved."""
    return _one_of_everything(staff)


def _one_of_everything(staff: dict[str, User]) -> dict:
    now = timezone.now()
    alice = make_member(points=3000)
    bob = make_member(points=3000)
    add_address(alice)
    accounts_services.notification_send(user_id=alice.pk, kind=NotificationKind.ACCOUNT, title="Hello", body="Hi")
    points_services.signup_bonus_grant(user_id=alice.pk, identities=[f"email:{alice.email}"])
    points_services.purchase_record(user_id=alice.pk, external_id="HOST-1", amount=Decimal("100.00"))
    points_services.purchase_refund(external_id="HOST-1", amount=Decimal("10.00"), idempotency_key="walk-refund")
    points_services.points_adjust(
        user_id=bob.pk, amount=50, reason="Goodwill", note="ticket 1", actor_id=staff["superuser"].pk,
        idempotency_key="walk-adjust",
    )  # fmt: skip
    points_services.points_hold_place(
        user_id=bob.pk, amount=10, key="host:0:W1", reference="host.order:W1", expires_at=now + timedelta(minutes=15)
    )
    PurchaseRate.objects.create(scope="category", key="books", points_per_yuan=Decimal("2"))
    Campaign.objects.create(name="Double week", starts_at=now, ends_at=now + timedelta(days=7))

    product = make_product(requires_review=False)
    SalePrice.objects.create(product=product, points_price=300, starts_at=now, ends_at=now + timedelta(days=1))
    coupon = make_product(kind=ProductKind.COUPON, stock=0)
    add_codes(coupon, 3)
    redeem(alice, coupon)
    order = delivered_order(alice, product)
    catalog_services.review_post(order_id=order.pk, member_id=alice.pk, rating=5, text="Lovely, works well.")
    reviewed = make_product(requires_review=True)
    cash = make_product(cash_price=Decimal("9.90"), points_price=100)
    redeem(bob, reviewed)
    paid = redeem(bob, cash)
    catalog_services.order_mark_paid(order_id=paid.pk, payment_reference=paid.payment_reference or "walk-pay")
    catalog_services.order_cancel(order_id=paid.pk, member_id=bob.pk, actor_id=bob.pk)  # a cash refund is due

    for number, person in enumerate(staff.values()):
        accounts_services.pin_set(user_id=person.pk, pin=PIN)
        points_services.points_earn(user_id=person.pk, amount=2000, idempotency_key=f"walk-staff:{person.pk}")
        redeem(person, reviewed)
        redeem(person, cash)
        friend = MemberFactory(email=f"friend{number}@example.com")
        accounts_services.referral_bind(
            invitee_id=friend.pk, code=accounts_selectors.invite_code_of(user_id=person.pk), signup_ip="203.0.113.9"
        )
        accounts_services.referral_hold(referral_id=Referral.objects.get(invitee=friend).pk)
        accounts_services.referral_confirm(invitee_id=friend.pk, email=friend.email)

    github = SocialApp.objects.create(provider="github", name="GitHub", client_id="client", secret="secret")
    linked = SocialAccount.objects.create(user=bob, provider="github", uid="4242", extra_data={"login": "bob"})
    SocialToken.objects.create(app=github, account=linked, token="token")
    Authenticator.objects.create(
        user=staff["superuser"], type=Authenticator.Type.TOTP, data={"secret": "seed"}, last_used_at=now
    )
    crontab = CrontabSchedule.objects.create(minute="5", hour="0")
    IntervalSchedule.objects.create(every=10, period=IntervalSchedule.MINUTES)
    SolarSchedule.objects.create(event="sunrise", latitude=Decimal("31.23"), longitude=Decimal("121.47"))
    ClockedSchedule.objects.create(clocked_time=now + timedelta(days=1))
    PeriodicTask.objects.create(name="points-expire-due", task="points.expire", crontab=crontab)
    # Daily check-in: its rules, and one member's check-in, make-up card and boost.
    tasks_services.checkin_rules_seed()
    tasks_services.makeup_card_apply(user_id=alice.pk, quantity=1, idempotency_key="walk-card")
    tasks_services.checkin_boost_apply(user_id=alice.pk, days=7, multiplier=Decimal("2"), idempotency_key="walk-boost")
    tasks_services.checkin_record(user_id=alice.pk)
    _leaderboard_rows(alice, bob, staff["superuser"])
    # Tasks: a survey answered and an event task completed.
    survey = Task.objects.create(title="问卷", completion="survey", reward_points=5)
    question = SurveyQuestion.objects.create(task=survey, text="好吗？", kind="single", choices=["好", "不好"])
    tasks_services.survey_submit(user_id=alice.pk, task_id=survey.pk, answers={str(question.pk): "0"})
    Task.objects.create(title="设置密码", completion="event", event="pin_set", reward_points=5)
    tasks_services.task_event_record(user_id=bob.pk, event="pin_set", reference="accounts.pin")
    _lottery_rows(alice)
    _content_rows(alice)
    # Notifications: a member's channel choice and an operator's e-mail/SMS template.
    accounts_services.notification_preferences_set(user_id=alice.pk, choices={"points": {"email": True}})
    MessageTemplate.objects.create(
        message_code="accounts.tier_upgraded", language="en", email_subject="{{ mall_name }}: {{ title }}"
    )
    # Traffic: a day of page and product history (read-only in the admin).
    analytics_demo.seed_traffic(days=1)
    # Host integration: a client (its secret is an inline), a member it brought in, its webhook
    # endpoint and one event in the outbox.
    shop, _secret = integration_services.client_create(name="Shop")
    host_user_id, _created = integration_services.host_member_put(
        client_id=shop.pk, external_id="host-1", fields={"display_name": "Host"}
    )
    WebhookEndpoint.objects.create(client=shop, url="https://hooks.example.com/walk", events=["points.earned"])
    webhooks.webhook_event_record(user_id=host_user_id, event_type="points.earned", data={"points": 1})
    # Risk: a flag, and a freeze undone (bob's account is open again for the walk's writes).
    accounts_services.risk_flag_raise(
        user_ids=[bob.pk], reason=RiskReason.CHECKIN_BURST, evidence={"ip": "203.0.113.9"}
    )
    accounts_services.account_freeze(user_id=bob.pk, actor_id=staff["superuser"].pk, reason="Review")
    accounts_services.account_unfreeze(user_id=bob.pk, actor_id=staff["superuser"].pk, reason="Cleared")
    # The audit trail: the admin's own log (read-only; the privilege changes came with the staff).
    LogEntry.objects.log_actions(
        user_id=staff["superuser"].pk,
        queryset=User.objects.filter(pk=bob.pk),
        action_flag=CHANGE,
        change_message="Walked",
    )
    from pointsmall.kernel.pii import pii_revealed

    pii_revealed.send(  # a reveal of alice's address (audit.PiiReveal, decision 0057)
        sender=User,
        actor_id=staff["superuser"].pk,
        user_id=alice.pk,
        target="accounts.address",
        object_id="1",
        fields=["phone"],
        reason="Walk",
    )
    return {"members": [alice, bob]}


def _content_rows(member: User) -> None:
    """An announcement, a banner (its file name only: the walk never reads the picture) and feedback."""
    from pointsmall.content import services as content_services
    from pointsmall.content.models import Announcement, Banner

    now = timezone.now()
    Announcement.objects.create(title_zh="公告", body_zh="**欢迎**", starts_at=now - timedelta(hours=1))
    Banner.objects.create(title_zh="新品", image="banners/walk.jpg", link="/mall/", starts_at=now, width=16, height=5)
    content_services.feedback_submit(member_id=member.pk, category="bug", text="The button does nothing")


def _lottery_rows(member: User) -> None:
    """The policy, a draft and a published campaign, and two draws (pity after one loss: one wins)."""
    now = timezone.now()
    LotteryPolicy.objects.create(pk=1)
    for name in ("草稿", "转盘"):
        campaign = lottery_services.lottery_campaign_create(
            name=name, description="规则", starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=7),
            cost_points=10, pity_after=1,
        )  # fmt: skip
        LotteryPrize.objects.create(
            campaign=campaign, name="10积分", kind="points", points=10, weight_bp=2000, quantity=100, daily_cap=50
        )
        LotteryPrize.objects.create(campaign=campaign, name="谢谢参与", kind="none", weight_bp=8000)
    lottery_services.lottery_campaign_publish(campaign_id=campaign.pk, now=now - timedelta(hours=2))  # before the start
    for n in range(2):
        lottery_services.lottery_draw(user_id=member.pk, campaign_id=campaign.pk, idempotency_key=f"walk-draw-{n}")


def _leaderboard_rows(winner: User, flagged: User, operator: User) -> None:
    """A policy, an exclusion, a prize band, a snapshot and this month's prize, paid as next month would."""
    month = clock.period_start(timezone.now(), "month").date()
    LeaderboardPolicy.objects.create(pk=1, monthly_rewards=True)
    LeaderboardExclusion.objects.create(member=flagged, reason="Bought points", created_by=operator)
    LeaderboardPrize.objects.create(rank_from=1, rank_to=1, points=100)
    tasks_services.leaderboard_refresh()
    next_month = clock.business_day_start(tasks_rules.next_month(month))
    assert tasks_services.leaderboard_pay_monthly(now=next_month, month=month).paid >= 1


def _privileges(actor: User | None = None) -> dict:
    """Everything that makes someone more powerful, and what ``actor`` holds as a member:
    no staff member's admin work may change any of it."""
    staff_ids = set(User.objects.filter(Q(is_staff=True) | Q(is_superuser=True)).values_list("pk", flat=True))
    groups_of = defaultdict(set)
    for user_id, group_id in User.groups.through.objects.values_list("user_id", "group_id"):
        groups_of[user_id].add(group_id)
    permissions_of = defaultdict(set)
    for user_id, permission_id in User.user_permissions.through.objects.values_list("user_id", "permission_id"):
        permissions_of[user_id].add(permission_id)
    group_permissions = defaultdict(set)
    for group_id, permission_id in Group.permissions.through.objects.values_list("group_id", "permission_id"):
        group_permissions[group_id].add(permission_id)
    users = {}
    for pk, *row in User.objects.values_list(
        "pk", "email", "password", "is_superuser", "is_staff", "is_active", "display_name", "phone", "language"
    ):
        # Members' service fields (name, language, active) are the operators' to change; staff's are not.
        users[pk] = (*row[:4], frozenset(groups_of[pk]), frozenset(permissions_of[pk]))
        if pk in staff_ids:
            users[pk] += tuple(row[4:])
    return {
        "users": users,
        "groups": {
            pk: (name, frozenset(group_permissions[pk])) for pk, name in Group.objects.values_list("pk", "name")
        },
        "permissions": set(Permission.objects.values_list("content_type_id", "codename")),
        "emails": set(EmailAddress.objects.values_list("user_id", "email", "verified", "primary")),
        "social": set(SocialAccount.objects.values_list("user_id", "provider", "uid")),
        "social_apps": set(SocialApp.objects.values_list("provider", "client_id", "secret")),
        "tokens": set(SocialToken.objects.values_list("account_id", "token")),
        "authenticators": set(Authenticator.objects.values_list("user_id", "type")),
        "sites": set(Site.objects.values_list("domain", "name")),
        "tasks": set(
            PeriodicTask.objects.values_list("name", "task", "args", "kwargs", "queue", "exchange", "routing_key")
        ),
        "own_points": set(Account.objects.filter(user=actor).values_list("balance", "pending")),
        "own_orders": set(Order.objects.filter(member=actor).values_list("pk", "status", "paid_at")),
        "own_referrals": set(Referral.objects.filter(inviter=actor).values_list("pk", "status", "signup_points")),
    }


# --- What a browser would do -----------------------------------------------------------------


class _FormReader(HTMLParser):
    """The fields a browser submits from the form with the given id (no JavaScript, no files)."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.found = False
        self.data: dict[str, list[str]] = defaultdict(list)
        self._select: str | None = None
        self._multiple = False
        self._options: list[str] = []
        self._chosen: list[str] = []
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
            self.found = self.found or self.inside
            return
        if not self.inside or "disabled" in a:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in {"submit", "button", "image", "file", "reset"}:
                return
            if kind in {"checkbox", "radio"}:
                if "checked" in a:
                    self.data[name].append(a.get("value") or "on")
            else:
                self.data[name].append(a.get("value") or "")
        elif tag == "select" and name:
            self._select, self._multiple, self._options, self._chosen = name, "multiple" in a, [], []
        elif tag == "option" and self._select is not None:
            self._options.append(a.get("value") or "")
            if "selected" in a:
                self._chosen.append(a.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self._select is not None:
            chosen = self._chosen or ([] if self._multiple else self._options[:1])
            self.data[self._select].extend(chosen)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            self.data[self._textarea].append(text.removeprefix("\r\n").removeprefix("\n"))
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def _form_data(response, model) -> dict[str, list[str]] | None:
    reader = _FormReader(f"{model._meta.model_name}_form")
    reader.feed(response.content.decode())
    return dict(reader.data) if reader.found else None


def _privilege_payload() -> dict[str, list[str]]:
    everything = [str(pk) for pk in Permission.objects.values_list("pk", flat=True)]
    return {
        "is_superuser": ["on"],
        "is_staff": ["on"],
        "groups": [str(pk) for pk in Group.objects.values_list("pk", flat=True)],
        "user_permissions": everything,
        "permissions": everything,
    }


def _post(client, url: str, data: dict):
    # URL-encoded like a browser's form without files: thousands of permission ids parse fast.
    return client.post(url, urlencode(data, doseq=True), content_type="application/x-www-form-urlencoded")


def _request_as(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _targets(model, user: User) -> list[int]:
    """The rows whose change form is walked: the first row; for users also oneself, a superuser and a member."""
    pks = list(model._default_manager.order_by("pk").values_list("pk", flat=True)[:1])
    if model is User:
        pks += [
            user.pk,
            User.objects.filter(is_superuser=True).exclude(pk=user.pk).values_list("pk", flat=True).first(),
            User.objects.filter(is_staff=False).values_list("pk", flat=True).first(),
        ]
    return list(dict.fromkeys(pk for pk in pks if pk is not None))


def _other_staff(staff: dict[str, User]) -> list[tuple[str, User]]:
    return [(name, user) for name, user in staff.items() if name != "superuser"]


class _Rollback(Exception):
    pass


def _then_undo(action):
    """Run ``action`` and undo whatever it wrote, so each step of the walk starts from the same mall."""
    result = {}
    try:
        with transaction.atomic():
            result["value"] = action()
            raise _Rollback
    except _Rollback:
        pass
    return result["value"]


# --- Tests -----------------------------------------------------------------------------------


def test_the_migrations_create_the_staff_groups_the_walk_signs_in_as(staff):
    assert set(staff) >= STAFF_GROUPS | {"superuser"}


def test_every_registered_model_has_a_row_so_its_change_form_is_walked(world):
    empty = [model._meta.label for model in admin.site._registry if not model._default_manager.exists()]
    assert empty == [], f"Give these models a row in _one_of_everything: {empty}"


def _privilege_fields(form_class, *, adding: bool) -> set[str]:
    names = set()
    for name, field in form_class.base_fields.items():
        queryset = getattr(field, "queryset", None)
        if name in PRIVILEGE_NAMES or (queryset is not None and queryset.model in (Group, Permission)):
            names.add(name)
        elif name in PASSWORD_NAMES and not adding:
            names.add(name)  # setting someone else's password is taking their account
    return names


def _offered_privilege_fields(model_admin, user: User) -> dict[str, set[str]]:
    """Which privilege fields each add and change form (and their inlines) offers ``user``."""
    request = _request_as(user)
    found = {}
    forms = []
    if model_admin.has_add_permission(request):
        forms.append(("add", None))
    for pk in _targets(model_admin.model, user):
        obj = model_admin.model._default_manager.get(pk=pk)
        if model_admin.has_change_permission(request, obj):
            forms.append((f"change #{pk}", obj))
    for label, obj in forms:
        fields = _privilege_fields(model_admin.get_form(request, obj, change=obj is not None), adding=obj is None)
        for formset, _inline in model_admin.get_formsets_with_inlines(request, obj):
            fields |= _privilege_fields(formset.form, adding=False)
        if fields:
            found[f"{model_admin.model._meta.label} {label}"] = fields
    return found


def test_no_admin_form_offers_a_privilege_field_to_other_staff(world, staff):
    for name, user in _other_staff(staff):
        for model_admin in admin.site._registry.values():
            assert _offered_privilege_fields(model_admin, user) == {}, name


def test_a_superuser_is_offered_the_privilege_fields(world, staff):
    """The check above can see them: the superuser's user form has every one of them."""
    found = _offered_privilege_fields(admin.site._registry[User], staff["superuser"])
    member = world["members"][0]
    assert found[f"accounts.User change #{member.pk}"] == {
        "is_superuser",
        "is_staff",
        "groups",
        "user_permissions",
        "password",
    }


def _submit_every_form(client, user: User, payload: dict[str, list[str]]) -> list[str]:
    """Open and submit every add and change form with ``payload`` added; assert no privilege changed.

    Returns the change forms the user may edit that did not save: the walk's own check that
    what it submits is what a browser would (else "nothing changed" would prove nothing).
    """
    not_saved = []
    for model in admin.site._registry:
        urls = [_url(model, "add")] + [_url(model, "change", pk) for pk in _targets(model, user)]
        for url in urls:
            page = client.get(url)
            assert page.status_code in (200, 302, 403), (user.email, url, page.status_code)
            if page.status_code != 200:
                continue
            data = _form_data(page, model)
            if data is None:
                continue

            def submit(url=url, data=data):
                before = _privileges(user)
                response = _post(client, url, {**data, **payload, "_save": ["Save"]})
                return before, _privileges(user), response

            before, after, response = _then_undo(submit)
            assert after == before, f"{user.email} changed privileges through {url}"
            assert response.status_code in (200, 302, 403), (user.email, url, response.status_code)
            editable = "/change/" in url and page.context.get("has_change_permission")
            if editable and response.status_code != 302:
                not_saved.append(f"{url}: {response.context['adminform'].form.errors.as_data()}")
    return not_saved


def test_submitting_every_admin_form_with_privileges_added_grants_nothing(client, world, staff, settings):
    # Every permission id twice plus a form's own fields passes Django's 1,000-field guard
    # (a 400 before the view runs, which would prove nothing): lift it for the walk only.
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = None
    payload = _privilege_payload()
    for name, user in _other_staff(staff):
        client.force_login(user)
        assert _submit_every_form(client, user, payload) == [], name


def test_the_walk_submits_forms_that_save_a_superuser_saves_every_one_unchanged(client, world, staff):
    client.force_login(staff["superuser"])
    assert _submit_every_form(client, staff["superuser"], {}) == []


def test_a_superuser_grants_staff_status_groups_and_permissions_through_the_same_form(client, world, staff):
    member = world["members"][1]
    operators = Group.objects.get(name="Operators")
    client.force_login(staff["superuser"])
    url = _url(User, "change", member.pk)
    data = _form_data(client.get(url), User)
    data.update({"is_staff": ["on"], "groups": [str(operators.pk)], "_save": "Save"})
    assert client.post(url, data).status_code == 302
    member.refresh_from_db()
    assert member.is_staff is True
    assert list(member.groups.all()) == [operators]


def test_no_admin_action_grants_privileges_or_serves_the_staff_member_who_runs_it(client, world, staff):
    for name, user in _other_staff(staff):
        client.force_login(user)
        request = _request_as(user)
        for model, model_admin in admin.site._registry.items():
            actions = model_admin.get_actions(request)
            for action, (function, _name, _description) in actions.items():
                assert getattr(function, "allowed_permissions", None), (
                    f"{model._meta.label}.{action} is offered to {name} without a permission check"
                )
                data = {
                    "action": action,
                    "index": "0",
                    helpers.ACTION_CHECKBOX_NAME: [
                        str(pk) for pk in model._default_manager.values_list("pk", flat=True)
                    ],
                    # Confirm what asks for confirmation (delete) or a reason (reject).
                    "post": "yes",
                    "apply": "1",
                    "reason": "Walked by the privilege test",
                }

                def run(model=model, data=data, user=user):
                    before = _privileges(user)
                    response = _post(client, _url(model, "changelist"), data)
                    return before, _privileges(user), response

                before, after, response = _then_undo(run)
                assert after == before, f"{name} changed privileges with {model._meta.label}.{action}"
                # 403: refused, e.g. deleting a schedule would delete the tasks that use it, which they may not.
                assert response.status_code in (200, 302, 403), (name, model._meta.label, action, response.status_code)


class _LinkReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.links.append(href)


def _admin_links(response) -> set[str]:
    if "text/html" not in response.get("Content-Type", ""):
        return set()
    reader = _LinkReader()
    reader.feed(response.content.decode())
    paths = set()
    for href in reader.links:
        parts = urlsplit(href)
        if parts.netloc or not parts.path.startswith("/admin/") or parts.path.startswith("/admin/r/"):
            continue  # other sites, the mall's own pages, and "view on site" redirects
        paths.add(parts.path + (f"?{parts.query}" if parts.query else ""))
    return paths


PAGES_PER_VIEW = 3  # e.g. three entries' change pages stand for all of them: keeps the walk quick


def test_every_admin_link_a_staff_member_is_shown_opens(client, world, staff):
    """No link or button leads to a 403: staff are shown only what they may open (four levels deep)."""
    broken = []
    for name, user in _other_staff(staff):
        client.force_login(user)
        seen_paths: set[str] = set()
        per_view: dict[str, int] = defaultdict(int)
        level = {("", reverse("admin:index"))}
        for _depth in range(4):
            following = set()
            for source, link in sorted(level):
                path = urlsplit(link).path
                view = resolve(path).view_name
                if path in seen_paths or per_view[view] >= PAGES_PER_VIEW:
                    continue
                seen_paths.add(path)
                per_view[view] += 1
                response = client.get(link)
                if response.status_code not in (200, 302):
                    broken.append(f"{name} is shown {link} on {source}, which answers {response.status_code}")
                following |= {(path, found) for found in _admin_links(response)}
            level = following
    assert broken == [], "\n".join(broken)


def test_an_operator_cannot_adjust_their_own_points_or_act_on_their_own_orders(client, world, staff):
    operator = staff["Operators"]
    client.force_login(operator)
    account = Account.objects.get(user=operator)
    before = _privileges(operator)
    assert "Adjust points" not in client.get(_url(Account, "change", account.pk)).content.decode()
    adjust = reverse("admin:points_account_adjust", args=[account.pk])
    assert client.get(adjust).status_code == 403
    response = client.post(adjust, {"amount": "100000", "reason": "me", "idempotency_key": "self"})
    assert response.status_code == 403
    own_orders = list(Order.objects.filter(member=operator).order_by("pk"))
    for action in ("approve_orders", "confirm_cash_payment"):
        response = client.post(
            _url(Order, "changelist"),
            {"action": action, helpers.ACTION_CHECKBOX_NAME: [o.pk for o in own_orders]},
            follow=True,
        )
        assert "this is your own order; another operator must handle it." in response.content.decode()
    assert _privileges(operator) == before
    assert points_services.points_verify().ok


def test_an_operator_cannot_approve_an_invitation_that_pays_them(client, world, staff):
    operator = staff["Operators"]
    client.force_login(operator)
    mine = Referral.objects.get(inviter=operator)
    before = _privileges(operator)
    response = client.post(
        _url(Referral, "changelist"),
        {"action": "approve_referrals", helpers.ACTION_CHECKBOX_NAME: [mine.pk]},
        follow=True,
    )
    assert "you are part of this invitation; another operator must review it." in response.content.decode()
    assert _privileges(operator) == before
    mine.refresh_from_db()
    assert mine.status == "held"


def test_another_operator_approves_that_invitation(client, world, staff):
    colleague = MemberFactory(is_staff=True)
    colleague.groups.add(Group.objects.get(name="Operators"))
    client.force_login(colleague)
    held = Referral.objects.get(inviter=staff["Operators"])
    client.post(_url(Referral, "changelist"), {"action": "approve_referrals", helpers.ACTION_CHECKBOX_NAME: [held.pk]})
    held.refresh_from_db()
    assert held.status == "approved"
    assert points_services.points_verify().ok


# --- Models whose writes are power, whatever a group's permissions say ---------------------------


def _grant(user: User, *codenames: str) -> None:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))


def test_a_staff_member_given_group_permissions_still_cannot_edit_a_group(client, world, staff):
    operator = staff["Operators"]
    _grant(operator, "view_group", "change_group", "add_group", "delete_group")
    client.force_login(operator)
    operators = Group.objects.get(name="Operators")
    before = set(operators.permissions.values_list("pk", flat=True))
    url = _url(Group, "change", operators.pk)
    assert client.get(url).status_code == 200  # may look
    response = client.post(
        url, {"name": "Operators", "permissions": list(Permission.objects.values_list("pk", flat=True))}
    )
    assert response.status_code == 403
    assert set(operators.permissions.values_list("pk", flat=True)) == before
    assert client.get(_url(Group, "add")).status_code == 403


def test_a_staff_member_cannot_verify_an_email_address_even_with_permissions(client, world, staff):
    operator = staff["Operators"]
    _grant(operator, "view_emailaddress", "change_emailaddress")
    unverified = EmailAddress.objects.create(user=world["members"][1], email="new@example.com", verified=False)
    client.force_login(operator)
    changelist = client.get(_url(EmailAddress, "changelist"))
    assert changelist.status_code == 200
    assert "make_verified" not in changelist.content.decode()
    client.post(
        _url(EmailAddress, "changelist"), {"action": "make_verified", helpers.ACTION_CHECKBOX_NAME: [unverified.pk]}
    )
    unverified.refresh_from_db()
    assert unverified.verified is False


def test_secrets_are_for_superusers_only(client, world, staff):
    operator = staff["Operators"]
    _grant(operator, "view_socialapp", "view_socialtoken", "view_authenticator")
    client.force_login(operator)
    for model in (SocialApp, SocialToken, Authenticator):
        assert client.get(_url(model, "changelist")).status_code == 403
    client.force_login(staff["superuser"])
    for model in (SocialApp, SocialToken, Authenticator):
        assert client.get(_url(model, "changelist")).status_code == 200


def test_operators_pause_and_retime_a_periodic_task_but_not_what_it_runs(client, world, staff):
    client.force_login(staff["Operators"])
    task = PeriodicTask.objects.get(name="points-expire-due")
    interval = IntervalSchedule.objects.get()
    url = _url(PeriodicTask, "change", task.pk)
    data = _form_data(client.get(url), PeriodicTask)
    assert "task" not in data
    assert "regtask" not in data
    assert "args" not in data
    data.update(
        {
            "enabled": [],
            "crontab": [""],
            "interval": [str(interval.pk)],
            "task": ["catalog.sandbox_gateway_deliver"],
            "regtask": ["catalog.sandbox_gateway_deliver"],
            "args": ['["ref-123"]'],
            "_save": "Save",
        }
    )
    data = {key: value for key, value in data.items() if value != []}
    assert client.post(url, data).status_code == 302
    task.refresh_from_db()
    assert (task.enabled, task.interval_id, task.crontab_id) == (False, interval.pk, None)
    assert (task.task, task.args) == ("points.expire", "[]")
    assert client.get(_url(PeriodicTask, "add")).status_code == 403
    actions = admin.site._registry[PeriodicTask].get_actions(_request_as(staff["Operators"]))
    assert set(actions) == {"enable_tasks", "disable_tasks", "toggle_tasks"}


def test_a_superuser_may_run_a_periodic_task_now(world, staff):
    actions = admin.site._registry[PeriodicTask].get_actions(_request_as(staff["superuser"]))
    assert {"enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks", "delete_selected"} <= set(actions)


# --- Members at the admin's door -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/", "/admin/accounts/user/", "/admin/login/?next=/admin/", "/admin/points/"])
def test_a_signed_in_member_opening_the_admin_gets_a_403_page_not_a_redirect_loop(client, member, path):
    client.force_login(member)
    response = client.get(path)
    assert response.status_code == 403
    body = response.content.decode()
    assert "This area is for mall staff" in body
    assert f"You are signed in as {member.email}, a member account." in body
    assert 'class="card error-page"' in body  # the mall's own 403 design
    assert f'name="next" value="{reverse("account_login")}?next=/admin/"' in body


def test_the_staff_only_page_is_translated(client, member):
    client.force_login(member)
    response = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "此区域仅供商城员工使用" in response.content.decode()


def test_signed_out_visitors_are_still_sent_to_sign_in(client, db):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_deactivated_staff_member_is_signed_out_and_sent_to_sign_in_once(client, staff):
    operator = staff["Operators"]
    client.force_login(operator)
    User.objects.filter(pk=operator.pk).update(is_active=False)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 200
    assert [url for url, _status in response.redirect_chain] == [
        "/admin/login/?next=/admin/",
        f"{reverse('account_login')}?next=%2Fadmin%2F",
    ]
