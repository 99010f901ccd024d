// Amtsweg's ops console: plain JavaScript, no build step, no network but this server.
"use strict";

const API = new URL("..", window.location.href).pathname.replace(/\/$/, ""); // "/ops"
const TOKEN_KEY = "amtsweg-operator-token";
const COLOURS = ["#1f5fa8", "#1e7b3c", "#b3261e", "#9a6700", "#6b4fa3", "#00798c", "#7a7a7a"];
const $ = (selector) => document.querySelector(selector);
let refreshTimer = null;

function token() { return sessionStorage.getItem(TOKEN_KEY); }

async function api(path, options = {}) {
  const response = await fetch(API + path, {
    ...options,
    headers: { Authorization: `Bearer ${token()}`, "Content-Type": "application/json" },
  });
  if (response.status === 401) { signOut(); throw new Error("Your token was not accepted."); }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) { throw new Error(body.detail || body.title || `HTTP ${response.status}`); }
  return body;
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else if (key === "style") node.style.cssText = value; // CSSOM: allowed by the page's CSP
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  }
  return node;
}

function showError(error) {
  const box = $("#error");
  box.textContent = error ? String(error.message || error) : "";
  box.hidden = !error;
}

function when(epochSeconds) {
  return new Date(epochSeconds * 1000).toISOString().replace("T", " ").slice(0, 19);
}

// -- counters and the throughput chart ------------------------------------------------

async function refreshOverview() {
  try {
    const [counts, flow] = await Promise.all([api("/counters"), api("/throughput?minutes=60")]);
    renderCounters(counts);
    renderChart(flow);
  } catch (error) { showError(error); }
}

function renderCounters(counts) {
  const box = $("#counters");
  const tiles = [["total", counts.total, false]];
  for (const [status, n] of Object.entries(counts.statuses).sort()) {
    tiles.push([status, n, ["rejected", "unroutable", "refused"].includes(status) && n > 0]);
  }
  const letters = counts.deadLetters;
  tiles.push(["intake dead letters", letters.intake ?? "–", letters.intake > 0]);
  tiles.push(["delivery dead letters", letters.delivery ?? "–", letters.delivery > 0]);
  tiles.push(["parked messages", letters.parked ?? "–", letters.parked > 0]);
  tiles.push(["triage waiting", counts.triage, counts.triage > 0]);
  tiles.push(["relay lag", counts.relay.lag, counts.relay.lag > 100]);
  box.replaceChildren(...tiles.map(([label, value, alert]) =>
    el("div", { class: alert ? "counter alert" : "counter", "data-counter": label },
      el("b", {}, value), el("span", {}, label))));
}

function renderChart(flow) {
  const svg = $("#throughput");
  const width = 1200, height = 140, left = 30, bottom = 18;
  const names = Object.keys(flow.series).sort();
  const max = Math.max(1, ...names.flatMap((name) => flow.series[name]));
  const x = (i) => left + (i * (width - left - 4)) / Math.max(1, flow.minutes - 1);
  const y = (v) => height - bottom - (v * (height - bottom - 6)) / max;
  const ns = "http://www.w3.org/2000/svg";
  const shape = (tag, attributes) => {
    const node = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, v);
    return node;
  };
  const parts = [
    shape("line", { x1: left, y1: y(0), x2: width, y2: y(0), stroke: "#c5ccd6" }),
    shape("line", { x1: left, y1: 4, x2: left, y2: y(0), stroke: "#c5ccd6" }),
  ];
  const top = shape("text", { x: 2, y: 12, "font-size": 10, fill: "#5b6676" });
  top.textContent = String(max);
  const zero = shape("text", { x: 2, y: y(0), "font-size": 10, fill: "#5b6676" });
  zero.textContent = "0";
  const start = shape("text", { x: left, y: height - 4, "font-size": 10, fill: "#5b6676" });
  start.textContent = when(flow.from).slice(11, 16);
  const end = shape("text", { x: width - 24, y: height - 4, "font-size": 10, fill: "#5b6676" });
  end.textContent = "now";
  parts.push(top, zero, start, end);
  names.forEach((name, index) => {
    const points = flow.series[name].map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
    parts.push(shape("polyline", {
      points: points.join(" "), fill: "none", "stroke-width": 1.6,
      stroke: COLOURS[index % COLOURS.length], "data-series": name,
    }));
  });
  svg.replaceChildren(...parts);
  $("#legend").replaceChildren(...names.map((name, index) =>
    el("span", {}, el("i", { style: `background:${COLOURS[index % COLOURS.length]}` }),
      `${name} (${flow.series[name].reduce((a, b) => a + b, 0)})`)));
}

// -- submissions ------------------------------------------------------------------------

async function showSubmissions() {
  const form = new FormData($("#filters"));
  const query = new URLSearchParams();
  for (const key of ["status", "service", "authority", "portal"]) {
    if (form.get(key)) query.set(key, form.get(key));
  }
  for (const key of ["since", "until"]) {
    if (form.get(key)) query.set(key, String(Date.parse(`${form.get(key)}Z`) / 1000));
  }
  query.set("limit", "200");
  const page = await api(`/submissions?${query}`);
  $("#list-summary").textContent = `${page.submissions.length} of ${page.total} submission(s)`;
  $("#submissions tbody").replaceChildren(...page.submissions.map((row) => el("tr",
    { class: "link", "data-submission": row.submissionId,
      onclick: () => { window.location.hash = `#/submissions/${row.submissionId}`; } },
    el("td", {}, when(row.receivedAt)),
    el("td", {}, el("code", {}, row.submissionId)),
    el("td", {}, el("span", { class: `badge ${row.status}` }, row.status)),
    el("td", {}, row.leikaKey),
    el("td", {}, row.portalId),
    el("td", {}, row.authorityId || ""),
    el("td", {}, (row.tenants || []).join(", ")),
    el("td", {}, [row.problem, row.deadLetter ? "dead letter" : "", row.escalated ? "escalated" : ""]
      .filter(Boolean).join(", ")))));
}

async function showSubmission(id) {
  const submission = await api(`/submissions/${id}`);
  $("#submission-id").textContent = submission.submissionId;
  const badge = $("#status");
  badge.textContent = submission.status;
  badge.className = `badge ${submission.status}`;
  const facts = [["portal", submission.portalId], ["service", submission.serviceIdentifier],
    ["authority", submission.authorityId || "–"], ["tenants", (submission.tenants || []).join(", ")],
    ["delivery", submission.deliveryId || "–"],
    ["received", submission.receivedAt], ["updated", submission.updatedAt]];
  $("#facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
  const caseLink = $("#case-link");
  caseLink.textContent = `Case ${submission.caseId}: its replies, requests and supplements`;
  caseLink.setAttribute("href", `#/cases/${submission.caseId}`);
  $("#problems").replaceChildren(...(submission.problems || []).map((problem) =>
    el("p", { class: "error" }, `${problem.title || problem.reason || ""} ${problem.detail || ""}`)));
  $("#timeline tbody").replaceChildren(...submission.timeline.map((line) => el("tr",
    { "data-event": line.event, class: line.actor.startsWith("operator") ? "event-operator" : null },
    el("td", {}, line.version), el("td", {}, line.time.replace("T", " ").slice(0, 23)),
    el("td", {}, el("b", {}, line.event)), el("td", {}, line.actor), el("td", {}, line.details))));
  for (const output of ["#verify-result", "#replay-result", "#redeliver-result"]) {
    $(output).textContent = "";
  }
}

function currentSubmission() { return $("#submission-id").textContent; }

async function onVerify(event) {
  event.preventDefault();
  const answer = await api(`/submissions/${currentSubmission()}/verify`);
  const link = answer.firstBrokenLink;
  $("#verify-result").textContent = answer.intact ? "intact"
    : `BROKEN at event ${link.version} ${link.event || ""}: ${link.reason}`;
}

async function onReplay(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const answer = await api(`/submissions/${currentSubmission()}/replay`, {
    method: "POST",
    body: JSON.stringify({ stage: form.get("stage"), against: form.get("against"),
      reason: form.get("reason") || "", dryRun: form.get("dryRun") === "on" }),
  });
  const what = answer.outcome ? `${answer.outcome}: ${answer.decision}` : answer.note;
  const recorded = answer.dryRun ? `would record ${answer.events.join(" + ") || "nothing"}`
    : answer.written ? `recorded ${answer.events.join(" + ")}` : "nothing recorded";
  $("#replay-result").textContent = `${what} (${recorded})`;
  if (!answer.dryRun) await showSubmission(currentSubmission());
}

async function onRedeliver(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  await api(`/submissions/${currentSubmission()}/redeliver`,
    { method: "POST", body: JSON.stringify({ reason: form.get("reason") }) });
  await showSubmission(currentSubmission());
  $("#redeliver-result").textContent = "recorded: the relay publishes the delivery again";
}

// -- a case: its submissions, requests and one timeline ------------------------------------

function isoTime(iso) { return iso ? iso.replace("T", " ").slice(0, 19) : "–"; }

async function showCase(id) {
  const found = await api(`/v1/cases/${id}`);
  $("#case-id").textContent = found.caseId;
  const numbers = new Map(found.submissions.map((s, index) => [s.submissionId, index + 1]));
  $("#case-submissions tbody").replaceChildren(...found.submissions.map((s) => el("tr",
    { "data-submission": s.submissionId },
    el("td", {}, numbers.get(s.submissionId)),
    el("td", {}, el("a", { href: `#/submissions/${s.submissionId}` },
      el("code", {}, s.submissionId))),
    el("td", {}, el("span", { class: `badge ${s.status}` }, s.status),
      s.contentErased ? " content erased" : ""),
    el("td", {}, s.portalId), el("td", {}, s.authorityId || "–"),
    el("td", {}, s.deliveries.join(", ") || "–"), el("td", {}, isoTime(s.receivedAt)))));
  const open = found.openRequests.length;
  $("#case-requests-note").textContent = found.requests.length
    ? `${found.requests.length} request(s), ${open} not answered` : "No request for documents.";
  $("#case-requests tbody").replaceChildren(...found.requests.map((r) => el("tr",
    { "data-request": r.replyId, class: r.state === "overdue" ? "alert" : null },
    el("td", {}, el("code", {}, r.replyId)), el("td", {}, isoTime(r.due)),
    el("td", {}, el("span", { class: `badge ${r.state}` }, r.state)),
    el("td", {}, r.answeredBy || "–"), el("td", {}, r.deliveryId))));
  $("#case-timeline tbody").replaceChildren(...found.timeline.map((line) => el("tr",
    { "data-event": line.event, "data-submission": line.submissionId,
      class: line.actor.startsWith("operator") ? "event-operator" : null },
    el("td", { title: line.submissionId }, `${numbers.get(line.submissionId)}.${line.version}`),
    el("td", {}, line.time.replace("T", " ").slice(0, 23)),
    el("td", {}, el("b", {}, line.event)), el("td", {}, line.actor),
    el("td", {}, line.details))));
}

// -- triage and dead letters --------------------------------------------------------------

async function showTriage() {
  const queue = await api("/triage");
  $("#triage-note").textContent = queue.available
    ? `${queue.submissions.length} submission(s) wait for an authority`
    : "Triage is not wired into this server yet.";
  $("#triage tbody").replaceChildren(...queue.submissions.map((item) => {
    const form = el("form", { onsubmit: async (event) => {
      event.preventDefault();
      const data = new FormData(event.target);
      await api(`/triage/${item.submissionId}/assign`, { method: "POST",
        body: JSON.stringify({ authorityId: data.get("authorityId"), reason: data.get("reason") }) });
      await showTriage();
    } },
    el("input", { name: "authorityId", placeholder: "authority id", required: "" }),
    el("input", { name: "reason", placeholder: "reason", required: "" }),
    el("button", { type: "submit" }, "Assign"));
    const details = Object.entries(item).filter(([k]) => k !== "submissionId")
      .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join("; ");
    return el("tr", {}, el("td", {}, el("a", { href: `#/submissions/${item.submissionId}` },
      el("code", {}, item.submissionId))), el("td", {}, details), el("td", {}, form));
  }));
}

async function showDeadLetters() {
  const answer = await api("/dead-letters");
  $("#letters-note").textContent = `${answer.letters.length} dead letter(s) waiting` +
    (answer.intakeAvailable ? "" : " (no broker: intake dead letters not shown)");
  $("#letters tbody").replaceChildren(...answer.letters.map((letter) => {
    const act = (action) => async () => {
      const reason = window.prompt(`Why ${action} ${letter.letterId}?`);
      if (!reason) return;
      await api(`/dead-letters/${letter.letterId}/${action}`,
        { method: "POST", body: JSON.stringify({ reason }) });
      await showDeadLetters();
    };
    const from = letter.submissionId
      ? el("a", { href: `#/submissions/${letter.submissionId}` },
        letter.authorityId || letter.submissionId)
      : letter.portalId || letter.source;
    return el("tr", { "data-letter": letter.letterId }, el("td", {}, letter.at),
      el("td", {}, el("code", {}, letter.letterId)), el("td", {}, letter.problem),
      el("td", {}, from), el("td", {}, letter.detail),
      el("td", {}, letter.retryable ? el("button", { onclick: act("retry") }, "Retry") : "",
        " ", el("button", { onclick: act("drop") }, "Drop")));
  }));
}

// -- routing between views -----------------------------------------------------------------

async function route() {
  if (!token()) { showLogin(); return; }
  $("#login").hidden = true;
  $("#app").hidden = false;
  $("#logout").hidden = false;
  showError(null);
  const hash = window.location.hash || "#/submissions";
  const [, tab, id] = hash.split("/");
  const view = id && tab === "submissions" ? "submission" : id && tab === "cases" ? "case" : tab;
  for (const section of document.querySelectorAll(".view")) {
    section.hidden = section.id !== `view-${view}`;
  }
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", link.dataset.tab === tab);
  }
  try {
    if (view === "submission") await showSubmission(id);
    else if (view === "case") await showCase(id);
    else if (view === "triage") await showTriage();
    else if (view === "dead-letters") await showDeadLetters();
    else await showSubmissions();
    document.body.dataset.view = view;
  } catch (error) { showError(error); }
  if (!refreshTimer) {
    refreshOverview();
    refreshTimer = window.setInterval(refreshOverview, 5000);
  }
}

function showLogin() {
  $("#app").hidden = true;
  $("#logout").hidden = true;
  $("#login").hidden = false;
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  window.clearInterval(refreshTimer);
  refreshTimer = null;
  showLogin();
}

function guarded(handler) {
  return (event) => handler(event).catch((error) => { event.preventDefault(); showError(error); });
}

$("#login-form").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
  $("#token").value = "";
  route();
});
$("#logout").addEventListener("click", signOut);
$("#filters").addEventListener("submit", guarded(async (event) => {
  event.preventDefault();
  await showSubmissions();
}));
$("#verify-form").addEventListener("submit", guarded(onVerify));
$("#replay-form").addEventListener("submit", guarded(onReplay));
$("#redeliver-form").addEventListener("submit", guarded(onRedeliver));
window.addEventListener("hashchange", route);
route();
