// The TAKE IT DOWN request form: sends the four elements as JSON to this platform's node, and
// lets a requester check on a request and answer the desk's questions with its number and secret.
// Optionally the requester picks the image or video: it is hashed on this device with the
// submission page's own hasher (hasher.js, served from takeitdown/webshared) and only the hashes
// go in the request's `hashes` field. The file, its name and its size never leave the device.
// Words come from i18n/<code>.json (the form's own tables) through the page's i18n.js.
import { HashError, MAX_PIXELS, hashFile, warmUp, wireItem } from "./hasher.js";
import { currentLang, initI18n, onLangChange, setPageVars, t, tFill } from "./i18n.js";

const $ = (id) => document.getElementById(id);
// The platform's name as its operator set it, or "": each table then says "this platform" in a
// sentence of its own (the `.anon` keys), since a name and a description do not decline alike.
const PLATFORM = document.documentElement.dataset.platform || "";
// The node takes at most 200 hash objects a request (takedown.MAX_HASHES) and a file gives up to
// 19 (an animation's six pictures with their windows, and its MD5): ten files always fit.
const MAX_FILES = 10;
const MAX_BODY = 250_000; // the node takes 256 KiB: the text fields need the rest

function lines(text) {
  return text.split("\n").map((s) => s.trim()).filter(Boolean);
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

// -- problems: kept as keys, so a change of language says them again -------------------------
const shown = {}; // box id -> {lead, items: [[key, vars]]}

function renderProblems(boxId) {
  const box = $(boxId);
  const { lead, items } = shown[boxId];
  const ul = el("ul");
  for (const [key, vars] of items) ul.append(el("li", {}, t(key, vars)));
  box.replaceChildren(el("p", {}, t(lead)), ul);
}

function showProblems(items, boxId = "problems", lead = "problems.missing") {
  shown[boxId] = { lead, items: items.map((i) => (Array.isArray(i) ? i : [i, {}])) };
  renderProblems(boxId);
  $(boxId).hidden = false;
  $(boxId).focus();
}

function hideProblems(boxId) {
  delete shown[boxId];
  $(boxId).hidden = true;
}

function trouble(status) {
  if (status === 429) return "trouble.rate";
  if (status === 413) return "trouble.tooLarge";
  if (status === 503) return "trouble.closed";
  if (status === 422 || status === 409 || status === 400) return "trouble.check";
  return "trouble.server";
}

async function send(url, options) {
  try {
    const reply = await fetch(url, { ...options, credentials: "omit" });
    return { reply, data: await reply.json().catch(() => ({})) };
  } catch {
    return { reply: null, data: {} };
  }
}

function when(iso) {
  return new Date(iso).toLocaleString(currentLang(), { dateStyle: "full", timeStyle: "short" });
}

function bdi(text, id) {
  const node = el("bdi", id ? { id, dir: "ltr" } : { dir: "ltr" });
  node.textContent = text;
  return node;
}

// -- the optional hashes, made on this device ---------------------------------------------------
const entries = []; // {file, state: queued|hashing|done|error, stage, result, error, duplicate, thumbUrl, el}
let queue = Promise.resolve();

function isLowQuality(result) {
  return result.kind === "image" && result.quality < 50;
}

function sendable() {
  return entries.filter((e) => e.state === "done" && !e.duplicate);
}

/** The request's `hashes`: each picked file's wire hashes, as the submission page sends them. */
function hashes() {
  return sendable().flatMap((e) => wireItem(e.result).hashes);
}

function busy() {
  return entries.some((e) => e.state === "queued" || e.state === "hashing");
}

function renderEntry(entry) {
  const name = el("bdi", { class: "file-name" });
  name.textContent = entry.file.name; // shown here only; never sent
  const status = el("span", { class: "file-status" });
  const progress = el("progress", { max: "100", value: "0" });
  const remove = el("button", { type: "button", class: "small remove" });
  remove.addEventListener("click", () => removeEntry(entry));
  const thumb = el("img", { class: "thumb", alt: "" });
  thumb.hidden = true;
  const li = el("li", { class: "file" }, thumb, el("div", { class: "file-body" }, name, status, progress), remove);
  entry.el = { li, status, progress, remove, thumb };
  updateEntry(entry);
  return li;
}

function updateEntry(entry) {
  const { li, status, progress, remove } = entry.el;
  li.dataset.state = entry.state;
  li.dataset.kind = entry.result ? entry.result.kind : "";
  progress.setAttribute("aria-label", t("hash.progressLabel", { name: entry.file.name }));
  progress.hidden = entry.state === "done" || entry.state === "error";
  remove.textContent = t("hash.remove");
  remove.setAttribute("aria-label", t("hash.removeLabel", { name: entry.file.name }));
  status.classList.toggle("error", entry.state === "error");
  if (entry.state === "queued" || entry.state === "hashing") {
    status.textContent = t(entry.stage === "frames" ? "hash.frames" : "hash.making");
  } else if (entry.state === "done") {
    status.textContent = t(entry.duplicate ? "hash.duplicate" : isLowQuality(entry.result) ? "hash.lowQuality" : "hash.done");
  } else {
    status.textContent = t(`err.${entry.error}`, { mp: MAX_PIXELS / 1e6 });
  }
}

function updateSummary() {
  const ready = sendable();
  const sent = hashes();
  $("hash-count").hidden = ready.length === 0;
  if (ready.length) $("hash-count").textContent = t("hash.count", { n: ready.length });
  $("payload-box").hidden = ready.length === 0;
  $("payload").textContent = JSON.stringify({ hashes: sent }, null, 1);
  // The under-18 offer: there is something to share only once there are hashes.
  const offer = $("minor").checked && sent.length > 0;
  $("consent-box").hidden = !offer;
  $("share_consent").disabled = !offer;
  $("minor-note").hidden = !$("minor").checked;
}

async function hashEntry(entry) {
  if (entry.removed) return;
  entry.state = "hashing";
  updateEntry(entry);
  try {
    entry.result = await hashFile(
      entry.file,
      (stage, fraction) => {
        entry.stage = stage;
        entry.el.progress.value = Math.round(fraction * 100);
        updateEntry(entry);
      },
      (blob) => {
        if (entry.removed) return;
        entry.thumbUrl = URL.createObjectURL(blob);
        entry.el.thumb.src = entry.thumbUrl;
        entry.el.thumb.hidden = false;
      },
    );
    entry.state = "done";
    entry.duplicate = entries.some((o) => o !== entry && o.state === "done" && !o.duplicate && o.result.md5 === entry.result.md5);
  } catch (err) {
    entry.state = "error";
    entry.error = err instanceof HashError ? err.code : "failed";
  }
  updateEntry(entry);
  updateSummary();
}

function addFiles(files) {
  for (const file of files) {
    if (entries.filter((e) => !e.removed).length >= MAX_FILES) {
      showProblems([["hash.tooMany", { n: MAX_FILES }]], "problems", "problems.files");
      break;
    }
    const entry = { file, state: "queued" };
    entries.push(entry);
    $("file-list").append(renderEntry(entry));
    queue = queue.then(() => hashEntry(entry));
  }
  $("files").value = ""; // the same file can be picked again after it is removed
  updateSummary();
}

function removeEntry(entry) {
  entry.removed = true;
  entries.splice(entries.indexOf(entry), 1);
  if (entry.thumbUrl) URL.revokeObjectURL(entry.thumbUrl);
  entry.el.li.remove();
  // A copy of the removed file is no longer a duplicate of it.
  for (const other of entries) {
    if (other.duplicate && entry.result && other.result.md5 === entry.result.md5 && !entry.duplicate) {
      other.duplicate = entries.some((o) => o !== other && o.state === "done" && !o.duplicate && o.result.md5 === other.result.md5);
      updateEntry(other);
    }
  }
  updateSummary();
  $("files").focus();
}

// -- sending the request ------------------------------------------------------------------------
let receipt = null; // the node's answer, kept to say it again in another language

function showReceipt() {
  const data = receipt;
  tFill($("receipt-id"), "receipt.id", { id: bdi(data.request_id, "request_id") });
  tFill($("receipt-secret"), "receipt.secret", { secret: bdi(data.request_secret, "request_secret") });
  const time = el("time", { id: "deadline", datetime: data.deadline });
  time.textContent = when(data.deadline);
  tFill($("receipt-deadline"), "receipt.deadline", { deadline: time });
  $("receipt-hashes").hidden = !data.files;
  if (data.files) $("receipt-hashes").textContent = t("receipt.hashes", { n: data.files });
  const shared = $("shared");
  shared.hidden = !data.files;
  const asked = data.consent;
  const c = data.registry_case;
  if (asked && c && c.shared) {
    shared.dataset.shared = "yes";
    tFill(shared, "receipt.shared", { case: bdi(c.case_id, "case_id"), secret: bdi(c.case_secret, "case_secret") });
  } else if (asked) {
    shared.dataset.shared = "failed";
    shared.textContent = t("receipt.notShared");
  } else {
    shared.dataset.shared = "no";
    shared.textContent = t(PLATFORM ? "receipt.kept" : "receipt.kept.anon", { platform: PLATFORM });
  }
}

async function submitRequest(event) {
  event.preventDefault();
  if (busy()) return showProblems(["hash.wait"], "problems", "problems.files");
  const who = document.querySelector('input[name="acting_for"]:checked');
  const sent = hashes();
  const consent = $("minor").checked && sent.length > 0 && $("share_consent").checked;
  const body = {
    signature: $("signature").value,
    acting_for: who ? who.value : null,
    content: lines($("content").value),
    statement: $("statement").value,
    contact: $("contact").value,
    minor: $("minor").checked,
  };
  if (sent.length) body.hashes = sent;
  if (consent) body.share_consent = true;
  const json = JSON.stringify(body);
  if (new Blob([json]).size > MAX_BODY) return showProblems(["hash.tooLarge"], "problems", "problems.files");
  const { reply, data } = await send("/v1/takedown-requests", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: json,
  });
  if (!reply) return showProblems(["trouble.offline"], "problems", "problems.notSent");
  if (reply.status === 422 && Array.isArray(data.missing)) {
    return showProblems(data.missing.map((m) => `missing.${m}`));
  }
  if (reply.status !== 201) return showProblems([trouble(reply.status)], "problems", "problems.notSent");
  hideProblems("problems");
  receipt = { ...data, files: sent.length ? sendable().length : 0, consent };
  $("request").hidden = true;
  showReceipt();
  // Ready for checking later in this tab (never stored: the secret stays on the screen only).
  $("check-id").value = data.request_id;
  $("check-secret").value = data.request_secret;
  for (const e of entries) if (e.thumbUrl) URL.revokeObjectURL(e.thumbUrl);
  $("receipt").hidden = false;
  $("receipt").scrollIntoView();
}

// -- checking on a request ----------------------------------------------------------------------
let checked = null; // {id, secret} of the request shown
let state = null; // its last answer

function showState() {
  const data = state;
  const key = `state.${data.state}`;
  const words = t(key);
  const sentence = el("span", {}, words === key ? data.in_words : words);
  $("state-words").replaceChildren(sentence);
  if (data.note) $("state-words").append(" ", el("span", { dir: "auto", class: "desk-note" }, data.note));
  const running = data.deadline && (data.state === "valid" || data.state === "removing");
  $("state-deadline").hidden = !running;
  if (running) {
    const time = el("time", { datetime: data.deadline });
    time.textContent = when(data.deadline);
    tFill($("state-deadline"), "state.deadline", { deadline: time });
  }
  let items = t("state.items", { n: data.items_named, removed: data.items_removed });
  if (data.copies_removed) items += ` ${t("state.copies", { n: data.copies_removed })}`;
  $("state-items").textContent = items;
  $("state").hidden = false;
  $("answer").hidden = data.state !== "incomplete";
}

async function checkRequest(event) {
  event.preventDefault();
  hideProblems("check-problems");
  const id = $("check-id").value.trim();
  const secret = $("check-secret").value.trim();
  if (!id || !secret) return showProblems(["check.need"], "check-problems", "check.enter");
  const { reply, data } = await send(`/v1/takedown-requests/${encodeURIComponent(id)}`, {
    headers: { Authorization: `Bearer ${secret}` },
  });
  if (!reply) return showProblems(["trouble.offline"], "check-problems", "check.failed");
  if (reply.status === 404) {
    $("state").hidden = true;
    $("answer").hidden = true;
    return showProblems(["check.notFound"], "check-problems", "check.failed");
  }
  if (reply.status !== 200) return showProblems([trouble(reply.status)], "check-problems", "check.failed");
  checked = { id, secret };
  state = data;
  showState();
}

async function answer(event) {
  event.preventDefault();
  if (!checked) return;
  const { reply, data } = await send(`/v1/takedown-requests/${encodeURIComponent(checked.id)}/information`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${checked.secret}` },
    body: JSON.stringify({ content: lines($("answer-content").value), note: $("answer-note").value }),
  });
  if (!reply) return showProblems(["trouble.offline"], "check-problems", "answer.failed");
  if (reply.status !== 200) return showProblems([trouble(reply.status)], "check-problems", "answer.failed");
  hideProblems("check-problems");
  $("answer-content").value = "";
  $("answer-note").value = "";
  state = data;
  showState();
}

function sayAgain() {
  for (const entry of entries) updateEntry(entry);
  updateSummary();
  for (const boxId of Object.keys(shown)) renderProblems(boxId);
  if (receipt) showReceipt();
  if (state) showState();
}

document.addEventListener("DOMContentLoaded", async () => {
  $("minor").addEventListener("change", updateSummary);
  $("files").addEventListener("change", () => addFiles([...$("files").files]));
  // Load the hasher's worker only for someone who means to pick a file.
  $("files").addEventListener("focus", warmUp, { once: true });
  document.querySelector(".pick").addEventListener("pointerenter", warmUp, { once: true });
  $("request").addEventListener("submit", submitRequest);
  $("check-form").addEventListener("submit", checkRequest);
  $("answer").addEventListener("submit", answer);
  if (PLATFORM) setPageVars({ platform: PLATFORM });
  else for (const node of document.querySelectorAll("[data-i18n-anon]")) node.dataset.i18n += ".anon";
  await initI18n();
  sayAgain();
  onLangChange(sayAgain);
  document.documentElement.dataset.ready = "";
});
