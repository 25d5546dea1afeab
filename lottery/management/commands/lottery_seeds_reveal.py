from django.core.management.base import BaseCommand

from lottery import services


class Command(BaseCommand):
    help = "Reveal the seeds of published lottery campaigns that have ended (commit–reveal). Safe to re-run."

    def handle(self, *args, **options) -> None:
        revealed = services.lottery_seeds_reveal()
        self.stdout.write(self.style.SUCCESS(f"Revealed {revealed} campaign seeds."))
