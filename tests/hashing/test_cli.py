"""`takeitdown hash` as a person runs it: a real subprocess, JSON lines, a table, bad files."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from takeitdown.hashing import hash_file
from tests.hashing.test_images import png_claiming_size


def run_hash(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "takeitdown.cli", "hash", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def mixed_folder(conformance: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "camera roll"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(conformance / "pdq" / "misc-images" / "c.png", folder / "c.png")
    shutil.copy(conformance / "pdq" / "reg-test-input" / "dih" / "bridge-1-original.jpg", folder / "nested")
    shutil.copy(conformance / "vpdq" / "videos" / "doorknob-hd-no-bar.mp4", folder / "clip.mp4")
    return folder


def test_json_lines_for_images_and_videos(mixed_folder: Path) -> None:
    done = run_hash("--json", str(mixed_folder))
    assert done.returncode == 0, done.stderr
    records = {Path(r["path"]).name: r for r in map(json.loads, done.stdout.splitlines())}
    assert set(records) == {"c.png", "bridge-1-original.jpg", "clip.mp4"}

    image = records["c.png"]
    expected = hash_file(mixed_folder / "c.png")
    assert set(image) == {"path", "kind", "md5", "sha256", "pdq", "quality", "windows", "pictures", "hashes"}
    assert image["kind"] == "image" and image["pdq"] == expected.pdq.value
    assert image["hashes"] == expected.wire_hashes()  # what a case item would carry
    assert set(image["windows"]) == {"pdq80", "pdq70"} and image["pictures"] == 1
    assert image["md5"] == hashlib.md5((mixed_folder / "c.png").read_bytes()).hexdigest()

    video = records["clip.mp4"]
    assert set(video) == {"path", "kind", "md5", "sha256", "vpdq", "hashes"}
    assert video["kind"] == "video" and len(video["vpdq"]) == 4
    assert set(video["vpdq"][0]) == {"i", "t", "q", "pdq"}


def test_table_output(mixed_folder: Path) -> None:
    done = run_hash(str(mixed_folder / "c.png"))
    assert done.returncode == 0
    assert "c.png" in done.stdout and hash_file(mixed_folder / "c.png").pdq.value[:16] in done.stdout


def test_carries_on_past_bad_files_and_exits_1(mixed_folder: Path, conformance: Path) -> None:
    (mixed_folder / "empty.jpg").write_bytes(b"")
    (mixed_folder / "notes.txt").write_text("not a picture\n" * 10)
    (mixed_folder / "bomb.png").write_bytes(png_claiming_size(30_000, 30_000))
    data = (conformance / "pdq" / "misc-images" / "modes" / "original.jpg").read_bytes()
    (mixed_folder / "cut.jpg").write_bytes(data[: len(data) // 3])
    (mixed_folder / "random.mp4").write_bytes(bytes(range(256)) * 400)

    done = run_hash("--json", str(mixed_folder), str(mixed_folder / "missing.jpg"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    records = {Path(r["path"]).name: r for r in map(json.loads, done.stdout.splitlines())}
    assert records["empty.jpg"]["error"] == "The file is empty."
    assert "neither a photo nor a video" in records["notes.txt"]["error"]
    assert "megapixel" in records["bomb.png"]["error"]
    assert "damaged or incomplete" in records["cut.jpg"]["error"]
    assert "neither a photo nor a video" in records["random.mp4"]["error"]
    assert "does not exist" in records["missing.jpg"]["error"]
    assert all("pdq" in records[n] for n in ("c.png", "bridge-1-original.jpg"))
    assert "6 of 9 files could not be hashed" in done.stderr

    table = run_hash(str(mixed_folder / "notes.txt"))
    assert table.returncode == 1 and "Traceback" not in table.stderr + table.stdout
    assert "neither a photo" in table.stdout


def test_single_worker_gives_the_same_hashes(mixed_folder: Path) -> None:
    parallel = run_hash("--json", str(mixed_folder))
    serial = run_hash("--json", "--workers", "1", str(mixed_folder))
    assert parallel.stdout == serial.stdout


def test_no_files(tmp_path: Path) -> None:
    done = run_hash(str(tmp_path))
    assert done.returncode == 1 and "No files found" in done.stderr
