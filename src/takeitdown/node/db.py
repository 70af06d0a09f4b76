"""The node's database: SQLite by default (`./takeitdown-data/node.db`), PostgreSQL by URL.

Engines, transactions and migrations come from `takeitdown.sqldb`.
"""

from __future__ import annotations

from pathlib import Path

from takeitdown.node import config
from takeitdown.node.config import DEFAULT_SQLITE_PATH
from takeitdown.sqldb import DatabaseUrlError, SqlDatabase, normalize_url

__all__ = ["DEFAULT_SQLITE_PATH", "MIGRATIONS", "Database", "DatabaseUrlError", "database_url"]

MIGRATIONS = Path(__file__).parent / "migrations"

# FULL: a page's entries and its cursor survive a power cut, not just a process kill.
SQLITE_PRAGMAS = ("PRAGMA synchronous=FULL",)


def database_url(explicit: str | None = None) -> str:
    """The URL given, else `TAKEITDOWN_NODE_DATABASE_URL`, else the default SQLite file."""
    return normalize_url(config.database_url(explicit))


class Database(SqlDatabase):
    migrations = MIGRATIONS

    def __init__(self, url: str | None = None) -> None:
        super().__init__(database_url(url), SQLITE_PRAGMAS)
