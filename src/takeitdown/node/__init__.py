"""The platform node: feed sync, index, matching, scanning, review and reports.

For platforms that embed the upload check in their own code:

    from takeitdown.node import Matcher
    verdict = Matcher.open("sqlite:///takeitdown-data/node.db").check_file(path_or_bytes)
    verdict.verdict  # "allow" | "review" | "block"

(`Node` in `takeitdown.node.service` also runs sync and reporting in-process.)
"""

from takeitdown.node.matcher import Match, Matcher, Policy, Verdict

__all__ = ["Match", "Matcher", "Policy", "Verdict"]
