import pytest

from tests.integration.host import make_host


@pytest.fixture
def host(db):
    """An enabled integration client and a signed caller for it."""
    return make_host()
