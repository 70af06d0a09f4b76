"""Support lines the page shows to a person who may be scared: the operator's, per language and
country, from a JSON file (`TAKEITDOWN_SUPPORT_LINKS`). None are built in: a wrong or dead
number given to a young person in distress is worse than none.

The file: `{"links": [{"name": "Childline", "url": "tel:0800 1111", "languages": ["en"],
"regions": ["GB"], "note": "free, 24 hours"}]}`. `languages` and `regions` (ISO 3166 codes) may
be left out or empty for "any". Only `https:`, `tel:` and `sms:` addresses are allowed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ENV_VAR = "TAKEITDOWN_SUPPORT_LINKS"
SCHEMES = ("https://", "tel:", "sms:")
MAX_LINKS = 200
_LANG = re.compile(r"[a-z]{2,3}(-[A-Za-z]{2,4})?")
_REGION = re.compile(r"[A-Z]{2}")
_FIELDS = {"name", "url", "languages", "regions", "note"}


class SupportLinksError(ValueError):
    pass


def _text(link: dict[str, Any], key: str, limit: int, where: str, required: bool) -> str | None:
    value = link.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= limit or not value.isprintable():
        raise SupportLinksError(f"{where}: {key!r} must be printable text of 1 to {limit} characters")
    return value.strip()


def _codes(link: dict[str, Any], key: str, pattern: re.Pattern[str], where: str) -> list[str]:
    value = link.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and pattern.fullmatch(v) for v in value):
        example = '["es", "pt-BR"]' if key == "languages" else '["MX", "US"]'
        raise SupportLinksError(f"{where}: {key!r} must be a list of codes such as {example}")
    return list(value)


def parse_support_links(data: object, source: str = ENV_VAR) -> list[dict[str, Any]]:
    """The checked list of links, or SupportLinksError naming what is wrong and where."""
    if not isinstance(data, dict) or not isinstance(data.get("links"), list):
        raise SupportLinksError(f'{source}: the file must hold {{"links": [...]}}')
    links = data["links"]
    if len(links) > MAX_LINKS:
        raise SupportLinksError(f"{source}: at most {MAX_LINKS} links")
    out = []
    for n, link in enumerate(links):
        where = f"{source}, link {n}"
        if not isinstance(link, dict):
            raise SupportLinksError(f"{where}: each link must be an object")
        unknown = set(link) - _FIELDS
        if unknown:
            raise SupportLinksError(f"{where}: unknown fields {', '.join(sorted(map(str, unknown)))}")
        url = _text(link, "url", 300, where, True)
        assert url is not None
        if not url.lower().startswith(SCHEMES):
            raise SupportLinksError(f"{where}: 'url' must start with https://, tel: or sms:")
        item: dict[str, Any] = {
            "name": _text(link, "name", 100, where, True),
            "url": url,
            "languages": _codes(link, "languages", _LANG, where),
            "regions": _codes(link, "regions", _REGION, where),
        }
        note = _text(link, "note", 200, where, False)
        if note:
            item["note"] = note
        out.append(item)
    return out


def load_support_links(path: str | None) -> list[dict[str, Any]]:
    """The links of the file at `path` (none when no file is set); refuses a bad file."""
    if not path:
        return []
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SupportLinksError(f"{ENV_VAR}: cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise SupportLinksError(f"{ENV_VAR}: {path} is not valid JSON ({exc})") from None
    return parse_support_links(data, f"{ENV_VAR} ({path})")
