"""ASGI entry point. Production serves WSGI (gunicorn, see Procfile); this one bounds request bodies too."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pointsmall.settings")
django.setup(set_prefix=False)

from pointsmall.limits import BodyLimitASGIHandler  # noqa: E402 (needs the settings loaded)

# Django's get_asgi_application() with a handler that stops reading a body past the limit.
application = BodyLimitASGIHandler()
