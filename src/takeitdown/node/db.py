"""The node's database: SQLite by default (`./takeitdown-data/node.db`), PostgreSQL by URL.

Engines, transactions and migrations come from `takeitdown.sqldb`.
"""

from __future__ import annotations

import os
from pathlib import Path

from takeitdown.sqldb import DatabaseUrlError, SqlDatabase, normalize_url

__all__ = ["DEFAULT_SQLITE_PATH", "MIGRATIONS", "Database", "DatabaseUrlError", "database_url"]

DEFAULT_SQLITE_PATH = Path("takeitdown-data") / "node.db"
MIGRATIONS = Path(__file__).parent / "migrations"

# FULL: a page's entries and its cursor survive a power cut, not just a process kill.
SQLITE_PRAGMAS = ("PRAGMA synchronous=FULL",)


def database_url(explicit: str | None = None) -> str:
    """The URL given, else `TAKEITDOWN_DATABASE_URL`, else the default SQLite file."""
    return normalize_url(
        explicit or os.environ.get("TAKEITDOWN_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
    )


class Database(SqlDatabase):
    migrations = MIGRATIONS

    def __init__(self, url: str | None = None) -> None:
        super().__init__(database_url(url), SQLITE_PRAGMAS)
