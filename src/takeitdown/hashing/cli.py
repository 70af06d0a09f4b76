"""`takeitdown hash PATH...`: hash photos and videos on this device, using every core."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from takeitdown.hashing.decode import DEFAULT_MAX_PIXELS
from takeitdown.hashing.errors import HashingError
from takeitdown.hashing.files import ImageHashes, hash_file

PROGRESS_MIN_FILES = 4


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files as given, and every non-hidden file under each folder, in a stable order."""
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        yield Path(root) / name
        else:
            yield path


def hash_record(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> dict[str, Any]:
    """One output record: the hashes of a file, or the reason it could not be hashed."""
    try:
        result = hash_file(path, max_pixels)
    except HashingError as e:
        return {"path": str(path), "error": str(e)}
    except Exception as e:  # never a traceback for one bad file: report it and carry on
        return {"path": str(path), "error": f"Unexpected error while hashing ({type(e).__name__})."}
    record: dict[str, Any] = {
        "path": str(path),
        "kind": result.kind,
        "md5": result.md5.value,
        "sha256": result.sha256.value,
    }
    if isinstance(result, ImageHashes):
        record["pdq"] = result.pdq.value
        record["quality"] = result.pdq.quality
        record["windows"] = {w.type: w.value for w in result.windows}
        record["pictures"] = len(result.stills)  # frames or pages that differ
    else:
        record["vpdq"] = [frame.to_json() for frame in result.vpdq.frames]
    record["hashes"] = result.wire_hashes()  # what a case item carries to the registry
    return record


def _hash_all(files: list[Path], max_pixels: int, workers: int) -> Iterator[dict[str, Any]]:
    if workers <= 1 or len(files) <= 1:
        for path in files:
            yield hash_record(path, max_pixels)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(hash_record, files, [max_pixels] * len(files), chunksize=2)


def _table_row(record: dict[str, Any]) -> tuple[str, ...]:
    if "error" in record:
        return (record["path"], "[red]error[/red]", record["error"], "")
    if record["kind"] == "image":
        details = f"quality {record['quality']}\nMD5 {record['md5']}"
        if record.get("pictures", 1) > 1:
            details += f"\n{record['pictures']} pictures (frames or pages), each hashed"
        return (record["path"], "image", f"PDQ {record['pdq']}", details)
    frames = record["vpdq"]
    return (record["path"], "video", f"vPDQ {len(frames)} frames", f"MD5 {record['md5']}")


def hash_command(
    paths: Annotated[list[Path], typer.Argument(help="Photos, videos or folders (searched recursively).")],
    json_lines: Annotated[bool, typer.Option("--json", help="Print one JSON object a line.")] = False,
    workers: Annotated[int, typer.Option(help="Processes to use (default: every core).")] = 0,
    max_megapixels: Annotated[
        int, typer.Option(help="Refuse images larger than this (decompression bombs).")
    ] = DEFAULT_MAX_PIXELS // 1_000_000,
) -> None:
    """Hash photos and videos on this device. Files never leave it; only hashes are printed."""
    files = list(expand_paths(paths))
    out = Console(soft_wrap=True)
    err = Console(stderr=True)
    workers = workers or os.cpu_count() or 1
    table = Table(show_lines=False)
    for column in ("file", "kind", "hash", "details"):
        table.add_column(column, overflow="fold")
    failed = 0
    progress = Progress(
        TextColumn("hashing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=len(files) < PROGRESS_MIN_FILES or not err.is_terminal,
    )
    with progress:
        task = progress.add_task("hash", total=len(files))
        for record in _hash_all(files, max_megapixels * 1_000_000, workers):
            failed += "error" in record
            if json_lines:
                sys.stdout.write(json.dumps(record) + "\n")
                sys.stdout.flush()
            else:
                table.add_row(*_table_row(record))
            progress.advance(task)
    if not json_lines:
        out.print(table)
    if failed:
        err.print(f"{failed} of {len(files)} files could not be hashed.")
        raise typer.Exit(1)
    if not files:
        err.print("No files found.")
        raise typer.Exit(1)
