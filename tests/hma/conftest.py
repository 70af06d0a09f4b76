"""Fixtures of the hma-reporter tests."""

from tests.node.helpers import registry  # noqa: F401 - fixture
