"""`takeitdown hma-reporter DECISIONS`: post a platform's match decisions to the registry."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import httpx
import typer

from takeitdown.hma.reporter import DecisionError, HmaClient, Tally, batches, feed_reader, post

KEY_ENV = "TX_TAKEITDOWN_API_KEY"  # the same key the exchange reads
KEY_FILE = Path("~/.tx_takeitdown_api_key")


def _api_key() -> str:
    key = os.environ.get(KEY_ENV, "").strip()
    if not key and KEY_FILE.expanduser().is_file():
        key = KEY_FILE.expanduser().read_text().strip()
    if not key:
        typer.echo(f"No API key: set {KEY_ENV} or write it to {KEY_FILE}.", err=True)
        raise typer.Exit(2)
    return key


def hma_reporter_command(
    decisions: Annotated[Path, typer.Argument(help="JSON lines of decisions ('-' for stdin).")],
    registry: Annotated[str, typer.Option("--registry", help="The registry's address.")],
    hma: Annotated[
        str | None, typer.Option("--hma", help="HMA's address, to resolve bank_content_id decisions.")
    ] = None,
) -> None:
    """Report outcomes (removed, upload_blocked, match_found / true_positive, false_positive) to the registry.

    HMA does not report back by itself. Each line is {"entry_id": N | "bank": B, "bank_content_id": C,
    "decision": ..., "content_ref": the platform's id of the content}. Idempotent: run it again safely.
    """
    key = _api_key()
    auth = {"Authorization": f"Bearer {key}"}
    client = httpx.Client(base_url=registry.rstrip("/"), timeout=60, headers=auth)
    lookup = HmaClient(hma) if hma else None
    tally = Tally()
    try:
        stream = sys.stdin if str(decisions) == "-" else decisions.open()
    except OSError as exc:
        typer.echo(f"Cannot read {decisions}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from None
    try:
        with stream:
            for batch in batches(stream, lookup, tally, feed_reader(client)):
                post(client, batch, tally)
    except (DecisionError, httpx.HTTPError, UnicodeDecodeError) as exc:
        typer.echo(f"Stopped: {exc}", err=True)
        raise typer.Exit(1) from None
    counts = f"accepted {tally.accepted}, already reported {tally.duplicates}"
    typer.echo(f"{counts}, rejected {len(tally.rejected)}")
    for reason in tally.rejected:
        typer.echo(f"  rejected: {reason}", err=True)
    if tally.rejected:
        raise typer.Exit(1)
