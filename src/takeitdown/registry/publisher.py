"""The feed publisher: every TAKEITDOWN_PUBLISH_INTERVAL seconds, publish what is waiting.

Submissions, withdrawals and trust changes are committed at once and marked `dirty`; this
thread turns them into feed rows in batches, in random order (store.publish_pending), so the
feed says nothing about which hashes came in one case or when. A failed tick is logged and
tried again at the next one: nothing is lost, it only waits longer.
"""

from __future__ import annotations

import logging
import threading

from takeitdown.registry.store import Store

log = logging.getLogger("takeitdown.registry")


class Publisher:
    def __init__(self, store: Store, interval: float) -> None:
        self.store = store
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="feed-publisher", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()
        self.tick()  # what came in just before a clean stop goes out now, not after the restart

    def tick(self) -> int:
        try:
            return self.store.publish_pending()
        except Exception as exc:  # noqa: BLE001 - retried at the next tick
            log.error("publishing the feed failed: %s", type(exc).__name__)
            return 0

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
