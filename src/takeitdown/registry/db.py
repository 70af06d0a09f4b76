"""Database engines for the registry, and the Alembic migrations applied at start.

SQLite: WAL, busy_timeout and synchronous=NORMAL; writers use `BEGIN IMMEDIATE` (so a write
transaction never fails half-way on a lock upgrade) and, inside one process, take a lock so
they queue in Python rather than spin on SQLite's busy handler. PostgreSQL: psycopg 3.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

DEFAULT_SQLITE_PATH = Path("takeitdown-data") / "registry.db"
MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseUrlError(ValueError):
    """A database URL we cannot use (clear message for the CLI)."""


def default_url() -> str:
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def normalize_url(url: str) -> str:
    """Accept the usual spellings and pick the installed driver (psycopg 3) for PostgreSQL."""
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


def _sqlite_engine(url: str, begin: str, autocheckpoint: bool = True) -> Engine:
    engine = create_engine(url, hide_parameters=True, pool_size=20, max_overflow=20)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MB
        cur.execute("PRAGMA mmap_size=1073741824")
        cur.execute("PRAGMA temp_store=MEMORY")
        if not autocheckpoint:  # a background thread checkpoints instead (Database.checkpointer)
            cur.execute("PRAGMA wal_autocheckpoint=0")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


class _Checkpointer:
    """Moves the SQLite WAL into the database file from a background thread, once a second.

    Left to itself SQLite checkpoints inside whichever commit crosses 1,000 WAL pages, and that
    commit then waits for the copy and its fsync, stalling every submission queued behind it. A
    PASSIVE checkpoint here never blocks writers or readers; the GIL is released while SQLite
    works. On stop, a last TRUNCATE checkpoint leaves a small WAL behind.
    """

    def __init__(self, path: str, interval: float = 1.0) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=10000")
        try:
            while not self._stop.wait(self.interval):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass  # a checkpoint is an optimisation; SQLite stays consistent without it
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


class Database:
    """The engines for one database URL: `write()` for writing transactions, `read()` for reads."""

    def __init__(self, url: str | None = None, background_checkpoints: bool = False) -> None:
        self.url = normalize_url(url or default_url())
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self._checkpointer: _Checkpointer | None = None
        if self.is_sqlite:
            path = parsed.database
            if not path or path == ":memory:":
                raise DatabaseUrlError("an in-memory SQLite database cannot be shared; give a file path")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.write_engine = _sqlite_engine(self.url, "BEGIN IMMEDIATE", not background_checkpoints)
            self.read_engine = _sqlite_engine(self.url, "BEGIN")
            self._write_lock: contextlib.AbstractContextManager[Any] = threading.Lock()
            if background_checkpoints:
                self._checkpointer = _Checkpointer(path)
        else:
            self.write_engine = create_engine(
                self.url, hide_parameters=True, pool_size=20, max_overflow=20, pool_pre_ping=True
            )
            self.read_engine = self.write_engine
            self._write_lock = contextlib.nullcontext()

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One writing transaction (committed on success, rolled back on error)."""
        with self._write_lock, self.write_engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.read_engine.connect() as conn:
            yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.write() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
