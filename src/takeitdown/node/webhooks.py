"""Deliver the event outbox (events.py) to the platform's URL: signed, retried, dead-lettered.

Each event is POSTed on its own, signed as protocol.webhook_signature says. A 2xx marks it
delivered; anything else is retried with exponential backoff and full jitter, and after
`max_attempts` it is a dead letter the console lists (and can put back in the queue). A node
killed mid-delivery sends the event again when it starts: delivery is at least once, receivers
deduplicate by event id. While the receiver is unreachable the round stops at the first failure
instead of trying every queued event.
"""

from __future__ import annotations

import json
import logging
import random
import time

import httpx

from takeitdown.node.background import BackgroundLoop
from takeitdown.node.events import EventOutbox, body_of
from takeitdown.protocol import WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER, webhook_signature

log = logging.getLogger("takeitdown.node.webhooks")


class WebhookSender(BackgroundLoop):
    thread_name = "takeitdown-webhooks"

    def __init__(
        self,
        outbox: EventOutbox,
        url: str | None,
        secret: str | None,
        interval: float = 2.0,
        max_attempts: int = 12,
        backoff_base: float = 1.0,
        backoff_cap: float = 600.0,
        timeout: float = 10.0,
    ) -> None:
        super().__init__()
        self.outbox = outbox
        self.url = url
        self.secret = secret or ""
        self.interval = interval
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)))
        self.last_error: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    def retry_delay(self, attempts: int) -> float:
        return random.uniform(self.backoff_base / 2, min(self.backoff_cap, self.backoff_base * 2**attempts))

    def send_once(self) -> int:
        """One round over what is due; returns how many were delivered."""
        if not self.url:
            return 0
        sent = 0
        for row in self.outbox.due():
            if self._stop.is_set():
                break
            body = json.dumps(body_of(row), separators=(",", ":"), sort_keys=True).encode()
            ts = int(time.time())
            headers = {
                "Content-Type": "application/json",
                WEBHOOK_TIMESTAMP_HEADER: str(ts),
                WEBHOOK_SIGNATURE_HEADER: webhook_signature(self.secret, ts, body),
                "X-Takeitdown-Event-Id": row.event_id,
                "X-Takeitdown-Event-Type": row.type,
            }
            try:
                r = self.client.post(self.url, content=body, headers=headers)
                error = None if 200 <= r.status_code < 300 else f"receiver answered HTTP {r.status_code}"
            except httpx.HTTPError as e:
                error = f"receiver unreachable: {type(e).__name__}"
            if error is None:
                self.outbox.delivered(row.id)
                sent += 1
                continue
            attempts = int(row.attempts) + 1
            dead = attempts >= self.max_attempts
            self.outbox.failed(row.id, error, None if dead else self.retry_delay(attempts))
            self.last_error = error
            if dead:
                log.error("webhook event %s (%s) is a dead letter: %s", row.event_id, row.type, error)
            break  # the receiver is in trouble: wait for the next round
        else:
            self.last_error = None
        return sent

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.send_once()
            except Exception as e:  # noqa: BLE001 - keep delivering; rows stay queued
                self.last_error = f"{type(e).__name__}: {e}"
                log.warning("webhook round failed: %s", self.last_error)
            self._sleep(self.interval)

    def stop(self) -> None:
        super().stop()
        self.client.close()
