"""Platform node commands: `takeitdown node serve` and `takeitdown node scan`."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import typer

app = typer.Typer(
    help="Run a platform node: sync the hash list, match uploads, scan, review, report.", no_args_is_help=True
)

DB_HELP = (
    "Node database URL (sqlite:///path.db or postgresql://...); default TAKEITDOWN_NODE_DATABASE_URL, "
    "else ./takeitdown-data/node.db"
)


def _numba_cache_in_data_folder() -> None:
    """Compiled search kernels are cached by numba next to the code; where the installed package
    is read-only, keep them with the node's data instead, so a restart loads them rather than
    compiling again. Must run before numba is imported."""
    from importlib.util import find_spec

    spec = find_spec("takeitdown.node")
    package = os.path.dirname(spec.origin) if spec and spec.origin else ""
    if package and not os.access(package, os.W_OK):
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
    rescan: bool = typer.Option(False, "--rescan", help="Hash every item again, even those done before"),
) -> None:
    """Scan hosted content against the synced list; findings go to the review queue. Resumable.

    The source is a folder or a JSONL manifest, a local path or an fsspec URL (e.g. s3://...).
    Each item's hashes are kept in the node's inventory, so entries that arrive later are matched
    against hosted content as they sync, with no file read again.
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from takeitdown.node.db import DatabaseUrlError
    from takeitdown.node.engines import make_engine
    from takeitdown.node.inventory import Inventory
    from takeitdown.node.matcher import Matcher, Policy
    from takeitdown.node.ray_engine import ScanEngineError
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
            inventory = Inventory(matcher.store.db)  # rows only: the serving node indexes them
            s = run_scan(
                source, matcher, progress=_P(), engine=scan_engine, inventory=inventory, rescan=rescan
            )
        except (ScanSourceError, ScanEngineError) as e:
            _fail(str(e))
            return
    console.print(
        f"{s.total} items: {s.scanned} scanned now, {s.skipped} done before, {s.errors} unreadable; "
        f"findings sent to review: {s.block} blocked by policy (confirmed entries), {s.hold} held, "
        f"{s.review} possible. "
        f"{s.per_second:.1f} items/s on {scan_engine.describe()}."
    )


user_app = typer.Typer(help="Reviewer and admin accounts of the review console.", no_args_is_help=True)
app.add_typer(user_app, name="user")
audit_app = typer.Typer(help="The node's audit log: verify the chain, export it.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


def _node_db(database_url: str | None) -> Any:
    from takeitdown.node.db import Database, DatabaseUrlError

    try:
        db = Database(database_url)
        db.migrate()
    except DatabaseUrlError as e:
        _fail(str(e))
    return db


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="The account name (the audit log shows it)"),
    role: str = typer.Option(
        "reviewer", "--role", help="reviewer | desk (also handles legal takedown requests) | admin"
    ),
    database_url: str | None = typer.Option(None, "--database-url", help=DB_HELP),
) -> None:
    """Make an account; its secret is printed once (sign-in and API token), stored only hashed."""
    from takeitdown.node.audit import AuditLog
    from takeitdown.node.users import UserError, Users

    db = _node_db(database_url)
    try:
        user, secret = Users(db).add(name, role)
    except UserError as e:
        _fail(str(e))
        return
    AuditLog(db).append("cli", "user", f"user:{user.name}", "account made", {"role": user.role})
    typer.echo(secret)
    typer.echo(f"user {user.name} ({user.role}) made; the secret above is shown only now", err=True)


@user_app.command("list")
def user_list(database_url: str | None = typer.Option(None, "--database-url", help=DB_HELP)) -> None:
    """Every account, its role and state."""
    from takeitdown.node.users import Users

    for u in Users(_node_db(database_url)).list():
        state = "disabled" if u["disabled"] else "locked" if u["locked"] else "active"
        typer.echo(f"{u['name']}\t{u['role']}\t{state}\t{u['created_at']}")


@user_app.command("disable")
def user_disable(
    name: str = typer.Argument(...),
    database_url: str | None = typer.Option(None, "--database-url", help=DB_HELP),
) -> None:
    """Disable an account: its sessions and tokens stop working at once."""
    from takeitdown.node.audit import AuditLog
    from takeitdown.node.users import UserError, Users

    db = _node_db(database_url)
    try:
        Users(db).set_disabled(name, True)
    except UserError as e:
        _fail(str(e))
    AuditLog(db).append("cli", "user", f"user:{name}", "account disabled")
    typer.echo(f"user {name} disabled")


@audit_app.command("verify")
def audit_verify(database_url: str | None = typer.Option(None, "--database-url", help=DB_HELP)) -> None:
    """Recompute the audit log's hash chain; exit 1 naming the first row that does not fit."""
    from takeitdown.node.audit import AuditLog

    v = AuditLog(_node_db(database_url)).verify()
    if not v.ok:
        _fail(f"audit log row {v.first_bad} {v.problem} ({v.rows} rows checked)")
    typer.echo(f"audit log intact: {v.rows} rows")


@audit_app.command("export")
def audit_export(database_url: str | None = typer.Option(None, "--database-url", help=DB_HELP)) -> None:
    """Every audit row as JSON lines on stdout, with the hashes that chain them."""
    from takeitdown.node.audit import AuditLog

    for line in AuditLog(_node_db(database_url)).export_jsonl():
        sys.stdout.write(line)


@app.command("compliance-report")
def compliance_report_command(
    since: str = typer.Option(..., help="First day counted (YYYY-MM-DD, UTC)"),
    until: str | None = typer.Option(None, help="Day after the last one counted (default: now)"),
    database_url: str | None = typer.Option(None, "--database-url", help=DB_HELP),
    csv_out: str | None = typer.Option(None, "--csv", help="Also write the figures as CSV to this file"),
    json_out: str | None = typer.Option(None, "--json", help="Also write the figures as JSON to this file"),
) -> None:
    """What the TAKE IT DOWN desk received and did: counts, the 48-hour share, breaches, copies."""
    import json as json_lib
    from datetime import UTC, datetime

    from takeitdown.node.compliance import as_csv, compliance_report
    from takeitdown.node.db import Database, DatabaseUrlError

    try:
        start = datetime.fromisoformat(since).replace(tzinfo=UTC)
        end = datetime.fromisoformat(until).replace(tzinfo=UTC) if until else datetime.now(UTC)
    except ValueError:
        _fail("--since and --until take dates as YYYY-MM-DD")
        return
    try:
        db = Database(database_url)
        db.migrate()
    except DatabaseUrlError as e:
        _fail(str(e))
        return
    # A deadline that passed while the node was down is a breach too: recorded before counting.
    from takeitdown.node.audit import AuditLog
    from takeitdown.node.events import EventOutbox
    from takeitdown.node.takedown import Desk

    Desk(db, None, notify=EventOutbox(db).emit, record=AuditLog(db).append).record_breaches()
    report = compliance_report(db, start, end)
    db.dispose()
    text = json_lib.dumps(report, indent=2)
    typer.echo(text)
    if json_out:
        with open(json_out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    if csv_out:
        with open(csv_out, "w", encoding="utf-8", newline="") as f:
            f.write(as_csv(report))


@app.command("pii-key")
def pii_key() -> None:
    """Print a new key for TAKEITDOWN_NODE_PII_KEY (seals the legal desk's personal data)."""
    from takeitdown.node.pii import new_key

    typer.echo(new_key())
