from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fast_hashers(settings):
    """Members need a password, not a strong hash: the production hasher costs ~0.5 s per member."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
