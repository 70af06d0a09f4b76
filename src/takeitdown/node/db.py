"""The node's database: SQLite by default (`./takeitdown-data/node.db`), PostgreSQL by URL.

SQLite runs in WAL mode; writers use `BEGIN IMMEDIATE` and queue on a Python lock, so a write
transaction never fails half-way on a lock upgrade. Migrations (Alembic) run at start.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

DEFAULT_SQLITE_PATH = Path("takeitdown-data") / "node.db"
MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseUrlError(ValueError):
    """A database URL we cannot use (clear message for the CLI)."""


def database_url(explicit: str | None = None) -> str:
    """The URL given, else `TAKEITDOWN_DATABASE_URL`, else the default SQLite file."""
    url = explicit or os.environ.get("TAKEITDOWN_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
    url = url.strip()
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - sqlalchemy raises several types here
        raise DatabaseUrlError(
            f"not a database URL: {url!r} (try sqlite:///path.db or postgresql://...)"
        ) from exc
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseUrlError(
            f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL"
        )
    return url


def _sqlite_engine(url: str, begin: str) -> Engine:
    engine = create_engine(url, hide_parameters=True, pool_size=10, max_overflow=10)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        # FULL: a page's entries and its cursor survive a power cut, not just a process kill.
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


class Database:
    """Engines for one URL: `write()` for a writing transaction, `read()` for reads."""

    def __init__(self, url: str | None = None) -> None:
        self.url = database_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            path = parsed.database
            if not path or path == ":memory:":
                raise DatabaseUrlError("an in-memory SQLite database cannot be shared; give a file path")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.write_engine = _sqlite_engine(self.url, "BEGIN IMMEDIATE")
            self.read_engine = _sqlite_engine(self.url, "BEGIN")
            self._write_lock: contextlib.AbstractContextManager[Any] = threading.Lock()
        else:
            self.write_engine = create_engine(
                self.url, hide_parameters=True, pool_size=10, max_overflow=10, pool_pre_ping=True
            )
            self.read_engine = self.write_engine
            self._write_lock = contextlib.nullcontext()

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        with self._write_lock, self.write_engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.read_engine.connect() as conn:
            yield conn

    def migrate(self) -> None:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.write() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
