"""A person's whole flow against a real registry: pick, hash, submit, receipt, status, withdraw.

Every request the browser makes is recorded: all go to the page's own origin, none carries the
file's bytes or its name, and the only data submitted is the hash JSON. Screenshots of every
step are saved under test-artifacts/screenshots/ at phone and desktop size.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from .helpers import CONFORMANCE, DESKTOP, PHONE, answer_questions, file_results, goto, shot, wait_hashed

pytestmark = pytest.mark.browser

PHOTO = CONFORMANCE / "pdq" / "reg-test-input" / "dih" / "bridge-1-original.jpg"
VIDEO = CONFORMANCE / "vpdq" / "videos" / "pattern-sd-grey-bar.mp4"
# What an item carries, in order, as `takeitdown hash --wire` sends it: a photo's PDQ and MD5, then
# its two centred window hashes (issue 17); a video's vPDQ and MD5.
WIRE_TYPES = {"image": ["pdq", "md5", "pdq80", "pdq70"], "video": ["vpdq", "md5"]}


def distinctive_runs(data: bytes) -> list[bytes]:
    """Byte runs from the middle of the file (compressed data, unique to it), raw and encoded."""
    runs = []
    for start in (len(data) // 3, len(data) // 2):
        raw = data[start : start + 48]
        runs += [raw, base64.b64encode(raw)[8:56], raw.hex().encode()]
    return runs


def platform_reports(registry_url: str, registry_db: str, name: str, case_id: str) -> None:
    """A platform (added with the real CLI) reads the feed and reports it removed one hash."""
    command = [sys.executable, "-m", "takeitdown.cli", "registry", "platform", "add", name]
    key = subprocess.run(
        [*command, "--database-url", registry_db], check=True, capture_output=True, text=True, timeout=60
    ).stdout.strip()
    auth = {"Authorization": f"Bearer {key}"}
    feed = httpx.get(f"{registry_url}/v1/feed", params={"limit": 10000}, headers=auth).json()
    entry = feed["entries"][-1]  # the latest hash added: one of this case's
    report = {
        "report_id": str(uuid.uuid4()),
        "entry_id": entry["entry_id"],
        "outcome": "removed",
        "content_ref": f"post-{uuid.uuid4()}",  # the platform's own id of what it took down
    }
    reply = httpx.post(f"{registry_url}/v1/reports", json={"reports": [report]}, headers=auth)
    assert reply.status_code == 200 and reply.json()["accepted"] == 1, reply.text


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_full_flow_sends_only_hashes_to_own_origin(
    new_page, registry_url, registry_db, tmp_path: Path, viewport
) -> None:
    if not PHOTO.exists() or not VIDEO.exists():
        pytest.skip(f"conformance files not found under {CONFORMANCE}")
    # Distinctive names, so a leak of a name anywhere would be found.
    photo = tmp_path / "my-private-photo-Zq7x.jpg"
    video = tmp_path / "my-private-video-Zq7x.mp4"
    mistake = tmp_path / "picked-by-mistake-Zq7x.jpg"
    shutil.copy(PHOTO, photo)
    shutil.copy(VIDEO, video)
    shutil.copy(CONFORMANCE / "pdq" / "misc-images" / "wee.jpg", mistake)
    secrets = [photo.read_bytes(), video.read_bytes(), mistake.read_bytes()]
    names = [photo.name, video.name, mistake.name, "Zq7x"]

    page = new_page(viewport)
    requests = []
    page.context.on("request", lambda r: requests.append(r))
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=registry_url)

    # 1. Start: what happens, the two questions.
    goto(page, registry_url + "/")
    assert page.locator("#step-pick").is_hidden()
    shot(page, "1-start")
    # An adult about adult images is pointed to StopNCII, and cannot pick files here.
    page.get_by_label("18 or older").check()
    assert page.get_by_role("link", name="Go to StopNCII.org").is_visible()
    assert page.locator("#step-pick").is_hidden()
    shot(page, "2-adult-pointed-elsewhere")
    answer_questions(page)
    assert page.locator("#step-pick").is_visible()
    assert page.get_by_text("That includes you").is_visible()
    assert page.get_by_text("do not send test images").is_visible()
    shot(page, "3-ready-to-pick")

    # 2. Pick (one by mistake), see them hashed, remove the mistake.
    page.locator("#files").set_input_files([str(photo), str(mistake), str(video)])
    wait_hashed(page)
    assert [r["state"] for r in file_results(page)] == ["done", "done", "done"]
    assert page.locator("#file-list img.thumb").first.get_attribute("src").startswith("blob:")
    shot(page, "4-hashed")
    page.get_by_role("button", name=f"Remove {mistake.name}").click()
    assert [r["name"] for r in file_results(page)] == [photo.name, video.name]
    assert "removed" in page.locator("#announce").text_content()
    page.get_by_text("See exactly what will be sent").click()
    shown = json.loads(page.locator("#payload").text_content())
    assert [item["kind"] for item in shown["items"]] == ["image", "video"]
    shot(page, "5-what-will-be-sent")

    # 3. Send: receipt with case number and secret, copy and save.
    page.get_by_role("button", name="Send the hashes").click()
    page.locator("#step-receipt").wait_for(state="visible")
    case_id = page.locator(".case-id").text_content()
    secret = page.locator(".case-secret").text_content()
    assert case_id.startswith("TD-") and secret
    assert page.locator("#file-list li").count() == 0
    page.locator("dd:has(.case-secret) button.copy").click()
    page.get_by_text("Copied").first.wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == secret
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Save receipt").click()
    receipt = Path(download_info.value.path()).read_text()
    assert case_id in receipt and secret in receipt
    assert not any(n in receipt for n in names)
    shot(page, "6-receipt")
    platform_reports(registry_url, registry_db, f"platform-{viewport['width']}", case_id)

    # 4. Status: wrong secret first, then the right one.
    page.get_by_role("link", name="Check this case later").click()
    # The case number is carried over (in the URL fragment, never sent); the secret is not.
    expect(page.get_by_label("Case number")).to_have_value(case_id)
    expect(page.get_by_label("Secret", exact=True)).to_have_value("")
    page.get_by_label("Secret", exact=True).fill("not-the-secret")
    page.get_by_role("button", name="Check").click()
    page.get_by_text("No case with that number and secret").wait_for()
    page.get_by_label("Secret", exact=True).fill(secret)
    page.get_by_role("button", name="Check").click()
    page.get_by_text("Your case is active.").wait_for()
    assert page.get_by_text("Files in this case: 2").is_visible()
    assert page.locator("#status-items bdi").text_content() == "2"
    # What the platforms reported, in plain words (the other test run's platform and report
    # may count too: both runs send the same files, so their cases share hashes).
    api = httpx.get(
        f"{registry_url}/v1/cases/{case_id}", headers={"Authorization": f"Bearer {secret}"}
    ).json()
    assert api["platforms_received"] >= 1 and api["outcomes"]["removed"] >= 1
    n = api["platforms_received"]
    received = (
        f"{n} platform has received your hashes." if n == 1 else f"{n} platforms have received your hashes."
    )
    assert page.get_by_text(received).is_visible()
    assert page.get_by_text(f"Took a copy down: {api['outcomes']['removed']}").is_visible()
    shot(page, "7-status")

    # 5. Withdraw, with a confirmation ("no" first keeps it).
    page.get_by_role("button", name="Withdraw this case").click()
    page.get_by_role("button", name="No, keep it").click()
    assert page.get_by_text("Your case is active.").is_visible()
    page.get_by_role("button", name="Withdraw this case").click()
    shot(page, "8-confirm-withdraw")
    page.get_by_role("button", name="Yes, withdraw").click()
    page.get_by_text("Your case is withdrawn").wait_for()
    shot(page, "9-withdrawn")
    status = httpx.get(f"{registry_url}/v1/cases/{case_id}", headers={"Authorization": f"Bearer {secret}"})
    assert status.json()["status"] == "withdrawn"

    # Every request: own origin only; no file bytes or names; the only POST is the hash JSON.
    origin = urlsplit(registry_url)
    posts = []
    for r in requests:
        url = urlsplit(r.url)
        if url.scheme in ("blob", "data"):
            assert url.scheme == "data" or r.url.startswith(f"blob:{registry_url}/"), r.url
            continue
        assert (url.scheme, url.netloc) == (origin.scheme, origin.netloc), f"request to elsewhere: {r.url}"
        assert not any(n in r.url for n in names), r.url
        assert "cookie" not in {h.lower() for h in r.headers}
        body = r.post_data_buffer or b""
        assert not any(n.encode() in body for n in names), f"file name sent in {r.method} {r.url}"
        for data in secrets:
            assert not any(run in body for run in distinctive_runs(data)), f"file bytes in {r.method} {r.url}"
        if r.method == "POST":
            posts.append(r)
        elif r.method == "DELETE":
            assert url.path == f"/v1/cases/{case_id}" and not body
        else:
            assert r.method == "GET", r.method
    assert [(p.method, urlsplit(p.url).path) for p in posts] == [("POST", "/v1/cases")]
    sent = json.loads(posts[0].post_data_buffer)
    assert sent == shown, "the page sent something other than what it showed"
    assert set(sent) == {"items"}
    for item in sent["items"]:
        assert set(item) == {"kind", "hashes"}
        assert [h["type"] for h in item["hashes"]] == WIRE_TYPES[item["kind"]]
        for h in item["hashes"]:
            assert set(h) <= {"type", "value", "quality", "frames"}


def test_spanish(new_page, registry_url) -> None:
    page = new_page(PHONE, locale="es-ES")
    goto(page, registry_url + "/")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_text("Primero, dos preguntas").is_visible()
    page.get_by_label("Menos de 18").check()
    page.locator("input[name=content][value=yes]").check()
    shot(page, "es-ready-to-pick")
    # The picker takes the page to English and is remembered on the status page.
    page.get_by_label("Idioma").select_option("en")
    page.get_by_text("First, two questions").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    goto(page, registry_url + "/status.html")
    assert page.get_by_role("heading", name="Check a case").is_visible()
