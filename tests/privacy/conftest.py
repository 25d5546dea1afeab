# The catalog's fixtures (products, funded buyers, addresses) serve the privacy tests too.
from tests.catalog.conftest import (  # noqa: F401
    buyer,
    category,
    fund,
    ledger_invariants_hold,
    make_address,
    make_buyer,
    make_product,
    operator,
)
