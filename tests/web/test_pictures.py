"""Every picture of an animated GIF, WebP or APNG is sent as a photo by the page, as by the CLI
(issue 17): a listed photo shown after a 50 ms cover frame is not hidden by the cover.

The files are the shared vectors (tests/vectors/media.json, which tests/hashing/test_vectors.py
holds the CLI to). The page decodes them frame by frame with WebCodecs' ImageDecoder in its
worker; `takeitdown hash --wire` is the CLI's real command, run on the same files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from takeitdown.protocol import PdqHash
from tests.hashing.test_vectors import pictures_problems
from tests.vectors.media import make, vectors

from .helpers import PHONE, answer_questions, file_results, goto, wait_hashed

pytestmark = pytest.mark.browser

# The conformance goal for every PDQ the page sends (tests/web/test_conformance.py).
MAX_DISTANCE = 8


def cli_wire_items(paths: list[Path]) -> list[dict]:
    """The items `takeitdown hash --wire` would send for these files, in their order."""
    done = subprocess.run(
        [sys.executable, "-m", "takeitdown.cli", "hash", "--wire", "--workers", "1", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return [item for line in done.stdout.splitlines() for item in json.loads(line)["items"]]


def test_page_sends_every_picture_the_cli_sends(new_page, registry_url, tmp_path: Path) -> None:
    cases = [v for v in vectors() if "pictures" in v["expect"]]
    assert len(cases) >= 4  # GIF, WebP and APNG behind a cover, and one over the six-picture cap
    paths = [make(v, tmp_path) for v in cases]
    cli = cli_wire_items(paths)
    assert len(cli) == len(paths)

    page = new_page(PHONE)
    goto(page, registry_url + "/")
    answer_questions(page)
    page.locator("#files").set_input_files([str(p) for p in paths])
    wait_hashed(page)
    problems: list[str] = []
    distances: list[int] = []
    for vector, item, want in zip(cases, file_results(page), cli, strict=True):
        name = vector["name"]
        if item["state"] != "done":
            problems.append(f"{name}: the page could not hash it: {item['status']}")
            continue
        got = json.loads(item["hashes"])  # what the page shows it will send
        problems += pictures_problems(vector, got, "page")
        if [h["type"] for h in got] != [h["type"] for h in want["hashes"]]:
            problems.append(
                f"{name}: page sends {[h['type'] for h in got]}, CLI {[h['type'] for h in want['hashes']]}"
            )
            continue
        for mine, theirs in zip(got, want["hashes"], strict=True):
            if mine["type"] == "md5":
                if mine != theirs:
                    problems.append(f"{name}: MD5 {mine['value']} != {theirs['value']}")
                continue
            assert set(mine) == set(theirs) == {"type", "value", "quality"}, (mine, theirs)
            d = PdqHash.parse(mine["value"]).distance(PdqHash.parse(theirs["value"]))
            distances.append(d)
            if d > MAX_DISTANCE or abs(mine["quality"] - theirs["quality"]) > 10:
                problems.append(
                    f"{name}: {mine['type']} {d} bits, quality {mine['quality']} vs {theirs['quality']}"
                )
    assert not problems, "\n".join(problems)
    print(
        f"\npage vs CLI over {len(distances)} perceptual hashes of {len(cases)} animations:"
        f" max {max(distances)}"
    )


def test_an_animation_goes_to_the_registry_as_one_item_with_its_pictures(
    new_page, registry_url, tmp_path: Path
) -> None:
    """Sent for real: the registry takes the item of a six-picture file (19 hashes: MD5 and three a
    picture; an item may hold 20)."""
    vector = next(v for v in vectors() if v["name"] == "eight-pictures.gif")
    path = make(vector, tmp_path)
    page = new_page(PHONE)
    posts = []
    page.on("request", lambda r: posts.append(r) if r.method == "POST" else None)
    goto(page, registry_url + "/")
    answer_questions(page)
    page.locator("#files").set_input_files([str(path)])
    wait_hashed(page)
    shown = json.loads(file_results(page)[0]["hashes"])
    assert len(shown) == 19
    page.get_by_role("button", name="Send the hashes").click()
    page.locator("#step-receipt").wait_for(state="visible")
    assert [urlsplit(p.url).path for p in posts] == ["/v1/cases"]
    assert json.loads(posts[0].post_data_buffer) == {"items": [{"kind": "image", "hashes": shown}]}


def test_without_image_decoder_the_first_picture_is_sent(new_page, registry_url, tmp_path: Path) -> None:
    """A browser without WebCodecs' ImageDecoder (hidden here in the worker) still hashes an
    animation, as the page did before: its first picture, with its windows."""
    vector = next(v for v in vectors() if v["name"] == "cover-then-photo.gif")
    path = make(vector, tmp_path)
    page = new_page(PHONE)

    def without_image_decoder(route) -> None:  # type: ignore[no-untyped-def]
        body = route.fetch().text()
        route.fulfill(body="delete self.ImageDecoder;\n" + body, content_type="text/javascript")

    page.route("**/worker.js", without_image_decoder)
    goto(page, registry_url + "/")
    answer_questions(page)
    page.locator("#files").set_input_files([str(path)])
    wait_hashed(page)
    got = json.loads(file_results(page)[0]["hashes"])
    assert [h["type"] for h in got] == ["pdq", "md5", "pdq80", "pdq70"]
    first = cli_wire_items([path])[0]["hashes"]
    for mine, theirs in zip(got, first[:4], strict=True):
        assert mine["type"] == theirs["type"]
        if mine["type"] != "md5":
            assert PdqHash.parse(mine["value"]).distance(PdqHash.parse(theirs["value"])) <= MAX_DISTANCE
    assert pictures_problems(vector, got, "page") == [
        "cover-then-photo.gif: page sends 1 pictures, want 2",
        "cover-then-photo.gif: page misses the listed photo",
    ]
