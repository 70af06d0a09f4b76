"""Files the page cannot hash get a clear, kind message; the strings tables are complete;
every control has a name a screen reader can say."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from .helpers import CONFORMANCE, PHONE, answer_questions, file_results, goto, shot, wait_hashed

PHOTO = CONFORMANCE / "pdq" / "bridge-mods" / "aaa-orig.jpg"


def long_video(path: Path, seconds: int) -> None:
    """A tiny H.264 video, one frame a second, `seconds` long."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(seconds):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i % 255, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.mark.browser
def test_clear_messages_for_files_the_page_cannot_hash(new_page, registry_url, tmp_path: Path) -> None:
    if not PHOTO.exists():
        pytest.skip(f"{PHOTO} not found")
    import pillow_heif

    pillow_heif.register_heif_opener()
    heic = tmp_path / "IMG_0001.HEIC"
    Image.open(PHOTO).save(heic)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 50)
    too_long = tmp_path / "eleven-minutes.mp4"
    long_video(too_long, 11 * 60)
    again = tmp_path / "same-photo-again.jpg"
    again.write_bytes(PHOTO.read_bytes())

    page = new_page(PHONE)
    goto(page, registry_url + "/")
    answer_questions(page)
    page.locator("#files").set_input_files([str(heic), str(broken), str(too_long), str(PHOTO), str(again)])
    wait_hashed(page)
    heic_r, broken_r, long_r, ok_r, again_r = file_results(page)
    assert heic_r["state"] == "error" and "HEIC" in heic_r["status"] and "JPEG" in heic_r["status"]
    assert "Most Compatible" in heic_r["status"]
    assert broken_r["state"] == "error" and "could not be opened" in broken_r["status"]
    assert long_r["state"] == "error" and "longer than 10 minutes" in long_r["status"]
    assert ok_r["state"] == "done"
    assert again_r["state"] == "done" and "already picked" in again_r["status"]
    # Files that failed are not sent, nor the same file twice; the good one can be.
    assert page.get_by_role("button", name="Send the hashes").is_enabled()
    assert '"kind": "image"' in page.locator("#payload").text_content()
    assert page.locator("#payload").text_content().count('"kind"') == 1
    shot(page, "errors")


@pytest.mark.browser
def test_controls_have_accessible_names_and_keyboard_reaches_the_picker(new_page, registry_url) -> None:
    page = new_page(PHONE)
    for path in ("/", "/status.html"):
        goto(page, registry_url + path)
        if path == "/":
            answer_questions(page)
            page.locator("#files").set_input_files(str(PHOTO))
            wait_hashed(page)
        unnamed = page.evaluate(
            """() => [...document.querySelectorAll('input, button, progress, a[href]')]
                .filter(el => el.offsetParent !== null || el.id === 'files')
                .filter(el => {
                    const labelled = el.labels && [...el.labels].some(l => l.textContent.trim());
                    return !(labelled || el.getAttribute('aria-label') || el.textContent.trim());
                })
                .map(el => el.outerHTML.slice(0, 80))"""
        )
        assert unnamed == [], path
        assert page.locator("[aria-live]").count() >= 1
    # Keyboard only: Tab reaches the (visually hidden) file input behind the big button.
    goto(page, registry_url + "/")
    answer_questions(page)
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.id") == "files":
            break
    else:
        pytest.fail("the file picker cannot be reached with the Tab key")


@pytest.mark.browser
def test_page_meets_the_shared_vectors_the_cli_meets(new_page, registry_url, tmp_path: Path) -> None:
    """tests/vectors/media.json, which tests/hashing/test_vectors.py checks against the CLI."""
    from tests.vectors.media import make, vectors

    cases = [v for v in vectors() if "page_gap" not in v]
    assert len(cases) >= 14  # every vector: the page has no gap left (a cut-short MP4 is hashed)
    paths = [make(v, tmp_path) for v in cases]
    page = new_page(PHONE)
    goto(page, registry_url + "/")
    answer_questions(page)
    page.locator("#files").set_input_files([str(p) for p in paths])
    wait_hashed(page)
    rows = page.evaluate(
        "() => [...document.querySelectorAll('#file-list li')].map(li => ({state: li.dataset.state,"
        " kind: li.dataset.kind, error: li.dataset.error}))"
    )
    problems = []
    for vector, row in zip(cases, rows, strict=True):
        want = vector.get("page_expect", vector["expect"])
        if want["outcome"] == "hashed":
            ok = row["state"] == "done" and row["kind"] == want["kind"]
        else:
            ok = row["state"] == "error" and row["error"] == want["page_error"]
        if not ok:
            problems.append(f"{vector['name']}: want {want}, page gave {row}")
    assert not problems, "\n".join(problems)


def sniff_heads() -> dict[str, bytes]:
    """First bytes of every format either side knows, near misses, and junk."""
    ts = bytearray(400)
    ts[0] = ts[188] = ts[376] = 0x47
    heads = {
        "jpeg": b"\xff\xd8\xff\xe0" + bytes(20),
        "png": b"\x89PNG\r\n\x1a\n" + bytes(20),
        "png, signature cut": b"\x89PNG\r\n" + b"xx" + bytes(20),
        "gif87a": b"GIF87a" + bytes(20),
        "gif89a": b"GIF89a" + bytes(20),
        "GIF8 junk": b"GIF8xa" + bytes(20),
        "bmp": b"BM" + bytes(20),
        "tiff le": b"II*\x00" + bytes(20),
        "tiff be": b"MM\x00*" + bytes(20),
        "webp": b"RIFF\x00\x00\x00\x00WEBPVP8 " + bytes(20),
        "avi": b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(20),
        "wav": b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(20),
        "matroska": b"\x1a\x45\xdf\xa3" + bytes(20),
        "mpeg-ts": bytes(ts),
        "two sync bytes only": bytes(ts[:300]),
        "text": b"Shopping list: milk, bread, eggs.\n" * 12,
    }
    for brand in ("heic", "heix", "mif1", "avif", "avis", "isom", "qt  ", "mp42", "3gp4"):
        heads[f"ftyp {brand}"] = b"\x00\x00\x00\x18ftyp" + brand.encode() + bytes(20)
    for atom in ("moov", "mdat", "free", "wide", "skip", "pnot", "udta"):
        heads[f"atom {atom}"] = b"\x00\x00\x00\x08" + atom.encode() + bytes(20)
    return heads


@pytest.mark.browser
def test_the_page_sniffs_first_bytes_exactly_as_the_cli(new_page, registry_url, tmp_path: Path) -> None:
    """worker.js's sniff() against takeitdown.hashing.media.sniff, byte for byte, on the first
    bytes of every format, near misses and the shared vector files."""
    from takeitdown.hashing.media import SNIFF_BYTES, sniff
    from tests.vectors.media import make, vectors

    heads = sniff_heads()
    for v in vectors():
        data = make(v, tmp_path).read_bytes()
        if data:
            heads[v["name"]] = data[:SNIFF_BYTES]
    page = new_page(PHONE)
    goto(page, registry_url + "/")
    got = page.evaluate(
        """async (heads) => {
            const { sniff } = await import('/worker.js');
            const out = {};
            for (const [name, hex] of Object.entries(heads)) {
                const bytes = new Uint8Array(hex.match(/../g).map((h) => parseInt(h, 16)));
                out[name] = sniff(bytes);
            }
            return out;
        }""",
        {name: head.hex() for name, head in heads.items()},
    )
    as_cli = {"jpeg": "image", "png": "image", "image": "image", "heic": "image", "video": "video"}
    differ = {
        name: (sniff(head), got[name]) for name, head in heads.items() if sniff(head) != as_cli.get(got[name])
    }
    assert not differ, differ
    assert got["avi"] == got["mpeg-ts"] == got["atom wide"] == "video" and got["ftyp heic"] == "heic"


@pytest.mark.browser
def test_dropped_files_are_judged_by_their_first_bytes_not_their_type(new_page, registry_url) -> None:
    """A photo whose name makes the browser call it application/octet-stream is hashed as a photo;
    a text file dropped by mistake is listed with the reason, not silently left out."""
    page = new_page(PHONE)
    goto(page, registry_url + "/")
    answer_questions(page)
    jpeg = PHOTO.read_bytes()
    page.evaluate(
        """([hex]) => {
            const bytes = new Uint8Array(hex.match(/../g).map((h) => parseInt(h, 16)));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], 'IMG_0042.bin', { type: 'application/octet-stream' }));
            dt.items.add(new File(['milk, bread, eggs'], 'list.txt', { type: 'text/plain' }));
            const drop = document.getElementById('drop');
            drop.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        }""",
        [jpeg.hex()],
    )
    page.wait_for_function("() => document.querySelectorAll('#file-list li').length === 2", timeout=10_000)
    wait_hashed(page)
    photo_r, text_r = file_results(page)
    assert photo_r["name"] == "IMG_0042.bin" and photo_r["state"] == "done" and '"pdq"' in photo_r["hashes"]
    assert text_r["name"] == "list.txt" and text_r["state"] == "error"
    assert "not a photo or video we can read" in text_r["status"]
