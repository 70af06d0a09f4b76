"""Fixtures of the node tests (see helpers.py)."""

from tests.node.helpers import registry  # noqa: F401 - a fixture
