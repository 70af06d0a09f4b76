"""Packaging: one version number, and a default install that is enough to run every role.

The default install (`pip install .`, what `make run` does) must not need a test tool: every
third-party module that `takeitdown` imports, at the top or inside a function, has to come from
a runtime dependency or from an integration extra, never from the test, fuzz or bench extras.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DEVELOPMENT_EXTRAS = {"test", "fuzz", "bench"}


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def test_version_comes_from_pyproject() -> None:
    import takeitdown

    version = PYPROJECT["project"]["version"]
    assert takeitdown.__version__ == version, "stale install? pip install -e ."
    out = subprocess.run(
        [sys.executable, "-m", "takeitdown.cli", "--version"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"takeitdown {version}"


def test_the_default_install_has_no_development_tool() -> None:
    runtime = _names(PYPROJECT["project"]["dependencies"])
    extras = PYPROJECT["project"]["optional-dependencies"]
    development = set().union(*(_names(extras[e]) for e in DEVELOPMENT_EXTRAS if e in extras))
    assert not runtime & development, (
        f"in both the default install and a development extra: {runtime & development}"
    )
    assert "faiss-cpu" not in runtime and "atheris" not in runtime and "pytest" not in runtime


def test_every_third_party_import_is_a_declared_runtime_or_integration_dependency() -> None:
    grimp = pytest.importorskip(
        "grimp", reason="grimp (import-linter) not installed (pip install -e '.[test]')"
    )
    graph = grimp.build_graph("takeitdown", include_external_packages=True, cache_dir=None)
    extras = PYPROJECT["project"]["optional-dependencies"]
    allowed = _names(PYPROJECT["project"]["dependencies"])
    allowed |= set().union(*(_names(v) for k, v in extras.items() if k not in DEVELOPMENT_EXTRAS))
    # a development extra may list an integration too (the test extra installs threatexchange)
    development = set().union(*(_names(extras[e]) for e in DEVELOPMENT_EXTRAS if e in extras)) - allowed
    provided_by = packages_distributions()
    wrong = []
    for module in sorted(m for m in graph.modules if not m.startswith("takeitdown")):
        if module in sys.stdlib_module_names:
            continue
        dists = {d.lower().replace("_", "-") for d in provided_by.get(module, [])}
        if not dists:
            continue  # an integration whose package is not installed here (its extra is optional)
        if dists & development or not dists & allowed:
            importers = sorted(graph.find_modules_that_directly_import(module))
            wrong.append(f"{module} (from {', '.join(sorted(dists))}) imported by {', '.join(importers)}")
    assert not wrong, "not provided by a runtime or integration dependency:\n" + "\n".join(wrong)
