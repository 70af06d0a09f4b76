"""The platform node: feed sync, index, matching, scanning, review and reports.

For platforms that embed the upload check in their own code:

    from takeitdown.node import Matcher
    verdict = Matcher.open("sqlite:///takeitdown-data/node.db").check_file(path_or_bytes)
    verdict.verdict  # "allow" | "review" | "block"

(`Node` in `takeitdown.node.service` also runs sync and reporting in-process.)
"""

from __future__ import annotations

from typing import Any

__all__ = ["Match", "Matcher", "Policy", "Verdict"]


def __getattr__(name: str) -> Any:
    # Imported on first use: the matcher pulls in numba and the database layer, which the
    # `takeitdown` command (e.g. `takeitdown hash` on a person's device) should not pay for.
    if name in __all__:
        from takeitdown.node import matcher

        return getattr(matcher, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
