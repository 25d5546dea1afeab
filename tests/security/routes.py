"""Every URL pattern of the project, and the table that says what kind of page each one is.

``all_patterns()`` walks ``get_resolver()`` recursively (admin, allauth, the API, ours). Each
pattern is known by its full route as Django prints it (``mall/orders/<int:pk>/cancel/``).
``ROUTES`` gives every route outside the admin a kind and, where the route has parameters, a
way to fill them with member A's objects. Admin routes that a ``ModelAdmin`` in
``admin.site._registry`` generates (changelist, add, change, delete, history) are classified
from the registry; any other admin route (a custom admin view) must be in ``ROUTES`` too.
A route in none of them fails ``test_every_url_pattern_is_classified``: see
docs/decisions/0050-url-walker.md for how to add one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum

from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern


class Kind(Enum):
    PUBLIC = "public"  # anyone may open it; a form on it still needs a CSRF token
    MEMBER = "member"  # login required: anonymous → the login page
    STAFF = "staff"  # login and a staff permission outside the admin
    ADMIN = "admin"  # Django admin: anonymous and members → the admin login; staff by permission
    API = "api"  # the host API: its own HMAC request signature (csrf-exempt by design)
    SIGNED = "signed"  # callbacks and links authenticated by a signature or a signed token (csrf-exempt)


Kwargs = Callable[[dict], dict]


@dataclass(frozen=True)
class Route:
    """How the walker treats one route.

    ``kwargs`` fills the route's parameters from the objects of member A (``objects`` fixture);
    ``owned=True`` means the parameters name A's own object, so member B must get 404 for every
    method. ``get_writes`` is the reason a GET may write (empty: a GET must write nothing).
    ``csrf_exempt`` is the reason a POST needs no CSRF token (only API and SIGNED routes).

    A custom admin view (an ``ADMIN`` row) and a ``STAFF`` page declare what it asks of staff: ``permissions``, every
    one of which a GET needs, and ``post_permissions`` when a POST needs more (default: the same);
    or ``any_staff``, the reason any staff member may open it (the index, the sign-out); or
    ``superuser_only``, why no permission is enough. ``post_only``: a GET answers 405.
    ``tests/security/test_admin_permissions.py`` holds the view to its declaration.
    """

    kind: Kind
    kwargs: Kwargs | None = None
    owned: bool = False
    get_writes: str = ""
    csrf_exempt: str = ""
    permissions: tuple[str, ...] = ()
    post_permissions: tuple[str, ...] | None = None
    any_staff: str = ""
    superuser_only: str = ""
    post_only: bool = False


def _address(o: dict) -> dict:
    return {"pk": o["address"]}


def _notification(o: dict) -> dict:
    return {"pk": o["notification"]}


def _order(o: dict) -> dict:
    return {"pk": o["order"]}


def _delivered(o: dict) -> dict:
    return {"pk": o["delivered"]}


def _cash(o: dict) -> dict:
    return {"order_pk": o["cash_order"]}


def _reference(o: dict) -> dict:
    return {"reference": o["payment_reference"]}


def _feedback(o: dict) -> dict:
    return {"pk": o["feedback"]}


def _product(o: dict) -> dict:
    return {"pk": o["product"]}


def _product_id(o: dict) -> dict:
    return {"product_id": o["product"]}


def _campaign(o: dict) -> dict:
    return {"campaign_id": o["campaign"]}


def _task(o: dict) -> dict:
    return {"task_id": o["task"]}


def _announcement(o: dict) -> dict:
    return {"pk": o["announcement"]}


def _account(o: dict) -> dict:
    return {"account_id": o["account"]}


def _member(o: dict) -> dict:
    return {"id": o["member"]}


def _client(o: dict) -> dict:
    return {"client_id": o["client"]}


P, M, S, A = Kind.PUBLIC, Kind.MEMBER, Kind.STAFF, Kind.ADMIN
SIGNED_CALLBACK = "the gateway's servers post here; the HMAC signature of the body is the authentication"
API_SIGNED = "the host's servers call it; the HMAC request signature (X-Mall-Signature) is the authentication"

ROUTES: dict[str, Route] = {
    # --- The project's own -------------------------------------------------------------------
    "": Route(P),
    "favicon.ico": Route(P),
    "^media/(?P<path>.*)$": Route(P),  # DEBUG only: uploaded pictures, as the web server serves them
    "i18n/setlang/": Route(P),
    "rules/": Route(P),
    "privacy/": Route(P),
    # --- accounts (mounted at /me/) ------------------------------------------------------------
    "me/": Route(M),
    "me/profile/": Route(M),
    "me/profile/phone/": Route(M),
    "me/addresses/": Route(M),
    "me/addresses/regions/": Route(M),
    "me/addresses/new/": Route(M),
    "me/addresses/<int:pk>/edit/": Route(M, _address, owned=True),
    "me/addresses/<int:pk>/delete/": Route(M, _address, owned=True),
    "me/addresses/<int:pk>/default/": Route(M, _address, owned=True),
    "me/pin/": Route(M),
    "me/inbox/": Route(M),
    "me/inbox/read-all/": Route(M),
    "me/inbox/<int:pk>/read/": Route(M, _notification, owned=True),
    "me/notifications/": Route(M),
    "me/unsubscribe/<str:token>/": Route(
        Kind.SIGNED,
        csrf_exempt="a link in an e-mail (and RFC 8058 one-click POST from the mail client); the signed token "
        "is the authentication",
    ),
    "me/data/": Route(M),  # the member's own data as a file (POST: the download)
    "me/delete/": Route(M),  # deleting the member's own account (password and typed confirmation)
    "me/invite/": Route(M),
    "me/invite/qr.svg": Route(M),
    # --- points ------------------------------------------------------------------------------
    "points/": Route(M),
    "points/tier/": Route(M),
    # --- catalog -----------------------------------------------------------------------------
    "mall/": Route(P),
    "mall/products/": Route(P),
    "mall/products/<int:pk>/": Route(
        P, _product, get_writes="remembers a signed-in member's view of the product (recently viewed, one upsert)"
    ),
    "mall/products/<int:pk>/redeem/": Route(M, _product),
    "mall/products/<int:pk>/address/": Route(M, _product),
    "mall/orders/": Route(M),
    "mall/orders/<int:pk>/": Route(M, _order, owned=True),
    "mall/orders/<int:pk>/cancel/": Route(M, _order, owned=True),
    "mall/orders/<int:pk>/confirm-receipt/": Route(M, _delivered, owned=True),
    "mall/orders/<int:pk>/review/": Route(M, _delivered, owned=True),
    "mall/staff/coupons/": Route(S, permissions=("catalog.verify_coupon",)),
    "mall/pay/<int:order_pk>/": Route(M, _cash, owned=True),
    "mall/pay/<int:order_pk>/status/": Route(M, _cash, owned=True),
    "mall/pay/sandbox/<str:reference>/": Route(M, _reference, owned=True),
    "mall/pay/sandbox/<str:reference>/pay/": Route(M, _reference, owned=True),
    "mall/pay/sandbox/<str:reference>/cancel/": Route(M, _reference, owned=True),
    "mall/pay/callback/sandbox/": Route(Kind.SIGNED, csrf_exempt=SIGNED_CALLBACK),
    "mall/pay/callback/sandbox/refund/": Route(Kind.SIGNED, csrf_exempt=SIGNED_CALLBACK),
    # --- tasks -------------------------------------------------------------------------------
    "checkin/": Route(M),
    "checkin/record/": Route(M),
    "checkin/makeup/": Route(M),
    "checkin/reminder/": Route(M),
    "tasks/": Route(M),
    "tasks/<int:task_id>/claim/": Route(M, _task),
    "tasks/<int:task_id>/visit/": Route(M, _task),
    "tasks/<int:task_id>/survey/": Route(M, _task),
    "tasks/<int:task_id>/<slug:action>/": Route(M, lambda o: {**_task(o), "action": "share"}),
    "leaderboard/": Route(M),
    # --- lottery -----------------------------------------------------------------------------
    "lottery/": Route(P),
    "lottery/draws/": Route(M),
    "lottery/<int:campaign_id>/": Route(P, _campaign),
    "lottery/<int:campaign_id>/draw/": Route(M, _campaign),
    "lottery/<int:campaign_id>/winners/": Route(P, _campaign),
    "lottery/<int:campaign_id>/mine/": Route(M, _campaign),
    "lottery/<int:campaign_id>/verify/": Route(P, _campaign),
    # --- content and analytics ---------------------------------------------------------------
    "announcements/<int:pk>/": Route(P, _announcement),
    "feedback/": Route(M),
    "feedback/<int:pk>/screenshot/": Route(M, _feedback, owned=True),
    "analytics/beacon": Route(P),
    # --- host integration --------------------------------------------------------------------
    "api/v1/": Route(Kind.API, csrf_exempt=API_SIGNED),
    "api/v1/openapi.json": Route(Kind.API, csrf_exempt=API_SIGNED),
    "api/v1/docs": Route(Kind.API, csrf_exempt=API_SIGNED),
    "api/v1/ping": Route(Kind.API, csrf_exempt=API_SIGNED),
    "api/v1/members/<external_id>": Route(Kind.API, csrf_exempt=API_SIGNED),
    "api/v1/purchases": Route(Kind.API, csrf_exempt=API_SIGNED),
    "api/v1/purchases/<external_order_id>/refunds": Route(Kind.API, csrf_exempt=API_SIGNED),
    "api/v1/members/<external_id>/holds": Route(Kind.API, csrf_exempt=API_SIGNED),
    "api/v1/holds/<hold_id>": Route(Kind.API, csrf_exempt=API_SIGNED),
    "api/v1/holds/<hold_id>/capture": Route(Kind.API, csrf_exempt=API_SIGNED),
    "api/v1/holds/<hold_id>/release": Route(Kind.API, csrf_exempt=API_SIGNED),
    "api/v1/members/<external_id>/balance": Route(Kind.API, csrf_exempt=API_SIGNED),
    "api/v1/members/<external_id>/entries": Route(Kind.API, csrf_exempt=API_SIGNED),
    "^api/v1/(?P<rest>.*)$": Route(Kind.API, csrf_exempt="a JSON 404 for any path under /api/v1/; writes nothing"),
    "sso/login": Route(
        Kind.SIGNED,
        get_writes="the host's signed login link signs the member in (and files a new host member)",
    ),
    # --- allauth (mounted at /accounts/) -----------------------------------------------------
    "accounts/login/": Route(P),
    "accounts/logout/": Route(P),
    "accounts/inactive/": Route(P),
    "accounts/signup/": Route(P),
    "accounts/reauthenticate/": Route(M),
    "accounts/email/": Route(M),
    "accounts/confirm-email/": Route(P),
    "accounts/password/change/": Route(M),
    "accounts/password/set/": Route(M),
    "accounts/password/reset/": Route(P),
    "accounts/login/code/confirm/": Route(P),
    "accounts/^confirm-email/(?P<key>[-:\\w]+)/$": Route(P),
    "accounts/password/reset/key/done/": Route(P),
    "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$": Route(P),
    "accounts/password/reset/done/": Route(P),
    "accounts/2fa/": Route(M),
    "accounts/2fa/authenticate/": Route(P),  # the second step of a sign-in, before there is a user
    "accounts/2fa/reauthenticate/": Route(M),
    "accounts/2fa/totp/activate/": Route(M),
    "accounts/2fa/totp/deactivate/": Route(M),
    "accounts/2fa/recovery-codes/": Route(M),
    "accounts/2fa/recovery-codes/generate/": Route(M),
    "accounts/2fa/recovery-codes/download/": Route(M),
    "accounts/3rdparty/login/cancelled/": Route(P),
    "accounts/3rdparty/login/error/": Route(P),
    "accounts/3rdparty/signup/": Route(P),
    "accounts/3rdparty/": Route(M),
    "accounts/social/login/cancelled/": Route(P),
    "accounts/social/login/error/": Route(P),
    "accounts/social/signup/": Route(P),
    "accounts/social/connections/": Route(P),  # a permanent redirect to accounts/3rdparty/
    "accounts/weixin/login/": Route(P),
    "accounts/weixin/login/callback/": Route(P),  # OAuth: the state parameter ties it to the session
    "accounts/github/login/": Route(P),
    "accounts/github/login/callback/": Route(P),
    "accounts/google/login/": Route(P),
    "accounts/google/login/callback/": Route(P),
    "accounts/google/login/token/": Route(
        Kind.SIGNED,
        csrf_exempt="Google One Tap posts a Google-signed ID token here; allauth checks its signature and "
        "Google's g_csrf_token double-submit cookie",
    ),
    # --- Django admin: the site's own views and the custom ones ------------------------------
    "admin/login/": Route(P),  # ours: a redirect to allauth's sign-in, so two-factor applies
    "admin/": Route(A, any_staff="the index lists only the models the user may see"),
    "admin/logout/": Route(A, any_staff="signing out"),
    "admin/password_change/": Route(A, any_staff="one's own password"),
    "admin/password_change/done/": Route(A, any_staff="one's own password"),
    "admin/autocomplete/": Route(A, any_staff="Django checks the view permission of the field's model"),
    "admin/jsi18n/": Route(A, any_staff="the admin's JavaScript translations"),
    "admin/r/<path:content_type_id>/<path:object_id>/": Route(A, any_staff="a redirect to the object's own page"),
    "admin/^(?P<app_label>django_celery_beat|accounts|points|catalog|tasks|lottery|content|analytics|integration"
    "|audit|admin|outbox|auth|sites|account|socialaccount|mfa)/$": Route(
        A, any_staff="an app's index lists only the models the user may see (404 with none)"
    ),
    "admin/(?P<url>.*)$": Route(A, any_staff="the admin's catch-all: a redirect or 404"),
    "admin/dashboard/<slug:chart>.csv": Route(
        A, lambda o: {"chart": "points"}, permissions=("dashboard.view_dashboard",)
    ),
    "admin/audit-trail/member/<int:user_id>/": Route(  # a member's audit timeline
        A, lambda o: {"user_id": o["member"]}, permissions=("audit.view_audit",)
    ),
    "admin/audit-trail/<slug:app_label>/<slug:model_name>/<str:object_id>/": Route(  # an object's timeline
        A,
        lambda o: {"app_label": "catalog", "model_name": "product", "object_id": o["product"]},
        permissions=("audit.view_audit",),
    ),
    "admin/audit-trail/reveal/<slug:app_label>/<slug:model_name>/<str:object_id>/": Route(  # one record's contact data
        A,
        lambda o: {"app_label": "accounts", "model_name": "address", "object_id": o["address"]},
        permissions=("accounts.unmask_pii",),
    ),
    "admin/accounts/user/<id>/password/": Route(
        A, _member, superuser_only="setting someone's password takes over their account (decision 0013)"
    ),
    "admin/points/account/<int:account_id>/adjust/": Route(A, _account, permissions=("points.change_account",)),
    "admin/points/purchase/import/": Route(A, permissions=("points.add_purchase",)),
    "admin/catalog/product/<int:product_id>/stock/": Route(
        A,
        _product_id,
        permissions=("catalog.view_product",),
        post_permissions=("catalog.change_product",),  # Django: who may change may view
    ),
    "admin/catalog/product/<int:product_id>/codes/": Route(
        A, _product_id, permissions=("catalog.view_product", "catalog.add_code")
    ),
    "admin/lottery/lotterycampaign/<int:campaign_id>/publish/": Route(
        A, _campaign, permissions=("lottery.change_lotterycampaign",), post_only=True
    ),
    "admin/lottery/lotterycampaign/<int:campaign_id>/report/": Route(
        A, _campaign, permissions=("lottery.view_lotterycampaign",)
    ),
    "admin/lottery/lotterycampaign/<int:campaign_id>/report.csv": Route(
        A, _campaign, permissions=("lottery.view_lotterycampaign",)
    ),
    "admin/lottery/lotterycampaign/<int:campaign_id>/draws.csv": Route(
        A, _campaign, permissions=("lottery.view_lotterycampaign",)
    ),
    "admin/integration/client/<int:client_id>/rotate/": Route(A, _client, permissions=("integration.change_client",)),
}

# What Django's ModelAdmin.get_urls() (and simple_history's) generate for every registered model.
MODEL_ADMIN_SUFFIXES = (
    "",
    "add/",
    "<path:object_id>/history/",
    "<path:object_id>/delete/",
    "<path:object_id>/change/",
    "<path:object_id>/",
    "^([^/]+)/history/([^/]+)/$",
)


@dataclass(frozen=True)
class Pattern:
    route: str  # the full route, as Django prints it
    name: str | None
    callback: Callable


def _route_text(pattern: RoutePattern | RegexPattern) -> str:
    return str(pattern)


def _walk(resolver: URLResolver, prefix: str = "", namespace: str | None = None) -> Iterator[Pattern]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry, prefix + _route_text(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if entry.name and namespace else entry.name
            yield Pattern(prefix + _route_text(entry.pattern), name, entry.callback)


def all_patterns() -> list[Pattern]:
    """Every URL pattern of the project, in resolution order (duplicates kept)."""
    return list(_walk(get_resolver()))


def model_admin_routes() -> dict[str, admin.ModelAdmin]:
    """The standard routes of every registered ModelAdmin, each with its ModelAdmin."""
    routes = {}
    for model, model_admin in admin.site._registry.items():
        base = f"admin/{model._meta.app_label}/{model._meta.model_name}/"
        for suffix in MODEL_ADMIN_SUFFIXES:
            routes[base + suffix] = model_admin
    return routes


def classify(route: str) -> Route | None:
    """The table's entry for a route; standard ModelAdmin routes are ADMIN; None if unclassified."""
    if route in ROUTES:
        return ROUTES[route]
    if route in model_admin_routes():
        return Route(Kind.ADMIN)
    return None


# --- Turning a route into a URL that resolves to it --------------------------------------------

_SAMPLES = {"app_label": "catalog", "url": "no-such-page/", "key": "a1-b2", "uidb36": "1", "chart": "orders"}
_GROUP = re.compile(r"\((\?P<(?P<name>\w+)>)?(?P<body>[^()]*)\)")
_CONVERTER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def url_for(route: str, values: dict | None = None) -> str:
    """A path that resolves to ``route``: its parameters from ``values``, else harmless samples."""
    values = dict(values or {})

    def converter(match: re.Match) -> str:
        name = match["name"]
        if name in values:
            return str(values[name])
        return _SAMPLES.get(name, "1" if match["converter"] in (None, "int", "path") else "sample")

    def group(match: re.Match) -> str:
        name = match["name"]
        if name and name in values:
            return str(values[name])
        if name in _SAMPLES:
            return _SAMPLES[name]
        body = match["body"]
        if "|" in body:
            return body.split("|")[0]
        return "1"

    path = _GROUP.sub(group, route)  # regex groups first: "(?P<name>" is not a path converter
    path = _CONVERTER.sub(converter, path)
    path = path.replace("^", "").replace("$", "")
    return "/" + path
