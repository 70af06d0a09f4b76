"""The page in every language, and the paths where a person could otherwise get stuck: a lost
reply, an error from the registry, more files than one case holds, files that fail.

Screenshots of every language at phone and desktop size go to test-artifacts/screenshots/lang/.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from .helpers import DESKTOP, PHONE, ROOT, SCREENSHOTS, answer_questions, file_results, goto, wait_hashed
from .test_i18n import languages, table

pytestmark = pytest.mark.browser

LANG_SHOTS = SCREENSHOTS / "lang"
# Any element wider than the page, or text cut by its box, as a person would see it.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    if (!el.offsetParent || el.closest('pre, .visually-hidden, select, .skip')) continue;
    const r = el.getBoundingClientRect();
    const name = el.tagName + '#' + el.id + '.' + el.className;
    if (r.right > width + 1 || r.left < -1)
      out.push(name + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
    else if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'hidden'
             && !el.classList.contains('file-name')) out.push('cut: ' + name);
  }
  return {scroll: document.documentElement.scrollWidth, width, out: out.slice(0, 5)};
}"""


def photo(path: Path, seed: int, size: int = 96, flat: bool = False) -> Path:
    rng = np.random.default_rng(seed)
    pixels = (
        np.full((size, size, 3), 128, np.uint8) if flat else rng.integers(0, 255, (size, size, 3), np.uint8)
    )
    Image.fromarray(pixels).save(path)
    return path


def t(code: str, key: str, **vars: object) -> str:
    """The table's text (the `other` form of a plural), placeholders filled, as the page shows it."""
    value = table(code)[key]
    text = value["other"] if isinstance(value, dict) else value
    for name, v in vars.items():
        text = text.replace("{" + name + "}", str(v))
    return text


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_language_fits_reads_in_its_direction_and_shows_no_key(
    new_page, registry_url, viewport
) -> None:
    LANG_SHOTS.mkdir(parents=True, exist_ok=True)
    page = new_page(viewport)
    problems = []
    for code, name, rtl in languages():
        for path in ("/", "/status.html"):
            goto(page, f"{registry_url}{path}?lang={code}")
            if path == "/":
                page.locator("input[name=age][value=under18]").check()
                page.locator("input[name=content][value=yes]").check()
            html = page.locator("html")
            assert html.get_attribute("lang") == code
            assert html.get_attribute("dir") == ("rtl" if rtl else "ltr"), code
            # The picker names the language in itself.
            assert page.locator("#lang-picker option:checked").text_content() == name
            keys = page.evaluate(
                """() => [...document.querySelectorAll('[data-i18n]')]
                    .filter(el => /^[a-z]+\\.[\\w.-]+$/.test(el.textContent.trim()))
                    .map(el => el.dataset.i18n)"""
            )
            if keys:
                problems.append(f"{code}{path}: raw keys shown {keys}")
            fit = page.evaluate(OVERFLOW)
            if fit["scroll"] > fit["width"] or fit["out"]:
                problems.append(f"{code}{path} at {viewport['width']}: {fit}")
            stem = "index" if path == "/" else "status"
            page.screenshot(
                path=str(LANG_SHOTS / f"{code}-{stem}-{viewport['width']}x{viewport['height']}.png"),
                full_page=True,
            )
    assert not problems, "\n".join(problems)


def test_the_choice_is_remembered_without_a_cookie_and_the_browser_language_picks_first(
    new_page, registry_url
) -> None:
    page = new_page(PHONE, locale="pt-BR")
    goto(page, registry_url + "/")
    assert page.locator("html").get_attribute("lang") == "pt"
    page.locator("#lang-picker").select_option("uk")
    page.get_by_text(t("uk", "q.heading")).wait_for()
    goto(page, registry_url + "/status.html")
    assert page.locator("html").get_attribute("lang") == "uk"
    assert page.context.cookies() == []
    # zh-TW is Traditional Chinese; fil is Tagalog.
    for locale, want in (("zh-TW", "zh-Hant"), ("zh-CN", "zh-Hans"), ("fil-PH", "tl")):
        other = new_page(PHONE, locale=locale)
        goto(other, registry_url + "/")
        assert other.locator("html").get_attribute("lang") == want, locale


@pytest.mark.parametrize("code", ["en", "es", "ar", "zh-Hans"])
def test_flow_in_four_languages(new_page, registry_url, tmp_path: Path, code: str) -> None:
    """Pick, send, receipt and status in the person's language; case number and secret kept
    left to right even in Arabic."""
    page = new_page(PHONE, locale={"zh-Hans": "zh-CN"}.get(code, code))
    goto(page, registry_url + "/")
    assert page.locator("html").get_attribute("lang") == code
    page.get_by_label(t(code, "q.age.under18")).check()
    page.locator("input[name=content][value=yes]").check()
    page.locator("#files").set_input_files([str(photo(tmp_path / f"a-{code}.png", hash(code) % 1000))])
    wait_hashed(page)
    assert file_results(page)[0]["status"] == t(code, "file.done")
    page.get_by_role("button", name=t(code, "send.button")).click()
    page.locator("#step-receipt").wait_for(state="visible")
    assert page.locator("#receipt-h").text_content() == t(code, "receipt.heading")
    case_id = page.locator(".case-id").text_content()
    secret = page.locator(".case-secret").text_content()
    assert page.locator(".case-id").get_attribute("dir") == "ltr"
    assert page.locator(".case-secret").get_attribute("dir") == "ltr"
    # One file: the language's own "one" form (Arabic spells the number out), never a bare key.
    sent = page.locator("#receipt-sent").text_content()
    assert (
        sent
        and "{" not in sent
        and sent in {text.replace("{n}", "1") for text in table(code)["receipt.sent"].values()}
    )
    page.screenshot(path=str(SCREENSHOTS / f"flow-{code}-receipt.png"), full_page=True)
    page.get_by_role("link", name=t(code, "receipt.statusLink")).click()
    page.get_by_label(t(code, "status.secret"), exact=True).fill(secret.lower().replace("-", " "))
    page.get_by_role("button", name=t(code, "status.check"), exact=True).click()
    page.get_by_text(t(code, "status.active")).wait_for()
    assert page.locator("#case-id").input_value() == case_id
    page.get_by_label(t(code, "status.secret"), exact=True).fill("not-the-secret")
    page.get_by_role("button", name=t(code, "status.check"), exact=True).click()
    page.get_by_text(t(code, "api.notFound")).wait_for()


def test_a_lost_reply_is_sent_again_with_the_same_key_and_makes_one_case(
    new_page, registry_url, tmp_path
) -> None:
    page = new_page(PHONE)
    seen: list[dict[str, str]] = []
    first: dict[str, object] = {}

    def lose_first_reply(route) -> None:  # type: ignore[no-untyped-def]
        seen.append(route.request.headers)
        if not first:
            reply = route.fetch()  # the registry makes the case ...
            first.update(reply.json())
            route.abort("connectionreset")  # ... and the reply never arrives
        else:
            route.continue_()

    page.route("**/v1/cases", lose_first_reply)
    goto(page, registry_url + "/")
    answer_questions(page)
    page.locator("#files").set_input_files([str(photo(tmp_path / "lost.png", 7))])
    wait_hashed(page)
    page.get_by_role("button", name="Send the hashes").click()
    page.locator("#step-receipt").wait_for(state="visible", timeout=20_000)
    keys = [h.get("idempotency-key") for h in seen]
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1]
    # The receipt holds the case the first, lost reply made: no second case.
    assert page.locator(".case-id").text_content() == first["case_id"]
    assert page.locator(".case-secret").text_content() == first["case_secret"]


@pytest.mark.parametrize(
    ("status", "body", "key"),
    [
        (429, {"code": "rate_limited", "detail": "Too many cases from this connection."}, "api.rateLimited"),
        (422, {"code": "some.new_code", "detail": "An English sentence."}, "api.unknown"),
        (503, {"code": "unavailable", "detail": "The database is busy."}, "api.busy"),
        (502, "<html>Bad Gateway</html>", "api.busy"),
    ],
    ids=["rate_limited", "unknown_code", "unavailable", "proxy_502"],
)
def test_errors_are_said_by_code_in_the_persons_language(
    new_page, registry_url, tmp_path, status, body, key
) -> None:
    page = new_page(PHONE, locale="es-ES")
    calls = []

    def answer(route) -> None:  # type: ignore[no-untyped-def]
        calls.append(route.request.headers.get("idempotency-key"))
        text = body if isinstance(body, str) else json.dumps(body)
        route.fulfill(
            status=status,
            body=text,
            content_type="text/html" if isinstance(body, str) else "application/json",
        )

    page.route("**/v1/cases", answer)
    goto(page, registry_url + "/")
    answer_questions_es(page)
    page.locator("#files").set_input_files([str(photo(tmp_path / "e.png", 3))])
    wait_hashed(page)
    page.get_by_role("button", name=t("es", "send.button")).click()
    error = page.locator("#send-error")
    page.wait_for_function(
        "(want) => document.getElementById('send-error').textContent === want",
        arg=t("es", key),
        timeout=20_000,
    )
    shown = error.text_content()
    assert "HTTP" not in shown and str(status) not in shown
    if isinstance(body, dict):
        assert body["detail"] not in shown
    # Pressing Send again sends the same body with the same key.
    assert page.get_by_role("button", name=t("es", "send.button")).is_enabled()
    assert len(set(calls)) == 1


def answer_questions_es(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label(t("es", "q.age.under18")).check()
    page.locator("input[name=content][value=yes]").check()


def test_more_files_than_a_case_holds_become_several_cases_on_one_receipt(
    new_page, registry_url, tmp_path
) -> None:
    files = [str(photo(tmp_path / f"p{n:03}.png", n, size=24)) for n in range(105)]
    page = new_page(DESKTOP)
    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    goto(page, registry_url + "/")
    answer_questions(page)
    page.locator("#files").set_input_files(files)
    wait_hashed(page)
    # Said before sending: two cases, and why.
    assert page.locator("#send-split").is_visible()
    assert "as 2 cases" in page.locator("#send-split").text_content()
    page.get_by_role("button", name="Send the hashes").click()
    page.locator("#step-receipt").wait_for(state="visible", timeout=60_000)
    boxes = page.locator(".case-box")
    assert boxes.count() == 2
    assert page.locator("#receipt-h").text_content() == "Done. Your cases are open."
    assert [json.loads(p.post_data)["items"].__len__() for p in posts] == [100, 5]
    assert "100 files in this case" in boxes.nth(0).text_content()
    assert "5 files in this case" in boxes.nth(1).text_content()
    assert page.locator("#receipt-sent").text_content() == "The hashes of 105 files were sent."
    for n in range(2):
        case_id = boxes.nth(n).locator(".case-id").text_content()
        secret = boxes.nth(n).locator(".case-secret").text_content()
        status = httpx.get(
            f"{registry_url}/v1/cases/{case_id}", headers={"Authorization": f"Bearer {secret}"}
        )
        assert status.json()["items"] == (100, 5)[n]
    with page.expect_download() as download:
        page.get_by_role("button", name="Save receipt").click()
    text = Path(download.value.path()).read_text()
    assert text.count("Case number:") == 2 and "p000.png" not in text


def test_the_receipt_says_what_failed_and_what_is_not_shared_in_the_warning_colour(
    new_page, registry_url, tmp_path
) -> None:
    good = photo(tmp_path / "good.png", 11)
    flat = photo(tmp_path / "flat-grey.png", 0, size=128, flat=True)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 50)
    page = new_page(PHONE)
    goto(page, registry_url + "/")
    answer_questions(page)
    page.locator("#files").set_input_files([str(good), str(flat), str(broken)])
    wait_hashed(page)
    low = page.locator("#file-list li").nth(1)
    assert low.get_attribute("data-low") == "1"
    assert "only exact copies" in low.text_content()
    color = "(sel) => getComputedStyle(document.querySelector(sel)).color"
    warn = page.evaluate(color, '#file-list li[data-low="1"] .file-status')
    ok = page.evaluate(color, '#file-list li[data-state=done]:not([data-low="1"]) .file-status')
    assert warn != ok
    page.get_by_role("button", name="Send the hashes").click()
    page.locator("#step-receipt").wait_for(state="visible")
    assert page.locator("#receipt-sent").text_content() == "The hashes of 2 files were sent."
    failed = page.locator("#receipt-failed-box")
    assert (
        failed.is_visible()
        and "broken.jpg" in failed.text_content()
        and "could not be opened" in failed.text_content()
    )
    shared = page.locator("#receipt-notshared-box")
    assert shared.is_visible() and "flat-grey.png" in shared.text_content()
    assert "warn-box" in (shared.get_attribute("class") or "")
    page.screenshot(path=str(SCREENSHOTS / "receipt-failed-and-not-shared.png"), full_page=True)


def test_support_links_come_from_the_operator_only(new_page, registry_url) -> None:
    # None are configured for the test registry: the page invents none.
    page = new_page(PHONE)
    goto(page, registry_url + "/")
    assert page.locator("#support").is_hidden()
    assert page.locator("#support-links a").count() == 0
    config = httpx.get(registry_url + "/config.json").json()
    assert config["support"] == [] and config["max_items"] == 100
    assert (ROOT / "src" / "takeitdown" / "registry" / "support.py").exists()


LEAVING_IS_GUARDED = """() => {
  const ev = new Event('beforeunload', {cancelable: true});
  window.dispatchEvent(ev);
  return ev.defaultPrevented;
}"""


def test_a_case_made_before_a_later_batch_fails_is_shown_and_the_rest_can_be_sent(
    new_page, registry_url, tmp_path
) -> None:
    """Batch 1 makes a case, batch 2 fails: the receipt shows batch 1's number and secret at once,
    says what was not sent, and sends the rest with the key the failed request carried."""
    files = [str(photo(tmp_path / f"part-{n}.png", 40 + n)) for n in range(3)]
    page = new_page(PHONE)
    config = httpx.get(registry_url + "/config.json").json()
    page.route(
        "**/config.json",
        lambda route: route.fulfill(json={**config, "max_items": 2}, headers={"Cache-Control": "no-cache"}),
    )
    made: list[dict[str, str]] = []
    keys: list[str] = []
    failing = {"on": True}

    def second_fails(route) -> None:  # type: ignore[no-untyped-def]
        keys.append(route.request.headers["idempotency-key"])
        if made and failing["on"]:
            route.fulfill(status=500, json={"code": "internal", "detail": "Something broke."})
            return
        reply = route.fetch()
        made.append(reply.json())
        route.fulfill(response=reply)

    page.route("**/v1/cases", second_fails)
    goto(page, registry_url + "/")
    answer_questions(page)
    page.locator("#files").set_input_files(files)
    wait_hashed(page)
    assert "as 2 cases" in page.locator("#send-split").text_content()
    page.get_by_role("button", name="Send the hashes").click()
    page.locator("#step-receipt").wait_for(state="visible", timeout=20_000)
    assert len(made) == 1 and len(keys) == 2 and keys[0] != keys[1]
    assert page.locator("#receipt-h").text_content() == t("en", "receipt.headingPartial")
    assert page.locator(".case-box").count() == 1
    assert page.locator(".case-id").text_content() == made[0]["case_id"]
    assert page.locator(".case-secret").text_content() == made[0]["case_secret"]
    pending = page.locator("#receipt-pending-box")
    assert pending.is_visible() and "warn-box" in (pending.get_attribute("class") or "")
    assert page.locator("#receipt-pending li").all_text_contents() == ["part-2.png"]
    assert page.locator("#receipt-pending-why").text_content() == t("en", "api.internal")
    assert page.locator("#receipt-sent").text_content() == "The hashes of 2 files were sent."
    # The secret exists only on this screen: closing the tab now asks first.
    assert page.evaluate(LEAVING_IS_GUARDED)
    page.screenshot(path=str(SCREENSHOTS / "receipt-partial.png"), full_page=True)

    failing["on"] = False
    page.get_by_role("button", name=t("en", "receipt.sendRest")).click()
    page.wait_for_function("() => document.querySelectorAll('.case-box').length === 2", timeout=20_000)
    assert keys[2] == keys[1], "the rest is sent with the Idempotency-Key it was first sent with"
    assert len(made) == 2
    assert page.locator("#receipt-h").text_content() == "Done. Your cases are open."
    assert pending.is_hidden()
    assert page.locator(".case-id").all_text_contents() == [m["case_id"] for m in made]
    assert page.locator("#receipt-sent").text_content() == "The hashes of 3 files were sent."
    for m, n in zip(made, (2, 1), strict=True):
        status = httpx.get(
            f"{registry_url}/v1/cases/{m['case_id']}", headers={"Authorization": f"Bearer {m['case_secret']}"}
        )
        assert status.json()["items"] == n
    assert page.evaluate(LEAVING_IS_GUARDED)
    with page.expect_download():
        page.get_by_role("button", name="Save receipt").click()
    assert not page.evaluate(LEAVING_IS_GUARDED)


def plausible_pdqs(count: int, seed: int) -> list[str]:
    """Random PDQ hex values with exactly half their 256 bits set, as real ones have."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        bits = np.zeros(256, np.uint8)
        bits[rng.choice(256, 128, replace=False)] = 1
        out.append(np.packbits(bits).tobytes().hex())
    return out


SPLIT_VIDEOS = """async ({pdqs, videos, perVideo, maxFrames}) => {
  const { batches } = await import('/app.js');
  const { wireItem } = await import('/hasher.js');
  const entries = Array.from({length: videos}, (_, k) => ({ result: {
    kind: 'video', md5: (k + 1).toString(16).padStart(32, '0'),
    frames: Array.from({length: perVideo},
                       (_, s) => ({i: s * 30, t: s, q: 100, pdq: pdqs[k * perVideo + s]})),
  }}));
  const body = (list) => JSON.stringify({ items: list.map((e) => wireItem(e.result)) });
  const post = async (text) => {
    const r = await fetch('/v1/cases',
                          {method: 'POST', headers: {'Content-Type': 'application/json'}, body: text});
    return {status: r.status, data: await r.json()};
  };
  const groups = batches(entries, 100, 4 * 1024 * 1024, maxFrames);
  const whole = await post(body(entries));
  const parts = [];
  for (const g of groups) parts.push(await post(body(g)));
  return {sizes: groups.map((g) => g.length), whole, parts};
}"""


def test_long_videos_are_split_by_the_registrys_frame_cap(new_page, registry_url) -> None:
    """Twelve 10-minute videos (600 frame hashes each, 7,200 in all) are twelve items, far under
    max_items, yet over the registry's 6,000 frames a case: /config.json says so, batches()
    splits them, and the registry takes every part where it refuses the whole."""
    config = httpx.get(registry_url + "/config.json").json()
    assert config["max_case_frames"] == 6000 and config["max_video_frames"] == 1800
    page = new_page(DESKTOP)
    goto(page, registry_url + "/")
    videos, per_video = 12, 600
    out = page.evaluate(
        SPLIT_VIDEOS,
        {
            "pdqs": plausible_pdqs(videos * per_video, 5),
            "videos": videos,
            "perVideo": per_video,
            "maxFrames": config["max_case_frames"],
        },
    )
    assert out["whole"]["status"] == 422 and out["whole"]["data"]["code"] == "case.too_many_frames"
    assert out["sizes"] == [10, 2]
    assert [p["status"] for p in out["parts"]] == [201, 201], out["parts"]
    assert [p["data"]["items_accepted"] for p in out["parts"]] == [10, 2]


def test_a_split_not_explained_by_the_file_count_says_so(new_page, registry_url, tmp_path) -> None:
    """Split by size or frames (here a tiny body limit from a routed /config.json), the note does
    not claim a case holds up to 100 files; it says it is too much for one case."""
    files = [str(photo(tmp_path / f"s{n}.png", 60 + n)) for n in range(6)]
    config = httpx.get(registry_url + "/config.json").json()
    page = new_page(PHONE)
    page.route("**/config.json", lambda route: route.fulfill(json={**config, "max_body_bytes": 1}))
    goto(page, registry_url + "/")
    answer_questions(page)
    page.locator("#files").set_input_files(files)
    wait_hashed(page)
    assert page.locator("#send-split").text_content() == t("en", "pick.splitSize")
    page.get_by_role("button", name="Send the hashes").click()
    # the receipt shows each case as it is made: wait for all six files, then count the cases
    page.get_by_text(t("en", "receipt.sent", n=6)).wait_for(timeout=30_000)
    boxes = page.locator(".case-box")
    n = boxes.count()
    assert n >= 2, "too much for one case, so several (how many depends on the hashes' sizes)"
    expect(boxes.last).to_contain_text(t("en", "receipt.caseTitle", k=n, n=n))


def test_the_status_page_says_kindly_when_part_of_the_case_is_under_review(
    new_page, registry_url, registry_db
) -> None:
    md5 = uuid.uuid4().hex
    item = {"kind": "image", "hashes": [{"type": "pdq", "value": plausible_pdqs(1, 9)[0], "quality": 90},
                                        {"type": "md5", "value": md5}]}  # fmt: skip
    case = httpx.post(registry_url + "/v1/cases", json={"items": [item]}).json()
    page = new_page(PHONE, locale="es-ES")

    def check() -> None:
        goto(page, f"{registry_url}/status.html#{case['case_id']}")
        page.get_by_label(t("es", "status.secret"), exact=True).fill(case["case_secret"])
        page.get_by_role("button", name=t("es", "status.check"), exact=True).click()
        page.get_by_text(t("es", "status.active")).wait_for()

    check()
    assert page.locator("#status-review").is_hidden()
    # Disputes from several platforms quarantine an entry; the operator's CLI does the same.
    cli = [sys.executable, "-m", "takeitdown.cli", "registry"]
    key = subprocess.run([*cli, "platform", "add", "review-page", "--database-url", registry_db],
                         check=True, capture_output=True, text=True, timeout=60).stdout.strip()  # fmt: skip
    feed = httpx.get(registry_url + "/v1/feed", params={"limit": 10000},
                     headers={"Authorization": f"Bearer {key}"}).json()  # fmt: skip
    eid = next(e["entry_id"] for e in feed["entries"] if e["value"] == md5 and e["op"] == "add")
    subprocess.run([*cli, "entries", "quarantine", str(eid), "--database-url", registry_db],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    check()
    review = page.locator("#status-review")
    # the same URL again is a same-document navigation: the old answer may show until the new one
    expect(review).to_have_text(t("es", "status.under_review"), timeout=20_000)
    assert "warn-box" in (review.get_attribute("class") or "")
    page.screenshot(path=str(SCREENSHOTS / "status-under-review-es.png"), full_page=True)
