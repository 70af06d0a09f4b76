"""The receipt: the case numbers and secrets, in a file only this user can read (mode 0600).

It is written again after every case, so a submission cut short still leaves the receipt of
the cases already created. Secrets are shown only once by the registry: this file is the copy.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

KEEP = (
    "Keep this safe. Anyone with the case number and the secret can see or withdraw the case. "
    "We cannot show the secret again or recover it."
)


def default_path() -> Path:
    return Path.cwd() / f"takeitdown-receipt-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"


def new_receipt(registry_url: str) -> dict[str, Any]:
    return {"about": KEEP, "registry": registry_url, "sent_on": datetime.now(UTC).isoformat(), "cases": []}


def write(path: Path, receipt: dict[str, Any]) -> None:
    """Replace the file atomically; the new file is 0600 from its first byte."""
    path = path.resolve()
    fd, tmp = tempfile.mkstemp(prefix=".takeitdown-receipt-", dir=path.parent)  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(receipt, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("cases"), list):
        raise ValueError(f"{path} is not a takeitdown receipt")
    return data


def secret_for(receipt: dict[str, Any], case_id: str) -> str | None:
    wanted = case_id.strip().upper()
    for case in receipt["cases"]:
        if isinstance(case, dict) and str(case.get("case_id", "")).upper() == wanted:
            secret = case.get("case_secret")
            return secret if isinstance(secret, str) else None
    return None
