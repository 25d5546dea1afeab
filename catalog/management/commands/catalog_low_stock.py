from __future__ import annotations

from django.core.management.base import CommandParser
from django.db.models import QuerySet

from catalog import services
from catalog.models import Product
from pointsmall.kernel.commands import EXIT_OK
from pointsmall.kernel.commands import Command as BaseCommand


def low_stock_products(*, include_off_shelf: bool = False) -> QuerySet[Product]:
    """Products at or below their alert level, emptiest first."""
    products = Product.objects.low_stock().select_related("category")
    if not include_off_shelf:
        products = products.filter(on_shelf=True)
    return products.order_by("stock", "pk")


class Command(BaseCommand):
    help = "List products whose stock is at or below their low-stock alert level (for restocking)."
    writes = True

    def add_options(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--all", dest="include_off_shelf", action="store_true", help="Include products that are off the shelf."
        )
        parser.add_argument(
            "--notify",
            action="store_true",
            help="Also send each listed product's alert to the operators' inbox (once per product, operator and "
            "day: the count is of alerts sent now, not of those sent earlier today).",
        )

    def run(self, *, include_off_shelf: bool, notify: bool, **options) -> int:
        products = list(low_stock_products(include_off_shelf=include_off_shelf))
        if not products:
            self.summary("No product is at or below its low-stock alert level.")
            return EXIT_OK
        self.line(f"{'id':>6}  {'stock':>6}  {'alert at':>8}  {'shelf':<5}  product")
        for product in products:
            shelf = "on" if product.on_shelf else "off"
            self.line(
                f"{product.pk:>6}  {product.stock:>6}  {product.low_stock_threshold:>8}  {shelf:<5}  "
                f"{product.name_en} / {product.name_zh} ({product.category.name_en})"
            )
        if not notify:
            self.summary(f"{len(products)} product(s) to restock.")
        elif self.dry_run:
            self.summary(f"{len(products)} product(s) to restock; alerts not sent.")
        else:
            with self.progress("Sending alerts", total=len(products)) as bar:
                told = 0
                for product in products:
                    told += services.low_stock_notify(product_id=product.pk)
                    bar.advance()
            self.summary(f"{len(products)} product(s) to restock; {told} inbox alert(s) sent.")
        return EXIT_OK
