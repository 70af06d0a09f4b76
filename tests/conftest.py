"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CONFORMANCE = REPO.parent / "shared" / "conformance"


@pytest.fixture(scope="session")
def conformance() -> Path:
    """The public reference images and videos (../shared/conformance)."""
    if not (CONFORMANCE / "pdq" / "expected.json").exists():
        pytest.skip(f"conformance data not found at {CONFORMANCE}")
    return CONFORMANCE
