"""The browser files both roles' pages serve: the in-browser hasher and the language mechanism.

The registry's submission page (at `/`) and the node's TAKE IT DOWN request form (at `/takedown/`)
hash files on the person's device with the same code: `hasher.js` and the worker's modules, with
the vendored MD5 (hash-wasm) and MP4 demuxer (mp4box). Both pages also choose and apply their
language with the same `i18n.js` and `languages.js`. Neither role may import the other, so these
files live here, in no role, and each page serves them at the same paths relative to itself: the
modules' relative imports (`./worker.js`, `./vendor/...`) and the language tables
(`./i18n/<code>.json`, each page's own) then resolve on either page.

Standard library only: this module only says where the files are and what a page's Content
Security Policy must allow for them.
"""

from __future__ import annotations

from pathlib import Path

DIR = Path(__file__).parent

# What a page that runs the hasher needs in its Content-Security-Policy, directive by directive
# (each page may allow no less; tests/web/test_webshared.py checks both pages).
CSP_NEEDS = {
    "script-src": ("'self'", "'wasm-unsafe-eval'"),  # hash-wasm compiles its MD5 as WebAssembly
    "worker-src": ("'self'", "blob:"),  # the hashing worker, a module worker of the same origin
    "img-src": ("'self'", "blob:", "data:"),  # the picked photo's thumbnail; photos decoded on the page
    "media-src": ("'self'", "blob:", "data:"),  # a video seeked where WebCodecs cannot decode it
    "connect-src": ("'self'",),  # the language tables
}


def files() -> dict[str, Path]:
    """Every file a page serves from here, by its path relative to the page (`vendor/...` too):
    the JavaScript only (not this module, the vendored licences or version notes)."""
    return {p.relative_to(DIR).as_posix(): p for p in sorted(DIR.rglob("*.js"))}


def csp_allows(csp: str) -> list[str]:
    """What `csp` fails to allow of CSP_NEEDS, as `directive source` strings (empty: all of it)."""
    given: dict[str, set[str]] = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            given[words[0]] = set(words[1:])
    fallback = given.get("default-src", set())
    return [
        f"{directive} {source}"
        for directive, sources in CSP_NEEDS.items()
        for source in sources
        if source not in given.get(directive, fallback)
    ]
