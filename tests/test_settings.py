"""One validated settings loader per role: a bad value stops the start, naming the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from takeitdown.node import config as node_config
from takeitdown.registry import config as registry_config
from takeitdown.settings import SettingsError, Var, load, markdown_table

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"TAKEITDOWN_NODE_PAGE_SIZE": "0"},
            "TAKEITDOWN_NODE_PAGE_SIZE must be a whole number from 1 to 10000, got '0'",
        ),
        (
            {"TAKEITDOWN_NODE_POLL_SECONDS": "0"},
            "TAKEITDOWN_NODE_POLL_SECONDS must be a number from 0.1 to 86400",
        ),
        (
            {"TAKEITDOWN_NODE_BLOCK_DISTANCE": "abc"},
            "TAKEITDOWN_NODE_BLOCK_DISTANCE must be a whole number from 0 to 64, got 'abc'",
        ),
        (
            {"TAKEITDOWN_NODE_VPDQ_VERDICT": "nuke"},
            "TAKEITDOWN_NODE_VPDQ_VERDICT must be one of review, block",
        ),
        ({"TAKEITDOWN_NODE_MAX_UPLOAD_MB": "nan"}, "TAKEITDOWN_NODE_MAX_UPLOAD_MB must be a number"),
    ],
)
def test_node_refuses_bad_values_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        load(node_config.VARIABLES, env)


def test_every_bad_value_is_named_at_once_and_secrets_are_not_echoed() -> None:
    env = {
        "TAKEITDOWN_CASE_BURST": "-1",
        "TAKEITDOWN_MAX_ITEMS": "lots",
        "TAKEITDOWN_REGISTRY_DATABASE_URL": " ",
    }
    with pytest.raises(SettingsError) as info:
        registry_config.Settings.from_env(env)
    assert "TAKEITDOWN_CASE_BURST" in str(info.value) and "TAKEITDOWN_MAX_ITEMS" in str(info.value)
    secret = Var("X_TOKEN", int, 1, "", secret=True)
    with pytest.raises(SettingsError) as info:
        load([secret], {"X_TOKEN": "hunter2"})
    assert "hunter2" not in str(info.value) and "(hidden)" in str(info.value)


def test_each_role_has_its_own_database_variable_and_the_old_name_still_works(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert (
        node_config.database_url(None, {"TAKEITDOWN_NODE_DATABASE_URL": "sqlite:///n.db"}) == "sqlite:///n.db"
    )
    assert registry_config.database_url(None, {"TAKEITDOWN_NODE_DATABASE_URL": "sqlite:///n.db"}).endswith(
        "registry.db"
    )
    with caplog.at_level("WARNING"):
        assert (
            registry_config.database_url(None, {"TAKEITDOWN_DATABASE_URL": "sqlite:///old.db"})
            == "sqlite:///old.db"
        )
    assert "deprecated" in caplog.text and "TAKEITDOWN_REGISTRY_DATABASE_URL" in caplog.text
    assert (
        registry_config.database_url("sqlite:///cli.db", {"TAKEITDOWN_DATABASE_URL": "x"})
        == "sqlite:///cli.db"
    )


@pytest.mark.parametrize(
    ("doc", "variables"),
    [("docs/registry.md", registry_config.VARIABLES), ("docs/node.md", node_config.VARIABLES)],
)
def test_docs_settings_tables_are_the_loaders_own(doc: str, variables: tuple[Var, ...]) -> None:
    assert markdown_table(variables) in (REPO / doc).read_text(encoding="utf-8"), (
        f"{doc}'s settings table is out of date; paste in takeitdown.settings.markdown_table's output"
    )


def test_node_serve_refuses_to_start_on_a_bad_value(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "TAKEITDOWN_NODE_API_KEY": "k" * 20,
        "TAKEITDOWN_NODE_ADMIN_TOKEN": "t" * 20,
        "TAKEITDOWN_NODE_PAGE_SIZE": "0",
        "TAKEITDOWN_NODE_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}",
        **{k: v for k, v in __import__("os").environ.items() if k == "PYTHONPATH"},
    }
    out = subprocess.run(
        [sys.executable, "-m", "takeitdown.cli", "node", "serve", "--registry", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 1
    assert "TAKEITDOWN_NODE_PAGE_SIZE must be a whole number from 1 to 10000, got '0'" in out.stderr
    assert "Traceback" not in out.stderr


def test_node_and_registry_can_share_one_database(tmp_path: Path) -> None:
    """Before: "table entries already exists". Now every node table is node_*."""
    from takeitdown.node.db import Database as NodeDatabase
    from takeitdown.registry.db import Database as RegistryDatabase

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    registry_db = RegistryDatabase(url)
    registry_db.migrate()
    node_db = NodeDatabase(url)
    node_db.migrate()
    registry_db.migrate()  # and the registry still starts after the node
    from sqlalchemy import inspect

    with node_db.read() as conn:
        tables = set(inspect(conn).get_table_names())
    assert {"entries", "node_entries", "feed", "node_outbox"} <= tables
    node_db.dispose()
    registry_db.dispose()
