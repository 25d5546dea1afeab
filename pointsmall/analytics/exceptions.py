"""What the traffic collector refuses (pointsmall.kernel.errors.DomainError)."""

from django.utils.translation import gettext_lazy as _

from pointsmall.kernel.errors import DomainError


class StoreUnavailableError(DomainError):
    """Redis is configured but does not answer (or was found dead a moment ago). Counting falls
    back to the database; the roll-up refuses to run rather than overwrite a day with partial
    figures. Raised with the Redis address as the message."""

    code = "traffic_store_unavailable"
    http_status = 503
    default_message = _("The traffic counters are not reachable right now.")
