from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from pointsmall.kernel.admin import ReadOnlyAdmin
from pointsmall.outbox.models import OutboxJob


@admin.register(OutboxJob)
class OutboxJobAdmin(ReadOnlyAdmin):
    """What is held for the broker, what went out and whether it ran; written by the outbox only.

    The list shows one state column instead of three timestamps (they are on the detail page), so
    it fits beside the admin's navigation."""

    list_display = ["pk", "task", "created_at", "state", "attempts", "last_error"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), ("done_at", admin.EmptyFieldListFilter), "task"]
    search_fields = ["task", "request_id"]
    date_hierarchy = "created_at"

    @admin.display(description=pgettext_lazy("outbox job", "state"))
    def state(self, job: OutboxJob) -> str:
        if job.done_at is not None:
            return str(_("ran"))
        if job.sent_at is not None:
            return str(_("sent, not yet run"))
        return str(_("held for the broker"))
