"""The platform node: feed sync, index, matching, scanning, review and reports."""
