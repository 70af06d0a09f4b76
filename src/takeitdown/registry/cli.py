"""Registry commands: `takeitdown serve`, `takeitdown registry platform add|list|rotate|revoke`,
`takeitdown registry entries disputed|quarantine|restore` and `takeitdown registry new-epoch`."""

from __future__ import annotations

import logging
import sys

import typer

app = typer.Typer(help="Run and administer the registry.", no_args_is_help=True)
platform_app = typer.Typer(
    help="Platform accounts: the API keys that may read the feed.", no_args_is_help=True
)
app.add_typer(platform_app, name="platform")
entries_app = typer.Typer(
    help="Entries platforms' reviewers disputed: list them, quarantine or restore one.", no_args_is_help=True
)
app.add_typer(entries_app, name="entries")

DB_HELP = "Database URL (sqlite:///path.db or postgresql://...); default ./takeitdown-data/registry.db"
# The environment (TAKEITDOWN_REGISTRY_DATABASE_URL) is read by registry.config, which also
# accepts the old shared name with a warning.
DatabaseOption = typer.Option(None, "--database-url", help=DB_HELP)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
    database_url: str | None = DatabaseOption,
    forwarded_allow_ips: str | None = typer.Option(
        None,
        "--forwarded-allow-ips",
        help="Comma-separated addresses of the reverse proxies whose X-Forwarded-For is believed "
        "(the rate limit then keys on the client the proxy names). Default: none, loopback included.",
    ),
) -> None:
    """Start the registry (migrations are applied first)."""
    import uvicorn

    from takeitdown.registry.api import create_app
    from takeitdown.registry.config import Settings
    from takeitdown.registry.db import DatabaseUrlError
    from takeitdown.settings import SettingsError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env(database_url=database_url, forwarded_allow_ips=forwarded_allow_ips)
        application = create_app(settings)
    except SettingsError as exc:
        _fail(f"cannot start with these settings: {exc}")
        return
    except (DatabaseUrlError, ValueError) as exc:
        _fail(str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - e.g. the database server is down
        _fail(
            f"cannot open the database: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        )
        return
    url = application.state.store.db.url
    typer.echo(f"Registry listening on http://{host}:{port}  (database: {_shown(url)})", err=False)
    sys.stdout.flush()
    # No access log: it would record client addresses and case numbers.
    # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: then anyone on the
    # machine (or a proxy that passes the header through) could pick their own rate-limit key.
    uvicorn.run(
        application,
        host=host,
        port=port,
        access_log=False,
        server_header=False,
        log_level="info",
        proxy_headers=bool(forwarded_allow_ips),
        forwarded_allow_ips=forwarded_allow_ips or "",
    )


def _store(database_url: str | None):  # type: ignore[no-untyped-def]
    # Imported here, not at the top: `takeitdown hash` should not load the database layer.
    from takeitdown.registry.config import database_url as resolve_url
    from takeitdown.registry.db import Database, DatabaseUrlError
    from takeitdown.registry.store import Store
    from takeitdown.settings import SettingsError

    try:
        db = Database(resolve_url(database_url))
        db.migrate()
    except (DatabaseUrlError, SettingsError) as exc:
        _fail(str(exc))
    except Exception as exc:  # noqa: BLE001
        _fail(f"cannot open the database: {type(exc).__name__}")
    return Store(db)


@platform_app.command("add")
def platform_add(name: str, database_url: str | None = DatabaseOption) -> None:
    """Add a platform and print its new API key (alone on stdout; shown only this once)."""
    from takeitdown.registry.store import PlatformError

    store = _store(database_url)
    try:
        key = store.platform_add(name)
    except PlatformError as exc:
        _fail(str(exc))
        return
    typer.echo(f"Platform {name!r} added. Its API key (shown only now) is on stdout.", err=True)
    typer.echo(key)


@platform_app.command("list")
def platform_list(database_url: str | None = DatabaseOption) -> None:
    """List platforms: name, state, highest feed seq delivered, created."""
    store = _store(database_url)
    rows = store.platform_list()
    if not rows:
        typer.echo("No platforms yet: add one with `takeitdown registry platform add NAME`.", err=True)
        return
    for r in rows:
        state = "active" if r["active"] else "revoked"
        typer.echo(f"{r['name']}\t{state}\tcursor={r['cursor']}\tcreated={r['created_on']}")


@platform_app.command("rotate")
def platform_rotate(name: str, database_url: str | None = DatabaseOption) -> None:
    """Give a platform a new API key (printed alone on stdout); the old key stops working."""
    from takeitdown.registry.store import PlatformError

    store = _store(database_url)
    try:
        key = store.platform_rotate(name)
    except PlatformError as exc:
        _fail(str(exc))
        return
    typer.echo(f"New key for {name!r}; the old one no longer works.", err=True)
    typer.echo(key)


@platform_app.command("revoke")
def platform_revoke(name: str, database_url: str | None = DatabaseOption) -> None:
    """Revoke a platform's key: it can no longer read the feed or report."""
    from takeitdown.registry.store import PlatformError

    store = _store(database_url)
    try:
        store.platform_revoke(name)
    except PlatformError as exc:
        _fail(str(exc))
        return
    typer.echo(f"Platform {name!r} revoked.", err=True)


@entries_app.command("disputed")
def entries_disputed(database_url: str | None = DatabaseOption) -> None:
    """List entries with false_positive reports or in quarantine, most disputed first."""
    store = _store(database_url)
    rows = store.disputed_entries()
    if not rows:
        typer.echo("No disputed entries.", err=True)
        return
    for r in rows:
        by = f"\toverride={r['override']}" if r["override"] else ""
        typer.echo(
            f"{r['entry_id']}\t{r['type']}\t{r['trust']}\tdisputes={r['disputes']}"
            f"\tconfirmations={r['confirmations']}\t{'live' if r['live'] else 'withdrawn'}{by}"
        )


def _override(entry_id: int, override: str, database_url: str | None) -> None:
    from takeitdown.registry.store import EntryError

    store = _store(database_url)
    try:
        trust = store.set_override(entry_id, override)
    except EntryError as exc:
        _fail(str(exc))
        return
    published = store.publish_pending()  # the state entry goes out now, not at the next tick
    typer.echo(f"Entry {entry_id} is now {trust} ({published} feed entries published).", err=True)


@entries_app.command("quarantine")
def entries_quarantine(entry_id: int, database_url: str | None = DatabaseOption) -> None:
    """Take an entry off every platform's lists (a `state` entry, trust quarantined) until restored."""
    _override(entry_id, "quarantined", database_url)


@entries_app.command("restore")
def entries_restore(entry_id: int, database_url: str | None = DatabaseOption) -> None:
    """Put a quarantined entry back (confirmed if a reviewer confirmed it, else unconfirmed); later
    disputes no longer quarantine it by themselves."""
    _override(entry_id, "restored", database_url)


@app.command("new-epoch")
def new_epoch(database_url: str | None = DatabaseOption) -> None:
    """After restoring a backup: start a new epoch, so every node resyncs from scratch."""
    store = _store(database_url)
    epoch = store.new_epoch()
    typer.echo(f"New epoch {epoch}: every node resyncs from after=0 on its next page.", err=True)
