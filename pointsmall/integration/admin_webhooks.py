"""Admin of the webhook endpoints and the webhook outbox."""
