"""The shared page files (takeitdown.webshared) are served by both pages at the same paths
relative to each page, under a Content Security Policy that lets the hasher run, and nothing
else of the folder is served."""

from __future__ import annotations

import warnings
from types import SimpleNamespace
from typing import Any, cast

import pytest
from fastapi import FastAPI

with warnings.catch_warnings():  # starlette 1.x would rather have httpx2; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from takeitdown import webshared
from takeitdown.node.takedown_api import PAGE_CSP, mount_takedown
from takeitdown.registry.pages import CSP, mount_pages

# What each page loads of the shared folder: the hasher, its worker's modules, the vendored
# MD5 and MP4 demuxer, and the language mechanism.
EXPECTED = {
    "hasher.js",
    "worker.js",
    "pdq.js",
    "imagesize.js",
    "worksize.js",
    "pictures.js",
    "videoluma.js",
    "videoforward.js",
    "i18n.js",
    "languages.js",
    "vendor/hash-wasm/md5.umd.min.js",
    "vendor/mp4box/mp4box.all.js",
    "vendor/mp4box/rolldown-runtime.js",
    "vendor/mp4box/styp.js",
}


@pytest.fixture(scope="module")
def registry() -> TestClient:
    app = FastAPI()
    app.state.settings = SimpleNamespace(
        max_items=100, max_body_bytes=1 << 20, max_case_frames=6000, max_video_frames=600
    )
    mount_pages(app)
    return TestClient(app)


@pytest.fixture(scope="module")
def node() -> TestClient:
    app = FastAPI()
    mount_takedown(app, cast(Any, None), None)  # the desk is not needed to serve files
    return TestClient(app)


def test_the_shared_files_are_the_hasher_and_the_language_modules() -> None:
    assert set(webshared.files()) == EXPECTED


def test_both_pages_allow_what_the_hasher_needs() -> None:
    assert webshared.csp_allows(CSP) == []
    assert webshared.csp_allows(PAGE_CSP) == []
    # The check can fail: the form's policy before it hashed allowed neither WebAssembly nor workers.
    before = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'"
    assert "script-src 'wasm-unsafe-eval'" in webshared.csp_allows(before)
    assert "worker-src blob:" in webshared.csp_allows(before)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_page_serves_each_shared_file_at_the_same_relative_path(
    name: str, registry: TestClient, node: TestClient
) -> None:
    want = (webshared.DIR / name).read_bytes()
    for client, url, csp in ((registry, f"/{name}", CSP), (node, f"/takedown/{name}", PAGE_CSP)):
        r = client.get(url)
        assert r.status_code == 200, url
        assert r.content == want, url
        assert "javascript" in r.headers["content-type"], url
        assert r.headers["content-security-policy"] == csp, url
        assert r.headers["x-content-type-options"] == "nosniff", url


def test_nothing_else_of_the_folder_is_served(registry: TestClient, node: TestClient) -> None:
    for name in ("__init__.py", "vendor/hash-wasm/LICENSE", "vendor/mp4box/VERSION", "../protocol.py"):
        assert registry.get(f"/{name}").status_code == 404, name
        assert node.get(f"/takedown/{name}").status_code == 404, name
    # The pages' own files stay their own: the form does not serve the submission page's app.
    assert registry.get("/app.js").status_code == 200
    assert node.get("/takedown/app.js").status_code == 404
    assert node.get("/takedown/i18n/en.json").json()["page.title"].startswith("Ask {platform}")
    assert registry.get("/i18n/en.json").json()["site.title"] == "Take It Down"
