from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandParser

from points import services
from pointsmall.kernel.commands import EXIT_OK, EXIT_REJECTED, usage_error
from pointsmall.kernel.commands import Command as BaseCommand
from pointsmall.kernel.masking import mask_contacts_in


class Command(BaseCommand):
    help = (
        "Import host-shop purchases from a CSV (order_id, member_email, amount, purchased_at, sku, category). "
        "Idempotent by order id; bad rows (also rows dated in the future) are reported and never stop good "
        "ones. Exit code 1 when any row was rejected."
    )
    writes = True

    def add_options(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Path to the CSV file (UTF-8, header row).")

    def run(self, *, file: str, **options) -> int:
        path = Path(file)
        if not path.is_file():
            raise usage_error(f"No such file: {file}")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise usage_error(f"{file} is not UTF-8 text.") from None
        with self.progress("Importing purchases"):
            report = services.points_import_purchases(text=text, dry_run=self.dry_run)
        for line, order_id, reason in report.rejected:
            # This output lands in cron logs: members' e-mails are masked (the line number and
            # order id find the row). The admin import page, for staff, shows them whole.
            self.line(f"  rejected line {line} ({order_id or 'no order id'}): {mask_contacts_in(str(reason))}")
        self.summary(
            f"Accepted {len(report.accepted)}, duplicates {len(report.duplicates)}, rejected {len(report.rejected)}.",
            ok=not report.rejected,
        )
        return EXIT_REJECTED if report.rejected else EXIT_OK
