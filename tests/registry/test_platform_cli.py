"""`takeitdown registry platform add|list|rotate|revoke`.

`add` runs as a real subprocess (its stdout must be the key alone); the other commands run
in-process through the same Typer app (the CLI takes ~2 s to start, most of it importing the
other roles' modules).
"""

from __future__ import annotations

import subprocess

import httpx
from typer.testing import CliRunner

from takeitdown.cli import app
from tests.registry.helpers import Server, bearer, cli, rand_hex


def run(*args: str, database_url: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`takeitdown ...` in-process; the same shape of result as `cli`."""
    result = CliRunner().invoke(app, [*args, "--database-url", database_url])
    if check and result.exit_code != 0:
        raise AssertionError(f"takeitdown {' '.join(args)} failed: {result.stderr}")
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


def test_platform_commands(server: Server) -> None:
    name = "cli-" + rand_hex(6)
    url = server.database_url
    added = cli("registry", "platform", "add", name, database_url=url)
    key = added.stdout
    assert key.count("\n") == 1 and key.strip().startswith("tdk_")  # the key alone on stdout
    key = key.strip()
    assert name in added.stderr

    dup = run("registry", "platform", "add", name, database_url=url, check=False)
    assert dup.returncode == 1 and "already exists" in dup.stderr and dup.stdout == ""

    listed = run("registry", "platform", "list", database_url=url).stdout
    line = next(x for x in listed.splitlines() if x.startswith(name + "\t"))
    assert "\tactive\t" in line and key not in listed

    rotated = run("registry", "platform", "rotate", name, database_url=url).stdout.strip()
    assert rotated.startswith("tdk_") and rotated != key
    with httpx.Client(base_url=server.url) as c:
        assert c.get("/v1/feed", headers=bearer(key)).status_code == 401
        assert c.get("/v1/feed", headers=bearer(rotated)).status_code == 200

    run("registry", "platform", "revoke", name, database_url=url)
    listed = run("registry", "platform", "list", database_url=url).stdout
    assert f"{name}\trevoked" in listed
    again = run("registry", "platform", "rotate", name, database_url=url, check=False)
    assert again.returncode == 1 and "revoked" in again.stderr

    for command in ("rotate", "revoke"):
        missing = run(
            "registry", "platform", command, "no-such-" + rand_hex(4), database_url=url, check=False
        )
        assert missing.returncode == 1 and "no platform named" in missing.stderr
        assert "Traceback" not in missing.stderr


def test_bad_database_url_is_a_clear_message() -> None:
    out = run("registry", "platform", "list", database_url="mysql://x/y", check=False)
    assert out.returncode == 1 and "unsupported database" in out.stderr and "Traceback" not in out.stderr
