// Noa Server dashboard: polls each service's readiness verdicts through the ui's /status/<service>
// routes every 5 s and renders one row per service. Postgres and Redis have no HTTP endpoint; their
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

// Fetch one readiness URL; resolve (never reject) to {status, latencyMs, detail, body}.
async function probe(url) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
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
    const ok = response.ok && body !== null && body.status === "ok";
    return { status: ok ? "ok" : "fail", latencyMs, detail: describe(response.status, body), body };
  } catch (error) {
    const detail = error.name === "AbortError" ? `no answer within ${REQUEST_TIMEOUT_MS} ms` : String(error.message || error);
    return { status: "fail", latencyMs: null, detail, body: null };
  } finally {
    clearTimeout(timer);
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

renderAll(firstReports());
poll();
