from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from points import exceptions, services


class Command(BaseCommand):
    help = (
        "Import host-shop purchases from a CSV (order_id, member_email, amount, purchased_at, sku, category). "
        "Idempotent by order id; bad rows are reported and never stop good ones."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="Path to the CSV file (UTF-8, header row).")

    def handle(self, *args, file: str, **options) -> None:
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise CommandError(f"{file} is not UTF-8 text.") from None
        try:
            report = services.points_import_purchases(text=text)
        except exceptions.InvalidPurchaseError as error:
            raise CommandError(error.message) from None
        for line, order_id, reason in report.rejected:
            self.stdout.write(f"  rejected line {line} ({order_id or 'no order id'}): {reason}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Accepted {len(report.accepted)}, duplicates {len(report.duplicates)}, "
                f"rejected {len(report.rejected)}."
            )
        )
