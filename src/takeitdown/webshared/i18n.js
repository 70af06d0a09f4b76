// Strings live in one JSON table per language (i18n/<code>.json, every table with the same keys,
// checked by tests/web/test_i18n.py). Only the table in use is fetched, plus English as the
// fallback for a key a table lacks. Elements carry data-i18n="key" (text) or
// data-i18n-attr="attr:key;attr:key" (attributes).
//
// A value is a string with {name} placeholders, or, for a sentence with a count, an object of
// plural forms chosen by Intl.PluralRules for {n} ({"one": ..., "few": ..., "other": ...}).
// The language: ?lang= in the address, else the one picked before (localStorage, no cookie),
// else the first of navigator.languages the page speaks, else English.
import { LANGUAGES, languageOf, pickLanguage } from "./languages.js";

const listeners = [];
const cache = new Map();
let lang = "en";
let table = {};
let english = {};
let plural = new Intl.PluralRules("en");
let numbers = new Intl.NumberFormat("en");
let pageVars = {}; // placeholder values for the page's own data-i18n strings (setPageVars)

function fromUrl() {
  const code = new URLSearchParams(location.search).get("lang");
  return code && LANGUAGES.some((l) => l.code === code) ? code : null;
}

function remembered() {
  try {
    const code = localStorage.getItem("lang");
    return code && LANGUAGES.some((l) => l.code === code) ? code : null;
  } catch {
    return null; // storage may be off (private mode)
  }
}

function initialLang() {
  const wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  return fromUrl() || remembered() || pickLanguage(wanted);
}

async function load(code) {
  if (!cache.has(code)) {
    const url = new URL(`./i18n/${code}.json`, import.meta.url);
    cache.set(
      code,
      fetch(url, { credentials: "omit" })
        .then((r) => (r.ok ? r.json() : Promise.reject(new Error(String(r.status)))))
        .catch((err) => {
          cache.delete(code);
          throw err;
        }),
    );
  }
  return cache.get(code);
}

export function currentLang() {
  return lang;
}

function raw(key, vars) {
  let value = table[key] ?? english[key];
  if (value && typeof value === "object") {
    const n = Number(vars.n);
    value = value[plural.select(Number.isFinite(n) ? n : 0)] ?? value.other;
  }
  if (typeof value === "string") return value;
  return key.startsWith("err.") ? raw("err.failed", vars) : key;
}

function formatted(value) {
  return typeof value === "number" ? numbers.format(value) : String(value);
}

/** The string for `key` in the current language, with {name} placeholders filled. */
export function t(key, vars = {}) {
  return raw(key, vars).replace(/\{(\w+)\}/g, (m, name) => (name in vars ? formatted(vars[name]) : m));
}

/**
 * Fill `el` with the string for `key`, each placeholder value in its own <bdi> (or the Node
 * given), so a file name, a case number or a number keeps its own direction inside
 * right-to-left text and cannot reorder the sentence around it.
 */
export function tFill(el, key, vars = {}) {
  const parts = raw(key, vars).split(/\{(\w+)\}/);
  const nodes = parts.map((part, i) => {
    if (i % 2 === 0) return document.createTextNode(part);
    if (!(part in vars)) return document.createTextNode(`{${part}}`);
    const value = vars[part];
    if (value instanceof Node) return value;
    const bdi = document.createElement("bdi");
    bdi.textContent = formatted(value);
    return bdi;
  });
  el.replaceChildren(...nodes);
  return el;
}

/** Values for {name} placeholders in the page's data-i18n strings (the form's platform name). */
export function setPageVars(vars) {
  pageVars = { ...vars };
}

export function applyStrings(root = document) {
  const info = languageOf(lang);
  document.documentElement.lang = lang;
  document.documentElement.dir = info.dir || "ltr";
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n, pageVars);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr, t(key, pageVars));
    }
  }
  const title = document.querySelector("[data-title]");
  if (title) document.title = `${t(title.dataset.title)} - ${t("site.title")}`;
  const picker = document.getElementById("lang-picker");
  if (picker) picker.value = lang;
}

export function onLangChange(fn) {
  listeners.push(fn);
}

async function use(code) {
  const [next, en] = await Promise.all([load(code), code === "en" ? null : load("en")]);
  english = en || next;
  table = next;
  lang = code;
  plural = new Intl.PluralRules(code);
  numbers = new Intl.NumberFormat(code, { useGrouping: false });
}

export async function setLang(code) {
  if (!LANGUAGES.some((l) => l.code === code)) return;
  try {
    await use(code);
  } catch {
    return; // the table could not be fetched (offline): stay in the language shown
  }
  try {
    localStorage.setItem("lang", code);
  } catch {
    // not remembered; fine
  }
  // An address with ?lang= would win over the choice on reload: keep it in step.
  const url = new URL(location.href);
  if (url.searchParams.has("lang")) {
    url.searchParams.set("lang", code);
    history.replaceState(history.state, "", url);
  }
  applyStrings();
  for (const fn of listeners) fn(code);
}

function buildPicker() {
  const picker = document.getElementById("lang-picker");
  if (!picker) return;
  picker.replaceChildren(
    ...LANGUAGES.map((l) => {
      const option = document.createElement("option");
      option.value = l.code;
      option.lang = l.code;
      option.dir = l.dir || "ltr";
      option.textContent = l.name;
      return option;
    }),
  );
  picker.addEventListener("change", () => setLang(picker.value));
}

/** Choose the language, fetch its table, wire the picker (id="lang-picker") and apply the strings. */
export async function initI18n() {
  buildPicker();
  try {
    await use(initialLang());
  } catch {
    await use("en").catch(() => {}); // the page's own English text stays if even this fails
  }
  applyStrings();
}
