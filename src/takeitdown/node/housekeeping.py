"""Periodic upkeep of a running node: the audit log's retention. It ran only when the node
started; a node that runs for months must still forget on time. (The legal desk's personal data
is deleted by the desk's own clock, takedown_ticker.DeskTicker, the one place that does it.)"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from takeitdown.node.background import BackgroundLoop

log = logging.getLogger("takeitdown.node.housekeeping")


class Housekeeper(BackgroundLoop):
    thread_name = "takeitdown-housekeeping"

    def __init__(self, jobs: Sequence[tuple[str, Callable[[], int]]], interval: float = 3600.0) -> None:
        super().__init__()
        self.jobs = list(jobs)
        self.interval = interval
        self.runs = 0

    def run_once(self) -> dict[str, int]:
        """Each job once; returns how many rows each removed. A failing job does not stop the rest."""
        done: dict[str, int] = {}
        for name, job in self.jobs:
            try:
                done[name] = int(job())
            except Exception:  # noqa: BLE001 - upkeep retries next round; the node keeps serving
                log.exception("housekeeping job %s failed", name)
        for name, n in done.items():
            if n:
                log.info("housekeeping: %s removed %d rows", name, n)
        self.runs += 1
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._sleep(self.interval)
