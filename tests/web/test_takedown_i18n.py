"""The request form's language tables (node/web/i18n): the submission page's 28 languages, every
table with every key and the same placeholders as English, the plural forms each language needs,
the four required elements numbered in every language, and every string the form uses present."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import unicodedata
from typing import Any

import pytest

from .helpers import ROOT
from .test_i18n import languages, placeholders

FORM = ROOT / "src" / "takeitdown" / "node" / "web"
TABLES = FORM / "i18n"
PAGE_TABLES = ROOT / "src" / "takeitdown" / "registry" / "web" / "i18n"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# Strings the form shares word for word with the submission page (its reviewed tables).
SHARED = {"lang.label": "lang.label", "hash.lowQuality": "file.lowQuality", "hash.remove": "file.remove",
          "hash.removeLabel": "file.removeLabel", "hash.progressLabel": "file.progressLabel"}  # fmt: skip
ELEMENTS = ("who.legend", "where.legend", "statement.legend", "sign.legend")


def table(code: str) -> dict[str, Any]:
    data = json.loads((TABLES / f"{code}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def codes() -> list[str]:
    return [code for code, _, _ in languages()]


def test_the_form_speaks_every_language_of_the_page() -> None:
    assert len(codes()) >= 28
    assert {p.stem for p in TABLES.glob("*.json")} == set(codes())
    assert {p.stem for p in PAGE_TABLES.glob("*.json")} == set(codes())


@pytest.mark.parametrize("code", codes())
def test_every_table_has_every_key_with_the_same_placeholders(code: str) -> None:
    en, other = table("en"), table(code)
    missing, extra = sorted(set(en) - set(other)), sorted(set(other) - set(en))
    assert not missing and not extra, f"missing: {missing}; extra: {extra}"
    for key, want in en.items():
        got = other[key]
        assert isinstance(got, type(want)), f"{code} {key}: a plural object in one table, text in the other"
        if isinstance(want, dict):
            assert placeholders(got["other"]) == placeholders(want["other"]), f"{code} {key}"
            for form, text in got.items():
                assert placeholders(text) <= placeholders(want), f"{code} {key}.{form}: {text}"
                assert text.strip(), f"{code} {key}.{form} is empty"
        else:
            assert placeholders(got) == placeholders(want), f"{code} {key}: {got}"
            assert got.strip(), f"{code} {key} is empty"
    # Without a platform name each table says "this platform" itself: no name to fill in.
    assert all("{platform}" not in str(v) for k, v in other.items() if k.endswith(".anon"))


@pytest.mark.parametrize("code", [c for c in codes() if c != "en"])
def test_tables_are_translated_and_share_the_pages_words(code: str) -> None:
    en, other, page = table("en"), table(code), json.loads((PAGE_TABLES / f"{code}.json").read_text())
    texts = {k: v for k, v in en.items() if isinstance(v, str) and PLACEHOLDER.sub("", v).strip()}
    same = [k for k, v in texts.items() if other[k] == v]
    assert set(same) <= {"hash.removeLabel"}, f"{code}: left in English: {sorted(same)}"
    for key, page_key in {**SHARED, **{k: k for k in en if k.startswith("err.")}}.items():
        assert other[key] == page[page_key], f"{code} {key}: not the page's words"


@pytest.mark.parametrize("code", codes())
def test_the_four_elements_are_numbered_in_order(code: str) -> None:
    t = table(code)
    for n, key in enumerate(ELEMENTS, start=1):
        digits = [unicodedata.digit(ch) for ch in t[key] if unicodedata.digit(ch, None) is not None]
        assert digits[:1] == [n], f"{code} {key}: {t[key]}"
    assert "48" in t["lead.deadline"] or "۴۸" in t["lead.deadline"] or "৪৮" in t["lead.deadline"], code
    assert "TAKE IT DOWN" in t["law"], code


def test_plural_forms_are_the_ones_each_language_needs() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot ask Intl.PluralRules for the plural forms")
    script = (
        "const out = {}; for (const c of JSON.parse(process.argv[1])) { const r = new Intl.PluralRules(c);"
        " const used = new Set(); for (let n = 0; n <= 1000; n++) used.add(r.select(n));"
        " out[c] = {all: r.resolvedOptions().pluralCategories, used: [...used]}; }"
        " console.log(JSON.stringify(out));"
    )
    args = [node, "-e", script, json.dumps(codes())]
    run = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60)
    forms = json.loads(run.stdout)
    problems = []
    for code in codes():
        for key, value in table(code).items():
            if isinstance(value, dict):
                missing = set(forms[code]["used"]) - set(value)
                unknown = set(value) - set(forms[code]["all"])
                if missing or unknown:
                    problems.append(f"{code} {key}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    assert not problems, "\n".join(problems)


def test_every_string_the_form_uses_is_in_the_tables() -> None:
    html = (FORM / "takedown.html").read_text()
    js = (FORM / "takedown.js").read_text()
    used = set(re.findall(r'data-i18n="([\w.-]+)"', html))
    used |= {f"{k}.anon" for k in re.findall(r'data-i18n="([\w.-]+)" data-i18n-anon', html)}
    used |= set(re.findall(r'\bt(?:Fill)?\((?:[^,()]+, )?"([\w.-]+)"', js))
    used |= set(re.findall(r'"((?:problems|trouble|check|hash|answer|missing|receipt|state)\.[\w.]+)"', js))
    used |= {f"missing.{m}" for m in ("signature", "content", "statement", "contact", "acting_for")}
    used |= {f"state.{s}" for s in ("valid", "incomplete", "removing", "closed", "declined", "abandoned")}
    assert len(used) > 60
    en = table("en")
    assert used - set(en) == set(), f"used but missing from the tables: {sorted(used - set(en))}"
    assert set(en) - used - {k for k in en if k.startswith("err.")} == set(), "keys nothing uses"
