"""Platform node commands: `takeitdown node serve` and `takeitdown node scan`."""

from __future__ import annotations

import logging
import os
import sys

import typer

app = typer.Typer(
    help="Run a platform node: sync the hash list, match uploads, scan, review, report.", no_args_is_help=True
)

DB_HELP = (
    "Node database URL (sqlite:///path.db or postgresql://...); default TAKEITDOWN_NODE_DATABASE_URL, "
    "else ./takeitdown-data/node.db"
)


def _numba_cache_in_data_folder() -> None:
    """Keep compiled search kernels with the node's data (site-packages may be read-only), so a
    restart loads them instead of compiling again. Must run before numba is imported."""
    os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join("takeitdown-data", "numba-cache"))


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@app.command()
def serve(
    registry: str = typer.Option(..., "--registry", help="Registry base URL, e.g. https://registry.example"),
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8100, help="Port to listen on"),
    database_url: str | None = typer.Option(None, "--database-url", help=DB_HELP),
) -> None:
    """Start the node: sync in the background and serve the match and review API.

    Needs TAKEITDOWN_NODE_API_KEY (the platform key from the registry) and
    TAKEITDOWN_NODE_ADMIN_TOKEN (the token your own systems send to this node).
    """
    import uvicorn

    _numba_cache_in_data_folder()
    from takeitdown.node.api import create_app
    from takeitdown.node.config import admin_token
    from takeitdown.node.db import DatabaseUrlError
    from takeitdown.node.service import ConfigError, Node, NodeSettings
    from takeitdown.settings import SettingsError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        token = admin_token()
        settings = NodeSettings.from_env(registry, database_url)
        node = Node(settings)
    except (ConfigError, DatabaseUrlError, SettingsError) as e:
        _fail(f"cannot start with these settings: {e}")
        return
    except Exception as e:  # noqa: BLE001 - e.g. the database server is down
        _fail(f"cannot open the database: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        return
    typer.echo(f"Node listening on http://{host}:{port}, following {settings.registry_url}")
    sys.stdout.flush()
    uvicorn.run(
        create_app(node, token), host=host, port=port, access_log=False, server_header=False, log_level="info"
    )


@app.command()
def scan(
    source: str = typer.Argument(..., help='A folder, or a JSONL manifest of {"id", "path"} lines'),
    database_url: str | None = typer.Option(None, "--database-url", help=DB_HELP),
    workers: int = typer.Option(0, help="Hashing processes (default: every core)"),
    engine: str = typer.Option("local", help="local (a process pool here) or ray (a Ray cluster)"),
    ray_address: str | None = typer.Option(None, "--ray-address", help="Ray cluster to join (--engine ray)"),
) -> None:
    """Scan hosted content against the synced list; findings go to the review queue. Resumable.

    The source is a folder or a JSONL manifest, a local path or an fsspec URL (e.g. s3://...).
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from takeitdown.node.db import DatabaseUrlError
    from takeitdown.node.engines import make_engine
    from takeitdown.node.matcher import Matcher, Policy
    from takeitdown.node.scan import ScanSourceError
    from takeitdown.node.scan import scan as run_scan
    from takeitdown.settings import SettingsError

    console = Console(stderr=True)
    _numba_cache_in_data_folder()
    try:
        scan_engine = make_engine(engine, workers or None, ray_address)
    except (ValueError, ImportError) as e:
        _fail(str(e))
        return
    try:
        matcher = Matcher.open(database_url, Policy.from_env())
    except (DatabaseUrlError, SettingsError, ValueError) as e:
        _fail(str(e))
        return
    except Exception as e:  # noqa: BLE001
        _fail(f"cannot open the node database: {type(e).__name__}")
        return
    if sum(matcher.size().values()) == 0 and not matcher.store.counts():
        console.print(
            "[yellow]warning:[/] the node database holds no hashes yet; run `takeitdown node serve` "
            "to sync first, or pass the right --database-url"
        )

    with Progress(
        TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=console
    ) as bar:
        task = bar.add_task("scan", total=None)

        class _P:
            def start(self, total: int) -> None:
                bar.update(task, total=total)

            def advance(self) -> None:
                bar.advance(task)

        try:
            s = run_scan(source, matcher, progress=_P(), engine=scan_engine)
        except ScanSourceError as e:
            _fail(str(e))
            return
    console.print(
        f"{s.total} items: {s.scanned} scanned now, {s.skipped} done before, {s.errors} unreadable; "
        f"findings sent to review: {s.block} near-certain (block policy), {s.review} possible. "
        f"{s.per_second:.1f} items/s on {scan_engine.describe()}."
    )
