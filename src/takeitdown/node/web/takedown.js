// The TAKE IT DOWN request form: sends the four elements as JSON to this platform's node, and
// lets a requester check on a request and answer the desk's questions with its number and secret.
"use strict";

const $ = (id) => document.getElementById(id);

function lines(text) {
  return text.split("\n").map((s) => s.trim()).filter(Boolean);
}

function showProblems(items, boxId = "problems", lead = "Please add what is missing:") {
  const box = $(boxId);
  box.replaceChildren();
  const p = document.createElement("p");
  p.textContent = lead;
  const ul = document.createElement("ul");
  for (const text of items) {
    const li = document.createElement("li");
    li.textContent = text;
    ul.append(li);
  }
  box.append(p, ul);
  box.hidden = false;
  box.focus();
}

// Plain words for each element the node says is missing (protocol: code takedown.incomplete).
const MISSING = {
  signature: "your full name, as your signature",
  content: "at least one link or content id",
  statement: "a short statement of why you believe it was shared without consent",
  contact: "an email address or phone number",
  acting_for: "whether you are the person in the image or act for them",
};

function trouble(status, data) {
  if (status === 429) return "Too many requests at once. Please wait a minute and try again.";
  if (status === 422 || status === 409 || status === 413) return data.detail || "Please check what you entered.";
  return "Something went wrong on our side. Please try again in a few minutes.";
}

async function send(url, options) {
  try {
    const reply = await fetch(url, options);
    return { reply, data: await reply.json().catch(() => ({})) };
  } catch {
    return { reply: null, data: {} };
  }
}

const OFFLINE = "We could not reach the platform. Check your connection and try again.";

async function submitRequest(event) {
  event.preventDefault();
  const who = document.querySelector('input[name="acting_for"]:checked');
  const body = {
    signature: $("signature").value,
    acting_for: who ? who.value : null,
    content: lines($("content").value),
    statement: $("statement").value,
    contact: $("contact").value,
    minor: $("minor").checked,
  };
  const { reply, data } = await send("/v1/takedown-requests", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!reply) return showProblems([OFFLINE]);
  if (reply.status === 422 && Array.isArray(data.missing)) {
    return showProblems(data.missing.map((m) => MISSING[m] || m));
  }
  if (reply.status !== 201) return showProblems([trouble(reply.status, data)], "problems", "We could not send it:");
  $("request").hidden = true;
  $("request_id").textContent = data.request_id;
  $("request_secret").textContent = data.request_secret;
  $("deadline").textContent = new Date(data.deadline).toLocaleString();
  $("deadline").dateTime = data.deadline;
  // Ready for checking later in this tab (never stored: the secret stays on the screen only).
  $("check-id").value = data.request_id;
  $("check-secret").value = data.request_secret;
  $("receipt").hidden = false;
  $("receipt").scrollIntoView();
}

let checked = null; // {id, secret} of the request shown

function showState(data) {
  $("state-words").textContent = data.in_words;
  const running = data.deadline && (data.state === "valid" || data.state === "removing");
  $("state-deadline").hidden = !running;
  if (running) {
    $("state-deadline").textContent = `We will remove it by ${new Date(data.deadline).toLocaleString()} at the latest.`;
  }
  $("state-items").textContent =
    `You named ${data.items_named} item${data.items_named === 1 ? "" : "s"}; ${data.items_removed} removed` +
    (data.copies_removed ? `, and ${data.copies_removed} cop${data.copies_removed === 1 ? "y" : "ies"} we found.` : ".");
  $("state").hidden = false;
  $("answer").hidden = data.state !== "incomplete";
}

async function checkRequest(event) {
  event.preventDefault();
  $("check-problems").hidden = true;
  const id = $("check-id").value.trim();
  const secret = $("check-secret").value.trim();
  if (!id || !secret) return showProblems(["the request number and the secret you were given"], "check-problems", "Please enter:");
  const { reply, data } = await send(`/v1/takedown-requests/${encodeURIComponent(id)}`, {
    headers: { Authorization: `Bearer ${secret}` },
  });
  if (!reply) return showProblems([OFFLINE], "check-problems", "We could not check it:");
  if (reply.status === 404) {
    $("state").hidden = true;
    $("answer").hidden = true;
    return showProblems(["No request has that number and secret. Check both and try again."], "check-problems", "We could not check it:");
  }
  if (reply.status !== 200) return showProblems([trouble(reply.status, data)], "check-problems", "We could not check it:");
  checked = { id, secret };
  showState(data);
}

async function answer(event) {
  event.preventDefault();
  if (!checked) return;
  const { reply, data } = await send(`/v1/takedown-requests/${encodeURIComponent(checked.id)}/information`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${checked.secret}` },
    body: JSON.stringify({ content: lines($("answer-content").value), note: $("answer-note").value }),
  });
  if (!reply) return showProblems([OFFLINE], "check-problems", "We could not send it:");
  if (reply.status !== 200) return showProblems([trouble(reply.status, data)], "check-problems", "We could not send it:");
  $("check-problems").hidden = true;
  $("answer-content").value = "";
  $("answer-note").value = "";
  showState(data);
}

document.addEventListener("DOMContentLoaded", () => {
  $("minor").addEventListener("change", () => { $("minor-note").hidden = !$("minor").checked; });
  $("request").addEventListener("submit", submitRequest);
  $("check-form").addEventListener("submit", checkRequest);
  $("answer").addEventListener("submit", answer);
  document.documentElement.dataset.ready = "";
});
