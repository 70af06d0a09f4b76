"""Fixtures of the node tests (see helpers.py)."""

from node.helpers import registry  # noqa: F401 - a fixture
