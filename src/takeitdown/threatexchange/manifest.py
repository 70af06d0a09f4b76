"""`TX_MANIFEST` for `threatexchange config extensions add takeitdown.threatexchange`, and the
signal type list for HMA's `DefaultOMMStore(signal_types=...)`."""

from __future__ import annotations

from threatexchange.extensions.manifest import ThreatExchangeExtensionManifest
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.signal_base import SignalType

from takeitdown.threatexchange.exchange import TakeItDownSignalExchangeAPI
from takeitdown.threatexchange.signals import PhotoMD5Signal, vpdq_signal_type

# PDQ and video MD5 are the library's own (the CLI has them built in); vPDQ comes with the
# library's vPDQ extension, added separately where the `vpdq` package is installed.
TX_MANIFEST = ThreatExchangeExtensionManifest(
    signal_types=(PhotoMD5Signal,),
    apis=(TakeItDownSignalExchangeAPI,),
)


def signal_types() -> list[type[SignalType]]:
    """Every signal type that carries registry entries here: PDQ, photo MD5, video MD5, vPDQ if it loads."""
    out: list[type[SignalType]] = [PdqSignal, PhotoMD5Signal, VideoMD5Signal]
    vpdq = vpdq_signal_type()
    if vpdq is not None:
        out.append(vpdq)
    return out
