"""Atheris entry point: `python fuzz/fuzz.py TARGET [libFuzzer options] [corpus dirs]`.

Our own code (and Pillow's Python-side parsers for the decoder targets) is instrumented for
coverage; numpy, FFmpeg and the rest are imported first, uninstrumented. With
FUZZ_FINDINGS=<file> set, a finding is appended there (signature, message, input as hex) and
the run goes on, so a long run counts every distinct finding instead of stopping at the first.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import warnings  # noqa: E402

import atheris  # noqa: E402

warnings.simplefilter("ignore")  # Pillow warns on every damaged TIFF tag: megabytes of log, no signal

TARGET = sys.argv[1] if len(sys.argv) > 1 else ""
INCLUDE = ["takeitdown", "fuzz"] + (
    ["PIL", "pillow_heif"] if TARGET in ("image", "video", "node_api") else []
)

# Heavy third-party packages first, uninstrumented.
import av  # noqa: E402, F401
import fastapi  # noqa: E402, F401
import numpy  # noqa: E402, F401
import sqlalchemy  # noqa: E402, F401

import takeitdown.node._kernels  # noqa: E402, F401 - numba cannot compile instrumented bytecode

with atheris.instrument_imports(include=INCLUDE):
    from PIL import Image

    Image.init()  # every Pillow plugin, now, so they are instrumented
    import takeitdown.hashing  # noqa: F401
    import takeitdown.node.api  # noqa: F401
    import takeitdown.node.matcher  # noqa: F401
    import takeitdown.registry.api  # noqa: F401
    import takeitdown.registry.store  # noqa: F401
    import takeitdown.registry.validation  # noqa: F401
    from fuzz.targets import TARGETS, Finding

FINDINGS = os.environ.get("FUZZ_FINDINGS")
_seen: set[str] = set()


def _signature(exc: BaseException) -> str:
    """Exception type plus the innermost frame of our code: one line per distinct bug."""
    if getattr(exc, "signature", None):
        return str(exc.signature)  # type: ignore[attr-defined]
    cause = exc.__cause__ or exc
    frames = [f for f in traceback.extract_tb(cause.__traceback__) if "takeitdown" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    first = str(exc).splitlines()[0][:120] if str(exc) else ""
    return f"{type(cause).__name__} at {where} | {first}"


def one_input(data: bytes) -> None:
    try:
        TARGETS[TARGET](data)
    except Finding as exc:
        if not FINDINGS:
            raise
        sig = _signature(exc)
        if sig in _seen:
            return
        _seen.add(sig)
        with open(FINDINGS, "a") as f:
            f.write(
                json.dumps(
                    {
                        "target": TARGET,
                        "signature": sig,
                        "message": str(exc)[:4000],
                        "input_sha1": hashlib.sha1(data).hexdigest(),
                        "input_hex": data[:20000].hex(),
                    }
                )
                + "\n"
            )


def main() -> None:
    if TARGET not in TARGETS:
        sys.exit(f"usage: fuzz.py TARGET [libFuzzer options]; TARGET is one of {', '.join(TARGETS)}")
    atheris.Setup([sys.argv[0], *sys.argv[2:]], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
