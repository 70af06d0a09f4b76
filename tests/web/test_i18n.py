"""The page's language tables: every language complete, the same keys and placeholders as English,
the plural forms each language needs, and every error code the API can send given a sentence."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest

from takeitdown import protocol

from .helpers import ROOT

WEB = ROOT / "src" / "takeitdown" / "registry" / "web"
SHARED = ROOT / "src" / "takeitdown" / "webshared"
TABLES = WEB / "i18n"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
RTL = {"ar", "fa", "ur"}
MIN_LANGUAGES = 28
REQUIRED = ("en", "es", "fr", "de", "pt", "zh-Hans", "zh-Hant", "hi", "ko", "ja", "th", "ar", "ur", "fa")


def languages() -> list[tuple[str, str, bool]]:
    """(code, name in itself, right to left) from webshared/languages.js."""
    text = (SHARED / "languages.js").read_text()
    found = re.findall(r'\{ code: "([\w-]+)", name: "([^"]+)"(, dir: "rtl")? \}', text)
    return [(code, name, bool(rtl)) for code, name, rtl in found]


def table(code: str) -> dict[str, Any]:
    data = json.loads((TABLES / f"{code}.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def placeholders(value: str | dict[str, str]) -> set[str]:
    forms = value.values() if isinstance(value, dict) else [value]
    return {name for form in forms for name in PLACEHOLDER.findall(form)}


def test_at_least_28_languages_with_right_to_left_ones_marked() -> None:
    langs = languages()
    codes = [code for code, _, _ in langs]
    assert len(codes) >= MIN_LANGUAGES and len(set(codes)) == len(codes)
    assert {code for code, _, rtl in langs if rtl} == RTL & set(codes)
    for required in REQUIRED:
        assert required in codes
    # One table per language and no table the picker does not offer.
    assert {p.stem for p in TABLES.glob("*.json")} == set(codes)


@pytest.mark.parametrize("code", [code for code, _, _ in languages()])
def test_every_table_has_every_key_with_the_same_placeholders(code: str) -> None:
    en, other = table("en"), table(code)
    assert set(other) == set(en), (
        f"missing: {sorted(set(en) - set(other))}; extra: {sorted(set(other) - set(en))}"
    )
    for key, want in en.items():
        got = other[key]
        assert isinstance(got, type(want)), f"{code} {key}: a plural object in one table, text in the other"
        if isinstance(want, dict):
            assert "other" in got, f"{code} {key}: no 'other' form"
            assert placeholders(got["other"]) == placeholders(want["other"]), f"{code} {key}"
            for form, text in got.items():
                # A form may spell a number out ("one file"), never bring a placeholder of its own.
                assert placeholders(text) <= placeholders(want), f"{code} {key}.{form}: {text}"
                assert text.strip(), f"{code} {key}.{form} is empty"
        else:
            assert placeholders(got) == placeholders(want), f"{code} {key}: {got}"
            assert got.strip(), f"{code} {key} is empty"


@pytest.mark.parametrize("code", [code for code, _, _ in languages() if code != "en"])
def test_tables_are_translated_not_copied(code: str) -> None:
    en, other = table("en"), table(code)
    same = [
        k for k, v in en.items() if isinstance(v, str) and other[k] == v and PLACEHOLDER.sub("", v).strip()
    ]
    allowed = {"site.title", "receipt.failedItem", "q.content.no", "file.removeLabel"}
    assert set(same) <= allowed, f"{code}: left in English: {sorted(set(same) - allowed)}"


def test_plural_forms_are_the_ones_each_language_needs() -> None:
    """Intl.PluralRules (node's ICU, as the browser's) names the forms; every one a whole number
    from 0 to 1000 can take must be there, and no form the language does not have."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot ask Intl.PluralRules for the plural forms")
    codes = [code for code, _, _ in languages()]
    script = (
        "const out = {}; for (const c of JSON.parse(process.argv[1])) { const r = new Intl.PluralRules(c);"
        " const used = new Set(); for (let n = 0; n <= 1000; n++) used.add(r.select(n));"
        " out[c] = {all: r.resolvedOptions().pluralCategories, used: [...used]}; }"
        " console.log(JSON.stringify(out));"
    )
    forms = json.loads(subprocess.run([node, "-e", script, json.dumps(codes)], capture_output=True, text=True,
                                      check=True, timeout=60).stdout)  # fmt: skip
    problems = []
    for code in codes:
        for key, value in table(code).items():
            if not isinstance(value, dict):
                continue
            missing = set(forms[code]["used"]) - set(value)
            unknown = set(value) - set(forms[code]["all"])
            if missing or unknown:
                problems.append(
                    f"{code} {key}: missing {sorted(missing)}, not a form of the language {sorted(unknown)}"
                )
    assert not problems, "\n".join(problems)


def used_keys() -> set[str]:
    used: set[str] = set()
    for name in ("index.html", "status.html", "app.js", "status.js", "problems.js"):
        text = (WEB / name).read_text()
        used |= set(re.findall(r'data-i18n="([\w.-]+)"', text))
        used |= set(re.findall(r'[:]([\w-]+\.[\w.-]+)"', text))  # data-i18n-attr="attr:key"
        used |= set(re.findall(r'\bt(?:Fill)?\((?:[^,()]+, )?"([\w.-]+)"', text))
        used |= set(re.findall(r'"((?:api|reject|send)\.[\w]+)"', text))
    return used


def test_every_string_the_page_uses_is_in_the_tables() -> None:
    used = used_keys()
    assert len(used) > 60
    assert used - set(table("en")) == set(), (
        f"used but missing from the tables: {sorted(used - set(table('en')))}"
    )


def test_every_api_error_code_has_a_sentence_of_its_own_choosing() -> None:
    """A new ProblemCode or item code gets a decision in problems.js, never the English detail."""
    text = (WEB / "problems.js").read_text()
    problem_keys = dict(re.findall(r'^\s*"?([\w.]+)"?: "((?:api)\.\w+)",', text, flags=re.M))
    reject_keys = dict(re.findall(r'^\s*"([\w.]+)": "(reject\.\w+)",', text, flags=re.M))
    codes = {c.value for c in protocol.ProblemCode}
    assert codes - set(problem_keys) == set(), (
        f"codes without a sentence: {sorted(codes - set(problem_keys))}"
    )
    item_codes = {c.value for c in protocol.RejectCode}
    assert {"item.bad_kind", "hash.too_many_frames", "hash.implausible", "report.unknown_entry"} <= item_codes
    assert item_codes - set(reject_keys) == set(), (
        f"item codes without a reason: {sorted(item_codes - set(reject_keys))}"
    )
    assert set(reject_keys) - item_codes == set(), f"not codes: {sorted(set(reject_keys) - item_codes)}"
    en = table("en")
    for key in {
        *problem_keys.values(),
        *reject_keys.values(),
        "api.unknown",
        "reject.unknown",
        "send.offline",
    }:
        assert key in en, key
    # The page never shows the server's English sentence or an HTTP status.
    for name in ("app.js", "status.js"):
        js = (WEB / name).read_text()
        assert ".detail" not in js and "HTTP ${" not in js, name


# `hash.not` opens with "But it is not nothing": the hash says something about the picture. A
# literal "it is nothing" turns the warning upside down (it shipped so in es, pt, it, tr, fa, ht,
# pl). Each table's opening below was read against English by someone who knows the language; a
# change to it must be read again, and the inverted wordings that shipped may not come back.
HASH_NOT_OPENING = {
    "am": "ግን ምንም አይደለም ማለት አይደለም።",
    "ar": "لكنها ليست لا شيء.",
    "bn": "তবে এটা একেবারে কিছুই না, তাও নয়।",
    "de": "Aber er ist auch nicht nichts.",
    "en": "But it is not nothing.",
    "es": "Pero tampoco es algo sin importancia.",
    "fa": "ولی بی‌اهمیت هم نیست.",
    "fr": "Mais ce n'est pas rien.",
    "hi": "पर यह कुछ भी नहीं, ऐसा भी नहीं है।",
    "ht": "Men sa pa vle di li pa gen okenn enpòtans.",
    "id": "Tapi hash juga bukan tidak ada apa-apanya.",
    "it": "Ma non è nemmeno una cosa da poco.",
    "ja": "でも、まったく何もないわけではありません。",
    "ko": "그렇다고 아무것도 아닌 건 아니에요.",
    "nl": "Maar het is ook niet niks.",
    "pl": "Ale to też nie jest bez znaczenia.",
    "pt": "Mas também não é algo sem importância.",
    "ru": "Но это и не пустое место.",
    "so": "Laakiin sidoo kale ma aha wax aan waxba ahayn.",
    "sw": "Lakini si kitu kisicho na maana.",
    "th": "แต่ก็ไม่ได้ว่างเปล่า",
    "tl": "Pero hindi rin ito wala.",
    "tr": "Ama önemsiz de değildir.",
    "uk": "Але це й не порожнє місце.",
    "ur": "لیکن یہ کچھ بھی نہ ہو، ایسا نہیں۔",
    "vi": "Nhưng nó cũng không phải là không có gì.",
    "zh-Hans": "但它也不是什么都没有。",
    "zh-Hant": "但它也不是什麼都沒有。",
}
HASH_NOT_INVERTED = {
    "es": "Pero no es nada",
    "pt": "Mas ele não é nada",
    "it": "Ma non è niente",
    "tr": "hiçbir şey de değildir",
    "fa": "ولی هیچ هم نیست",
    "ht": "Men se pa anyen",
    "pl": "to też nie jest nic",
}


def test_every_table_opens_hash_not_with_the_reviewed_not_nothing() -> None:
    codes = [code for code, _, _ in languages()]
    assert set(HASH_NOT_OPENING) == set(codes), "a new language needs its hash.not opening reviewed"
    for code in codes:
        text = table(code)["hash.not"]
        assert isinstance(text, str) and text.startswith(HASH_NOT_OPENING[code]), f"{code}: {text}"
        if code in HASH_NOT_INVERTED:
            assert HASH_NOT_INVERTED[code] not in text, f"{code}: 'it is nothing' is back: {text}"


def test_every_item_and_problem_code_lives_in_protocol() -> None:
    """One home: a code written as a bare string elsewhere (as hash.implausible and report.* once
    were) escapes the checks above; every module says protocol.RejectCode / ProblemCode instead."""
    code = re.compile(r'"((?:item|hash|report)\.[a-z_]+)"')
    src = ROOT / "src" / "takeitdown"
    found = {
        f"{path.relative_to(src)}: {m}"
        for path in src.rglob("*.py")
        if path.name != "protocol.py"
        for m in code.findall(path.read_text())
    }
    assert not found, sorted(found)
