// The submission page: questions, pick, hash on the device, send only the hashes, receipt.
import { HashError, hashFile, wireItem } from "./hasher.js";
import { initI18n, onLangChange, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
// {key, file, state: "queued"|"hashing"|"done"|"error", stage, result, duplicate, error, thumbUrl, el}
const entries = [];
let nextKey = 1;
let working = false;
let receipt = null;
let receiptKept = false; // copied or saved: then leaving the page loses nothing

// ---------- questions ----------

function answer(name) {
  const checked = document.querySelector(`input[name="${name}"]:checked`);
  return checked ? checked.value : null;
}

function updateQuestions() {
  const age = answer("age");
  const content = answer("content");
  $("q-adult").hidden = age !== "adult";
  $("q-unsure").hidden = age !== "unsure";
  $("q-content-set").hidden = age === "adult";
  $("q-notnude").hidden = !(age !== "adult" && content === "no");
  const ok = (age === "under18" || age === "unsure") && content === "yes";
  const wasHidden = $("step-pick").hidden;
  $("step-pick").hidden = !ok;
  if (ok && wasHidden) $("pick-h").scrollIntoView({ behavior: "smooth", block: "start" });
}

// ---------- file list ----------

function announce(text) {
  $("announce").textContent = text;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

function renderEntry(entry) {
  const { file } = entry;
  // A small still made by the hasher (never the full photo: a 12 MP decode per row is heavy
  // on a phone); an object URL of a local Blob, nothing leaves the device.
  const thumb = el("img", { class: "thumb", alt: "" });
  thumb.addEventListener("error", () => thumb.classList.add("broken"));

  const name = el("span", { class: "file-name", text: file.name });
  const status = el("span", { class: "file-status" });
  const progress = el("progress", { max: "100", value: "0" });
  const remove = el("button", { type: "button", class: "button small remove" });
  remove.addEventListener("click", () => removeEntry(entry));
  const hashes = el("code", { class: "file-hashes" });
  const body = el("div", { class: "file-body" }, name, status, progress, hashes);
  const li = el("li", { class: "file", "data-state": entry.state }, thumb, body, remove);
  entry.el = { li, status, progress, remove, name, hashes, thumb };
  updateEntry(entry);
  return li;
}

function updateEntry(entry) {
  const { li, status, progress, remove, hashes } = entry.el;
  li.dataset.state = entry.state;
  li.dataset.kind = entry.result ? entry.result.kind : "";
  progress.setAttribute("aria-label", t("file.progressLabel", { name: entry.file.name }));
  remove.textContent = t("file.remove");
  remove.setAttribute("aria-label", t("file.removeLabel", { name: entry.file.name }));
  progress.hidden = entry.state === "done" || entry.state === "error";
  status.classList.toggle("error", entry.state === "error");
  if (entry.state === "queued" || entry.state === "hashing") {
    status.textContent = t(entry.stage === "frames" ? "file.frames" : "file.hashing");
  } else if (entry.state === "done") {
    const low = entry.result.kind === "image" && entry.result.quality < 50;
    status.textContent = t(entry.duplicate ? "file.duplicate" : low ? "file.lowQuality" : "file.done");
  } else {
    status.textContent = t(`err.${entry.error}`);
  }
  // The hashes themselves, for anyone who wants to see exactly what is sent for this file.
  hashes.textContent = entry.state === "done" ? JSON.stringify(wireItem(entry.result).hashes) : "";
}

function refresh() {
  const total = entries.length;
  const done = entries.filter((e) => e.state === "done").length;
  const busy = entries.some((e) => e.state === "queued" || e.state === "hashing");
  $("files-summary").textContent = total ? t("files.summary", { done, total }) : t("files.none");
  const payload = buildPayload();
  $("payload").textContent = JSON.stringify(payload, null, 2);
  $("send").disabled = busy || payload.items.length === 0;
  $("send-hint").textContent = busy ? t("send.wait") : payload.items.length ? "" : t("send.nothing");
}

function buildPayload() {
  return { items: entries.filter((e) => e.state === "done" && !e.duplicate).map((e) => wireItem(e.result)) };
}

function addFiles(fileList) {
  for (const file of fileList) {
    const entry = { key: nextKey++, file, state: "queued", stage: "reading" };
    entries.push(entry);
    $("file-list").append(renderEntry(entry));
  }
  refresh();
  work();
}

function revoke(entry) {
  if (entry.thumbUrl) URL.revokeObjectURL(entry.thumbUrl);
}

function removeEntry(entry) {
  const i = entries.indexOf(entry);
  if (i < 0) return;
  entries.splice(i, 1);
  entry.removed = true;
  entry.el.li.remove();
  revoke(entry);
  if (!entry.duplicate && entry.state === "done") {
    const twin = entries.find((e) => e.duplicate && e.result.md5 === entry.result.md5);
    if (twin) {
      twin.duplicate = false;
      updateEntry(twin);
    }
  }
  announce(t("files.announceRemoved", { name: entry.file.name }));
  refresh();
  $("files").focus();
}

// One file at a time: keeps memory low on phones and the page responsive.
async function work() {
  if (working) return;
  working = true;
  try {
    for (let entry; (entry = entries.find((e) => e.state === "queued")); ) {
      entry.state = "hashing";
      updateEntry(entry);
      try {
        entry.result = await hashFile(entry.file, (stage, fraction) => {
          entry.stage = stage;
          // MD5 is the first half of the bar for videos, all of it for photos.
          const isVideo = entry.file.type.startsWith("video/") || stage === "frames";
          const value = isVideo ? (stage === "frames" ? 50 + 50 * fraction : 50 * fraction) : 100 * fraction;
          entry.el.progress.value = Math.round(value);
          updateEntry(entry);
        }, (still) => {
          if (entry.removed) return;
          entry.thumbUrl = URL.createObjectURL(still);
          entry.el.thumb.src = entry.thumbUrl;
        });
        // The same file picked twice is hashed but sent once.
        entry.duplicate = entries.some(
          (e) => e !== entry && e.state === "done" && !e.duplicate && e.result.md5 === entry.result.md5,
        );
        entry.state = "done";
        announce(t("files.announceDone", { name: entry.file.name }));
      } catch (err) {
        entry.state = "error";
        entry.error = err instanceof HashError ? err.code : "failed";
        announce(t("files.announceError", { name: entry.file.name }));
      }
      if (!entry.removed) updateEntry(entry);
      refresh();
    }
  } finally {
    working = false;
  }
}

// ---------- send ----------

async function send() {
  const payload = buildPayload();
  if (!payload.items.length) return;
  const button = $("send");
  button.disabled = true;
  button.textContent = t("send.sending");
  $("send-error").hidden = true;
  try {
    let response;
    try {
      response = await fetch("/v1/cases", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload),
        credentials: "omit",
        cache: "no-store",
        referrerPolicy: "no-referrer",
      });
    } catch {
      throw new Error(t("send.offline"));
    }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const reason = typeof data.detail === "string" ? data.detail : `HTTP ${response.status}`;
      throw new Error(t("send.failed", { reason }));
    }
    showReceipt(data);
  } catch (err) {
    $("send-error").textContent = err.message;
    $("send-error").hidden = false;
    button.disabled = false;
  } finally {
    button.textContent = t("send.button");
  }
}

function showReceipt(data) {
  receipt = { caseId: data.case_id, secret: data.case_secret, at: new Date(), data };
  // The files are no longer needed: drop previews and references.
  for (const e of entries) revoke(e);
  entries.length = 0;
  $("file-list").replaceChildren();
  $("step-pick").hidden = true;
  $("step-questions").hidden = true;
  $("step-intro").hidden = true;
  renderReceipt();
  $("step-receipt").hidden = false;
  $("step-receipt").focus();
}

function renderReceipt() {
  if (!receipt) return;
  // The case number (never the secret) rides in the fragment, which is not sent to the server.
  $("status-link").href = `status.html#${encodeURIComponent(receipt.caseId)}`;
  $("case-id").textContent = receipt.caseId;
  $("case-secret").textContent = receipt.secret;
  $("receipt-accepted").textContent = t("receipt.accepted", { n: receipt.data.items_accepted ?? 0 });
  const list = $("receipt-rejected");
  list.replaceChildren(
    ...(receipt.data.rejected || []).map((r) => el("li", { text: t("receipt.rejected", { index: r.index + 1, reason: r.reason }) })),
  );
}

function receiptText() {
  const statusUrl = new URL("status.html", location.href).href;
  return [
    t("receipt.file.title"),
    "",
    `${t("receipt.case")}: ${receipt.caseId}`,
    `${t("receipt.secret")}: ${receipt.secret}`,
    `${t("receipt.file.date")}: ${receipt.at.toISOString().slice(0, 10)}`,
    "",
    t("receipt.file.keep"),
    `${t("receipt.file.check")} ${statusUrl}`,
    "",
  ].join("\n");
}

function saveReceipt() {
  const blob = new Blob([receiptText()], { type: "text/plain;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const a = el("a", { href: url, download: `takeitdown-${receipt.caseId}.txt` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  receiptKept = true;
}

async function copy(button) {
  const text = $(button.dataset.copy).textContent;
  try {
    await navigator.clipboard.writeText(text);
    if (button.dataset.copy === "case-secret") receiptKept = true;
    $("copy-status").textContent = t("receipt.copied");
    button.textContent = t("receipt.copied");
    setTimeout(() => (button.textContent = t("receipt.copy")), 2000);
  } catch {
    const range = document.createRange();
    range.selectNodeContents($(button.dataset.copy));
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    $("copy-status").textContent = t("receipt.copyFailed");
  }
}

// ---------- wiring ----------

function init() {
  initI18n();
  for (const input of document.querySelectorAll('input[name="age"], input[name="content"]')) {
    input.addEventListener("change", updateQuestions);
  }
  updateQuestions();
  const input = $("files");
  input.addEventListener("change", () => {
    addFiles([...input.files]);
    input.value = ""; // let the same file be picked again after removing it
  });
  const drop = $("drop");
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (ev) => {
      ev.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const type of ["dragleave", "drop"]) drop.addEventListener(type, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (ev) => {
    ev.preventDefault();
    addFiles([...ev.dataTransfer.files].filter((f) => /^(image|video)\//.test(f.type) || f.type === ""));
  });
  // A file dropped outside the box must not make the browser navigate away to it.
  window.addEventListener("dragover", (ev) => ev.preventDefault());
  window.addEventListener("drop", (ev) => ev.preventDefault());
  $("send").addEventListener("click", send);
  // The secret is shown once: ask before the tab closes if it was neither copied nor saved.
  window.addEventListener("beforeunload", (ev) => {
    if (receipt && !receiptKept) ev.preventDefault();
  });
  $("save-receipt").addEventListener("click", saveReceipt);
  for (const b of document.querySelectorAll("button.copy")) b.addEventListener("click", () => copy(b));
  onLangChange(() => {
    for (const e of entries) updateEntry(e);
    refresh();
    renderReceipt();
  });
  refresh();
}

init();
