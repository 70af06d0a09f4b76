"""Import-linter contract types for the rules the built-in ones cannot express.

Registered in pyproject.toml ([tool.importlinter] contract_types); `make lint` runs them with
`lint-imports`, which puts the repository root on sys.path so this module imports.
"""

from __future__ import annotations

import sys
from typing import Any

from grimp import ImportGraph
from importlinter.application import output
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class StdlibOnlyContract(Contract):
    """The source modules (and their submodules) import only the standard library and themselves.

    Needs `include_external_packages = true`, so that third-party imports are in the graph.
    """

    type_name = "stdlib_only"

    source_modules = fields.ListField(subfield=fields.ModuleField())

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        illegal: list[dict[str, Any]] = []
        for source in self.source_modules:  # type: ignore[attr-defined]
            if source.name not in graph.modules:
                raise ValueError(f"Module '{source.name}' does not exist.")
            family = {source.name} | graph.find_descendants(source.name)
            for importer in sorted(family):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if imported in family or imported.split(".")[0] in sys.stdlib_module_names:
                        continue
                    details = graph.get_import_details(importer=importer, imported=imported)
                    lines = sorted(d["line_number"] for d in details)
                    illegal.append({"importer": importer, "imported": imported, "lines": lines})
        return ContractCheck(kept=not illegal, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for item in check.metadata["illegal"]:
            lines = ", ".join(f"l.{n}" for n in item["lines"])
            output.print_error(
                f"{item['importer']} -> {item['imported']} ({lines}): not the standard library", bold=False
            )
            output.new_line()


class ForbiddenOrAbsentContract(ForbiddenContract):
    """A forbidden contract whose forbidden modules may not exist yet (a role still being built).

    An absent one is reported as a warning and checked as soon as it appears, so a new role is
    covered the day it lands without anyone remembering to edit the contract.
    """

    type_name = "forbidden_or_absent"

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        expressions = set(self.forbidden_modules)  # type: ignore[has-type]
        present = {e for e in expressions if e.has_wildcard_expression() or e.expression in graph.modules}
        self.forbidden_modules = present
        result = super().check(graph, verbose)
        result.warnings.extend(
            f"{e.expression} does not exist (yet): not checked" for e in sorted(expressions - present)
        )
        return result
