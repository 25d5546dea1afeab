"""The identity policy's default row (gmail.com and googlemail.com ignore dots and are one
provider), the staff groups' permissions for it, and invited e-mails re-hashed in the one
identity hash, of the normalised mailbox.

Idempotent. Reversing removes the permissions and leaves the rows (the tables go with 0007).
"""

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations

# Kept here rather than imported: a migration must not change when accounts.rules does.
DEFAULT_PROVIDERS = [
    {"domain": "gmail.com", "ignore_dots": True, "same_as": ""},
    {"domain": "googlemail.com", "ignore_dots": True, "same_as": "gmail.com"},
]
OPERATORS = {
    "view_identitypolicy",
    "change_identitypolicy",
    "view_emailproviderrule",
    "add_emailproviderrule",
    "change_emailproviderrule",
    "delete_emailproviderrule",
}
# One row, made here; codes are written by the services; history rows by simple_history.
NOBODY = {"add_identitypolicy", "delete_identitypolicy"} | {
    f"{action}_{model}"
    for action in ("add", "change", "delete", "view")
    for model in ("phoneverification", "historicalidentitypolicy", "historicalemailproviderrule")
}


def add_defaults(apps, schema_editor):
    IdentityPolicy = apps.get_model("accounts", "IdentityPolicy")
    EmailProviderRule = apps.get_model("accounts", "EmailProviderRule")
    policy, _created = IdentityPolicy.objects.get_or_create(pk=1, defaults={"ignore_plus_tags": True})
    for provider in DEFAULT_PROVIDERS:
        EmailProviderRule.objects.get_or_create(
            domain=provider["domain"],
            defaults={"policy": policy, "ignore_dots": provider["ignore_dots"], "same_as": provider["same_as"]},
        )


def grant(apps, schema_editor):
    accounts = apps.get_app_config("accounts")
    accounts.models_module = True
    create_permissions(accounts, verbosity=0)
    accounts.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="accounts")
    operators, _created = Group.objects.get_or_create(name="Operators")
    service, _created = Group.objects.get_or_create(name="Customer service")
    operators.permissions.remove(*perms.filter(codename__in=NOBODY))
    service.permissions.remove(*perms.filter(codename__in=NOBODY))
    operators.permissions.add(*perms.filter(codename__in=OPERATORS))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="accounts", codename__in=OPERATORS)
    for group in Group.objects.filter(name__in=["Operators", "Customer service"]):
        group.permissions.remove(*perms)


def _old_hash(address):
    return hmac.new(settings.SECRET_KEY.encode(), address.strip().lower().encode(), hashlib.sha256).hexdigest()


def _mailbox(address):
    local, _at, domain = address.strip().lower().rpartition("@")
    domain = domain.rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        pass
    domain = {"googlemail.com": "gmail.com"}.get(domain, domain)
    local = local.split("+", 1)[0] or local
    if domain == "gmail.com":
        local = local.replace(".", "") or local
    return f"{local}@{domain}"


def _new_hash(address):
    return hashlib.sha256(f"{settings.SECRET_KEY}:email:{_mailbox(address)}".encode()).hexdigest()


def rehash_invited_emails(apps, schema_editor):
    """Referral.invitee_identity was an HMAC of the address as typed; it becomes the ledger's
    identity hash of the normalised mailbox. The invited member always exists (PROTECT), so
    the address is found among theirs by its old hash; one no longer on the account keeps
    its old hash (it then matches nothing: that address earns nothing again only as typed)."""
    Referral = apps.get_model("accounts", "Referral")
    EmailAddress = apps.get_model("account", "EmailAddress")
    rows = Referral.objects.exclude(invitee_identity="").select_related("invitee")
    for referral in rows.iterator():
        addresses = {referral.invitee.email, *EmailAddress.objects.filter(user_id=referral.invitee_id).values_list(
            "email", flat=True
        )}
        for address in addresses:
            if hmac.compare_digest(_old_hash(address), referral.invitee_identity):
                Referral.objects.filter(pk=referral.pk).update(invitee_identity=_new_hash(address))
                break


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_phone_verification_identity_policy"),
        ("account", "0009_emailaddress_unique_primary_email"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(add_defaults, migrations.RunPython.noop),
        migrations.RunPython(grant, revoke),
        migrations.RunPython(rehash_invited_emails, migrations.RunPython.noop),
    ]
