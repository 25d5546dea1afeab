from __future__ import annotations

from django.core.management.base import CommandParser

from points.services.expiry import REMINDER_DAYS_MAX, RemindReport, points_remind
from pointsmall.kernel.commands import EXIT_OK, bounded_int, usage_error
from pointsmall.kernel.commands import Command as BaseCommand


class Command(BaseCommand):
    help = (
        "Send expiry reminders for points expiring within the policy's reminder window, in short "
        "batches of members (a member spending meanwhile is never kept waiting). Safe to re-run."
    )
    writes = True

    def add_options(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=bounded_int(1, REMINDER_DAYS_MAX),
            default=None,
            help=f"Remind about points expiring within this many days instead of the policy's window "
            f"(1–{REMINDER_DAYS_MAX}). Every lot reminded is marked and never reminded again, so a wide "
            "window would tell members months early and the reminder that matters would never come.",
        )
        parser.add_argument(
            "--batch-size", type=bounded_int(1, 5000), default=200, help="Members per transaction (1–5000)."
        )

    def run(self, *, days: int | None, batch_size: int, **options) -> int:
        if days is not None and not 1 <= int(days) <= REMINDER_DAYS_MAX:  # call_command(days=…) skips the type
            raise usage_error(f"--days must be between 1 and {REMINDER_DAYS_MAX}, not {days}.")
        last = RemindReport()
        with self.progress("Reminding members") as bar:

            def progress(report: RemindReport) -> None:
                nonlocal last
                bar.update(report.members)
                last = report

            told = points_remind(days=days, batch_size=batch_size, dry_run=self.dry_run, progress=progress)
        verb = "Would remind" if self.dry_run else "Reminded"
        skipped = f"; {last.skipped_members} busy members left for the next run" if last.skipped_members else ""
        self.summary(f"{verb} {told} members about {last.lots} lots{skipped}.")
        return EXIT_OK
