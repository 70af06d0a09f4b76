// The status page: case number + secret -> status and what platforms reported; withdraw.
import { initI18n, onLangChange, t, tFill } from "./i18n.js";
import { problemKey } from "./problems.js";

const $ = (id) => document.getElementById(id);
const OUTCOMES = ["match_found", "removed", "upload_blocked", "false_positive"];
const EXAMPLE_CASE = "TD-7KQ2-M9XP";
let last = null; // {caseId, secret, data}
let justWithdrawn = false;

class Failed extends Error {
  constructor(key) {
    super(key);
    this.key = key;
  }
}

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
    throw new Failed("send.offline");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new Failed(problemKey(response.status, data));
  return data;
}

let errorKey = null; // shown again in the new language when the language changes

function showError(key) {
  errorKey = key;
  $("status-error").textContent = key ? t(key) : "";
  $("status-error").hidden = !key;
}

function render() {
  tFill($("case-hint"), "status.caseHint", { example: Object.assign(document.createElement("bdi"), { dir: "ltr", textContent: EXAMPLE_CASE }) });
  if (!last) return;
  const { data } = last;
  const withdrawn = data.status === "withdrawn";
  const line = $("status-line");
  line.className = `status-line ${withdrawn ? "withdrawn" : "active"}`;
  line.textContent = justWithdrawn ? t("status.withdrawnNow") : t(withdrawn ? "status.withdrawn" : "status.active");
  // Platform reviewers disputed one of its hashes: it is off the lists until checked.
  $("status-review").hidden = withdrawn || data.under_review !== true;
  tFill($("status-items"), "status.items", { n: data.items ?? 0 });
  tFill($("status-received"), "status.received", { n: data.platforms_received ?? 0 });
  const outcomes = data.outcomes || {};
  const shown = OUTCOMES.filter((k) => outcomes[k] > 0);
  const list = $("outcomes");
  list.replaceChildren(
    ...(shown.length ? shown : [null]).map((k) => {
      const li = document.createElement("li");
      if (k) {
        tFill(li, `status.${k}`, { n: outcomes[k] });
        li.dataset.outcome = k;
      } else {
        li.textContent = t("status.noReports");
      }
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
  showError(null);
  if (!caseId || !secret) {
    showError("api.notFound");
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
    showError(err instanceof Failed ? err.key : "api.unknown");
  } finally {
    button.disabled = false;
    button.textContent = t("status.check");
  }
}

async function withdraw() {
  $("confirm").close();
  if (!last) return;
  showError(null);
  try {
    last = { ...last, data: await call("DELETE", last.caseId, last.secret) };
    justWithdrawn = true;
    render();
    $("status-result").focus();
  } catch (err) {
    showError(err instanceof Failed ? err.key : "api.unknown");
  }
}

async function init() {
  await initI18n();
  $("status-form").addEventListener("submit", check);
  $("show-secret").addEventListener("change", (ev) => {
    $("case-secret").type = ev.target.checked ? "text" : "password";
  });
  $("withdraw").addEventListener("click", () => $("confirm").showModal());
  $("confirm-no").addEventListener("click", () => $("confirm").close());
  $("confirm-yes").addEventListener("click", withdraw);
  onLangChange(() => {
    render();
    showError(errorKey);
  });
  const fromReceipt = decodeURIComponent(location.hash.slice(1));
  if (/^TD-[A-Z0-9]{4}-[A-Z0-9]{4}$/i.test(fromReceipt)) {
    $("case-id").value = fromReceipt.toUpperCase();
    history.replaceState(null, "", location.pathname + location.search);
  }
  render();
  $("check").disabled = false; // only now can a submit be handled here
  document.documentElement.dataset.ready = "1";
}

init();
