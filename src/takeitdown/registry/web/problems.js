// What the page says for each error the API can answer with, chosen by the problem `code`
// (takeitdown.protocol.ProblemCode) and never by the English `detail` or the HTTP status.
// Every code the registry knows is listed on purpose (tests/web/test_i18n.py checks it), so a
// new code gets a decision here; a code the page has never heard of gets a kind, general
// sentence, and so does a reply that is not ours at all (a proxy's 502 page).

export const PROBLEM_KEYS = {
  rate_limited: "api.rateLimited",
  unavailable: "api.busy",
  internal: "api.internal",
  "body.too_large": "api.tooMuch",
  "case.too_many_items": "api.tooMuch",
  "case.too_many_frames": "api.tooMuch",
  "case.nothing_accepted": "api.nothingAccepted",
  "case.no_items": "api.page",
  "case.not_found": "api.notFound",
  "auth.missing": "api.notFound",
  "auth.invalid": "api.notFound",
  not_found: "api.notFound",
  // The page itself sent something wrong: nothing the person can fix but a reload.
  "body.not_json": "api.page",
  "body.shape": "api.page",
  "body.unknown_field": "api.page",
  "body.missing_field": "api.page",
  "body.too_slow": "api.busy",
  "body.media_type": "api.page",
  "query.invalid": "api.page",
  "request.cross_site": "api.page",
  method_not_allowed: "api.page",
  "idempotency.key_invalid": "api.page",
  "idempotency.conflict": "api.page",
  "hash.invalid": "api.page",
  // Codes of the platform side: a person never meets them here, but they are known.
  "feed.cursor_past_end": "api.unknown",
  "reports.too_many": "api.unknown",
  "upload.unreadable": "api.unknown",
  "review.not_found": "api.unknown",
  "review.conflict": "api.unknown",
  "review.no_person": "api.unknown",
  "review.reason_missing": "api.unknown",
  "ref.too_long": "api.unknown",
  forbidden: "api.unknown",
  "csrf.invalid": "api.unknown",
  "signin.failed": "api.unknown",
  "signin.locked": "api.unknown",
  "account.invalid": "api.unknown",
  "user.not_found": "api.unknown",
  "reports.rate_limited": "api.unknown",
  "takedown.incomplete": "api.unknown",
  "takedown.pii_unreadable": "api.unknown",
};

// Why the registry turned down one item of a case (`rejected: [{index, code, reason}]`): every
// takeitdown.protocol.RejectCode, checked by tests/web/test_i18n.py like PROBLEM_KEYS.
export const REJECT_KEYS = {
  "hash.too_many_frames": "reject.tooLong",
  "item.bad_kind": "reject.bad",
  "item.no_hashes": "reject.bad",
  "item.too_many_hashes": "reject.bad",
  "item.hash_not_allowed": "reject.bad",
  "hash.invalid": "reject.bad",
  "hash.unknown_type": "reject.bad",
  // A PDQ far from half its bits set: the page's own hash went wrong, not the person's file.
  "hash.implausible": "reject.bad",
  // Codes of a platform's reports: a person never meets them here, but they are known.
  "report.invalid": "reject.unknown",
  "report.unknown_entry": "reject.unknown",
};

/** The string key for an error reply: by its code, else a general one by the kind of status. */
export function problemKey(status, data) {
  const code = data && typeof data.code === "string" ? data.code : null;
  if (code && Object.hasOwn(PROBLEM_KEYS, code)) return PROBLEM_KEYS[code];
  // No code we know (an older registry, a proxy): a sentence by the kind of status.
  if (status === 401 || status === 404) return "api.notFound";
  if (status === 413) return "api.tooMuch";
  if (status === 429) return "api.rateLimited";
  if (status >= 500) return "api.busy";
  return "api.unknown";
}

export function rejectKey(code) {
  return typeof code === "string" && Object.hasOwn(REJECT_KEYS, code) ? REJECT_KEYS[code] : "reject.unknown";
}

/** Worth sending again with the same Idempotency-Key: the reply was lost or the server was busy. */
export function retryable(status) {
  return status === 0 || status === 502 || status === 503 || status === 504;
}
