from django.core.management.base import BaseCommand

from tasks import services


class Command(BaseCommand):
    help = "Tell members about tasks that became available since the last run. Safe to re-run."

    def handle(self, *args, **options) -> None:
        sent = services.tasks_announce()
        self.stdout.write(self.style.SUCCESS(f"Sent {sent} new-task messages."))
