"""The registry calls a person's computer makes: create a case, read it, withdraw it."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from takeitdown.protocol import Problem

ATTEMPTS = 5
MAX_WAIT = 60.0  # seconds: the longest Retry-After honoured before giving up

# The page's words (i18n/en.js)
MSG_OFFLINE = "We could not reach the server. Check your connection and try again."
MSG_NO_CASE = "No case with that number and secret. Check both and try again."


def wire_json(body: dict[str, Any]) -> str:
    """The exact bytes sent as a case body (and what `takeitdown hash --wire` prints)."""
    return json.dumps(body, separators=(",", ":"))


class SendError(Exception):
    """A request that did not succeed; the message is for the person."""

    def __init__(self, message: str, problem: Problem | None = None) -> None:
        super().__init__(message)
        self.problem = problem


def _problem(r: httpx.Response) -> Problem:
    try:
        data = r.json()
    except ValueError:
        data = None
    return Problem.parse(r.status_code, data)


class CaseClient:
    def __init__(self, registry_url: str, transport: httpx.BaseTransport | None = None) -> None:
        if not registry_url.startswith(("http://", "https://")):
            raise SendError(f"The registry address must start with https:// (got {registry_url!r}).")
        self.url = registry_url.rstrip("/")
        # No cookies, no referrer, nothing but the hashes (and the case secret when asked).
        self.http = httpx.Client(
            base_url=self.url,
            timeout=60,
            transport=transport,
            headers={"User-Agent": "takeitdown"},
            follow_redirects=False,
        )

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Retry a lost connection, a 5xx or a 429 with the same request (so the same key)."""
        delay = 1.0
        for attempt in range(ATTEMPTS):
            last = attempt == ATTEMPTS - 1
            try:
                r = self.http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if last:
                    raise SendError(MSG_OFFLINE) from exc
                time.sleep(delay)
                delay = min(delay * 2, MAX_WAIT)
                continue
            if r.status_code == 429 or r.status_code >= 500:
                if last:
                    return r
                wait = delay
                retry_after = r.headers.get("retry-after", "")
                if retry_after.isdigit():
                    wait = float(retry_after)
                if wait > MAX_WAIT:
                    return r
                time.sleep(wait)
                delay = min(delay * 2, MAX_WAIT)
                continue
            return r
        raise AssertionError("unreachable")

    def create_case(self, body: dict[str, Any], idempotency_key: str | None = None) -> dict[str, Any]:
        """POST /v1/cases with an Idempotency-Key: a retry after a lost reply gets the same case."""
        key = idempotency_key or str(uuid.uuid4())
        r = self._send(
            "POST",
            "/v1/cases",
            content=wire_json(body).encode(),
            headers={"Idempotency-Key": key, "Content-Type": "application/json"},
        )
        if r.status_code != 201:
            problem = _problem(r)
            raise SendError(
                f"The hashes could not be sent: {problem.detail} Your files are still only on this device. "
                "Please try again.",
                problem,
            )
        return dict(r.json())

    def _case(self, method: str, case_id: str, secret: str) -> dict[str, Any]:
        r = self._send(method, f"/v1/cases/{case_id}", headers={"Authorization": f"Bearer {secret}"})
        if r.status_code == 404:
            raise SendError(MSG_NO_CASE, _problem(r))
        if r.status_code != 200:
            problem = _problem(r)
            raise SendError(f"Could not check the case: {problem.detail}", problem)
        return dict(r.json())

    def status(self, case_id: str, secret: str) -> dict[str, Any]:
        return self._case("GET", case_id, secret)

    def withdraw(self, case_id: str, secret: str) -> dict[str, Any]:
        return self._case("DELETE", case_id, secret)
