// wfm web view: builds a POST /v1/plans body from the sample site or an uploaded history,
// polls the job, draws the roster and coverage with plotly.js (served by this server), and
// compares what-ifs through POST /v1/plans/{id}/scenarios and the plan with an uploaded actual
// week through POST /v1/plans/{id}/review. A stored site (/v1/sites) can be planned, published and
// its time-off and swap requests decided. No framework, no build step.

const $ = (sel) => document.querySelector(sel);
const state = { plan: null, sample: null, historyName: null, job: null, result: null, poll: null, auth: false,
                site: null, jobAgents: null, jobSite: null };
const KEY_STORE = "wfm-api-key";
const DEFAULT_SCENARIOS = [
  { name: "volume +15%", volume_multiplier: 1.15, aht_add_seconds: 0, shrinkage: null },
  { name: "AHT +20 s", volume_multiplier: 1, aht_add_seconds: 20, shrinkage: null },
  { name: "shrinkage 35%", volume_multiplier: 1, aht_add_seconds: 0, shrinkage: 0.35 },
];

// --- talking to the API ---------------------------------------------------------------------

function headers(extra = {}) {
  const key = $("#api-key").value.trim();
  return state.auth && key ? { "X-API-Key": key, ...extra } : extra;
}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: headers(options.headers || {}) });
  if (!res.ok) {
    let message = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      message = body.message || message;
      if (body.error === "missing_api_key" || body.error === "invalid_api_key") {
        message += " — enter a valid API key at the top right.";
      }
    } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return res;
}

function showError(err) {
  const box = $("#error");
  box.textContent = err ? String(err.message || err) : "";
  box.hidden = !err;
}

function guard(fn) {
  return async (...args) => {
    showError(null);
    try { await fn(...args); } catch (err) { showError(err); }
  };
}

// --- data: the sample site or an upload -------------------------------------------------------

async function loadSample() {
  $("#data-status").textContent = "Loading the sample site ...";
  const plan = await (await api("/ui/sample-plan")).json();
  state.sample = plan;
  setPlan(structuredClone(plan), `sample site: ${plan.history.length.toLocaleString()} interval rows, ` +
    `${Object.keys(plan.targets).length} queues, ${plan.agents.length} agents, ${plan.templates.length} shift templates`);
}

async function sampleSetup() {
  if (!state.sample) state.sample = await (await api("/ui/sample-plan")).json();
  const { templates, agents, rules, weights, solver } = state.sample;
  return { templates, agents, rules, weights, solver };
}

async function readText(file) {
  if (file.name.endsWith(".gz")) {
    const stream = file.stream().pipeThrough(new DecompressionStream("gzip"));
    return await new Response(stream).text();
  }
  return await file.text();
}

// An Excel workbook, told by its first bytes whatever its name: .xlsx (a zip) or .xls (OLE2).
function isWorkbook(head) {
  const starts = (sig) => sig.every((b, i) => head[i] === b);
  return starts([0x50, 0x4b, 0x03, 0x04]) || starts([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
}

// RFC 4180 CSV (or TSV) to row objects; empty cells become null.
function parseDelimited(text, delimiter) {
  const rows = [];
  let row = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { cell += '"'; i++; } else quoted = false;
      } else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === delimiter) { row.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell); rows.push(row); row = []; cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
  const [head, ...body] = rows.filter((r) => r.length > 1 || r[0] !== "");
  if (!head) throw new Error("the file is empty");
  return body.map((r, n) => {
    if (r.length !== head.length) throw new Error(`line ${n + 2}: ${r.length} cells for ${head.length} columns`);
    return Object.fromEntries(head.map((h, k) => [h.trim(), r[k] === "" ? null : r[k]]));
  });
}

async function loadUpload() {
  const file = $("#history-file").files[0];
  if (!file) return;
  $("#data-status").textContent = `Reading ${file.name} ...`;
  if (isWorkbook(new Uint8Array(await file.slice(0, 8).arrayBuffer()))) {
    throw new Error(`${file.name}: this looks like an Excel workbook: save it as CSV`);
  }
  const text = await readText(file);
  const history = parseDelimited(text, file.name.includes(".tsv") ? "\t" : ",");
  const queues = [...new Set(history.map((r) => r.queue || "all"))].sort();
  const setupFile = $("#setup-file").files[0];
  const setup = setupFile ? JSON.parse(await setupFile.text()) : await sampleSetup();
  const targets = Object.fromEntries(queues.map((q) => [q, { service_level: 0.8, answer_seconds: 20, shrinkage: 0.3 }]));
  const plan = {
    history, targets, ...setup,
    forecast: { timezone: $("#timezone").value.trim(), interval_minutes: Number($("#interval").value), days: 7 },
  };
  setPlan(plan, `${file.name}: ${history.length.toLocaleString()} rows, queues ${queues.join(", ")}; ` +
    `${plan.agents.length} agents from ${setupFile ? setupFile.name : "the sample site"}`);
}

function setPlan(plan, description) {
  state.plan = plan;
  $("#data-status").textContent = description;
  $("#days").value = plan.forecast.days || 7;
  $("#time-limit").value = (plan.solver && plan.solver.time_limit_seconds) || 30;
  const body = $("#targets tbody");
  body.innerHTML = "";
  for (const [queue, t] of Object.entries(plan.targets)) {
    const tr = document.createElement("tr");
    tr.dataset.queue = queue;
    tr.innerHTML = `<td>${escapeHtml(queue)}</td>
      <td><input type="number" name="sl" min="1" max="99" step="1" value="${Math.round(100 * (t.service_level ?? 0.8))}"></td>
      <td><input type="number" name="answer" min="0" step="1" value="${t.answer_seconds ?? 20}"></td>
      <td><input type="number" name="shrinkage" min="0" max="95" step="1" value="${Math.round(100 * (t.shrinkage ?? 0))}"></td>`;
    body.appendChild(tr);
  }
  $("#run-plan").disabled = false;
}

function planBody() {
  const plan = structuredClone(state.plan);
  for (const tr of document.querySelectorAll("#targets tbody tr")) {
    const t = plan.targets[tr.dataset.queue];
    t.service_level = Number(tr.querySelector("[name=sl]").value) / 100;
    t.answer_seconds = Number(tr.querySelector("[name=answer]").value);
    t.shrinkage = Number(tr.querySelector("[name=shrinkage]").value) / 100;
  }
  plan.forecast.days = Number($("#days").value);
  plan.solver = { ...(plan.solver || {}), time_limit_seconds: Number($("#time-limit").value) };
  return plan;
}

// --- running the plan -----------------------------------------------------------------------

// A plan of the page's data (POST /v1/plans), or of a stored site: `site` is then { id, agents }
// and the body a POST /v1/sites/{id}/plans body.
async function runPlan(site = null, body = planBody()) {
  $("#run-plan").disabled = true;
  $("#publish-plan").disabled = true;
  $("#results").hidden = $("#scenario-step").hidden = $("#review-step").hidden = true;
  const url = site ? `/v1/sites/${encodeURIComponent(site.id)}/plans` : "/v1/plans";
  const job = await (await api(url, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  })).json();
  state.job = job;
  state.jobSite = site ? site.id : null;
  state.jobAgents = (site ? site.agents : body.agents).map((a) => a.id);
  state.trace = { t: [], objective: [], bound: [] };
  $("#progress-step").hidden = false;
  $("#cancel").hidden = false;
  Plotly.newPlot("progress-chart", [
    { x: [], y: [], name: "objective", mode: "lines+markers", line: { shape: "hv", color: "#4c78a8" } },
    { x: [], y: [], name: "bound", mode: "lines+markers", line: { shape: "hv", color: "#b279a2" } },
  ], { margin: { t: 10, r: 10, b: 40, l: 70 }, height: 220, xaxis: { title: { text: "solver seconds" } } },
  { displaylogo: false, responsive: true });
  showJob(job);
  state.poll = setInterval(guard(pollJob), 500);
}

async function pollJob() {
  const view = await (await api(`/v1/jobs/${state.job.id}`)).json();
  showJob(view);
  if (["succeeded", "failed", "cancelled"].includes(view.status)) {
    clearInterval(state.poll);
    $("#cancel").hidden = true;
    $("#run-plan").disabled = !state.plan;
    $("#run-site-plan").disabled = !state.site;
    $("#publish-plan").disabled = !(view.status === "succeeded" && state.jobSite && state.site
                                    && state.jobSite === state.site.id);
    if (view.status === "succeeded") await showResult(view.id);
    else showError(new Error(`plan ${view.status}: ${(view.error && view.error.message) || ""}`));
  }
}

function showJob(view) {
  const p = view.progress || {};
  const elapsed = view.elapsed_seconds || 0;
  const gap = p.objective != null && p.bound != null && p.objective !== 0
    ? ` · gap ${(100 * Math.abs(p.objective - p.bound) / Math.abs(p.objective)).toFixed(1)}%` : "";
  const solving = p.objective != null ? ` · objective ${fmt(p.objective, 0)} · bound ${fmt(p.bound, 0)}${gap}` : "";
  $("#job-status").textContent = `job ${view.id.slice(0, 8)}: ${view.status} · ${elapsed.toFixed(1)} s of ` +
    `${view.time_limit_seconds} s solver limit${solving}`;
  $("#progress-bar").value = view.status === "succeeded" ? 1 : Math.min(elapsed / view.time_limit_seconds, 0.99);
  const tr = state.trace;
  if (p.seconds != null && tr && tr.t[tr.t.length - 1] !== p.seconds) {
    tr.t.push(p.seconds); tr.objective.push(p.objective); tr.bound.push(p.bound);
    Plotly.restyle("progress-chart", { x: [tr.t.slice(), tr.t.slice()], y: [tr.objective.slice(), tr.bound.slice()] });
  }
}

async function cancelJob() {
  if (state.job) await api(`/v1/jobs/${state.job.id}`, { method: "DELETE" });
}

// --- results --------------------------------------------------------------------------------

async function showResult(id) {
  const result = await (await api(`/v1/plans/${id}`)).json();
  state.result = result;
  const r = result.roster;
  // The headline the server built (wfm.outputs.headline): the same figures as report.html and the console.
  const h = result.headline;
  cards([...h.rows.map((row) => [row.label, row.value, row.note]),
    ["roster", r.status, `${fmt(r.kpis.shifts, 0)} shifts; ${r.feasible ? "every hard rule holds" : "RULES BROKEN"}` +
      (h.solver ? " (see note 1)" : "")]]);
  $("#kpi-note").textContent = h.solver ? `1. ${h.solver}` : "";
  $("#results").hidden = false;
  drawGantt(r.shifts, state.jobAgents);
  drawCoverage(r.coverage);
  const tbody = $("#explanation tbody");
  tbody.innerHTML = r.explanation.map((e) =>
    `<tr><td>${escapeHtml(e.rule)}</td><td>${fmt(e.penalty, 0)}</td><td>${escapeHtml(e.mostly || "")}</td></tr>`).join("");
  $("#scenario-step").hidden = $("#review-step").hidden = false;
  if (!$("#scenario-inputs tbody").children.length) DEFAULT_SCENARIOS.forEach((s) => addScenarioRow(s));
}

function cards(items) {
  $("#kpis").innerHTML = items.map(([label, value, note]) =>
    `<div class="card"><div class="label">${escapeHtml(label)}</div><div class="value">${escapeHtml(String(value))}</div>` +
    `<div class="label">${escapeHtml(note)}</div></div>`).join("");
}

// ISO time with the site's offset -> its wall clock, as plotly's (naive) date axis wants it.
const wall = (iso) => iso.slice(0, 19).replace("T", " ");
const wallMs = (text) => Date.parse(text.replace(" ", "T") + "Z");
const pad = (n) => String(n).padStart(2, "0");
function wallText(ms) {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:00`;
}

// Wall-clock ticks every 6 hours from the midnight before `first` to the one after `last` (ms):
// "06:00" within a day, "Mon 02 Mar" at midnight (as wfm.outputs.charts.hour_ticks).
function hourTicks(first, last) {
  const day = 86400000, step = 6 * 3600000;
  const start = Math.floor(first / day) * day;
  const end = Math.max(Math.ceil(last / day) * day, start + day);
  const names = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const values = [], labels = [];
  for (let t = start; t <= end; t += step) {
    const d = new Date(t);
    values.push(wallText(t));
    labels.push(d.getUTCHours() === 0
      ? `${names[d.getUTCDay()]} ${pad(d.getUTCDate())} ${months[d.getUTCMonth()]}` : `${pad(d.getUTCHours())}:00`);
  }
  return { values, labels };
}

// "break 12:00-12:30; lunch 14:30-15:00" within a shift -> [{name, start, end}] in wall-clock ms
function parseBreaks(text, shiftStartMs) {
  if (!text) return [];
  const day = Math.floor(shiftStartMs / 86400000) * 86400000;
  return text.split(";").map((part) => {
    const m = part.trim().match(/^(.*)\s(\d\d):(\d\d)-(\d\d):(\d\d)$/);
    if (!m) return null;
    let start = day + (Number(m[2]) * 60 + Number(m[3])) * 60000;
    if (start < shiftStartMs) start += 86400000;   // a night shift's break after midnight
    let end = day + (Number(m[4]) * 60 + Number(m[5])) * 60000;
    while (end <= start) end += 86400000;
    return { name: m[1], start, end };
  }).filter(Boolean);
}

function drawGantt(shifts, agents) {
  const colours = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2"];
  const templates = [...new Set(shifts.map((s) => s.template))].sort();
  const traces = templates.map((t, i) => {
    const part = shifts.filter((s) => s.template === t);
    return {
      type: "bar", orientation: "h", name: `shift: ${t}`, width: 0.8, marker: { color: colours[i % colours.length] },
      y: part.map((s) => s.agent), base: part.map((s) => wall(s.start)),
      x: part.map((s) => wallMs(wall(s.end)) - wallMs(wall(s.start))),
      hovertext: part.map((s) => `${s.agent} ${t} ${wall(s.start).slice(5, 16)}-${wall(s.end).slice(11, 16)} · ${s.breaks}`),
      hoverinfo: "text",
    };
  });
  const breaks = shifts.flatMap((s) => parseBreaks(s.breaks, wallMs(wall(s.start))).map((b) => ({ ...b, agent: s.agent })));
  traces.push({
    type: "bar", orientation: "h", name: "breaks", width: 0.45, marker: { color: "#222" },
    y: breaks.map((b) => b.agent), base: breaks.map((b) => wallText(b.start)), x: breaks.map((b) => b.end - b.start),
    hovertext: breaks.map((b) => `${b.agent} ${b.name} ${wallText(b.start).slice(11, 16)}-${wallText(b.end).slice(11, 16)}`),
    hoverinfo: "text",
  });
  const starts = shifts.map((s) => wallMs(wall(s.start))), ends = shifts.map((s) => wallMs(wall(s.end)));
  const ticks = hourTicks(Math.min(...starts), Math.max(...ends));
  Plotly.newPlot("gantt", traces, {
    barmode: "overlay", height: 22 * agents.length + 140, margin: { t: 30, r: 10, b: 60, l: 90 },
    // Explicit ticks: a printout shows the hours of each day, not only the dates.
    xaxis: { type: "date", tickmode: "array", tickvals: ticks.values, ticktext: ticks.labels, showgrid: true,
             gridcolor: "#d0d0d0", range: [ticks.values[0], ticks.values[ticks.values.length - 1]],
             minor: { dtick: 3600000, showgrid: true, gridcolor: "#f0f0f0" }, ticks: "outside", mirror: "ticks",
             tickfont: { size: 10 }, title: { text: "site time (every 6 hours; day names at midnight)" } },
    legend: { orientation: "h", y: 1.02, yanchor: "bottom" },
    yaxis: { type: "category", categoryorder: "array", categoryarray: [...agents].reverse() },
  }, { displaylogo: false, responsive: true });
}

function drawCoverage(coverage) {
  const queues = [...new Set(coverage.map((c) => c.queue))].sort();
  const traces = [];
  queues.forEach((q, i) => {
    const part = coverage.filter((c) => c.queue === q);
    const axis = i === 0 ? "" : String(i + 1);
    const x = part.map((c) => wall(c.interval_start));
    for (const [col, name, colour] of [["required", "required", "#e45756"], ["on_queue", "on queue", "#4c78a8"]]) {
      traces.push({ x, y: part.map((c) => c[col]), name, mode: "lines", xaxis: "x", yaxis: "y" + axis,
                    line: { shape: "hv", color: colour, width: 2 }, legendgroup: col, showlegend: i === 0,
                    hovertemplate: `${q} %{x}: %{y} ${name}<extra></extra>` });
    }
  });
  const layout = { height: 230 * queues.length + 60, margin: { t: 30, r: 10, b: 40, l: 60 },
                   grid: { rows: queues.length, columns: 1, pattern: "coupled" }, xaxis: { type: "date" },
                   annotations: queues.map((q, i) => ({ text: `<b>${q}</b>`, showarrow: false, xref: "paper",
                     yref: `y${i === 0 ? "" : i + 1} domain`, x: 0, y: 1.08 })) };
  Plotly.newPlot("coverage-chart", traces, layout, { displaylogo: false, responsive: true });
}

// --- downloads ------------------------------------------------------------------------------

async function download(kind) {
  const id = state.job.id;
  const urls = {
    shifts: [`/v1/plans/${id}?table=shifts`, "text/csv", "roster.csv"],
    coverage: [`/v1/plans/${id}?table=coverage`, "text/csv", "coverage.csv"],
    requirements: [`/v1/plans/${id}?table=requirements`, "text/csv", "requirements.csv"],
    forecast: [`/v1/plans/${id}?table=forecast`, "text/csv", "forecast.csv"],
    xlsx: [`/v1/plans/${id}/roster.xlsx`, "*/*", "roster.xlsx"],
    report: [`/v1/plans/${id}/report.html`, "text/html", "report.html"],
  };
  const [url, accept, name] = urls[kind];
  const blob = await (await api(url, { headers: { Accept: accept } })).blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
}

// --- scenarios ------------------------------------------------------------------------------

function addScenarioRow(s = { name: "", volume_multiplier: 1, aht_add_seconds: 0, shrinkage: null }) {
  const tr = document.createElement("tr");
  tr.innerHTML = `<td><input class="name" name="name" value="${escapeHtml(s.name)}"></td>
    <td><input type="number" name="volume" step="0.05" min="0" value="${s.volume_multiplier}"></td>
    <td><input type="number" name="aht" step="5" value="${s.aht_add_seconds}"></td>
    <td><input type="number" name="shrinkage" step="1" min="0" max="95" placeholder="as is"
      value="${s.shrinkage == null ? "" : Math.round(100 * s.shrinkage)}"></td>
    <td><button type="button" title="remove">×</button></td>`;
  tr.querySelector("button").addEventListener("click", () => tr.remove());
  $("#scenario-inputs tbody").appendChild(tr);
}

async function compareScenarios() {
  const scenarios = [...document.querySelectorAll("#scenario-inputs tbody tr")].map((tr) => {
    const shrink = tr.querySelector("[name=shrinkage]").value;
    return { name: tr.querySelector("[name=name]").value.trim(),
             volume_multiplier: Number(tr.querySelector("[name=volume]").value),
             aht_add_seconds: Number(tr.querySelector("[name=aht]").value),
             shrinkage: shrink === "" ? null : Number(shrink) / 100 };
  });
  const res = await (await api(`/v1/plans/${state.job.id}/scenarios`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ scenarios }),
  })).json();
  const rows = res.scenarios;
  $("#scenario-table tbody").innerHTML = rows.map((r) =>
    `<tr>${scenarioCells(r).map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("");
  Plotly.newPlot("scenario-chart", [
    { type: "bar", x: rows.map((r) => r.scenario), y: rows.map((r) => r.required_fte), name: "FTE needed",
      marker: { color: "#4c78a8" } },
    { type: "bar", x: rows.map((r) => r.scenario), y: rows.map((r) => r.service_level), name: "projected SL",
      yaxis: "y2", xaxis: "x2", marker: { color: "#54a24b" } },
  ], { grid: { rows: 1, columns: 2, pattern: "independent" }, height: 300, margin: { t: 30, r: 10, b: 80, l: 50 },
       yaxis: { title: { text: "FTE needed" } }, yaxis2: { title: { text: "projected SL" }, tickformat: ".0%" },
       showlegend: false }, { displaylogo: false, responsive: true });
}

// One scenario row as the table shows it. A scenario whose roster changes (hires, removals,
// rules) this run did not apply shows "needs roster mode" where its change would be, never "+0.0".
const NEEDS_ROSTER = "needs roster mode";
function scenarioCells(r) {
  const pending = r.needs_roster_mode || "";
  const pct = (v) => (v == null ? "-" : `${(100 * v).toFixed(1)}%`);
  const delta = (v, text) => (pending && (v == null || Math.abs(v) < 1e-9) ? NEEDS_ROSTER : v == null ? "-" : text(v));
  const dpct = (v) => delta(v, (x) => `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)} pt`);
  const dnum = (v) => delta(v, (x) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`);
  return [r.scenario, fmt(r.contacts, 0), fmt(r.required_fte, 1), dnum(r.required_fte_delta), pct(r.service_level),
    dpct(r.service_level_delta), fmt(r.under_hours, 1), dnum(r.under_hours_delta),
    pending ? `${pending}: ${NEEDS_ROSTER}` : ""];
}

// --- plan vs actual -------------------------------------------------------------------------

// A plain CSV (a header, comma-separated, no quoted commas) as objects of strings: the server
// reads them back as `wfm review` reads the file, and names a bad row by its index.
function csvRows(text) {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  const head = (lines.shift() || "").split(",").map((h) => h.trim());
  return lines.map((line) => {
    const cells = line.split(",");
    return Object.fromEntries(head.map((h, i) => [h, (cells[i] || "").trim()]));
  });
}

// One row of the review's days table as the web view shows it.
function reviewCells(r) {
  const pct = (v) => (v == null ? "-" : `${(100 * v).toFixed(1)}%`);
  const signed = (v) => (v == null ? "-" : `${v >= 0 ? "+" : ""}${(100 * v).toFixed(1)}%`);
  return [r.day, r.queue, fmt(r.forecast_volume, 0), fmt(r.actual_volume, 0), pct(r.volume_wape),
    signed(r.volume_bias), fmt(r.required_hours, 1), fmt(r.rostered_hours, 1), fmt(r.needed_hours, 1),
    pct(r.promised_service_level), pct(r.achieved_service_level)];
}

async function reviewPlan() {
  const file = $("#actuals-file").files[0];
  if (!file) return;
  const history = csvRows(await file.text());
  const res = await (await api(`/v1/plans/${state.job.id}/review`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ history }),
  })).json();
  $("#review-table tbody").innerHTML = res.days.map((r) =>
    `<tr>${reviewCells(r).map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("");
  $("#review-notes").textContent = res.notes.join(" ");
}

// The intraday result's before/after as cards: [label, value, note].
function intradayCards(s) {
  const pct = (v) => (v == null ? "-" : `${(100 * v).toFixed(1)}%`);
  const mult = Object.entries(s.multipliers).map(([q, m]) => `${q} x${m.toFixed(2)}`).join(", ");
  return [["rest-of-day contacts", fmt(s.forecast_rest_of_day, 0), mult],
    ["projected SL before / after", `${pct(s.before.service_level)} / ${pct(s.after.service_level)}`, "rest of the day"],
    ["under-coverage before / after", `${s.before.under_hours.toFixed(1)} h / ${s.after.under_hours.toFixed(1)} h`,
      "agent-hours below the new requirement"],
    ["changes", `${s.shifts_changed} shifts, ${s.breaks_moved} breaks`, s.feasible ? "every hard rule holds" : "RULES BROKEN"]];
}

function offerCells(o) {
  const signed = (v, digits, unit) => `${v >= 0 ? "+" : ""}${v.toFixed(digits)}${unit}`;
  return [o.rank, o.kind, o.agent, o.action, o.start.slice(11, 16), o.end.slice(11, 16), signed(o.hours_change, 1, ""),
    `${(100 * o.service_level_after).toFixed(1)}%`, signed(100 * o.service_level_change, 1, " pt")];
}

async function runIntraday() {
  const file = $("#intraday-file").files[0];
  if (!file) throw new Error("choose the day's contacts so far (a CSV) first");
  const body = { now: $("#intraday-now").value.trim(), history: csvRows(await file.text()) };
  let view = await (await api(`/v1/plans/${state.job.id}/intraday`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  })).json();
  while (!["succeeded", "failed", "cancelled"].includes(view.status)) {
    $("#intraday-status").textContent = `intraday job ${view.id.slice(0, 8)}: ${view.status}`;
    await new Promise((resolve) => setTimeout(resolve, 500));
    view = await (await api(`/v1/jobs/${view.id}`)).json();
  }
  $("#intraday-status").textContent = "";
  if (view.status !== "succeeded") throw new Error(`intraday ${view.status}: ${(view.error && view.error.message) || ""}`);
  const res = await (await api(view.links.result)).json();
  $("#intraday-cards").innerHTML = intradayCards(res.summary).map(([label, value, note]) =>
    `<div class="card"><div class="label">${escapeHtml(label)}</div><div class="value">${escapeHtml(String(value))}</div>` +
    `<div class="label">${escapeHtml(note)}</div></div>`).join("");
  $("#offer-table tbody").innerHTML = res.offers.map((o) =>
    `<tr>${offerCells(o).map((c) => `<td>${escapeHtml(String(c))}</td>`).join("")}</tr>`).join("");
}

// --- stored sites: plan, publish, requests ----------------------------------------------------

// The loaded site in one line: what a plan of it would use.
function siteSummary(site, agents, templates) {
  const queues = (site.queues || []).map((q) => q.id);
  return `${site.name} (${site.id}): ${site.timezone}, ${site.interval_minutes}-minute intervals; ` +
    `${agents.length} agents, ${templates.length} shift templates; ` +
    (queues.length ? `queues ${queues.join(", ")}` : "no queue targets (a plan uses a default target)");
}

// A POST /v1/sites/{id}/plans body: the history and the page's days and time limit; a site with no
// queue targets gets the page's default target for the history's queues.
const DEFAULT_TARGET = { service_level: 0.8, answer_seconds: 20, shrinkage: 0.3 };
function sitePlanBody(site, history, days, timeLimitSeconds) {
  const body = { history, forecast: { days }, solver: { time_limit_seconds: timeLimitSeconds } };
  if (!(site.queues || []).length) body.default_target = { ...DEFAULT_TARGET };
  return body;
}

// One request as the requests table shows it: who and what, and its impact on the published schedule.
function requestCells(r) {
  const q = r.request, check = r.check || {}, cov = check.coverage || { intervals: [] };
  const pct = (v) => (v == null ? "-" : `${(100 * v).toFixed(1)}%`);
  const what = q.type === "time_off"
    ? `${q.agent} off ${q.first_day}${q.last_day !== q.first_day ? ` to ${q.last_day}` : ""}`
    : `${q.agent} ${q.day} to ${q.with_agent}${q.with_day && q.with_day !== q.day ? ` for ${q.with_day}` : ""}`;
  const short = cov.intervals.filter((i) => i.under_after > i.under_before).length;
  const before = cov.intervals.map((i) => i.service_level_before).filter((v) => v != null);
  const lowestBefore = before.length ? Math.min(...before) : null;
  const decision = r.decision ? `${r.status}${r.decision.reason ? `: ${r.decision.reason}` : ""}` : "";
  return [r.id.slice(0, 8), q.type === "time_off" ? "time off" : "swap", what, r.status,
    String((check.violations || []).length), String(short), fmt(cov.under_hours_added, 1),
    `${pct(lowestBefore)} / ${pct(cov.lowest_service_level_after)}`,
    decision || (check.reasons || []).join("; ") || (check.ok ? "no rule broken" : "")];
}

// Approve or deny as [url, fetch options]: sent with the request's ETag as If-Match, so a request
// that changed since the table was read is refused (412) rather than decided blindly.
function decisionCall(siteId, view, action, reason = "") {
  if (!["approve", "deny"].includes(action)) throw new Error(`unknown decision ${action}`);
  const why = String(reason || "").trim();
  if (action === "deny" && !why) throw new Error("a denial needs a reason (shown to the agent)");
  if (!view.etag) throw new Error(`request ${view.id} has no ETag: refresh the requests`);
  return [`/v1/sites/${encodeURIComponent(siteId)}/requests/${encodeURIComponent(view.id)}/${action}`,
    { method: "POST", headers: { "Content-Type": "application/json", "If-Match": view.etag },
      body: JSON.stringify({ reason: why }) }];
}

function siteUrl(path = "") {
  return `/v1/sites/${encodeURIComponent(state.site.id)}${path}`;
}

async function listSites() {
  const sites = await (await api("/v1/sites")).json();
  const select = $("#site-select");
  select.innerHTML = sites.length ? sites.map((s) =>
    `<option value="${escapeHtml(s.id)}">${escapeHtml(s.name)} (${escapeHtml(s.id)})</option>`).join("")
    : `<option value="">(no site stored for this key)</option>`;
  select.disabled = $("#load-site").disabled = !sites.length;
}

async function loadSite() {
  const id = $("#site-select").value;
  if (!id) return;
  const path = `/v1/sites/${encodeURIComponent(id)}`;
  const [site, agents, templates] = await Promise.all(
    [path, `${path}/agents`, `${path}/templates`].map(async (url) => (await api(url)).json()));
  state.site = { ...site, agents };
  $("#site-status").textContent = siteSummary(site, agents, templates);
  $("#run-site-plan").disabled = $("#list-requests").disabled = false;
  $("#publish-plan").disabled = !(state.jobSite === id && state.result);
  $("#publish-status").textContent = "";
  await listRequests();
}

async function runSitePlan() {
  const file = $("#site-history-file").files[0];
  if (!file) throw new Error("choose the site's ticket history (CSV, TSV or .csv.gz) first");
  if (isWorkbook(new Uint8Array(await file.slice(0, 8).arrayBuffer()))) {
    throw new Error(`${file.name}: this looks like an Excel workbook: save it as CSV`);
  }
  const history = parseDelimited(await readText(file), file.name.includes(".tsv") ? "\t" : ",");
  $("#run-site-plan").disabled = true;
  state.result = null;
  await runPlan(state.site, sitePlanBody(state.site, history, Number($("#days").value), Number($("#time-limit").value)));
}

async function publishPlan() {
  const view = await (await api(siteUrl("/schedules"), {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ job_id: state.job.id }),
  })).json();
  $("#publish-plan").disabled = true;
  $("#publish-status").textContent = `published as version ${view.version} of ${state.site.id}`;
  await listRequests();
}

async function listRequests() {
  if (!state.site) return;
  const status = $("#request-status").value;
  const views = await (await api(siteUrl(`/requests${status ? `?status=${status}` : ""}`))).json();
  state.requests = Object.fromEntries(views.map((v) => [v.id, v]));
  $("#request-table tbody").innerHTML = views.length ? views.map((v) =>
    `<tr>${requestCells(v).map((c) => `<td>${escapeHtml(c)}</td>`).join("")}<td>` +
    (v.status === "pending" ? `<button type="button" data-decide="approve" data-request="${escapeHtml(v.id)}">` +
      `Approve</button> <button type="button" data-decide="deny" data-request="${escapeHtml(v.id)}">Deny</button>`
      : "") + "</td></tr>").join("") : `<tr><td colspan="10">no ${status || ""} request</td></tr>`;
}

async function decide(button) {
  const view = state.requests[button.dataset.request];
  const action = button.dataset.decide;
  const reason = action === "deny" ? window.prompt(`Why deny ${view.id.slice(0, 8)}? (shown to the agent)`) : "";
  if (reason === null) return;                    // the prompt was cancelled
  try {
    await api(...decisionCall(state.site.id, view, action, reason));
  } finally {
    await listRequests();                         // fresh ETags and statuses, also after a 412 or 409
  }
}

// --- helpers --------------------------------------------------------------------------------

function fmt(v, digits) {
  return v == null ? "-" : Number(v).toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// --- wiring ---------------------------------------------------------------------------------

async function init() {
  const config = await (await fetch("/ui/config")).json();
  state.auth = config.auth;
  $("#auth").hidden = !config.auth;
  $("#api-key").value = sessionStorage.getItem(KEY_STORE) || "";
  $("#api-key").addEventListener("change", () => sessionStorage.setItem(KEY_STORE, $("#api-key").value.trim()));
  $("#load-sample").addEventListener("click", guard(loadSample));
  $("#history-file").addEventListener("change", guard(loadUpload));
  $("#setup-file").addEventListener("change", guard(loadUpload));
  $("#run-plan").addEventListener("click", guard(async () => {
    try { await runPlan(); } catch (err) { $("#run-plan").disabled = false; throw err; }
  }));
  $("#cancel").addEventListener("click", guard(cancelJob));
  $("#add-scenario").addEventListener("click", () => addScenarioRow());
  $("#compare-scenarios").addEventListener("click", guard(compareScenarios));
  $("#actuals-file").addEventListener("change", guard(reviewPlan));
  $("#run-intraday").addEventListener("click", guard(runIntraday));
  $("#list-sites").addEventListener("click", guard(listSites));
  $("#load-site").addEventListener("click", guard(loadSite));
  $("#run-site-plan").addEventListener("click", guard(async () => {
    try { await runSitePlan(); } catch (err) { $("#run-site-plan").disabled = !state.site; throw err; }
  }));
  $("#publish-plan").addEventListener("click", guard(publishPlan));
  $("#list-requests").addEventListener("click", guard(listRequests));
  $("#request-status").addEventListener("change", guard(listRequests));
  $("#request-table").addEventListener("click", guard(async (event) => {
    const button = event.target.closest("[data-decide]");
    if (button) await decide(button);
  }));
  for (const button of document.querySelectorAll("[data-download]")) {
    button.addEventListener("click", guard(() => download(button.dataset.download)));
  }
  document.body.dataset.ready = "true";
}

init().catch(showError);
