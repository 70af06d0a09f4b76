// Support lines (a hotline, a text line, a chat) as the operator configured them for each
// language and country (TAKEITDOWN_SUPPORT_LINKS, served in config.json). None are built in:
// a wrong number given to a scared young person is worse than none.

/** The regions the browser's languages name ("es-MX" -> "MX"), most wanted first. */
function regions() {
  const tags = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  const out = [];
  for (const tag of tags) {
    try {
      const region = new Intl.Locale(tag).region;
      if (region && !out.includes(region)) out.push(region);
    } catch {
      // not a tag Intl understands
    }
  }
  return out;
}

/** The links for this language and these regions: an empty list in a link means "any". */
export function supportFor(links, lang, wantedRegions) {
  const base = lang.split("-")[0];
  return (Array.isArray(links) ? links : []).filter((link) => {
    const langs = link.languages || [];
    const regs = link.regions || [];
    const langOk = !langs.length || langs.includes(lang) || langs.includes(base);
    const regionOk = !regs.length || regs.some((r) => wantedRegions.includes(r));
    return langOk && regionOk;
  });
}

export function showSupport(box, list, links, lang) {
  const shown = supportFor(links, lang, regions());
  list.replaceChildren(
    ...shown.map((link) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = link.url; // https:, tel: or sms: only (checked by the registry when it starts)
      a.rel = "noopener noreferrer";
      a.dir = "auto";
      a.textContent = link.name;
      li.append(a);
      if (link.note) {
        const note = document.createElement("span");
        note.className = "hint";
        note.dir = "auto";
        note.textContent = ` ${link.note}`;
        li.append(note);
      }
      return li;
    }),
  );
  box.hidden = shown.length === 0;
}
