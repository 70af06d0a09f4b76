"""Fixtures of the device (submit from a computer) tests."""

from tests.node.helpers import registry  # noqa: F401 - fixture
