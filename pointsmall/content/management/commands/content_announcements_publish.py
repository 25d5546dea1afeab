from django.core.management.base import BaseCommand

from pointsmall.content import services


class Command(BaseCommand):
    help = "Send announcements whose window started to their audience's inboxes (job content.announcements_publish)."

    def handle(self, *args, **options) -> None:
        sent = services.announcements_publish()
        self.stdout.write(f"{sent} inbox messages sent")
