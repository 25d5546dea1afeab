from django.core.management.base import BaseCommand

from tasks import services


class Command(BaseCommand):
    help = "Send the daily check-in reminders due this business hour. Safe to re-run."

    def handle(self, *args, **options) -> None:
        sent = services.checkin_reminders_send()
        self.stdout.write(self.style.SUCCESS(f"Sent {sent} check-in reminders."))
