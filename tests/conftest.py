"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CONFORMANCE = REPO.parent / "shared" / "conformance"

# Set by .ci/run when PostgreSQL answers: a PostgreSQL variant may then not skip for want of it.
REQUIRE_POSTGRES = os.environ.get("TAKEITDOWN_TEST_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def conformance() -> Path:
    """The public reference images and videos (../shared/conformance)."""
    if not (CONFORMANCE / "pdq" / "expected.json").exists():
        pytest.skip(f"conformance data not found at {CONFORMANCE}")
    return CONFORMANCE


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if REQUIRE_POSTGRES and report.skipped and "postgres" in item.keywords:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if "PostgreSQL" in reason:
            report.outcome = "failed"
            report.longrepr = (
                f"TAKEITDOWN_TEST_REQUIRE_POSTGRES=1 but this PostgreSQL variant skipped: {reason}"
            )
    return report
