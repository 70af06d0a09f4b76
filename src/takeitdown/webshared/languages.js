// The languages of the page: code (the table's file name, i18n/<code>.json and the `lang`
// attribute), the name of each language written in itself (what the picker shows), and
// "rtl" for right-to-left scripts. Keep tests/web/test_i18n.py in step when adding one.
export const LANGUAGES = [
  { code: "en", name: "English" },
  { code: "es", name: "Español" },
  { code: "fr", name: "Français" },
  { code: "de", name: "Deutsch" },
  { code: "pt", name: "Português" },
  { code: "it", name: "Italiano" },
  { code: "nl", name: "Nederlands" },
  { code: "pl", name: "Polski" },
  { code: "ru", name: "Русский" },
  { code: "uk", name: "Українська" },
  { code: "tr", name: "Türkçe" },
  { code: "ar", name: "العربية", dir: "rtl" },
  { code: "fa", name: "فارسی", dir: "rtl" },
  { code: "ur", name: "اردو", dir: "rtl" },
  { code: "hi", name: "हिन्दी" },
  { code: "bn", name: "বাংলা" },
  { code: "zh-Hans", name: "简体中文" },
  { code: "zh-Hant", name: "繁體中文" },
  { code: "ja", name: "日本語" },
  { code: "ko", name: "한국어" },
  { code: "th", name: "ไทย" },
  { code: "vi", name: "Tiếng Việt" },
  { code: "id", name: "Bahasa Indonesia" },
  { code: "tl", name: "Tagalog" },
  { code: "sw", name: "Kiswahili" },
  { code: "so", name: "Soomaali" },
  { code: "am", name: "አማርኛ" },
  { code: "ht", name: "Kreyòl ayisyen" },
];

const CODES = new Map(LANGUAGES.map((l) => [l.code.toLowerCase(), l.code]));

/** The first of the browser's preferred languages (BCP 47 tags) that the page speaks, else English. */
export function pickLanguage(wanted) {
  for (const raw of wanted) {
    if (typeof raw !== "string" || !raw) continue;
    const tag = raw.toLowerCase();
    if (CODES.has(tag)) return CODES.get(tag);
    const [base, ...rest] = tag.split("-");
    if (base === "zh") {
      // Traditional for Taiwan, Hong Kong and Macau (or an explicit Hant script), else Simplified.
      return rest.some((p) => ["hant", "tw", "hk", "mo"].includes(p)) ? "zh-Hant" : "zh-Hans";
    }
    if (base === "fil") return "tl";
    if (base === "in") return "id"; // the old code some systems still send
    if (CODES.has(base)) return CODES.get(base);
  }
  return "en";
}

export function languageOf(code) {
  return LANGUAGES.find((l) => l.code === code) || LANGUAGES[0];
}
