"""Client secrets at rest: encrypted with Fernet (AES-128-CBC + HMAC, the ``cryptography``
library) under ``INTEGRATION_SECRETS_KEY``. An HMAC secret has to be read back to check a
signature, so it cannot be hashed like a password; a leaked database alone does not reveal it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet
from django.conf import settings


def _fernet() -> Fernet:
    # Any string works as the setting: it is stretched to Fernet's 32-byte key.
    material = hashlib.sha256(("pointsmall.integration:" + settings.INTEGRATION_SECRETS_KEY).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(material))


def new_secret() -> str:
    """A new signing secret: 43 URL-safe characters (256 random bits)."""
    return secrets.token_urlsafe(32)


def new_key_id() -> str:
    return "mk_" + secrets.token_hex(8)


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def unseal(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()
