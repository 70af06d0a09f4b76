"""`takeitdown submit`, `takeitdown case status|withdraw`, and `takeitdown hash` with `--wire`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from takeitdown.device import receipt as receipts
from takeitdown.device.client import CaseClient, SendError, wire_json
from takeitdown.device.prepare import MSG_NOTHING, Picked, Prepared, prepare
from takeitdown.hashing.cli import hash_command as plain_hash_command
from takeitdown.hashing.decode import DEFAULT_MAX_PIXELS
from takeitdown.protocol import PdqHash, VpdqHash

REGISTRY_ENV = "TAKEITDOWN_REGISTRY_URL"
SECRET_ENV = "TAKEITDOWN_CASE_SECRET"

# The page's words (registry/web/i18n/en.js)
WARN_BLOCKED = (
    "Once you send a hash, anyone posting the same image may be blocked on the platforms that take "
    "part. That includes you."
)
WARN_TEST = "Please do not send test images. Every hash goes on the real list."
STATUS_WORDS = {
    "match_found": "Found a copy",
    "removed": "Took a copy down",
    "upload_blocked": "Stopped someone posting it",
    "false_positive": "Checked, and it was a different image",
}
# Said when platform reviewers disputed one of the case's hashes and the registry took it off the
# lists until checked (the page's status.under_review says the same).
UNDER_REVIEW = (
    "Part of your case is paused while it is checked again. Reviewers at some platforms said a match "
    "looked like a different picture. Until the check is done, platforms do not look for that file. "
    "You do not need to do anything."
)

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, highlight=False)

case_app = typer.Typer(help="Check or withdraw a case you submitted.", no_args_is_help=True)


def _prepare(paths: list[Path], workers: int, max_megapixels: int) -> Prepared:
    progress = Progress(
        TextColumn("hashing on this computer"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    )
    with progress:
        task = progress.add_task("hash", total=None)
        return prepare(paths, max_megapixels * 1_000_000, workers, lambda: progress.advance(task))


def _hash_summary(p: Picked) -> str:
    assert p.item is not None
    parts = []
    for h in p.item.hashes:
        if isinstance(h, PdqHash):
            parts.append(f"PDQ {h.value} (quality {h.quality})")
        elif isinstance(h, VpdqHash):
            parts.append(f"vPDQ {len(h.frames)} frames")
        else:
            parts.append(f"{h.type.upper()} {h}")
    return "\n".join(parts)


def _show(prepared: Prepared) -> None:
    table = Table(title="What will be sent (only these hashes; the files stay on this computer)")
    for column in ("file", "kind", "hashes", "note"):
        table.add_column(column, overflow="fold")
    for p in prepared.picked:
        if p.item is None:
            table.add_row(str(p.path), "[red]not sent[/red]", "", p.problem or "")
        elif p.duplicate_of is not None:
            table.add_row(str(p.path), p.item.kind, "(the same file as above)", p.note or "")
        else:
            table.add_row(str(p.path), p.item.kind, _hash_summary(p), p.note or "")
    out.print(table)


def _registry(url: str | None, receipt: dict[str, Any] | None = None) -> str:
    url = url or (receipt or {}).get("registry") or os.environ.get(REGISTRY_ENV)
    if not url:
        err.print(f"Say which registry: --registry URL (or set {REGISTRY_ENV}).")
        raise typer.Exit(2)
    return str(url)


def submit_command(
    paths: Annotated[list[Path], typer.Argument(help="Photos, videos or folders (searched recursively).")],
    registry: Annotated[
        str | None, typer.Option("--registry", help=f"The registry's address (or {REGISTRY_ENV}).")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Send without asking (for scripts).")] = False,
    receipt_path: Annotated[
        Path | None,
        typer.Option(
            "--receipt", help="Where to write the receipt (default: takeitdown-receipt-<time>.json)."
        ),
    ] = None,
    workers: Annotated[int, typer.Option(help="Processes to use (default: every core).")] = 0,
    max_megapixels: Annotated[
        int, typer.Option(help="Refuse images larger than this (decompression bombs).")
    ] = DEFAULT_MAX_PIXELS // 1_000_000,
) -> None:
    """Hash photos and videos on this computer and send only the hashes. You get a case number and secret."""
    url = _registry(registry)
    client = _client(url)
    target = receipt_path or receipts.default_path()
    if target.exists():
        err.print(f"{target} already exists; pick another --receipt file (a receipt is never overwritten).")
        raise typer.Exit(2)
    if not target.parent.is_dir() or not os.access(target.parent, os.W_OK):
        err.print(f"Cannot write the receipt in {target.parent}; pick another --receipt file.")
        raise typer.Exit(2)
    prepared = _prepare(paths, workers, max_megapixels)
    if not prepared.picked:
        err.print("No files found.")
        raise typer.Exit(1)
    _show(prepared)
    groups = prepared.cases()
    if not groups:
        err.print(MSG_NOTHING)
        raise typer.Exit(1)
    n = sum(len(g) for g in groups)
    out.print(f"\n{WARN_BLOCKED}\n{WARN_TEST}\n")
    cases = "1 case" if len(groups) == 1 else f"{len(groups)} cases (at most 100 files a case)"
    out.print(f"{_files(n)} will be sent as {cases} to {url}.")
    if not yes and not typer.confirm("Send the hashes?", default=False):
        out.print("Nothing was sent.")
        raise typer.Exit(1)

    receipt = receipts.new_receipt(url)
    for number, (group, body) in enumerate(zip(groups, prepared.bodies(), strict=True), 1):
        try:
            created = client.create_case(body)
        except SendError as exc:
            err.print(str(exc))
            if receipt["cases"]:
                err.print(f"The cases already created are in the receipt: {target}")
            raise typer.Exit(1) from None
        receipt["cases"].append(
            {
                "case_id": created["case_id"],
                "case_secret": created["case_secret"],
                "items_accepted": created.get("items_accepted"),
                "rejected": created.get("rejected", []),
            }
        )
        try:
            receipts.write(target, receipt)
        except OSError as exc:  # the case exists: its secret must not be lost with the file
            err.print(f"Could not write the receipt ({exc}). Write these down now:")
            for case in receipt["cases"]:
                err.print(f"  case {case['case_id']}  secret {case['case_secret']}")
            raise typer.Exit(1) from None
        out.print(f"Case {number} of {len(groups)}: [bold]{created['case_id']}[/bold], "
                  f"{_files(created.get('items_accepted', 0))} accepted.")  # fmt: skip
        for rejected in created.get("rejected", []):
            index = rejected.get("index")
            name = group[index].path if isinstance(index, int) and 0 <= index < len(group) else index
            out.print(f"  Not accepted: {name}: {rejected.get('reason')}")
    one = len(receipt["cases"]) == 1
    out.print("\nDone. Your case is open." if one else "\nDone. Your cases are open.")
    what = "case number and secret are" if one else "case numbers and secrets are"
    out.print(f"Your {what} in {target} (only you can read it). {receipts.KEEP}")
    out.print(f"Check later: takeitdown case status --receipt {target}")


def _files(n: int) -> str:
    return "1 file" if n == 1 else f"{n} files"


def _client(url: str) -> CaseClient:
    try:
        return CaseClient(url)
    except SendError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None


def _cases(
    case_id: str | None, receipt_path: Path | None, registry: str | None
) -> tuple[CaseClient, list[tuple[str, str]]]:
    """(client, [(case id, secret)]) from the receipt, the environment, or a hidden prompt."""
    receipt = None
    if receipt_path is not None:
        try:
            receipt = receipts.read(receipt_path)
        except (OSError, ValueError) as exc:
            err.print(f"Could not read the receipt: {exc}")
            raise typer.Exit(2) from None
    client = _client(_registry(registry, receipt))
    if case_id is None:
        if receipt is None:
            err.print("Give a case number, or --receipt FILE.")
            raise typer.Exit(2)
        return client, [(c["case_id"], c["case_secret"]) for c in receipt["cases"]]
    secret = receipts.secret_for(receipt, case_id) if receipt is not None else None
    secret = secret or os.environ.get(SECRET_ENV) or typer.prompt("Secret", hide_input=True)
    return client, [(case_id, secret.strip())]


def _print_status(status: dict[str, Any]) -> None:
    out.print(f"[bold]{status['case_id']}[/bold]")
    if status.get("status") == "withdrawn":
        out.print("This case has been withdrawn. Its hashes are being removed from the list.")
    else:
        out.print("Your case is active.")
        if status.get("under_review"):
            out.print(UNDER_REVIEW)
    out.print(f"Files in this case: {status.get('items')}")
    out.print(f"Platforms that have received your hashes: {status.get('platforms_received')}")
    outcomes = {k: v for k, v in (status.get("outcomes") or {}).items() if v}
    if not outcomes:
        out.print("No reports yet. That is normal: platforms report when they find something.")
        return
    out.print("What platforms reported:")
    for key, n in outcomes.items():
        out.print(f"  {STATUS_WORDS.get(key, key)}: {n}")


CaseArg = Annotated[str | None, typer.Argument(help="The case number, e.g. TD-7KQ4-M2XP.")]
ReceiptOpt = Annotated[Path | None, typer.Option("--receipt", help="The receipt from `takeitdown submit`.")]
RegistryOpt = Annotated[str | None, typer.Option("--registry", help=f"The registry (or {REGISTRY_ENV}).")]


@case_app.command("status")
def case_status(
    case_id: CaseArg = None,
    receipt_path: ReceiptOpt = None,
    registry: RegistryOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the registry's answer as JSON.")] = False,
) -> None:
    """What platforms reported on a case (secret: from the receipt, TAKEITDOWN_CASE_SECRET or a prompt)."""
    client, cases = _cases(case_id, receipt_path, registry)
    failed = False
    for cid, secret in cases:
        try:
            status = client.status(cid, secret)
        except SendError as exc:
            err.print(f"{cid}: {exc}")
            failed = True
            continue
        if json_out:
            sys.stdout.write(json.dumps(status) + "\n")
        else:
            _print_status(status)
    if failed:
        raise typer.Exit(1)


@case_app.command("withdraw")
def case_withdraw(
    case_id: CaseArg = None,
    receipt_path: ReceiptOpt = None,
    registry: RegistryOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Withdraw without asking.")] = False,
) -> None:
    """Withdraw a case: its hashes leave the list, and platforms stop looking for these images."""
    client, cases = _cases(case_id, receipt_path, registry)
    names = ", ".join(cid for cid, _ in cases)
    out.print(
        f"Withdraw {names}? Platforms will stop blocking and removing these images. You cannot undo this, "
        "but you can start a new case later."
    )
    if not yes and not typer.confirm("Yes, withdraw", default=False):
        out.print("Nothing was changed.")
        raise typer.Exit(1)
    failed = False
    for cid, secret in cases:
        try:
            client.withdraw(cid, secret)
        except SendError as exc:
            err.print(f"{cid}: {exc}")
            failed = True
            continue
        out.print(f"Done. Your case {cid} is withdrawn.")
    if failed:
        raise typer.Exit(1)


def hash_command(
    paths: Annotated[list[Path], typer.Argument(help="Photos, videos or folders (searched recursively).")],
    json_lines: Annotated[bool, typer.Option("--json", help="Print one JSON object a line.")] = False,
    wire: Annotated[
        bool, typer.Option("--wire", help="Print exactly the POST /v1/cases body (one a line per case).")
    ] = False,
    workers: Annotated[int, typer.Option(help="Processes to use (default: every core).")] = 0,
    max_megapixels: Annotated[
        int, typer.Option(help="Refuse images larger than this (decompression bombs).")
    ] = DEFAULT_MAX_PIXELS // 1_000_000,
) -> None:
    """Hash photos and videos on this device. Files never leave it; only hashes are printed."""
    if not wire:
        plain_hash_command(paths, json_lines=json_lines, workers=workers, max_megapixels=max_megapixels)
        return
    prepared = prepare(paths, max_megapixels * 1_000_000, workers)
    for p in prepared.picked:
        if p.problem or p.note:
            err.print(f"{p.path}: {p.problem or p.note}")
    bodies = prepared.bodies()
    for body in bodies:
        sys.stdout.write(wire_json(body) + "\n")
    if not bodies:
        err.print(MSG_NOTHING if prepared.picked else "No files found.")
        raise typer.Exit(1)
    if any(p.problem for p in prepared.picked):
        raise typer.Exit(1)
