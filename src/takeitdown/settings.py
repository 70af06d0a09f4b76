"""Environment settings, declared once per role and validated in one place.

Each role lists its variables as `Var`s (registry/config.py, node/config.py); `load` reads them
all, checks type and range, and refuses to start with one message that names every bad variable
and what it accepts. The docs' settings tables are generated from the same lists
(`markdown_table`), and a test holds the docs to them.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("takeitdown.settings")


class SettingsError(ValueError):
    """One or more environment variables hold values the service cannot start with."""


@dataclass(frozen=True)
class Var:
    """One environment variable: its type (int, float, str, bool or a set of choices) and range."""

    name: str
    kind: type | tuple[str, ...]
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    deprecated: tuple[str, ...] = ()  # older names still read, with a warning
    secret: bool = False  # never echoed back in an error
    optional: bool = False  # a None default means "off", not "required"

    @property
    def field(self) -> str:
        """The settings attribute this variable fills: the name without its role prefix."""
        for prefix in ("TAKEITDOWN_REGISTRY_", "TAKEITDOWN_NODE_", "TAKEITDOWN_"):
            if self.name.startswith(prefix):
                return self.name[len(prefix) :].lower()
        return self.name.lower()

    def accepts(self) -> str:
        if isinstance(self.kind, tuple):
            return "one of " + ", ".join(self.kind)
        what = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}[self.kind]
        if self.low is not None and self.high is not None:
            return f"{what} from {_num(self.low)} to {_num(self.high)}"
        if self.low is not None:
            return f"{what} of at least {_num(self.low)}"
        return what

    def parse(self, raw: str) -> Any:
        """The typed value of `raw`; ValueError with what is accepted when it does not fit."""
        text = raw.strip()
        if isinstance(self.kind, tuple):
            if text not in self.kind:
                raise ValueError
            return text
        if self.kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if self.kind is str:
            if not text:
                raise ValueError
            return text
        value = int(text) if self.kind is int else float(text)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ValueError
        return value


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def read_var(var: Var, environ: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(the name it was found under, its raw value), or (None, None) when unset or empty."""
    for name in (var.name, *var.deprecated):
        raw = environ.get(name)
        if raw is not None and raw.strip() != "":
            if name != var.name:
                log.warning("%s is deprecated; set %s instead", name, var.name)
            return name, raw
    return None, None


def load(variables: Sequence[Var], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every variable's value by field name (defaults where unset); SettingsError naming each bad one."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    problems: list[str] = []
    for var in variables:
        name, raw = read_var(var, environ)
        if raw is None:
            values[var.field] = var.default
            continue
        try:
            values[var.field] = var.parse(raw)
        except ValueError:
            shown = "(hidden)" if var.secret else repr(raw)
            problems.append(f"{name} must be {var.accepts()}, got {shown}")
    if problems:
        raise SettingsError("; ".join(problems))
    return values


def markdown_table(variables: Sequence[Var]) -> str:
    """The docs' settings table for these variables. To refresh the docs after a change, print it:
    `python -c "from takeitdown.settings import markdown_table as t; from takeitdown.node.config
    import VARIABLES; print(t(VARIABLES))"` (registry: `takeitdown.registry.config`)."""
    lines = ["| variable | default | accepts | what it does |", "| --- | --- | --- | --- |"]
    for var in variables:
        unset = "(unset)" if var.optional else "(required)"
        default = unset if var.default is None else f"`{var.default}`"
        names = f"`{var.name}`" + "".join(f" (or `{d}`, deprecated)" for d in var.deprecated)
        lines.append(f"| {names} | {default} | {var.accepts()} | {var.help} |")
    return "\n".join(lines)
