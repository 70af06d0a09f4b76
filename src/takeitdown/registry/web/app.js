// The submission page: questions, pick, hash on the device, send only the hashes, receipt.
import { HashError, MAX_PIXELS, hashFile, warmUp, wireItem } from "./hasher.js";
import { currentLang, initI18n, onLangChange, t, tFill } from "./i18n.js";
import { problemKey, rejectKey, retryable } from "./problems.js";
import { showSupport } from "./support.js";

const $ = (id) => document.getElementById(id);
// The most files one go can take: past it the picking stops (and says so) before any hashing.
export const MAX_FILES = 500;
const RETRY_DELAYS_MS = [1000, 3000];
// {key, file, state: "queued"|"hashing"|"done"|"error", stage, result, duplicate, error, thumbUrl, el}
const entries = [];
let nextKey = 1;
let working = false;
let receipt = null;
// Case numbers whose secret was copied or saved: leaving the page then loses nothing of them.
const keptCases = new Set();
let hashFailures = []; // files that could not be hashed, kept for the receipt once the list is gone
let duplicates = 0;
let config = { max_items: 100, max_body_bytes: 4 * 1024 * 1024, max_case_frames: 6000, support: [] };
// Once Send is pressed the batches are fixed, each with its Idempotency-Key, so pressing Send
// again after a lost reply or a busy server sends the same bodies and cannot make a second case.
let plan = null; // [{entries, body, key, result: null | {caseId, secret, accepted, rejected}}]
let tooMany = 0; // files left out because more than MAX_FILES were picked

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
  if (ok && wasHidden) {
    $("pick-h").scrollIntoView({ behavior: "smooth", block: "start" });
    warmUp();
  }
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

/** A value that must keep left-to-right order inside any sentence: a case number, a secret. */
function ltr(text, tag = "bdi") {
  const node = el(tag, { dir: "ltr", text });
  return node;
}

function renderEntry(entry) {
  const { file } = entry;
  // A small still made by the hasher (never the full photo: a 12 MP decode per row is heavy
  // on a phone); an object URL of a local Blob, nothing leaves the device.
  const thumb = el("img", { class: "thumb", alt: "" });
  thumb.addEventListener("error", () => thumb.classList.add("broken"));

  const name = el("bdi", { class: "file-name", text: file.name });
  const status = el("span", { class: "file-status" });
  const progress = el("progress", { max: "100", value: "0" });
  const remove = el("button", { type: "button", class: "button small remove" });
  remove.addEventListener("click", () => removeEntry(entry));
  const hashes = el("code", { class: "file-hashes", dir: "ltr" });
  const body = el("div", { class: "file-body" }, name, status, progress, hashes);
  const li = el("li", { class: "file", "data-state": entry.state }, thumb, body, remove);
  entry.el = { li, status, progress, remove, name, hashes, thumb };
  updateEntry(entry);
  return li;
}

function isLowQuality(result) {
  return result.kind === "image" && result.quality < 50;
}

function updateEntry(entry) {
  const { li, status, progress, remove, hashes } = entry.el;
  li.dataset.state = entry.state;
  li.dataset.kind = entry.result ? entry.result.kind : "";
  // How a video's frames were decoded ("forward" or "seek"), for the tests; never sent.
  li.dataset.decoded = (entry.result && entry.result.decoded) || "";
  li.dataset.low = entry.result && isLowQuality(entry.result) ? "1" : "";
  li.dataset.error = entry.state === "error" ? entry.error || "rejected" : "";
  progress.setAttribute("aria-label", t("file.progressLabel", { name: entry.file.name }));
  remove.textContent = t("file.remove");
  remove.setAttribute("aria-label", t("file.removeLabel", { name: entry.file.name }));
  remove.hidden = plan !== null; // the batches are fixed once sending started
  progress.hidden = entry.state === "done" || entry.state === "error";
  status.classList.toggle("error", entry.state === "error");
  if (entry.state === "queued" || entry.state === "hashing") {
    status.textContent = t(entry.stage === "frames" ? "file.frames" : "file.hashing");
  } else if (entry.state === "done") {
    status.textContent = t(entry.duplicate ? "file.duplicate" : isLowQuality(entry.result) ? "file.lowQuality" : "file.done");
  } else if (entry.rejectKey) {
    status.textContent = t(entry.rejectKey);
  } else {
    status.textContent = t(`err.${entry.error}`, { mp: MAX_PIXELS / 1e6 });
  }
  // The hashes themselves, for anyone who wants to see exactly what is sent for this file.
  hashes.textContent = entry.state === "done" ? JSON.stringify(wireItem(entry.result).hashes) : "";
}

function sendable() {
  return entries.filter((e) => e.state === "done" && !e.duplicate);
}

function frameCount(result) {
  return result.kind === "video" && Array.isArray(result.frames) ? result.frames.length : 0;
}

/** Split the files into cases the registry takes: at most max_items each, bodies under its
 * limit, and at most max_case_frames video frame hashes in all (ten 10-minute videos). */
export function batches(list, maxItems, maxBytes, maxFrames = Infinity) {
  const out = [];
  let current = [];
  let size = 0;
  let frames = 0;
  const budget = Math.max(1024, Math.floor(maxBytes * 0.9)); // room for the envelope
  for (const entry of list) {
    const item = JSON.stringify(wireItem(entry.result));
    const n = frameCount(entry.result);
    const full = current.length >= maxItems || size + item.length + 1 > budget || frames + n > maxFrames;
    if (current.length && full) {
      out.push(current);
      current = [];
      size = 0;
      frames = 0;
    }
    current.push(entry);
    size += item.length + 1;
    frames += n;
  }
  if (current.length) out.push(current);
  return out;
}

function planBatches() {
  return batches(sendable(), config.max_items, config.max_body_bytes, config.max_case_frames);
}

function payloadOf(list) {
  return { items: list.map((e) => wireItem(e.result)) };
}

function refresh() {
  const total = entries.length;
  const done = entries.filter((e) => e.state === "done").length;
  const busy = entries.some((e) => e.state === "queued" || e.state === "hashing");
  $("files-summary").textContent = total ? t("files.summary", { done, total }) : t("files.none");
  const list = sendable();
  const groups = plan ? plan.map((b) => b.entries) : planBatches();
  $("payload").textContent = groups
    .map((g) => JSON.stringify(payloadOf(g), null, 2))
    .join("\n\n");
  const split = $("send-split");
  split.hidden = groups.length < 2;
  if (groups.length > 1) {
    // Split by the file count alone, or also by size or video frames (then no count explains it).
    const byCount = Math.ceil(groups.reduce((n, g) => n + g.length, 0) / config.max_items) === groups.length;
    split.textContent = byCount ? t("pick.split", { n: groups.length, max: config.max_items }) : t("pick.splitSize");
  }
  const limit = $("pick-limit");
  limit.hidden = !tooMany;
  if (tooMany) limit.textContent = t("pick.tooMany", { max: MAX_FILES });
  const sending = $("send").dataset.busy === "1";
  $("send").disabled = busy || sending || list.length === 0;
  $("send-hint").textContent = busy ? t("send.wait") : list.length ? "" : t("send.nothing");
  $("files").disabled = plan !== null;
}

function addFiles(fileList) {
  if (plan) return;
  const room = MAX_FILES - entries.length;
  const taken = fileList.slice(0, Math.max(0, room));
  tooMany = fileList.length - taken.length;
  for (const file of taken) {
    const entry = { key: nextKey++, file, state: "queued", stage: "reading" };
    entries.push(entry);
    $("file-list").append(renderEntry(entry));
  }
  refresh();
  if (tooMany) $("pick-limit").scrollIntoView({ block: "nearest" });
  work();
}

function revoke(entry) {
  if (entry.thumbUrl) URL.revokeObjectURL(entry.thumbUrl);
}

function removeEntry(entry) {
  if (plan) return;
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
  if (entries.length < MAX_FILES) tooMany = 0;
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
        entry.result = await hashFile(
          entry.file,
          (stage, fraction) => {
            entry.stage = stage;
            // MD5 is the first half of the bar for videos, all of it for photos.
            const isVideo = entry.kind === "video" || entry.file.type.startsWith("video/") || stage === "frames";
            const value = isVideo ? (stage === "frames" ? 50 + 50 * fraction : 50 * fraction) : 100 * fraction;
            entry.el.progress.value = Math.round(value);
            updateEntry(entry);
          },
          (still) => {
            if (entry.removed) return;
            entry.thumbUrl = URL.createObjectURL(still);
            entry.el.thumb.src = entry.thumbUrl;
          },
          (kind) => (entry.kind = kind),
        );
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

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** POST one case; {status, data}. status 0: no reply reached us (offline, or the reply was lost). */
async function postCase(batch) {
  let response;
  try {
    response = await fetch("/v1/cases", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": batch.key },
      body: batch.body,
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  } catch {
    return { status: 0, data: null };
  }
  const data = await response.json().catch(() => null);
  return { status: response.status, data };
}

/** Send one batch, again with the same key while the reply is lost or the server is busy. */
async function sendBatch(batch) {
  let reply;
  for (let attempt = 0; ; attempt++) {
    reply = await postCase(batch);
    if (!retryable(reply.status) || attempt >= RETRY_DELAYS_MS.length) break;
    $("send-error").textContent = t("send.retrying");
    $("send-error").hidden = false;
    await sleep(RETRY_DELAYS_MS[attempt]);
  }
  const { status, data } = reply;
  if (status === 201 && data && typeof data.case_id === "string") {
    batch.result = {
      caseId: data.case_id,
      secret: data.case_secret,
      accepted: data.items_accepted ?? batch.entries.length,
      rejected: Array.isArray(data.rejected) ? data.rejected : [],
    };
    return null;
  }
  if (data && data.code === "case.nothing_accepted") {
    // Nothing in this batch could be taken: say why for each file; no case was made.
    batch.result = { caseId: null, secret: null, accepted: 0, rejected: Array.isArray(data.rejected) ? data.rejected : [] };
    return null;
  }
  return status === 0 ? "send.offline" : problemKey(status, data);
}

function makePlan() {
  return planBatches().map((list) => ({
    entries: list,
    body: JSON.stringify(payloadOf(list)),
    key: crypto.randomUUID(),
    result: null,
  }));
}

/** Send every batch of the plan not sent yet, in order; stop at the first that fails. */
async function sendPlan() {
  let failure = null;
  for (const batch of plan) {
    if (batch.result) continue;
    failure = await sendBatch(batch);
    if (failure) break;
  }
  // Mark the files the registry turned down, by their place in their batch.
  for (const batch of plan) {
    if (!batch.result || batch.marked) continue;
    batch.marked = true;
    for (const r of batch.result.rejected) {
      const entry = batch.entries[r.index];
      if (!entry) continue;
      entry.state = "error";
      entry.rejectKey = rejectKey(r.code);
    }
  }
  return failure;
}

function madeCases() {
  return plan ? plan.filter((b) => b.result && b.result.caseId) : [];
}

async function send() {
  if (!plan) {
    if (!sendable().length) return;
    plan = makePlan();
    for (const e of entries) updateEntry(e);
  }
  const button = $("send");
  button.dataset.busy = "1";
  button.disabled = true;
  button.textContent = t("send.sending");
  $("send-error").hidden = true;
  const failure = await sendPlan();
  button.dataset.busy = "";
  button.textContent = t("send.button");
  if (madeCases().length) {
    // At least one case exists: its number and secret are shown now, whatever came after it.
    showReceipt(failure);
    return;
  }
  for (const e of entries) updateEntry(e);
  // Not one case could be made: stay on the list. Either nothing got through (say why, Send
  // again sends the same bodies), or every file was turned down (each file says why).
  $("send-error").textContent = t(failure || "api.nothingAccepted");
  $("send-error").hidden = false;
  refresh();
}

/** From the receipt: send the batches a failure stopped, with the keys they were first sent with. */
async function sendRest() {
  const button = $("send-rest");
  button.disabled = true;
  button.textContent = t("send.sending");
  const failure = await sendPlan();
  button.disabled = false;
  showReceipt(failure);
}

function showReceipt(failure = null) {
  if (!receipt) {
    // First receipt: what never reached a batch (could not be hashed, or the same file twice).
    const planned = new Set(plan.flatMap((b) => b.entries));
    hashFailures = entries
      .filter((e) => e.state === "error" && !planned.has(e))
      .map((e) => ({ name: e.file.name, key: `err.${e.error}` }));
    duplicates = entries.filter((e) => e.duplicate).length;
  }
  const done = plan.filter((b) => b.result);
  const doneEntries = done.flatMap((b) => b.entries);
  const sentEntries = doneEntries.filter((e) => e.state === "done");
  receipt = {
    at: receipt ? receipt.at : new Date(),
    cases: done
      .filter((b) => b.result.caseId)
      .map((b) => ({ caseId: b.result.caseId, secret: b.result.secret, items: b.result.accepted })),
    sent: sentEntries.length,
    failed: [
      ...hashFailures,
      ...doneEntries.filter((e) => e.state === "error").map((e) => ({ name: e.file.name, key: e.rejectKey })),
    ],
    notShared: sentEntries.filter((e) => isLowQuality(e.result)).map((e) => e.file.name),
    duplicates,
    // Files of batches a failure stopped: not sent yet, and why.
    pending: plan.filter((b) => !b.result).flatMap((b) => b.entries.map((e) => e.file.name)),
    failure,
  };
  // The files are no longer needed (a batch not sent yet keeps its body, not its files): drop
  // previews and references.
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

function copyButton(target) {
  const b = el("button", { type: "button", class: "button small copy" });
  b.textContent = t("receipt.copy");
  b.addEventListener("click", () => copy(b, target));
  return b;
}

function renderReceipt() {
  if (!receipt) return;
  const many = receipt.cases.length > 1;
  const partial = receipt.pending.length > 0;
  $("receipt-h").textContent = t(partial ? "receipt.headingPartial" : many ? "receipt.headingMany" : "receipt.heading");
  $("receipt-pending-box").hidden = !partial;
  if (partial) {
    $("receipt-pending-why").textContent = t(receipt.failure || "api.unknown");
    $("receipt-pending-help").textContent = t("receipt.pendingHelp");
    $("receipt-pending").replaceChildren(
      ...receipt.pending.map((name) => el("li", {}, el("bdi", { text: name }))),
    );
    $("send-rest").textContent = t("receipt.sendRest");
  }
  $("receipt-cases").replaceChildren(
    ...receipt.cases.map((c, k) => {
      const id = ltr(c.caseId, "code");
      id.className = "case-id";
      const secret = ltr(c.secret, "code");
      secret.className = "case-secret";
      const box = el("div", { class: "case-box", "data-case": c.caseId });
      if (many) box.append(el("h3", { text: t("receipt.caseTitle", { k: k + 1, n: receipt.cases.length }) }));
      const fields = el(
        "dl",
        { class: "receipt-fields" },
        el("div", {}, el("dt", { text: t("receipt.case") }), el("dd", {}, id, copyButton(id))),
        el("div", {}, el("dt", { text: t("receipt.secret") }), el("dd", {}, secret, copyButton(secret))),
      );
      box.append(fields, tFill(el("p", { class: "hint" }), "receipt.caseFiles", { n: c.items }));
      // The case number (never the secret) rides in the fragment, which is not sent to the server.
      const link = el("a", { href: `status.html#${encodeURIComponent(c.caseId)}`, class: "status-link" });
      link.textContent = t("receipt.statusLink");
      box.append(el("p", {}, link));
      return box;
    }),
  );
  tFill($("receipt-sent"), "receipt.sent", { n: receipt.sent });
  $("receipt-duplicates").hidden = !receipt.duplicates;
  tFill($("receipt-duplicates"), "receipt.duplicates", { n: receipt.duplicates });
  $("receipt-failed-box").hidden = !receipt.failed.length;
  $("receipt-failed").replaceChildren(
    ...receipt.failed.map((f) =>
      tFill(el("li"), "receipt.failedItem", { name: f.name, reason: t(f.key, { mp: MAX_PIXELS / 1e6 }) }),
    ),
  );
  $("receipt-notshared-box").hidden = !receipt.notShared.length;
  $("receipt-notshared").replaceChildren(
    ...receipt.notShared.map((name) => tFill(el("li"), "receipt.notSharedLow", { name })),
  );
}

function receiptText() {
  const statusUrl = new URL("status.html", location.href).href;
  const lines = [t("receipt.file.title"), ""];
  receipt.cases.forEach((c, k) => {
    if (receipt.cases.length > 1) lines.push(t("receipt.caseTitle", { k: k + 1, n: receipt.cases.length }));
    lines.push(`${t("receipt.case")}: ${c.caseId}`, `${t("receipt.secret")}: ${c.secret}`);
    lines.push(t("receipt.caseFiles", { n: c.items }), "");
  });
  lines.push(`${t("receipt.file.date")}: ${receipt.at.toISOString().slice(0, 10)}`, "");
  lines.push(t("receipt.sent", { n: receipt.sent }), "");
  if (receipt.pending.length) lines.push(`${t("receipt.pendingHeading")}: ${receipt.pending.length}`, "");
  lines.push(t("receipt.file.keep"), `${t("receipt.file.check")} ${statusUrl}`, "");
  return lines.join("\n");
}

function saveReceipt() {
  const blob = new Blob([receiptText()], { type: "text/plain;charset=utf-8" });
  const url = URL.createObjectURL(blob);
  const name = receipt.cases.length > 1 ? `takeitdown-${receipt.cases.length}-cases` : `takeitdown-${receipt.cases[0].caseId}`;
  const a = el("a", { href: url, download: `${name}.txt` });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  for (const c of receipt.cases) keptCases.add(c.caseId);
}

async function copy(button, target) {
  const text = target.textContent;
  try {
    await navigator.clipboard.writeText(text);
    const box = target.closest("[data-case]");
    if (target.classList.contains("case-secret") && box) keptCases.add(box.dataset.case);
    $("copy-status").textContent = t("receipt.copied");
    button.textContent = t("receipt.copied");
    setTimeout(() => (button.textContent = t("receipt.copy")), 2000);
  } catch {
    const range = document.createRange();
    range.selectNodeContents(target);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    $("copy-status").textContent = t("receipt.copyFailed");
  }
}

// ---------- wiring ----------

async function loadConfig() {
  try {
    const r = await fetch("config.json", { credentials: "omit", cache: "no-store" });
    if (r.ok) config = { ...config, ...(await r.json()) };
  } catch {
    // the defaults match the registry's; batches may just be smaller than needed
  }
}

async function init() {
  await Promise.all([initI18n(), loadConfig()]);
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
    // Every dropped file, whatever type the browser guesses from its name: the kind comes from
    // its first bytes, and a file that is neither photo nor video is told why, not dropped unseen.
    addFiles([...ev.dataTransfer.files]);
  });
  // A file dropped outside the box must not make the browser navigate away to it.
  window.addEventListener("dragover", (ev) => ev.preventDefault());
  window.addEventListener("drop", (ev) => ev.preventDefault());
  $("send").addEventListener("click", send);
  // A secret is shown once: ask before the tab closes while a case exists whose secret was
  // neither copied nor saved (also while later batches are still being sent).
  window.addEventListener("beforeunload", (ev) => {
    if (madeCases().some((b) => !keptCases.has(b.result.caseId))) ev.preventDefault();
  });
  $("send-rest").addEventListener("click", sendRest);
  $("save-receipt").addEventListener("click", saveReceipt);
  const support = () => showSupport($("support"), $("support-links"), config.support, currentLang());
  onLangChange(() => {
    for (const e of entries) updateEntry(e);
    refresh();
    renderReceipt();
    support();
  });
  support();
  refresh();
  document.documentElement.dataset.ready = "1";
}

init();
