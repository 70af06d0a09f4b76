"""Registry commands (placeholder until the registry lands)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Run and administer the registry.", no_args_is_help=True)


def serve() -> None:
    """Start the registry (not built yet)."""
    typer.echo("The registry is not built yet; see `takeitdown --help`.")
