"""A daemon thread that runs a loop until stopped; `wake()` cuts its current wait short."""

from __future__ import annotations

import threading


class BackgroundLoop:
    thread_name = "takeitdown-loop"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=30)

    def wake(self) -> None:
        self._wake.set()

    def _sleep(self, seconds: float) -> None:
        """Wait up to `seconds`, returning early on wake() or stop()."""
        self._wake.wait(seconds)
        self._wake.clear()

    def _run(self) -> None:
        raise NotImplementedError
