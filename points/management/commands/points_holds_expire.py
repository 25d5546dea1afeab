from django.core.management.base import BaseCommand

from points import services


class Command(BaseCommand):
    help = "End host checkout holds whose time is over, giving their points back. Safe to re-run."

    def handle(self, *args, **options) -> None:
        ended = services.points_holds_expire()
        self.stdout.write(self.style.SUCCESS(f"Ended {ended} expired holds."))
