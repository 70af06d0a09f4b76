"""Support lines come only from the operator's file, and a bad file is refused with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from takeitdown.registry.support import SupportLinksError, load_support_links, parse_support_links


def test_none_by_default_and_a_good_file_is_served_as_written(tmp_path: Path) -> None:
    assert load_support_links(None) == []
    path = tmp_path / "support.json"
    link = {"name": "Línea de ayuda", "url": "tel:+52 800 000 0000", "languages": ["es"], "regions": ["MX"]}
    path.write_text(json.dumps({"links": [link, {"name": "Chat", "url": "https://help.example/chat"}]}))
    links = load_support_links(str(path))
    assert links[0] == link
    assert links[1] == {"name": "Chat", "url": "https://help.example/chat", "languages": [], "regions": []}


@pytest.mark.parametrize(
    ("link", "says"),
    [
        ({"name": "x", "url": "javascript:alert(1)"}, "https://, tel: or sms:"),
        ({"name": "x", "url": "http://plain.example"}, "https://, tel: or sms:"),
        ({"name": "", "url": "tel:1"}, "'name'"),
        ({"name": "x", "url": "tel:1", "languages": "es"}, "'languages'"),
        ({"name": "x", "url": "tel:1", "regions": ["mexico"]}, "'regions'"),
        ({"name": "x", "url": "tel:1", "colour": "red"}, "unknown fields colour"),
    ],
)
def test_bad_links_are_refused_naming_what_is_wrong(link: dict, says: str) -> None:
    with pytest.raises(SupportLinksError, match=None) as info:
        parse_support_links({"links": [link]})
    assert says in str(info.value) and "link 0" in str(info.value)


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "support.json"
    path.write_text("{not json")
    with pytest.raises(SupportLinksError, match="TAKEITDOWN_SUPPORT_LINKS"):
        load_support_links(str(path))
    with pytest.raises(SupportLinksError, match="cannot read"):
        load_support_links(str(tmp_path / "missing.json"))
