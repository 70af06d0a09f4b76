"""takeitdown: an open Take It Down hash-sharing network."""

from __future__ import annotations


def __getattr__(name: str) -> str:
    # The one version number lives in pyproject.toml; it is read from the installed metadata on
    # first use, so importing the package (every `takeitdown hash`) does not load importlib.metadata.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("takeitdown")
        except PackageNotFoundError:  # a source tree on PYTHONPATH that was never installed
            return "0+unknown"
    raise AttributeError(f"module 'takeitdown' has no attribute {name!r}")
