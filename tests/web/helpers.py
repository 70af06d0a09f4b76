"""Helpers shared by the page tests (driving the page the way a person does)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFORMANCE = ROOT.parent / "shared" / "conformance"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{size['width']}x{size['height']}.png"), full_page=True)


def goto(page, url: str) -> None:  # type: ignore[no-untyped-def]
    """Open a page and wait until its language table is applied and its script is wired."""
    page.goto(url)
    page.wait_for_selector("html[data-ready]", state="attached")


def answer_questions(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("Under 18").check()
    page.locator("input[name=content][value=yes]").check()
    page.locator("#files").wait_for(state="attached")


def wait_hashed(page, timeout_ms: int = 240_000) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "() => document.querySelectorAll('#file-list li').length > 0 && "
        "document.querySelectorAll('#file-list li[data-state=queued], #file-list li[data-state=hashing]')"
        ".length === 0",
        timeout=timeout_ms,
    )


def file_results(page) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    """Name, state, status text and hash JSON of every file in the page's list."""
    return page.evaluate(
        """() => [...document.querySelectorAll('#file-list li')].map(li => ({
            name: li.querySelector('.file-name').textContent,
            state: li.dataset.state,
            status: li.querySelector('.file-status').textContent,
            hashes: li.querySelector('.file-hashes').textContent,
        }))"""
    )
