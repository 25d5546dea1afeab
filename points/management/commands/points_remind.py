from django.core.management.base import BaseCommand

from points import services


class Command(BaseCommand):
    help = "Send expiry reminders for points expiring within the policy's reminder window. Safe to re-run."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Override the policy's reminder window.")

    def handle(self, *args, days: int | None, **options) -> None:
        told = services.points_remind(days=days)
        self.stdout.write(self.style.SUCCESS(f"Reminded {told} members."))
