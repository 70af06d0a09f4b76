// The status page: case number + secret -> status and what platforms reported; withdraw.
import { initI18n, onLangChange, t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const OUTCOMES = ["match_found", "removed", "upload_blocked", "false_positive"];
let last = null; // {caseId, secret, data}
let justWithdrawn = false;

class NotFound extends Error {}

async function call(method, caseId, secret) {
  let response;
  try {
    response = await fetch(`/v1/cases/${encodeURIComponent(caseId)}`, {
      method,
      headers: { Authorization: `Bearer ${secret}` },
      credentials: "omit",
      cache: "no-store",
      referrerPolicy: "no-referrer",
    });
  } catch {
    throw new Error(t("send.offline"));
  }
  const data = await response.json().catch(() => ({}));
  if (response.status === 404) throw new NotFound();
  if (!response.ok) {
    throw new Error(t("status.failed", { reason: typeof data.detail === "string" ? data.detail : `HTTP ${response.status}` }));
  }
  return data;
}

function showError(message) {
  $("status-error").textContent = message;
  $("status-error").hidden = !message;
}

function render() {
  if (!last) return;
  const { data } = last;
  const withdrawn = data.status === "withdrawn";
  const line = $("status-line");
  line.className = `status-line ${withdrawn ? "withdrawn" : "active"}`;
  line.textContent = justWithdrawn ? t("status.withdrawnNow") : t(withdrawn ? "status.withdrawn" : "status.active");
  $("status-items").textContent = t("status.items", { n: data.items ?? 0 });
  $("status-received").textContent = t("status.received", { n: data.platforms_received ?? 0 });
  const outcomes = data.outcomes || {};
  const shown = OUTCOMES.filter((k) => outcomes[k] > 0);
  const list = $("outcomes");
  list.replaceChildren(
    ...(shown.length ? shown : [null]).map((k) => {
      const li = document.createElement("li");
      li.textContent = k ? t(`status.${k}`, { n: outcomes[k] }) : t("status.noReports");
      if (k) li.dataset.outcome = k;
      return li;
    }),
  );
  $("withdraw-box").hidden = withdrawn;
  $("status-result").hidden = false;
}

async function check(ev) {
  ev.preventDefault();
  const caseId = $("case-id").value.trim().toUpperCase();
  const secret = $("case-secret").value.trim();
  showError("");
  if (!caseId || !secret) {
    showError(t("status.notFound"));
    return;
  }
  const button = $("check");
  button.disabled = true;
  button.textContent = t("status.checking");
  try {
    last = { caseId, secret, data: await call("GET", caseId, secret) };
    justWithdrawn = false;
    render();
    $("status-result").focus();
  } catch (err) {
    last = null;
    $("status-result").hidden = true;
    showError(err instanceof NotFound ? t("status.notFound") : err.message);
  } finally {
    button.disabled = false;
    button.textContent = t("status.check");
  }
}

async function withdraw() {
  $("confirm").close();
  if (!last) return;
  showError("");
  try {
    last = { ...last, data: await call("DELETE", last.caseId, last.secret) };
    justWithdrawn = true;
    render();
    $("status-result").focus();
  } catch (err) {
    showError(err instanceof NotFound ? t("status.notFound") : err.message);
  }
}

function init() {
  initI18n();
  $("status-form").addEventListener("submit", check);
  $("show-secret").addEventListener("change", (ev) => {
    $("case-secret").type = ev.target.checked ? "text" : "password";
  });
  $("withdraw").addEventListener("click", () => $("confirm").showModal());
  $("confirm-no").addEventListener("click", () => $("confirm").close());
  $("confirm-yes").addEventListener("click", withdraw);
  onLangChange(render);
  const fromReceipt = decodeURIComponent(location.hash.slice(1));
  if (/^TD-[A-Z0-9]{4}-[A-Z0-9]{4}$/i.test(fromReceipt)) {
    $("case-id").value = fromReceipt.toUpperCase();
    history.replaceState(null, "", location.pathname + location.search);
  }
  $("check").disabled = false; // only now can a submit be handled here
}

init();
