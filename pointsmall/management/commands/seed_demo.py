from django.core.management.base import BaseCommand

from pointsmall.seeding import seed_demo


class Command(BaseCommand):
    help = "Create demo data (admin, members, histories). Idempotent."

    def handle(self, *args, **options) -> None:
        seed_demo(self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
