"""The database plumbing the registry and the node share (each keeps its own schema and data).

SQLite: WAL and busy_timeout; writers use `BEGIN IMMEDIATE` (so a write transaction never fails
half-way on a lock upgrade) and, inside one process, take a lock so they queue in Python rather
than spin on SQLite's busy handler. PostgreSQL: psycopg 3. Alembic migrations run at start.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url


class DatabaseUrlError(ValueError):
    """A database URL we cannot use (clear message for the CLI)."""


RETRY_AFTER_SECONDS = 2


def is_unavailable(exc: BaseException) -> bool:
    """A database that is busy, locked, out of connections or unreachable: the request may succeed
    if retried shortly, so callers answer 503 with Retry-After, never 500."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.TimeoutError):  # the connection pool is exhausted
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa_exc.OperationalError)  # locked, busy, connection refused or lost


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


def _sqlite_engine(url: str, begin: str, pool_size: int, pragmas: Sequence[str]) -> Engine:
    engine = create_engine(url, hide_parameters=True, pool_size=pool_size, max_overflow=pool_size)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=10000")
        for pragma in pragmas:
            cur.execute(pragma)
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


class SqlDatabase:
    """The engines for one database URL: `write()` for writing transactions, `read()` for reads.

    Subclasses name their Alembic folder and pool size; `sqlite_pragmas` apply to every SQLite
    connection, `writer_pragmas` only to the writing one.
    """

    migrations: ClassVar[Path]
    pool_size: ClassVar[int] = 10

    def __init__(
        self, url: str, sqlite_pragmas: Sequence[str] = (), writer_pragmas: Sequence[str] = ()
    ) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        self.sqlite_path: str | None = None
        if self.is_sqlite:
            path = parsed.database
            if not path or path == ":memory:":
                raise DatabaseUrlError("an in-memory SQLite database cannot be shared; give a file path")
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.sqlite_path = path
            self.write_engine = _sqlite_engine(
                self.url, "BEGIN IMMEDIATE", self.pool_size, [*sqlite_pragmas, *writer_pragmas]
            )
            self.read_engine = _sqlite_engine(self.url, "BEGIN", self.pool_size, sqlite_pragmas)
            self._write_lock: contextlib.AbstractContextManager[Any] = threading.Lock()
        else:
            self.write_engine = create_engine(
                self.url,
                hide_parameters=True,
                pool_size=self.pool_size,
                max_overflow=self.pool_size,
                pool_pre_ping=True,
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
        cfg.set_main_option("script_location", str(self.migrations))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.write() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()
