// Noa Server dashboard: polls each service's readiness verdicts through the ui's /status/<service>
// routes every 5 s and renders one row per service, and below them the key metrics from Prometheus. Postgres and Redis have no HTTP endpoint; their
// rows come from mcp's readiness checks (mcp checks both). No external assets, no framework.
"use strict";

const POLL_INTERVAL_MS = 5000;
// Below the poll interval, and short enough that a first render lands within ~3 s of load.
const REQUEST_TIMEOUT_MS = 2500;

// Where each HTTP service's readiness is read: nginx proxies /status/<service> to its readiness path
// without credentials (verdicts only, no addresses or errors). Same origin, so no CORS and CSP
// connect-src 'self'. llama.cpp answers 503 while the model loads, {"status":"ok"} once it serves.
const ENDPOINTS = {
  "ui": "/status/ui",
  "mcp": "/status/mcp",
  "claude-flow": "/status/claude-flow",
  "agenticos": "/status/agenticos",
  "llama": "/status/llama",
};
// Rows filled from a check inside another service's readiness body.
const DERIVED = { "postgres": "mcp", "redis": "mcp" };

// GET url within timeoutMs: {response, latencyMs (to the response's headers), body (null: not JSON)}.
// Rejects when there is no answer (AbortError: none in time).
async function fetchJson(url, timeoutMs) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const started = performance.now();
  try {
    const response = await fetch(url, { cache: "no-store", signal: controller.signal });
    const latencyMs = performance.now() - started;
    let body = null;
    try {
      body = await response.json();
    } catch (_) {
      body = null;
    }
    return { response, latencyMs, body };
  } finally {
    clearTimeout(timer);
  }
}

// Why a request got no answer, in a few words.
function unanswered(error, timeoutMs) {
  return error.name === "AbortError" ? `no answer within ${timeoutMs} ms` : String(error.message || error);
}

// Fetch one readiness URL; resolve (never reject) to {status, latencyMs, detail, body}.
async function probe(url) {
  try {
    const { response, latencyMs, body } = await fetchJson(url, REQUEST_TIMEOUT_MS);
    const ok = response.ok && body !== null && body.status === "ok";
    return { status: ok ? "ok" : "fail", latencyMs, detail: describe(response.status, body), body };
  } catch (error) {
    return { status: "fail", latencyMs: null, detail: unanswered(error, REQUEST_TIMEOUT_MS), body: null };
  }
}

// A short human reason: failing checks by name, else the HTTP status (null: not known).
function describe(httpStatus, body) {
  if (body && body.checks && typeof body.checks === "object") {
    const failing = Object.entries(body.checks)
      .filter(([, check]) => !check.ok)
      .map(([name, check]) => `${name}: ${check.error || "failed"}`);
    if (failing.length > 0) {
      return failing.join("; ");
    }
  }
  if (body && body.error) {
    // llama.cpp's errors are objects: {"error": {"code": 503, "message": "Loading model", ...}}.
    const message = typeof body.error === "object" ? body.error.message || JSON.stringify(body.error) : body.error;
    return httpStatus === null ? message : `HTTP ${httpStatus}: ${message}`;
  }
  if (httpStatus === null) {
    return body && body.status === "ok" ? "ready when the page was served" : "not ready when the page was served";
  }
  return `HTTP ${httpStatus}`;
}

// The row of a dependency, from the readiness body of the service that checks it.
function derive(name, parent) {
  const check = parent.body && parent.body.checks ? parent.body.checks[name] : undefined;
  if (!check) {
    return { status: "unknown", latencyMs: null, detail: "no report from mcp" };
  }
  return {
    status: check.ok ? "ok" : "fail",
    latencyMs: typeof check.latency_ms === "number" ? check.latency_ms : null,
    detail: check.ok ? "checked by mcp" : `checked by mcp: ${check.error || "failed"}`,
  };
}

function formatLatency(latencyMs) {
  return latencyMs === null ? "\u2013" : `${latencyMs.toFixed(1)} ms`;
}

function render(name, result) {
  const row = document.querySelector(`tr[data-service="${name}"]`);
  if (!row) {
    return;
  }
  row.dataset.status = result.status;
  row.querySelector(".status").textContent = result.status;
  row.querySelector(".latency").textContent = formatLatency(result.latencyMs);
  row.querySelector(".detail").textContent = result.detail;
}

function renderSummary(statuses) {
  const summary = document.getElementById("summary");
  const failing = statuses.filter(([, status]) => status !== "ok").map(([name]) => name);
  summary.dataset.status = failing.length === 0 ? "ok" : "fail";
  summary.textContent = failing.length === 0
    ? `All ${statuses.length} services ready`
    : `Not ready: ${failing.join(", ")}`;
  const updated = document.getElementById("updated");
  const now = new Date();
  updated.dateTime = now.toISOString();
  updated.textContent = now.toLocaleTimeString();
}

// The verdicts nginx put into the page (index.html's first-report blocks), as probe() results.
function firstReports() {
  const byName = {};
  for (const block of document.querySelectorAll("script.first-report")) {
    let body = null;
    try {
      body = JSON.parse(block.textContent);
    } catch (_) {
      continue; // not served through nginx's SSI: the first poll fills the row
    }
    const ok = body !== null && body.status === "ok";
    byName[block.dataset.service] = { status: ok ? "ok" : "fail", latencyMs: null, detail: describe(null, body), body };
  }
  return byName;
}

// One round: all probes concurrently, then render every row.
async function refresh() {
  const names = Object.keys(ENDPOINTS);
  const results = await Promise.all(names.map((name) => probe(ENDPOINTS[name])));
  renderAll(Object.fromEntries(names.map((name, i) => [name, results[i]])));
}

// Every row from one result per HTTP service (the derived rows from their parent's body).
function renderAll(byName) {
  if (Object.keys(byName).length === 0) {
    return;
  }
  for (const [name, parent] of Object.entries(DERIVED)) {
    byName[name] = derive(name, byName[parent] || {});
  }
  for (const [name, result] of Object.entries(byName)) {
    render(name, result);
  }
  renderSummary(Object.entries(byName).map(([name, result]) => [name, result.status]));
}

// Schedule the next round only after this one finished, so slow answers never pile up.
async function poll() {
  try {
    await refresh();
  } finally {
    setTimeout(poll, POLL_INTERVAL_MS);
  }
}

// -- The metrics view: the key panels of the Grafana dashboard, read through the ui's /panels/<name>
// (nginx sends each panel's fixed query to Prometheus' query API). One row per scrape target.
const METRICS_INTERVAL_MS = 15000;
// Panel -> the table column it fills (null: shown beside the table). Same names as nginx.conf.
const PANELS = {
  "up": "up",
  "request-rate": "request-rate",
  "error-rate": "error-rate",
  "latency-p95": "latency-p95",
  "health-failures": "health-failures",
  "llama-tokens": null,
};

// One panel's instant vector as {ok, byJob: {job: number}} (series of one job summed), or {ok: false, detail}.
async function readPanel(name) {
  const timeoutMs = REQUEST_TIMEOUT_MS * 2;
  try {
    const { response, body } = await fetchJson(`/panels/${name}`, timeoutMs);
    if (!response.ok || !body || body.status !== "success") {
      return { ok: false, detail: describe(response.status, body) };
    }
    const byJob = {};
    for (const series of body.data.result) {
      const job = series.metric.job || "(no job)";
      const value = Number(series.value[1]);
      byJob[job] = (byJob[job] || 0) + (Number.isNaN(value) ? 0 : value);
    }
    return { ok: true, byJob };
  } catch (error) {
    return { ok: false, detail: unanswered(error, timeoutMs) };
  }
}

function formatMetric(panel, value) {
  if (value === undefined || !Number.isFinite(value)) {
    return "\u2013";
  }
  if (panel === "up") {
    return value >= 1 ? "up" : "down";
  }
  if (panel === "latency-p95") {
    return `${(value * 1000).toFixed(0)} ms`;
  }
  return value.toFixed(2);
}

function cell(className, text) {
  const td = document.createElement("td");
  td.className = className;
  td.textContent = text;
  return td;
}

function renderMetrics(readings) {
  const summary = document.getElementById("metrics-summary");
  const up = readings["up"];
  if (!up.ok) {
    summary.dataset.status = "fail";
    summary.textContent = `Metrics unavailable: Prometheus did not answer (${up.detail}). ` +
      "It runs with the monitoring profile: invoke deploy --profile monitoring.";
    return;
  }
  const jobs = Object.keys(up.byJob).sort();
  const down = jobs.filter((job) => up.byJob[job] < 1);
  summary.dataset.status = down.length === 0 ? "ok" : "fail";
  summary.textContent = down.length === 0 ? `All ${jobs.length} scrape targets up` : `Down: ${down.join(", ")}`;
  const rows = jobs.map((job) => {
    const tr = document.createElement("tr");
    tr.dataset.job = job;
    tr.dataset.up = up.byJob[job] >= 1 ? "up" : "down";
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = job;
    tr.append(th);
    for (const [panel, column] of Object.entries(PANELS)) {
      if (column !== null) {
        const reading = readings[panel];
        tr.append(cell(column, reading.ok ? formatMetric(panel, reading.byJob[job]) : "?"));
      }
    }
    return tr;
  });
  document.querySelector("#metrics-table tbody").replaceChildren(...rows);
  const tokens = readings["llama-tokens"];
  const rates = tokens.ok ? Object.values(tokens.byJob) : [];
  document.getElementById("llama-tokens").textContent =
    rates.length > 0 ? `${formatMetric("llama-tokens", rates[0])} tokens/s` : "\u2013";
}

async function pollMetrics() {
  try {
    const names = Object.keys(PANELS);
    const readings = await Promise.all(names.map(readPanel));
    renderMetrics(Object.fromEntries(names.map((name, i) => [name, readings[i]])));
  } finally {
    setTimeout(pollMetrics, METRICS_INTERVAL_MS);
  }
}

renderAll(firstReports());
poll();
pollMetrics();
