"""The import-linter contracts of pyproject.toml: kept by the code, and broken by each kind of violation.

`make lint` runs the same contracts; here they are also attacked, so a contract that could never
fail (a typo in a module name, a custom type that checks nothing) fails this test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytest.importorskip("importlinter", reason="import-linter not installed (pip install -e '.[test]')")


def lint_imports(package_root: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports with the repository's contracts against the `takeitdown` found in package_root."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(package_root), str(ROOT)]))
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]
        + ["--no-cache", str(ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )


CONTRACTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
# Every part of takeitdown that some contract names, so each contract finds its modules.
NAMED = sorted(
    {
        name.split(".")[1]
        for contract in CONTRACTS
        for key in ("source_modules", "forbidden_modules", "modules")
        for name in contract.get(key, [])
        if name.startswith("takeitdown.")
    }
)


def write_package(root: Path, files: dict[str, str], leave_out: str = "") -> Path:
    files = dict(files)
    for part in NAMED:
        if part != leave_out and f"{part}.py" not in files:
            files.setdefault(f"{part}/__init__.py", "")
    for name, text in files.items():
        path = root / "takeitdown" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


ROLES = "hashing, protocol and the shared page files import no role"
APART = "registry and node never import each other"
STDLIB = "protocol and webshared import only the standard library"

CLEAN = {
    "__init__.py": "",
    "protocol.py": "import json\nfrom dataclasses import dataclass\n",
    "hashing/__init__.py": "from takeitdown import protocol\nimport numpy\n",
    "registry/__init__.py": "from takeitdown import hashing, protocol\n",
    "node/__init__.py": "from takeitdown import hashing, protocol\n",
    "cli.py": "from takeitdown import node, registry\n",
}


def test_the_code_keeps_every_contract() -> None:
    proc = lint_imports(ROOT / "src")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_a_clean_layout_keeps_every_contract(tmp_path: Path) -> None:
    proc = lint_imports(write_package(tmp_path, CLEAN))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(CONTRACTS)} kept, 0 broken" in proc.stdout


@pytest.mark.parametrize(
    ("file", "text", "contract", "evidence"),
    [
        ("hashing/x.py", "from takeitdown.node import y\n", ROLES, "node"),
        ("hashing/x.py", "import takeitdown.cli\n", ROLES, "cli"),
        ("protocol.py", "from takeitdown.registry import z\n", ROLES, "regi"),
        ("registry/x.py", "import takeitdown.node\n", APART, "node"),
        ("node/x.py", "from takeitdown.registry import a\n", APART, "reg"),
        ("protocol.py", "import json\nimport numpy as np\n", STDLIB, "numpy"),
        ("protocol.py", "from takeitdown import hashing\n", STDLIB, "hash"),
        # An import inside a function counts too (that is how a lazy import would slip in).
        ("protocol.py", "def f():\n    import pydantic\n", STDLIB, "pyd"),
    ],
)
def test_each_violation_breaks_its_contract(
    tmp_path: Path, file: str, text: str, contract: str, evidence: str
) -> None:
    files = dict(CLEAN)
    files[file] = files.get(file, "") + text
    files.setdefault("node/y.py", "")
    files.setdefault("registry/z.py", "")
    files.setdefault("registry/a.py", "")
    proc = lint_imports(write_package(tmp_path, files))
    assert proc.returncode != 0, proc.stdout
    assert f"{contract} BROKEN" in proc.stdout, proc.stdout
    broken = proc.stdout.split("Broken contracts", 1)[1]
    assert evidence in broken, proc.stdout


def test_a_role_that_does_not_exist_yet_is_a_warning_and_checked_once_it_lands(tmp_path: Path) -> None:
    proc = lint_imports(write_package(tmp_path / "before", CLEAN, leave_out="threatexchange"))
    assert "takeitdown.threatexchange does not exist (yet)" in proc.stdout
    files = dict(CLEAN)
    files["threatexchange/__init__.py"] = ""
    files["hashing/x.py"] = "import takeitdown.threatexchange\n"
    proc = lint_imports(write_package(tmp_path / "after", files))
    assert f"{ROLES} BROKEN" in proc.stdout, proc.stdout
