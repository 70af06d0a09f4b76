"""Reporting HMA's (or the platform's own) match decisions back to the registry.

HMA never calls an exchange's `report_opinion`, so outcomes would stop at the platform. The
`takeitdown hma-reporter` command reads decisions (JSON lines), finds each one's registry entry
id (given, or through HMA's bank content API, which names the exchange row a bank item came
from), and posts idempotent reports. It needs neither HMA's code nor python-threatexchange.
"""
