// The TAKE IT DOWN request form: sends the four elements as JSON to this platform's node.
"use strict";

const $ = (id) => document.getElementById(id);

function lines(text) {
  return text.split("\n").map((s) => s.trim()).filter(Boolean);
}

function showProblems(items) {
  const box = $("problems");
  box.replaceChildren();
  const p = document.createElement("p");
  p.textContent = "Please add what is missing:";
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

document.addEventListener("DOMContentLoaded", () => {
  $("minor").addEventListener("change", () => { $("share").hidden = !$("minor").checked; });
  $("request").addEventListener("submit", async (event) => {
    event.preventDefault();
    const who = document.querySelector('input[name="acting_for"]:checked');
    const body = {
      signature: $("signature").value,
      acting_for: who ? who.value : null,
      content: lines($("content").value),
      statement: $("statement").value,
      contact: $("contact").value,
      minor: $("minor").checked,
      share_consent: $("minor").checked && $("share_consent").checked,
    };
    let reply;
    try {
      reply = await fetch("/v1/takedown-requests", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
    } catch {
      showProblems(["We could not reach the platform. Check your connection and try again."]);
      return;
    }
    const data = await reply.json().catch(() => ({}));
    if (reply.status === 422 && Array.isArray(data.missing)) {
      showProblems(data.missing.map((m) => MISSING[m] || m));
      return;
    }
    if (reply.status !== 201) {
      showProblems([reply.status === 429 ? "Too many requests at once. Please wait a minute and try again."
        : "Something went wrong on our side. Please try again in a few minutes."]);
      return;
    }
    $("request").hidden = true;
    $("request_id").textContent = data.request_id;
    $("request_secret").textContent = data.request_secret;
    $("deadline").textContent = new Date(data.deadline).toLocaleString();
    $("deadline").dateTime = data.deadline;
    if (data.registry_case) {
      $("shared").hidden = false;
      $("shared").textContent = data.registry_case.shared
        ? `The hashes were added to the Take It Down list as case ${data.registry_case.case_id}, secret ` +
          `${data.registry_case.case_secret}. Keep both: with them you can check or withdraw that case.`
        : "We could not add the hashes to the Take It Down list this time; we will still act here.";
    }
    $("receipt").hidden = false;
    $("receipt").scrollIntoView();
  });
});
