"""The legal desk's clock in the node's background: breaches recorded when a deadline passes,
warnings at 36 hours, unanswered incomplete requests closed, expired personal data deleted,
whether or not anyone opens the desk."""

from __future__ import annotations

import logging

from takeitdown.node.background import BackgroundLoop
from takeitdown.node.takedown import Desk

log = logging.getLogger("takeitdown.node.takedown")


class DeskTicker(BackgroundLoop):
    thread_name = "takeitdown-desk-clock"

    def __init__(self, desk: Desk, interval: float = 60.0) -> None:
        super().__init__()
        self.desk = desk
        self.interval = interval
        self.last_error: str | None = None
        self.ticks = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                done = self.desk.tick()
                self.last_error = None
                self.ticks += 1
                if any(done.values()):
                    log.info("legal desk clock: %s", done)  # counts only, never personal data
            except Exception as e:  # noqa: BLE001 - the next tick tries again; nothing is lost
                self.last_error = type(e).__name__
                log.warning("the legal desk clock failed (%s); trying again", type(e).__name__)
            self._sleep(self.interval)
