from django.contrib import admin

from pointsmall.kernel.admin import ReadOnlyAdmin
from pointsmall.outbox.models import OutboxJob


@admin.register(OutboxJob)
class OutboxJobAdmin(ReadOnlyAdmin):
    """What is held for the broker (``sent`` empty) and what went out; written by the outbox only."""

    list_display = ["pk", "task", "created_at", "attempts", "next_attempt_at", "sent_at", "last_error"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), "task"]
    search_fields = ["task"]
    date_hierarchy = "created_at"
