"""Platform node commands (placeholder until the node lands)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Run a platform node.", no_args_is_help=True)
