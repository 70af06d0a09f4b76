"""The python-threatexchange extension: HMA and the `threatexchange` CLI read the registry with it.

Install with `pip install 'takeitdown[threatexchange]'`, then either
`threatexchange config extensions add takeitdown.threatexchange` (the CLI reads `TX_MANIFEST`)
or list the classes in HMA's `omm_config.py` (docs/hma.md). This is the only package that
imports `threatexchange`; the rest of takeitdown never needs it.
"""

from takeitdown.threatexchange.exchange import (
    TakeItDownCheckpoint,
    TakeItDownCollabConfig,
    TakeItDownCredentials,
    TakeItDownOpinion,
    TakeItDownRecord,
    TakeItDownSignalExchangeAPI,
)
from takeitdown.threatexchange.manifest import TX_MANIFEST, signal_types
from takeitdown.threatexchange.signals import PhotoMD5Signal

__all__ = [
    "TX_MANIFEST",
    "PhotoMD5Signal",
    "TakeItDownCheckpoint",
    "TakeItDownCollabConfig",
    "TakeItDownCredentials",
    "TakeItDownOpinion",
    "TakeItDownRecord",
    "TakeItDownSignalExchangeAPI",
    "signal_types",
]
