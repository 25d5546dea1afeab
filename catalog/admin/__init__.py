"""The operators' back office for the catalog.

Content (categories, products, pictures, sale prices) is edited with ordinary admin forms.
Everything with a ledger, stock or audit consequence goes through ``catalog.services``:
stock changes and code imports have their own pages, orders move only through actions
that call the order services with the operator as actor, and the rows those services
write (orders, status history, stock movements, codes) are read-only here.

One module per area; importing them registers their ModelAdmins.
"""

from catalog.admin import categories, codes, orders, products, reviews

__all__ = ["categories", "codes", "orders", "products", "reviews"]
