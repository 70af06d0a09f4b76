"""`takeitdown hash` (placeholder while the hasher is being written)."""

from __future__ import annotations

from pathlib import Path

import typer


def hash_command(paths: list[Path]) -> None:
    """Hash photos and videos on this device."""
    raise typer.Exit(2)
