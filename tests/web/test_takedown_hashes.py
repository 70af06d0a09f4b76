"""The request form hashes the picked image and video in real Chromium with the submission page's
own hasher, and nothing but hashes leaves the device.

Every request the browser makes is recorded: all go to the node's own origin, none carries the
files' bytes or names, and the one POST is the request with the hashes the form showed. The
hashes are the Python hasher's (MD5 equal, PDQ within the conformance tolerance, the same vPDQ
frames); the requester's MD5 finds a hosted copy the request did not name; with the under-18
box and consent the hashes alone reach the registry as a case of two items (one per file), and
the receipt says what was shared; without consent nothing is shared and the receipt says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from takeitdown.hashing import PdqHash, VpdqHash, hash_file, vpdq_match
from takeitdown.node.pii import new_key
from tests.node.helpers import ROOT, Registry, conformance, registry, start_node  # noqa: F401
from tests.web.helpers import DESKTOP, PHONE, shot
from tests.web.test_flow import distinctive_runs

pytestmark = [pytest.mark.slow, pytest.mark.browser]

NUMBA_CACHE = {"NUMBA_CACHE_DIR": str(ROOT / "test-artifacts" / "numba-cache")}
ELSEWHERE = "https://elsewhere.example/p/77"  # named by the requester; not hosted here


def _fill(page, minor: bool) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label("I am the person in the image").check()
    page.locator("#content").fill(ELSEWHERE)
    page.locator("#statement").fill("I never agreed to this being posted.")
    page.get_by_label("Your full name").fill("Jordan Example")
    page.locator("#contact").fill("jordan@example.org")
    if minor:
        page.get_by_label("The person in the image was under 18 when it was taken").check()


def _wait_hashed(page, count: int) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        "(n) => document.querySelectorAll('#file-list li[data-state=done]').length === n",
        arg=count,
        timeout=240_000,
    )


def test_the_form_hashes_on_the_device_and_shares_only_hashes_with_consent(
    browser,  # type: ignore[no-untyped-def]
    registry: Registry,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    photo_src = conformance("pdq/reg-test-input/dih/bridge-1-original.jpg")
    video_src = conformance("vpdq/videos/pattern-sd-grey-bar.mp4")
    photo = tmp_path / "my-private-photo-Kw3v.jpg"
    video = tmp_path / "my-private-video-Kw3v.mp4"
    shutil.copy(photo_src, photo)
    shutil.copy(video_src, video)
    names = [photo.name, video.name, "Kw3v"]
    secrets = [photo.read_bytes(), video.read_bytes()]
    hosted = tmp_path / "hosted"
    hosted.mkdir()
    (hosted / "hosted-copy.jpg").write_bytes(photo.read_bytes())  # an identical copy on the platform

    env = {
        "TAKEITDOWN_NODE_PII_KEY": new_key(),
        "TAKEITDOWN_NODE_TAKEDOWN_RATE_PER_MINUTE": "0",
        **NUMBA_CACHE,
    }
    node = start_node(registry, registry.add_platform("hash-form"), tmp_path, extra_env=env)
    context = None
    try:
        cli = [sys.executable, "-m", "takeitdown.cli", "node"]
        scan = subprocess.run([*cli, "scan", str(hosted), "--database-url", node.db_url, "--workers", "1"],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert scan.returncode == 0, scan.stderr

        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        requests = []
        context.on("request", lambda r: requests.append(r))

        page.goto(node.url + "/takedown")
        page.wait_for_selector("html[data-ready]", state="attached")
        _fill(page, minor=True)
        assert "pick the image in the last part of this form" in page.locator("#minor-note").inner_text()
        assert page.locator("#consent-box").is_hidden()  # nothing to share yet

        page.locator("#files").set_input_files([str(photo), str(video)])
        _wait_hashed(page, 2)
        assert page.locator("#file-list li").evaluate_all("li => li.map(x => x.dataset.kind)") == [
            "image",
            "video",
        ]
        expect(page.locator("#hash-count")).to_have_text(
            "The fingerprints of 2 files will be sent with your request. The files stay on your device."
        )
        page.get_by_text("See exactly what will be sent").click()
        shown = json.loads(page.locator("#payload").text_content() or "")
        expect(page.locator("#consent-box")).to_be_visible()
        page.locator("#share_consent").check()
        shot(page, "takedown-hashed")

        # The browser's hashes are the project's own: as the Python hasher makes them.
        by_type = {h["type"]: h for h in shown["hashes"]}
        # The photo's two centred window hashes follow its MD5, as `takeitdown hash --wire` sends them.
        assert [h["type"] for h in shown["hashes"]] == ["pdq", "md5", "pdq80", "pdq70", "vpdq", "md5"]
        want_photo, want_video = hash_file(photo), hash_file(video)
        assert shown["hashes"][1]["value"] == want_photo.md5.value
        assert shown["hashes"][5]["value"] == want_video.md5.value
        assert PdqHash.parse(by_type["pdq"]["value"]).distance(want_photo.pdq) <= 8
        for window in want_photo.windows:
            assert PdqHash.parse(by_type[window.type]["value"]).distance(window.pdq) <= 8
        frames = VpdqHash.parse(by_type["vpdq"]["frames"])
        assert [f.i for f in frames.frames] == [f.i for f in want_video.vpdq.frames]
        assert vpdq_match(frames, want_video.vpdq).is_match

        page.get_by_role("button", name="Send my request").click()
        page.locator("#receipt").wait_for()
        rid = page.locator("#request_id").inner_text()
        assert page.locator("#receipt-hashes").inner_text() == (
            "You sent the fingerprints of 2 files. The files themselves were not sent."
        )
        shared = page.locator("#shared")
        assert shared.get_attribute("data-shared") == "yes"
        case_id = page.locator("#case_id").inner_text()
        case_secret = page.locator("#case_secret").inner_text()
        assert case_id.startswith("TD-") and case_id in shared.inner_text()
        assert "not your name, contact, statement or links" in shared.inner_text()
        shot(page, "takedown-shared")

        # The registry got the hashes alone, as one item per picked file.
        auth = {"Authorization": f"Bearer {case_secret}"}
        case = httpx.get(registry.url + f"/v1/cases/{case_id}", headers=auth, timeout=10)
        assert case.status_code == 200 and case.json()["items"] == 2, case.text

        # The requester's MD5 found the hosted copy the request never named.
        desk = httpx.Client(base_url=node.url, headers=node.auth, timeout=30)
        asked = desk.post(f"/v1/desk/requests/{rid}/remove", json={})
        assert asked.status_code == 200, asked.text
        assert sorted(asked.json()["refs"]) == sorted([ELSEWHERE, "hosted-copy.jpg"])

        # Every request: own origin; no file bytes or names; the one POST is what the form showed.
        origin = urlsplit(node.url)
        posts = []
        for r in requests:
            url = urlsplit(r.url)
            if url.scheme in ("blob", "data"):
                assert url.scheme == "data" or r.url.startswith(f"blob:{node.url}/"), r.url
                continue
            assert (url.scheme, url.netloc) == (origin.scheme, origin.netloc), f"elsewhere: {r.url}"
            assert not any(n in r.url for n in names), r.url
            body = r.post_data_buffer or b""
            assert not any(n.encode() in body for n in names), f"file name sent in {r.method} {r.url}"
            for data in secrets:
                assert not any(run in body for run in distinctive_runs(data)), f"file bytes in {r.url}"
            if r.method == "POST":
                posts.append(r)
            else:
                assert r.method == "GET", r.method
        assert [urlsplit(p.url).path for p in posts] == ["/v1/takedown-requests"]
        sent = json.loads(posts[0].post_data_buffer)
        assert sent["hashes"] == shown["hashes"], "the form sent other hashes than it showed"
        assert sent["share_consent"] is True and sent["minor"] is True
        assert set(sent) == {"signature", "acting_for", "content", "statement", "contact", "minor", "hashes",
                             "share_consent"}  # fmt: skip

        # Hashes without the under-18 box: no offer, nothing shared, and the receipt says so.
        page.set_viewport_size(DESKTOP)
        page.goto(node.url + "/takedown")
        page.wait_for_selector("html[data-ready]", state="attached")
        _fill(page, minor=False)
        page.locator("#files").set_input_files([str(photo)])
        _wait_hashed(page, 1)
        assert page.locator("#consent-box").is_hidden()
        page.get_by_role("button", name="Send my request").click()
        page.locator("#receipt").wait_for()
        assert page.locator("#shared").get_attribute("data-shared") == "no"
        assert page.locator("#shared").inner_text() == (
            "We use these fingerprints only to find copies on this platform. "
            "We did not send them anywhere else."
        )
        rid2 = page.locator("#request_id").inner_text()
        detail = desk.get(f"/v1/desk/requests/{rid2}").json()
        assert [h["type"] for h in detail["hashes"]] == ["pdq", "md5", "pdq80", "pdq70"]
        assert not detail.get("case_id")
        assert not errors, errors
    finally:
        if context is not None:
            context.close()
        node.stop()
    log = node.log.read_text()
    assert "Kw3v" not in log and "Jordan" not in log
