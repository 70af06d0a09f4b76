"""Fixtures of the threatexchange extension tests (see helpers.py)."""

from tests.node.helpers import registry  # noqa: F401 - fixture
from tests.threatexchange.helpers import tx_env  # noqa: F401 - fixture
