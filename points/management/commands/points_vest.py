from django.core.management.base import BaseCommand

from points import services


class Command(BaseCommand):
    help = "Make pending points whose returns window is over spendable. Safe to re-run."

    def handle(self, *args, **options) -> None:
        report = services.points_vest()
        self.stdout.write(self.style.SUCCESS(f"Vested {report.points} points for {report.members} members."))
