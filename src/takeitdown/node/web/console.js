// The review console: plain JS, no build step, nothing loaded from anywhere but this node
// (and the content images, from the platform's own URL template). Every text goes in with
// textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { me: null, items: [], index: 0, current: null, revealed: false };

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  if (options.method && options.method !== "GET" && state.me && state.me.csrf) headers["X-CSRF-Token"] = state.me.csrf;
  const r = await fetch(path, {
    ...options, headers, credentials: "same-origin",
    body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
  });
  const data = r.headers.get("content-type", "").startsWith("application/json") ? await r.json() : null;
  if (!r.ok) throw Object.assign(new Error((data && data.detail) || `HTTP ${r.status}`), { status: r.status, data });
  return data;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function age(iso) {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

function utc(iso) { return iso ? new Date(iso).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC") : ""; }

// -- sign-in -------------------------------------------------------------------------------
async function start() {
  try {
    state.me = await api("/v1/console/me");
  } catch (e) {
    showSignin();
    return;
  }
  signedIn();
}

function showSignin() {
  $("signin").hidden = false;
  $("queue").hidden = true; $("admin").hidden = true; $("tabs").hidden = true; $("who").hidden = true;
  $("signin-name").focus();
}

$("signin-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("signin-error").textContent = "";
  try {
    await api("/v1/console/signin", { method: "POST", body: { name: $("signin-name").value, secret: $("signin-secret").value } });
    $("signin-secret").value = "";
    state.me = await api("/v1/console/me");
    signedIn();
  } catch (e) {
    $("signin-error").textContent = e.message;
  }
});

$("signout").addEventListener("click", async () => {
  try { await api("/v1/console/signout", { method: "POST" }); } catch (e) { /* signed out anyway */ }
  state.me = null;
  showSignin();
});

function signedIn() {
  $("signin").hidden = true;
  $("tabs").hidden = false; $("who").hidden = false;
  $("who-name").textContent = `${state.me.name} (${state.me.role})`;
  $("tab-admin").hidden = state.me.role !== "admin";
  showTab("queue");
}

// -- tabs ------------------------------------------------------------------------------------
function showTab(name) {
  for (const b of document.querySelectorAll("#tabs button")) {
    if (b.dataset.tab === name) b.setAttribute("aria-current", "page"); else b.removeAttribute("aria-current");
  }
  $("queue").hidden = name !== "queue";
  $("admin").hidden = name !== "admin";
  if (name === "queue") loadQueue(); else loadAdmin();
}
for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => showTab(b.dataset.tab));

// -- the queue ---------------------------------------------------------------------------------
async function loadQueue(keepId) {
  const q = new URLSearchParams({ status: $("f-status").value, source: $("f-source").value, trust: $("f-trust").value });
  const data = await api(`/v1/console/queue?${q}`);
  state.items = data.items;
  const list = $("items");
  list.replaceChildren();
  state.items.forEach((it, i) => {
    const li = el("li");
    li.dataset.index = i;
    li.tabIndex = -1;
    li.append(el("span", it.ref || `item ${it.id}`, "ref"), el("span", age(it.created_at), "age"));
    const src = el("span", "", "src");
    if (it.priority > 0) src.append(el("span", "held", "badge high"));
    src.append(el("span", it.source, "badge"), el("span", it.status, "badge"));
    li.append(src);
    li.addEventListener("click", () => select(i));
    list.append(li);
  });
  $("empty").hidden = state.items.length > 0;
  let at = keepId ? state.items.findIndex((it) => it.id === keepId) : 0;
  if (at < 0) at = Math.min(state.index, state.items.length - 1);
  if (state.items.length) select(Math.max(0, at)); else { $("item").hidden = true; state.current = null; }
}

for (const id of ["f-status", "f-source", "f-trust"]) $(id).addEventListener("change", () => loadQueue());

function select(i) {
  if (i < 0 || i >= state.items.length) return;
  state.index = i;
  for (const li of $("items").children) li.setAttribute("aria-selected", String(Number(li.dataset.index) === i));
  $("items").children[i].scrollIntoView({ block: "nearest" });
  show(state.items[i]);
}

function show(it) {
  state.current = it;
  state.revealed = false;
  $("item").hidden = false;
  $("item-title").textContent = it.ref || `item ${it.id}`;
  const badges = $("item-badges");
  badges.replaceChildren();
  if (it.priority > 0) badges.append(el("span", "held upload: high priority", "badge high"));
  badges.append(el("span", it.source, "badge"), el("span", it.status, "badge"));
  const facts = $("item-facts");
  facts.replaceChildren();
  const add = (k, v) => { if (v !== null && v !== undefined && v !== "") facts.append(el("dt", k), el("dd", v)); };
  add("Review item", it.id);
  add("Waiting", `${age(it.created_at)} (since ${utc(it.created_at)})`);
  add("Uploader account", it.account);
  add("MD5", it.md5);
  add("PDQ", it.pdq);
  add("Decided", it.decided_by ? `${it.decided_by}, ${utc(it.decided_at)}` : null);
  add("Reason", it.decision_reason || it.reason);
  const rows = $("matches");
  rows.replaceChildren();
  for (const m of it.matches) {
    const tr = el("tr");
    const dist = m.type === "vpdq" ? `${100 - m.distance}% of frames` : m.type === "md5" ? "exact" : `${m.distance} bits`;
    tr.append(el("td", m.type), el("td", dist), el("td", m.entry_id ?? "local block"),
      el("td", m.trust || (m.source === "local" ? "this platform's block" : "unknown")), el("td", m.source));
    rows.append(tr);
  }
  const media = $("media");
  media.classList.add("veiled");
  $("revealed-note").hidden = true;
  $("reveal").disabled = false;
  const img = $("media-img");
  if (state.me.content_url && it.ref) {
    img.hidden = false; $("media-none").hidden = true;
    img.src = state.me.content_url.replace("{ref}", encodeURIComponent(it.ref));
  } else {
    img.hidden = true; img.removeAttribute("src"); $("media-none").hidden = false;
  }
  $("reason").value = "";
  $("decide-msg").textContent = "";
  const open = it.status === "pending" || it.status === "escalated";
  for (const b of document.querySelectorAll("[data-decision]")) b.disabled = !open;
}

async function reveal() {
  const it = state.current;
  if (!it || state.revealed) return;
  try {
    await api(`/v1/console/items/${it.id}/reveal`, { method: "POST", body: {} });
  } catch (e) { $("decide-msg").textContent = e.message; return; }
  state.revealed = true;
  $("media").classList.remove("veiled");
  $("revealed-note").hidden = false;
  $("reveal").disabled = true;
}
$("reveal").addEventListener("click", reveal);

async function decide(decision) {
  const it = state.current;
  if (!it) return;
  const reason = $("reason").value.trim();
  if (decision === "escalate" && !reason) {
    $("decide-msg").textContent = "Write why you escalate it first (press c).";
    $("reason").focus();
    return;
  }
  try {
    await api(`/v1/review/${it.id}`, { method: "POST", body: { decision, reason: reason || null } });
  } catch (e) { $("decide-msg").textContent = e.message; return; }
  await loadQueue();
  // said after the queue moved on, so the next item shows what became of the last one
  $("decide-msg").textContent = `Decided: ${decision.replace(/_/g, " ")} (${it.ref || "item " + it.id}).`;
}
for (const b of document.querySelectorAll("[data-decision]")) b.addEventListener("click", () => decide(b.dataset.decision));

document.addEventListener("keydown", (ev) => {
  if ($("queue").hidden || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const typing = ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName);
  if (typing) {
    if (ev.key === "Escape") document.activeElement.blur();
    return;
  }
  const keys = {
    j: () => select(state.index + 1), k: () => select(state.index - 1), v: reveal,
    c: () => $("reason").focus(), r: () => decide("remove"), n: () => decide("not_a_match"), e: () => decide("escalate"),
  };
  const f = keys[ev.key];
  if (f) { ev.preventDefault(); f(); }
});

// -- admin ---------------------------------------------------------------------------------------
async function loadAdmin() {
  const [users, audit, verify, health, dead] = await Promise.all([
    api("/v1/users"), api("/v1/audit?latest=true&limit=200"), api("/v1/audit/verify"),
    api("/v1/console/health"), api("/v1/webhooks/dead"),
  ]);
  const ut = $("users");
  ut.replaceChildren();
  for (const u of users.users) {
    const tr = el("tr");
    const b = el("button", "Disable");
    b.type = "button";
    b.disabled = u.disabled;
    b.addEventListener("click", async () => { await api(`/v1/users/${encodeURIComponent(u.name)}/disable`, { method: "POST", body: {} }); loadAdmin(); });
    const cell = el("td"); cell.append(b);
    tr.append(el("td", u.name), el("td", u.role), el("td", u.disabled ? "disabled" : u.locked ? "locked" : "active"), cell);
    ut.append(tr);
  }
  $("audit-verify").textContent = verify.ok ? `chain intact (${verify.rows} rows)` : `TAMPERED at row ${verify.first_bad}: ${verify.problem}`;
  const at = $("audit");
  at.replaceChildren();
  for (const r of audit.rows) {
    const tr = el("tr");
    tr.append(el("td", r.seq), el("td", utc(r.at)), el("td", r.actor), el("td", r.action), el("td", r.subject), el("td", r.reason));
    at.append(tr);
  }
  const h = $("health");
  h.replaceChildren();
  const put = (k, v) => h.append(el("dt", k), el("dd", v));
  put("Sync cursor", health.sync.cursor);
  put("Last success", utc(health.sync.last_success) || "never");
  put("Sync error", health.sync.last_error || "none");
  put("Entries", Object.entries(health.entries).map(([k, v]) => `${k} ${v}`).join(", ") || "0");
  put("Inventory items", health.inventory.items);
  put("Review", Object.entries(health.review).map(([k, v]) => `${k} ${v}`).join(", ") || "empty");
  put("Webhooks", `${health.webhooks.enabled ? "on" : "off"}: ${health.webhooks.pending} waiting, ${health.webhooks.delivered} delivered, ${health.webhooks.dead} dead`);
  put("Reports to the registry", `${health.outbox.pending} waiting, ${health.outbox.sent} sent`);
  const dt = $("dead");
  dt.replaceChildren();
  if (!dead.events.length) {
    const tr = el("tr"); const td = el("td", "None: every event was delivered or is still being tried.", "muted");
    td.colSpan = 5; tr.append(td); dt.append(tr);
  }
  for (const d of dead.events) {
    const tr = el("tr");
    const b = el("button", "Retry");
    b.type = "button";
    b.addEventListener("click", async () => { await api(`/v1/webhooks/dead/${d.row}/retry`, { method: "POST", body: {} }); loadAdmin(); });
    const cell = el("td"); cell.append(b);
    tr.append(el("td", d.id), el("td", d.type), el("td", d.attempts), el("td", d.last_error), cell);
    dt.append(tr);
  }
}

$("user-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    const u = await api("/v1/users", { method: "POST", body: { name: $("user-name").value, role: $("user-role").value } });
    $("user-secret").textContent = `Secret for ${u.name} (shown once): ${u.secret}`;
    $("user-name").value = "";
    loadAdmin();
  } catch (e) { $("user-secret").textContent = e.message; }
});

start();
