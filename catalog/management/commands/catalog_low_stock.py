from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db.models import QuerySet

from catalog import services
from catalog.models import Product


def low_stock_products(*, include_off_shelf: bool = False) -> QuerySet[Product]:
    """Products at or below their alert level, emptiest first."""
    products = Product.objects.low_stock().select_related("category")
    if not include_off_shelf:
        products = products.filter(on_shelf=True)
    return products.order_by("stock", "pk")


class Command(BaseCommand):
    help = "List products whose stock is at or below their low-stock alert level (for restocking)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--all", dest="include_off_shelf", action="store_true", help="Include products that are off the shelf."
        )
        parser.add_argument(
            "--notify", action="store_true", help="Also send each listed product's alert to the operators' inbox."
        )

    def handle(self, *args, include_off_shelf: bool, notify: bool, **options) -> None:
        products = list(low_stock_products(include_off_shelf=include_off_shelf))
        if not products:
            self.stdout.write(self.style.SUCCESS("No product is at or below its low-stock alert level."))
            return
        self.stdout.write(f"{'id':>6}  {'stock':>6}  {'alert at':>8}  {'shelf':<5}  product")
        for product in products:
            shelf = "on" if product.on_shelf else "off"
            self.stdout.write(
                f"{product.pk:>6}  {product.stock:>6}  {product.low_stock_threshold:>8}  {shelf:<5}  "
                f"{product.name_en} / {product.name_zh} ({product.category.name_en})"
            )
        self.stdout.write(f"{len(products)} product(s) to restock.")
        if notify:
            told = sum(services.low_stock_notify(product_id=product.pk) for product in products)
            self.stdout.write(f"{told} inbox alert(s) sent (at most one per product and operator a day).")
