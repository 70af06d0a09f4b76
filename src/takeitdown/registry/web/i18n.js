// Strings live in one table per language (i18n/en.js, i18n/es.js). Elements carry
// data-i18n="key" (text) or data-i18n-attr="attr:key;attr:key" (attributes).
import en from "./i18n/en.js";
import es from "./i18n/es.js";

const TABLES = { en, es };
const listeners = [];
let lang = initialLang();

function initialLang() {
  const fromUrl = new URLSearchParams(location.search).get("lang");
  if (fromUrl && TABLES[fromUrl]) return fromUrl;
  try {
    const saved = localStorage.getItem("lang");
    if (saved && TABLES[saved]) return saved;
  } catch {
    // storage may be off (private mode): fall back to the browser's language
  }
  return (navigator.language || "en").toLowerCase().startsWith("es") ? "es" : "en";
}

export function currentLang() {
  return lang;
}

/** The string for `key` in the current language, with {name} placeholders filled. */
export function t(key, vars = {}) {
  const text = TABLES[lang][key] ?? TABLES.en[key] ?? (key.startsWith("err.") ? t("err.failed") : key);
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

export function applyStrings(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr, t(key));
    }
  }
  const title = document.querySelector("[data-title]");
  if (title) document.title = `${t(title.dataset.title)} - ${t("site.title")}`;
}

export function onLangChange(fn) {
  listeners.push(fn);
}

export function setLang(next) {
  if (!TABLES[next]) return;
  lang = next;
  try {
    localStorage.setItem("lang", next);
  } catch {
    // not remembered; fine
  }
  applyStrings();
  for (const fn of listeners) fn(next);
}

/** Wire the language switch button (id="lang-switch") and apply the strings once. */
export function initI18n() {
  const button = document.getElementById("lang-switch");
  if (button) button.addEventListener("click", () => setLang(lang === "en" ? "es" : "en"));
  applyStrings();
}
