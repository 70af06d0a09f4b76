"""Fixtures of the node tests (see helpers.py)."""

from tests.node.helpers import node_db_url, registry  # noqa: F401 - fixtures
