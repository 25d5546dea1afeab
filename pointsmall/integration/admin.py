"""Admin of the host integration: clients and their secrets (this module), webhooks (admin_webhooks)."""

from pointsmall.integration import admin_webhooks  # noqa: F401  (registers the webhook admin)
