"""System checks of the accounts app's settings (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

from pointsmall.kernel.keyed_hash import development_key

# Like Django's own check of SECRET_KEY (security.W009): long, and not one character repeated.
PEPPER_MIN_LENGTH = 32
PEPPER_MIN_DISTINCT_CHARACTERS = 5


@register(Tags.security, deploy=True)
def payment_pin_peppers_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The PIN peppers must be secrets of their own: not the secret key (nor derived from it, the
    development default) and not short. Otherwise a database dump plus the secret key, or a
    guessable pepper, gives every PIN back (docs/decisions/0042)."""
    secret_keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    not_apart = {*secret_keys, settings.INTEGRATION_SECRETS_KEY}
    not_apart |= {development_key("PAYMENT_PIN_PEPPERS", key) for key in secret_keys}
    problems: list[CheckMessage] = []
    for pepper_id, pepper in settings.PAYMENT_PIN_PEPPERS.items():
        if pepper in not_apart:
            problems.append(
                Warning(
                    f"The payment PIN pepper {pepper_id!r} is the secret key, derived from it, or another "
                    "setting's secret.",
                    hint="Set PAYMENT_PIN_PEPPERS to 'id:<a random secret of its own>' (README, docs/decisions/0042).",
                    id="accounts.W001",
                )
            )
        elif len(pepper) < PEPPER_MIN_LENGTH or len(set(pepper)) < PEPPER_MIN_DISTINCT_CHARACTERS:
            problems.append(
                Warning(
                    f"The payment PIN pepper {pepper_id!r} is weak: fewer than {PEPPER_MIN_LENGTH} characters "
                    f"or fewer than {PEPPER_MIN_DISTINCT_CHARACTERS} different ones.",
                    hint="Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'",
                    id="accounts.W002",
                )
            )
    return problems
