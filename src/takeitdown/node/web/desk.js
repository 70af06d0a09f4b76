// The console's "Legal requests" tab: the TAKE IT DOWN desk (docs/takedown.md). Kept apart from
// console.js (whose helpers it uses): it adds its own tab button, shows only for desk and admin
// users, and talks to /v1/desk/ with the session's CSRF token. Text goes in with textContent, never HTML.
"use strict";

(() => {
  // `$`, `api` (session cookie and CSRF token) and `el` come from console.js, loaded first.
  const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;
  const desk = { me: null, current: null };
  const call = (path, body) => api(path, body === undefined ? {} : { method: "POST", body });

  const tab = el("button", "Legal requests");
  tab.type = "button";
  tab.id = "tab-desk";
  tab.hidden = true;

  function show(on) {
    $("desk").hidden = !on;
    if (on) {
      $("queue").hidden = true;
      $("admin").hidden = true;
      for (const b of document.querySelectorAll("#tabs button")) b.removeAttribute("aria-current");
      tab.setAttribute("aria-current", "page");
      load();
    } else {
      tab.removeAttribute("aria-current");
    }
  }

  async function load() {
    const data = await call("/v1/desk/requests");
    const rows = $("desk-rows");
    rows.replaceChildren();
    $("desk-empty").hidden = data.requests.length > 0;
    for (const r of data.requests) {
      const tr = el("tr");
      tr.tabIndex = 0;
      const left = el("td", r.time_left);
      if (r.breach) left.append(" ", el("span", "breach", "badge high"));
      else if (r.warning) left.append(" ", el("span", "36 h passed", "badge high"));
      tr.append(el("td", r.request_id), el("td", r.state), left, el("td", r.received_at));
      tr.addEventListener("click", () => open(r.request_id));
      tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter") open(r.request_id); });
      if (desk.current === r.request_id) tr.setAttribute("aria-selected", "true");
      rows.append(tr);
    }
  }

  function facts(target, pairs) {
    target.replaceChildren();
    for (const [k, v] of pairs) {
      if (v === null || v === undefined || v === "") continue;
      target.append(el("dt", k), el("dd", v));
    }
  }

  async function open(id) {
    desk.current = id;
    $("desk-msg").textContent = "";
    let r;
    try {
      r = await call(`/v1/desk/requests/${encodeURIComponent(id)}`);
    } catch (e) {
      $("desk-msg").textContent = e.message;
      return;
    }
    $("desk-detail").hidden = false;
    $("desk-title").textContent = r.request_id;
    facts($("desk-facts"), [
      ["State", r.state], ["Time left", r.time_left], ["Deadline", r.deadline], ["Received", r.received_at],
      ["Validated", r.validated_at], ["Acting", r.acting_for === "self" ? "the person in the image" : "for the person in the image"],
      ["Under 18", r.minor ? "yes" : null], ["Told the requester", r.note], ["Breach", r.breach],
    ]);
    const p = r.personal || {};
    facts($("desk-personal"), p.deleted ? [["Personal data", "deleted after the retention period"]] : [
      ["Signature", p.signature], ["Contact", p.contact], ["Statement", p.statement],
      ...(p.answers || []).map((a) => [`Answer ${a.at}`, a.note]),
    ]);
    const items = $("desk-items");
    items.replaceChildren();
    for (const i of r.items) {
      const tr = el("tr");
      tr.append(el("td", i.ref), el("td", i.kind.replace(/_/g, " ")), el("td", i.state.replace(/_/g, " ")),
        el("td", i.distance === null ? "" : i.distance));
      items.append(tr);
    }
    const running = ["valid", "removing"].includes(r.state);
    $("desk-validate").disabled = r.state !== "valid" || !!r.validated_at;
    $("desk-incomplete").disabled = r.state !== "valid" || !!r.validated_at;
    $("desk-remove").disabled = !running;
    $("desk-decline").disabled = !["valid", "incomplete"].includes(r.state);
    load();
  }

  async function act(action, needsReason) {
    const reason = $("desk-reason").value.trim();
    if (needsReason && !reason) {
      $("desk-msg").textContent = "Write the reason first: the requester will see it.";
      $("desk-reason").focus();
      return;
    }
    try {
      const out = await call(`/v1/desk/requests/${encodeURIComponent(desk.current)}/${action}`, { reason });
      $("desk-reason").value = "";
      await open(desk.current); // clears the message line: the outcome goes after it
      $("desk-msg").textContent = action === "remove"
        ? `Removal asked for ${count(out.refs.length, "item", "items")}; ` +
          `${count(out.likely_copies.length, "likely copy", "likely copies")} sent to review.`
        : `Done: ${action}.`;
    } catch (e) {
      $("desk-msg").textContent = e.message;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!$("desk")) return;
    $("tabs").append(tab);
    tab.addEventListener("click", () => show(true));
    for (const b of document.querySelectorAll("#tabs button[data-tab]")) b.addEventListener("click", () => show(false));
    $("desk-validate").addEventListener("click", () => act("validate", false));
    $("desk-incomplete").addEventListener("click", () => act("incomplete", true));
    $("desk-remove").addEventListener("click", () => act("remove", false));
    $("desk-decline").addEventListener("click", () => act("decline", true));
    $("desk-refresh").addEventListener("click", load);
    // console.js shows the tabs once someone is signed in: then ask who it is.
    new MutationObserver(async () => {
      if ($("tabs").hidden) { tab.hidden = true; show(false); return; }
      try {
        desk.me = await call("/v1/console/me");
      } catch (e) {
        return;
      }
      tab.hidden = !["desk", "admin"].includes(desk.me.role);
    }).observe($("tabs"), { attributes: true, attributeFilter: ["hidden"] });
  });
})();
