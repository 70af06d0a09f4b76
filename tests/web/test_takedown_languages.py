"""The request form in real Chromium in Arabic (right to left, chosen from the browser's languages)
and Hindi (chosen in the picker and remembered): the page's words, the problems the node names,
the hashing and the receipt all in the language shown, with numbers and ids kept left to right."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from takeitdown.node.pii import new_key
from tests.node.helpers import ROOT, Registry, conformance, registry, start_node  # noqa: F401
from tests.web.helpers import PHONE, shot

pytestmark = [pytest.mark.slow, pytest.mark.browser]

TABLES = ROOT / "src" / "takeitdown" / "node" / "web" / "i18n"
NAME = "Pixelboard"


def words(code: str) -> dict:
    return json.loads((TABLES / f"{code}.json").read_text(encoding="utf-8"))


def _ready(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector("html[data-ready]", state="attached")


def test_the_form_in_arabic_right_to_left_then_hindi_remembered(
    browser,  # type: ignore[no-untyped-def]
    registry: Registry,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    photo = tmp_path / "private-Qm4t.jpg"
    shutil.copy(conformance("pdq/reg-test-input/dih/bridge-1-original.jpg"), photo)
    ar, hi = words("ar"), words("hi")
    env = {
        "TAKEITDOWN_NODE_PII_KEY": new_key(),
        "TAKEITDOWN_NODE_PLATFORM_NAME": NAME,
        "TAKEITDOWN_NODE_TAKEDOWN_RATE_PER_MINUTE": "0",
        "NUMBA_CACHE_DIR": str(ROOT / "test-artifacts" / "numba-cache"),
    }
    node = start_node(registry, registry.add_platform("form-languages"), tmp_path, extra_env=env)
    context = None
    try:
        context = browser.new_context(viewport=PHONE, locale="ar-EG")
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # The node's 422 (nothing filled in) is logged by the browser; anything else is a fault.
        page.on(
            "console", lambda m: errors.append(m.text) if m.type == "error" and "422" not in m.text else None
        )

        # Arabic from the browser's languages: right to left, the platform's name in the sentence.
        page.goto(node.url + "/takedown")
        _ready(page)
        html = page.locator("html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == ("ar", "rtl")
        assert page.locator("main").evaluate("m => getComputedStyle(m).direction") == "rtl"
        title = ar["page.title"].replace("{platform}", NAME)
        assert page.locator("h1").inner_text() == title and page.title() == title
        assert page.locator("#lang-picker").input_value() == "ar"
        assert page.get_by_label(ar["lang.label"]).is_visible()

        # Nothing filled in: the node names the four elements and who acts, each in Arabic.
        page.get_by_role("button", name=ar["send"]).click()
        page.locator("#problems li").first.wait_for()
        assert page.locator("#problems p").inner_text() == ar["problems.missing"]
        assert page.locator("#problems li").all_inner_texts() == [
            ar[f"missing.{m}"] for m in ("signature", "content", "statement", "contact", "acting_for")
        ]

        # Filled in, with a photo hashed on the device: statuses and receipt in Arabic.
        page.get_by_label(ar["who.self"]).check()
        page.get_by_label(ar["where.label"]).fill("https://pixelboard.example/p/9")
        page.get_by_label(ar["statement.label"]).fill("لم أوافق على نشرها.")
        page.get_by_label(ar["sign.name"]).fill("سلمى مثال")
        page.get_by_label(ar["sign.contact"]).fill("salma@example.org")
        page.get_by_label(ar["hash.pick"]).set_input_files([str(photo)])
        expect(page.locator("#file-list li .file-status")).to_have_text(ar["hash.done"], timeout=120_000)
        expect(page.locator("#hash-count")).to_have_text(ar["hash.count"]["one"])
        shot(page, "takedown-ar")
        page.get_by_role("button", name=ar["send"]).click()
        page.locator("#receipt").wait_for()
        assert page.locator("#receipt h2").inner_text() == ar["receipt.heading"]
        rid = page.locator("#request_id").inner_text()
        assert rid.startswith("TR-") and page.locator("#request_id").get_attribute("dir") == "ltr"
        assert page.locator("#receipt-id").inner_text() == ar["receipt.id"].replace("{id}", rid)
        assert page.locator("#receipt-hashes").inner_text() == ar["receipt.hashes"]["one"]
        assert page.locator("#shared").inner_text() == ar["receipt.kept"].replace("{platform}", NAME)
        shot(page, "takedown-ar-receipt")

        # Hindi from the picker: left to right, the receipt said again, and remembered on reload.
        page.locator("#lang-picker").select_option("hi")
        expect(page.locator("html")).to_have_attribute("lang", "hi")
        assert page.locator("html").get_attribute("dir") == "ltr"
        assert page.locator("#receipt h2").inner_text() == hi["receipt.heading"]
        assert page.locator("#receipt-hashes").inner_text() == hi["receipt.hashes"]["one"].replace("{n}", "1")
        assert page.locator("#receipt-id").inner_text() == hi["receipt.id"].replace("{id}", rid)
        page.reload()
        _ready(page)
        assert page.locator("h1").inner_text() == hi["page.title"].replace("{platform}", NAME)
        assert page.locator("html").get_attribute("dir") == "ltr"
        shot(page, "takedown-hi")
        assert not errors, errors
        # A wrong secret: the node's 404, said in Hindi.
        page.get_by_label(hi["check.id"]).fill(rid)
        page.get_by_label(hi["check.secret"], exact=True).fill("not-the-secret")
        page.get_by_role("button", name=hi["check.button"]).click()
        expect(page.locator("#check-problems li")).to_have_text(hi["check.notFound"])
    finally:
        if context is not None:
            context.close()
        node.stop()
