"""The registry's database: its defaults, its migrations and a background WAL checkpointer.

Engines, transactions and migrations come from `takeitdown.sqldb`. SQLite runs with
synchronous=NORMAL and a large cache: the registry favours submission throughput, and a
committed case survives a process kill (tests/hardening/test_crash.py).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from takeitdown.sqldb import DatabaseUrlError, SqlDatabase, normalize_url

__all__ = [
    "DEFAULT_SQLITE_PATH",
    "MIGRATIONS",
    "Database",
    "DatabaseUrlError",
    "default_url",
    "normalize_url",
]

DEFAULT_SQLITE_PATH = Path("takeitdown-data") / "registry.db"
MIGRATIONS = Path(__file__).parent / "migrations"

SQLITE_PRAGMAS = (
    "PRAGMA synchronous=NORMAL",
    "PRAGMA cache_size=-65536",  # 64 MB
    "PRAGMA mmap_size=1073741824",
    "PRAGMA temp_store=MEMORY",
)


def default_url() -> str:
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


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


class Database(SqlDatabase):
    migrations = MIGRATIONS
    pool_size = 20

    def __init__(self, url: str | None = None, background_checkpoints: bool = False) -> None:
        # With background checkpoints the writer stops checkpointing inside its commits.
        writer_pragmas = ("PRAGMA wal_autocheckpoint=0",) if background_checkpoints else ()
        super().__init__(url or default_url(), SQLITE_PRAGMAS, writer_pragmas)
        self._checkpointer: _Checkpointer | None = None
        if background_checkpoints and self.sqlite_path:
            self._checkpointer = _Checkpointer(self.sqlite_path)

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        super().dispose()
