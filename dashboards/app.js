// Headroom's dashboard: plain JavaScript, hash routing, no dependencies.
// Every page reads the JSON API under /api/v1 with the session cookie;
// charts are SVG rendered by the collector (/api/v1/chart) and inserted as
// parsed SVG nodes. Text from the API only ever reaches the page through
// textContent or attributes, never as markup.
"use strict";

const DAY_MS = 86400000;
const RANGES = { "1h": 3600000, "6h": 21600000, "24h": DAY_MS, "7d": 7 * DAY_MS, "30d": 30 * DAY_MS };
// The range picker's default: the collector fits the window to the data's
// span (the smallest of RANGES that holds it, see web/chart/window.rs).
const FIT = "fit";
const EVIDENCE_RANGE_KEY = "headroom.evidence_range";
const SEVERITIES = ["critical", "warning", "info"];
const ACTOR_KEY = "headroom.actor";
// Recommendation kinds, as the API names them (a silence may match one).
const KINDS = ["index", "drop_index", "cache", "cdn", "database", "app", "staffing", "integrity", "none"];

/** A failed API call; status 401 means "sign in". */
class ApiFailure extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// ---------------------------------------------------------------- helpers

/** Builds an element. `props`: class, text, and any attribute (data-*,
 * href, type …); a `false`/`null` attribute is left out. Children are
 * nodes or strings (added as text). */
function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "onclick" || key === "onchange" || key === "onsubmit") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function request(path, options = {}) {
  const response = await fetch(path, {
    credentials: "same-origin",
    ...options,
    headers: { Accept: "application/json", ...(options.headers || {}) },
  });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) message = body.error.message;
    } catch (_) {
      // Not JSON: keep the status line.
    }
    throw new ApiFailure(response.status, message);
  }
  return response;
}

async function getJson(path) {
  return (await request(path)).json();
}

async function postJson(path, body) {
  const response = await request(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return response.status === 204 ? null : response.json();
}

function localTime(ms) {
  if (ms === null || ms === undefined) return "—";
  return new Date(ms).toLocaleString();
}

const DURATION_UNITS = [["d", DAY_MS], ["h", 3600000], ["m", 60000], ["s", 1000], ["ms", 1]];

/** A duration as people write it, by the collector's rules
 * (proto/src/duration.rs): "35d", "4h", "1h30m", "90s" (seconds stay
 * seconds under two minutes, but a whole minute is "1m"), "0s". With `parts`, rounded to that many of
 * its largest units ("1d18h" for parts 2), never below a second unless it
 * is under one. */
function duration(ms, parts) {
  let left = Math.max(0, Math.floor(Number(ms) || 0));
  const secondsOnly = (n) => n < 120000 && n % 60000 !== 0;
  if (parts) {
    const largest = DURATION_UNITS.findIndex(([u, size]) => left >= size && (u !== "m" || !secondsOnly(left)));
    const finest = Math.min((largest < 0 ? DURATION_UNITS.length - 1 : largest) + Math.max(1, parts) - 1, DURATION_UNITS.length - 1);
    const step = Math.max(DURATION_UNITS[finest][1], left >= 1000 ? 1000 : 1);
    left = Math.floor((left + Math.floor(step / 2)) / step) * step;
  }
  if (left === 0) return "0s";
  const only = secondsOnly(left);
  let out = "";
  for (const [unit, size] of DURATION_UNITS) {
    if (unit === "m" && only) continue;
    const count = Math.floor(left / size);
    if (count > 0) {
      out += `${count}${unit}`;
      left -= count * size;
    }
  }
  return out;
}

function ago(ms) {
  return `${duration(Date.now() - ms, 1)} ago`;
}

/** "in N days" for a future time, "now" for a past one, "—" for none. */
function eta(ms) {
  if (ms === null || ms === undefined) return "—";
  const days = (ms - Date.now()) / DAY_MS;
  if (days <= 0) return "now";
  const n = Math.max(1, Math.round(days));
  return n === 1 ? "in 1 day" : `in ${n} days`;
}

function percent(x) {
  return Number.isFinite(x) ? `${Math.round(x * 100)}%` : "—";
}

function number(x) {
  if (!Number.isFinite(x)) return "—";
  const abs = Math.abs(x);
  const digits = abs >= 100 ? 0 : abs >= 1 ? 2 : 3;
  return x.toLocaleString(undefined, { maximumFractionDigits: digits });
}

function seriesLabel(series) {
  const labels = Object.entries(series.labels || {}).map(([k, v]) => `${k}=${v}`);
  return labels.length ? `${series.name}{${labels.join(", ")}}` : series.name;
}

// The query parameters of /api/v1/chart that are not label matchers, as
// the collector lists them (one list, kept in Rust): read once, on the
// first chart, and read again after a failure.
let reserved = null;

function reservedParameters() {
  if (!reserved) {
    reserved = getJson("/api/v1/reserved-parameters")
      .then((body) => new Set(body.reserved))
      .catch((error) => {
        reserved = null;
        throw error;
      });
  }
  return reserved;
}

/** The chart URL for a series reference over `range` ending now; with
 * `FIT`, the collector picks the window that fits the data. */
async function chartUrl(series, range, threshold) {
  const notLabels = await reservedParameters();
  const now = Date.now();
  const params = new URLSearchParams({ name: series.name, to: String(now) });
  if (RANGES[range]) params.set("from", String(now - RANGES[range]));
  else params.set("fit", "true");
  params.set("forecast", "true");
  params.set("tz_offset", String(-new Date().getTimezoneOffset()));
  for (const [key, value] of Object.entries(series.labels || {})) {
    if (!notLabels.has(key)) params.set(key, value);
  }
  if (Number.isFinite(threshold)) params.set("threshold", String(threshold));
  return `/api/v1/chart?${params}`;
}

/** Fetches a chart (`url` may be a promise of one) and puts its SVG
 * (parsed, never as HTML) into `box`. */
async function loadChart(box, url) {
  try {
    const text = await (await request(await url, { headers: { Accept: "image/svg+xml" } })).text();
    const doc = new DOMParser().parseFromString(text, "image/svg+xml");
    const svg = doc.documentElement;
    if (svg.nodeName !== "svg") throw new Error("the chart is not SVG");
    box.replaceChildren(document.importNode(svg, true));
    // The window the collector fitted to the data, for the caption.
    const caption = box.parentElement && box.parentElement.querySelector(".window");
    if (caption) caption.textContent = svg.dataset && svg.dataset.window ? ` · last ${svg.dataset.window} (fits the data)` : "";
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) throw error;
    box.replaceChildren(h("p", { class: "error", text: `Chart unavailable: ${error.message}` }));
  }
}

/**
 * Runs `work` (a request that changes something), then `reload`. On failure
 * a lost session goes back through the router (to the login page); anything
 * else is shown in `error`, and `enable` re-arms the controls.
 */
async function actThenReload(work, reload, error, enable) {
  try {
    await work();
    await reload();
  } catch (failure) {
    if (failure.status === 401) {
      route();
      return;
    }
    error.textContent = failure.message;
    enable();
  }
}

function actor() {
  try {
    return localStorage.getItem(ACTOR_KEY) || "dashboard";
  } catch (_) {
    return "dashboard";
  }
}

function setActor(name) {
  try {
    localStorage.setItem(ACTOR_KEY, name.trim() || "dashboard");
  } catch (_) {
    // Storage disabled: the name lasts for this page only.
  }
}

/** A datetime-local value (local time, minutes) for unix ms. */
function datetimeLocal(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A range picker: "fit to data" first, then every fixed range. */
function rangeSelect(id, chosen) {
  return h("select", { id },
    h("option", { value: FIT, selected: chosen === FIT, text: "fit to data" }),
    Object.keys(RANGES).map((r) => h("option", { value: r, selected: r === chosen, text: r })));
}

function tableWrap(table) {
  return h("div", { class: "table-wrap" }, table);
}

// ---------------------------------------------------------------- session

let session = null;

async function loadSession() {
  try {
    session = await getJson("/api/v1/session");
  } catch (error) {
    if (!(error instanceof ApiFailure) || error.status !== 404) throw error;
    // No auth layer in this build: everything is open.
    session = { auth_required: false, authenticated: true, can_act: true };
  }
  document.getElementById("logout").hidden = !(session.auth_required && session.authenticated);
  return session;
}

// ---------------------------------------------------------------- routing

let generation = 0;

/** Shows `page` as loading; returns a function telling whether this render
 * is still the current one (the user may have navigated away). */
function begin(page) {
  const mine = ++generation;
  document.body.dataset.page = page;
  document.body.dataset.ready = "false";
  for (const link of document.querySelectorAll("nav a")) {
    const target = link.getAttribute("href");
    const current = page === "recommendation" ? "#/" : location.hash || "#/";
    if (target === current.split("?")[0]) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  return () => mine === generation;
}

function show(current, ...nodes) {
  if (!current()) return false;
  document.getElementById("main").replaceChildren(...nodes);
  return true;
}

function done(current) {
  if (current()) document.body.dataset.ready = "true";
}

function parseHash() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?");
  return { path, params: new URLSearchParams(query) };
}

async function route() {
  const { path, params } = parseHash();
  const page = path.startsWith("/rec/") ? "recommendation"
    : path === "/agents" ? "agents"
    : path === "/explore" ? "explore"
    : path === "/alerts" ? "alerts"
    : path === "/indexes" ? "indexes"
    : path === "/login" ? "login"
    : "overview";
  const current = begin(page);
  try {
    await loadSession();
    if (session.auth_required && !session.authenticated) return renderLogin(current);
    if (page === "login") {
      location.hash = "#/";
      return;
    }
    if (page === "recommendation") await renderRecommendation(current, decodeURIComponent(path.slice(5)));
    else if (page === "agents") await renderAgents(current);
    else if (page === "explore") await renderExplore(current, params);
    else if (page === "alerts") await renderAlerts(current, params);
    else if (page === "indexes") await renderIndexVerdicts(current, params);
    else await renderOverview(current);
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) {
      session = { auth_required: true, authenticated: false, can_act: false };
      return renderLogin(begin("login"));
    }
    show(current, h("section", { class: "panel" },
      h("h2", { text: "Something went wrong" }),
      h("p", { class: "error", role: "alert", text: error.message || String(error) }),
      h("p", {}, h("a", { href: "#/", text: "Back to the overview" }))));
  }
  done(current);
}

// ---------------------------------------------------------------- login

function renderLogin(current) {
  document.body.dataset.page = "login";
  const input = h("input", {
    id: "token-input", type: "password", autocomplete: "current-password",
    required: true, "aria-describedby": "login-error",
  });
  const error = h("p", { id: "login-error", class: "error", role: "alert" });
  const form = h("form", { class: "panel login" },
    h("h2", { text: "Sign in" }),
    h("p", { class: "muted", text: "This collector needs its dashboard token (set in [auth] dashboard_token)." }),
    h("label", { for: "token-input", text: "Token" }),
    input,
    h("button", { id: "login", type: "submit", class: "primary", text: "Sign in" }),
    error);
  form.onsubmit = async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await request("/api/v1/session", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token: input.value }),
      });
      input.value = "";
      if (location.hash === "#/login") location.hash = "#/";
      else route();
    } catch (failure) {
      error.textContent = failure.status === 401
        ? "That token was not accepted."
        : `Sign-in failed: ${failure.message}`;
    }
  };
  show(current, form);
  done(current);
  input.focus();
}

async function logout() {
  try {
    await request("/api/v1/session", { method: "DELETE" });
  } finally {
    route();
  }
}

// ---------------------------------------------------------------- overview

/** The volume tier, named by the staffing rule's tier recommendation
 * (its evidence notes carry "volume tier: small|medium|large"), and the
 * volume from whatever order data exists (/api/v1/volume), with how much
 * data that is. */
function volumeTier(recs, volumes) {
  let tier = null;
  for (const rec of recs) {
    if (rec.kind !== "staffing") continue;
    const note = (rec.evidence.notes || []).find((n) => /^volume tier: /.test(n));
    if (note) {
      tier = note.replace(/^volume tier: /, "");
      break;
    }
  }
  const figures = (volumes || []).map((v) => {
    const span = v.history_ms < 60000 ? "under a minute" : duration(v.history_ms, 1);
    const who = volumes.length > 1 ? `${v.agent}: ` : "";
    return `${who}about ${number(v.orders_per_month)} orders/month (from ${span} of orders${v.young ? " — young data" : ""})`;
  });
  if (figures.length === 0) return tier ? `Volume tier: ${tier}` : "Volume tier: not known yet (no order data)";
  return tier ? `Volume tier: ${tier}, ${figures.join("; ")}` : `Volume tier: not named yet, ${figures.join("; ")}`;
}

function urgency(a, b) {
  const eta = (r) => (r.eta_ms === null || r.eta_ms === undefined ? Infinity : r.eta_ms);
  return eta(a) - eta(b) || (b.utilization || 0) - (a.utilization || 0);
}

function headroomTable(rows) {
  const body = h("tbody");
  if (rows.length === 0) {
    body.append(h("tr", { class: "empty" },
      h("td", { colspan: 5, text: "No headroom figures yet: the advisor needs a few passes of data first." })));
  }
  for (const row of [...rows].sort(urgency)) {
    const level = row.utilization >= 0.9 ? "critical" : row.utilization >= 0.7 ? "warning" : "ok";
    const trend = Number.isFinite(row.trend_per_day) && row.limit > 0
      ? `${row.trend_per_day >= 0 ? "+" : ""}${number((row.trend_per_day / row.limit) * 100)}%`
      : "flat";
    const etaTitle = row.eta_ms ? `${localTime(row.eta_ms)} (earliest ${localTime(row.eta_earliest_ms)})` : null;
    // Below the confidence floor the API gives no trend or ETA, and says why.
    const forecast = row.collecting
      ? [h("td", { class: "collecting muted", colspan: 2, text: row.collecting,
        title: `${duration(row.history_ms, 2)} of history so far` })]
      : [h("td", { text: trend, title: Number.isFinite(row.trend_per_day) ? `${number(row.trend_per_day)} per day` : "no significant trend" }),
        h("td", { text: eta(row.eta_ms), title: etaTitle })];
    body.append(h("tr", { "data-resource": row.resource },
      h("th", { scope: "row", text: row.resource }),
      h("td", { class: `util ${level}`, title: `${number(row.current)} of ${number(row.limit)}` },
        h("span", { class: "bar" }, h("span", { class: "fill", style: null, "data-width": Math.min(100, Math.round(row.utilization * 100)) })),
        h("span", { text: percent(row.utilization) })),
      forecast,
      h("td", { text: percent(row.confidence) })));
  }
  const table = h("table", { id: "headroom" },
    h("thead", {}, h("tr", {},
      h("th", { scope: "col", text: "Resource" }),
      h("th", { scope: "col", text: "Utilization" }),
      h("th", { scope: "col", text: "Trend / day" }),
      h("th", { scope: "col", text: "ETA" }),
      h("th", { scope: "col", text: "Confidence" }))),
    body);
  // Bar widths: set through the CSSOM (allowed by the CSP, unlike style="").
  for (const fill of table.querySelectorAll(".fill")) fill.style.width = `${fill.dataset.width}%`;
  return table;
}

function recommendationList(recs) {
  const box = h("div", { id: "recommendations" });
  if (recs.length === 0) {
    box.append(h("p", { class: "muted empty", text: "No recommendations yet. The advisor opens one after it has seen the same finding in a few passes." }));
    return box;
  }
  for (const severity of SEVERITIES) {
    const group = recs.filter((r) => r.severity === severity);
    if (group.length === 0) continue;
    box.append(h("section", { class: `group ${severity}` },
      h("h3", { text: `${severity[0].toUpperCase()}${severity.slice(1)} (${group.length})` }),
      h("ul", { class: "recs" }, group.map((rec) => h("li", {},
        h("a", {
          class: "rec", href: `#/rec/${encodeURIComponent(rec.id)}`,
          "data-id": rec.id, "data-kind": rec.kind, "data-severity": rec.severity, "data-state": rec.state,
        },
          h("span", { class: `badge ${rec.severity}`, text: rec.severity }),
          h("span", { class: "title", text: rec.title }),
          h("span", { class: "meta", text: `${rec.kind} · ${rec.state}${rec.state === "snoozed" && rec.snoozed_until ? ` until ${localTime(rec.snoozed_until)}` : ""} · confidence ${percent(rec.confidence)}` })))))));
  }
  return box;
}

async function renderOverview(current) {
  const [headroom, active, volume] = await Promise.all([
    getJson("/api/v1/headroom"),
    getJson("/api/v1/recommendations?state=open,acknowledged,snoozed&limit=500"),
    getJson("/api/v1/volume"),
  ]);
  const recs = active.recommendations;
  const computed = headroom.computed_at ? `Computed ${localTime(headroom.computed_at)}.` : "";
  const shown = (headroom.headroom || []).length;
  const more = headroom.total > shown ? ` Showing the ${shown} most urgent of ${headroom.total}.` : "";
  show(current,
    h("section", { class: "panel summary" },
      h("h2", { text: "Overview" }),
      h("p", { id: "tier", class: "tier", text: volumeTier(recs, volume.volume) })),
    h("section", { class: "panel" },
      h("h2", { text: "Headroom" }),
      h("p", { class: "muted", text: `Most urgent first. Trend is per day, as a share of the limit; trends and ETAs show once a forecast's confidence reaches ${percent(headroom.min_confidence)}. ${computed}${more}` }),
      tableWrap(headroomTable(headroom.headroom || []))),
    h("section", { class: "panel" },
      h("h2", { text: "Recommendations" }),
      recommendationList(recs)));
}

// ---------------------------------------------------------------- recommendation

const ACTIONS = [
  ["acknowledge", "Acknowledge", (s) => ["open", "snoozed"].includes(s)],
  ["snooze", "Snooze", (s) => ["open", "acknowledged", "snoozed"].includes(s)],
  ["resolve", "Resolve", (s) => s !== "resolved"],
  ["reopen", "Reopen", (s) => s !== "open" && s !== "pending"],
];

function copyButton(pre) {
  const status = h("span", { class: "copy-status", role: "status" });
  const button = h("button", { id: "copy-action", type: "button", text: "Copy" });
  button.onclick = async () => {
    try {
      await navigator.clipboard.writeText(pre.textContent);
      status.textContent = "Copied";
    } catch (_) {
      const range = document.createRange();
      range.selectNodeContents(pre);
      const selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      status.textContent = "Selected: press Ctrl+C (⌘C) to copy";
    }
    setTimeout(() => { status.textContent = ""; }, 3000);
  };
  return [button, status];
}

function actionPanel(rec, reload) {
  const error = h("p", { id: "action-error", class: "error", role: "alert" });
  const who = h("input", { id: "actor", type: "text", value: actor(), autocomplete: "name", maxlength: 100 });
  who.onchange = () => setActor(who.value);
  const until = h("input", { id: "snooze-until", type: "datetime-local", value: datetimeLocal(Date.now() + DAY_MS) });
  const buttons = ACTIONS.filter(([, , allowed]) => allowed(rec.state)).map(([verb, label]) => {
    const button = h("button", { type: "button", "data-action": verb, text: label, class: verb === "acknowledge" ? "primary" : null });
    button.onclick = async () => {
      error.textContent = "";
      const body = { by: who.value.trim() || actor() };
      if (verb === "snooze") {
        const when = new Date(until.value);
        if (!until.value || Number.isNaN(when.getTime())) {
          error.textContent = "Pick a date and time to snooze until.";
          return;
        }
        body.until = when.toISOString();
      }
      setActor(who.value);
      for (const b of document.querySelectorAll("button[data-action]")) b.disabled = true;
      await actThenReload(
        () => postJson(`/api/v1/recommendations/${encodeURIComponent(rec.id)}/${verb}`, body),
        reload, error,
        () => { for (const b of document.querySelectorAll("button[data-action]")) b.disabled = false; });
    };
    return verb === "snooze" ? h("span", { class: "snooze" }, h("label", { for: "snooze-until", text: "until" }), until, button) : button;
  });
  // Opens the Alerts page's silence form, prefilled with this recommendation.
  const silence = h("button", { id: "silence-rec", type: "button", text: "Silence…", title: "Stop chat notifications about this recommendation for a while" });
  silence.onclick = () => {
    setActor(who.value);
    location.hash = `#/alerts?${new URLSearchParams({ rec: rec.id })}`;
  };
  return h("section", { class: "panel actions" },
    h("h3", { text: "Act on it" }),
    h("div", { class: "field" }, h("label", { for: "actor", text: "Your name (recorded in the history)" }), who),
    h("div", { class: "buttons" }, buttons, silence),
    error);
}

/** The range the user last chose for evidence charts, else `FIT`. */
function evidenceRange() {
  try {
    const stored = localStorage.getItem(EVIDENCE_RANGE_KEY);
    return RANGES[stored] ? stored : FIT;
  } catch (_) {
    return FIT;
  }
}

/** Loads every evidence chart of `rec` over `range` into its figure. */
async function loadEvidenceCharts(section, rec, range) {
  const boxes = section.querySelectorAll("figure.evidence-chart .chart-box");
  await Promise.all((rec.evidence.series || []).map((s, i) => loadChart(boxes[i], chartUrl(s, range, s.threshold))));
}

function evidenceSection(rec) {
  const facts = rec.evidence.facts || [];
  const body = h("tbody", {}, facts.map((f) => h("tr", {},
    h("th", { scope: "row", text: f.name }),
    h("td", { class: "num", text: `${number(f.value)} ${f.unit}`.trim() }),
    h("td", { class: "num", text: f.threshold === undefined ? "—" : `${number(f.threshold)} ${f.unit}`.trim() }))));
  const figures = (rec.evidence.series || []).map((series) => h("figure", { class: "evidence-chart" },
    h("div", { class: "chart-box" }, h("p", { class: "muted", text: "Loading chart…" })),
    h("figcaption", {}, h("span", { text: seriesLabel(series) }),
      series.threshold === undefined ? "" : h("span", { class: "muted", text: ` · threshold ${number(series.threshold)}` }),
      h("span", { class: "muted window" }),
      h("span", { class: "muted", text: " · shaded: 80% forecast band" }))));
  const range = rangeSelect("evidence-range", evidenceRange());
  const section = h("section", { class: "panel" },
    h("div", { class: "panel-head" },
      h("h3", { text: "Evidence" }),
      figures.length ? h("label", { class: "small muted" }, "Chart range ", range) : ""),
    h("div", { id: "rec-evidence" },
      facts.length ? tableWrap(h("table", { class: "facts" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col", text: "Fact" }), h("th", { scope: "col", text: "Value" }), h("th", { scope: "col", text: "Threshold" }))),
        body)) : h("p", { class: "muted", text: "No figures recorded." }),
      (rec.evidence.notes || []).length ? h("ul", { class: "notes" }, rec.evidence.notes.map((n) => h("li", { text: n }))) : ""),
    h("div", { class: "charts" }, figures));
  range.onchange = async () => {
    try {
      if (range.value === FIT) localStorage.removeItem(EVIDENCE_RANGE_KEY);
      else localStorage.setItem(EVIDENCE_RANGE_KEY, range.value);
    } catch (_) {
      // Storage disabled: the choice lasts for this page only.
    }
    document.body.dataset.ready = "false";
    await loadEvidenceCharts(section, rec, range.value).catch(() => route());
    document.body.dataset.ready = "true";
  };
  return section;
}

async function renderRecommendation(current, id) {
  const rec = await getJson(`/api/v1/recommendations/${encodeURIComponent(id)}`);
  const reload = async () => {
    const next = begin("recommendation");
    await renderRecommendation(next, id);
    done(next);
  };
  const action = h("pre", { id: "rec-action", text: rec.action });
  const history = h("ol", { id: "rec-history" }, (rec.history || []).map((e) => h("li", {},
    h("time", { datetime: new Date(e.at).toISOString(), text: localTime(e.at) }),
    " ", h("strong", { text: e.state }), ` by ${e.actor}`, e.note ? ` — ${e.note}` : "")));
  const evidence = evidenceSection(rec);
  const snoozed = rec.state === "snoozed" && rec.snoozed_until ? ` until ${localTime(rec.snoozed_until)}` : "";
  const shown = show(current,
    h("p", { class: "crumbs" }, h("a", { href: "#/", text: "← Overview" })),
    h("section", { class: `panel rec-head ${rec.severity}` },
      h("h2", { id: "rec-title", text: rec.title }),
      h("p", { class: "meta" },
        h("span", { class: `badge ${rec.severity}`, text: rec.severity }), " ",
        h("span", { class: "kind", text: rec.kind }), " · state ",
        h("strong", { id: "rec-state", text: rec.state }), snoozed, " · ",
        h("span", { id: "rec-confidence", text: `confidence ${percent(rec.confidence)}` })),
      h("p", { id: "rec-summary", text: rec.summary }),
      h("p", { class: "muted", text: `First seen ${localTime(rec.first_seen)}, last seen ${localTime(rec.last_seen)}.` })),
    h("section", { class: "panel" },
      h("h3", { text: "What to do" }),
      action,
      h("div", { class: "buttons" }, copyButton(action))),
    session.can_act ? actionPanel(rec, reload) : h("p", { class: "muted", text: "Your session may read but not act." }),
    evidence,
    h("section", { class: "panel" }, h("h3", { text: "History" }), history));
  if (shown) await loadEvidenceCharts(evidence, rec, evidenceRange());
}

// ---------------------------------------------------------------- agents

/** Up when the last batch is more recent than 3 scrape intervals (≥ 1 min). */
function agentUp(agent) {
  const intervals = (Array.isArray(agent.sources) ? agent.sources : []).map((s) => Number(s.interval_ms) || 0);
  const window = Math.max(60000, 3 * Math.max(0, ...intervals));
  return Date.now() - agent.last_seen <= window;
}

async function renderAgents(current) {
  const { agents } = await getJson("/api/v1/agents");
  const body = h("tbody");
  if (agents.length === 0) {
    body.append(h("tr", { class: "empty" }, h("td", { colspan: 6, text: "No agent has connected yet." })));
  }
  for (const agent of agents) {
    const up = agentUp(agent);
    const drops = agent.dropped || {};
    const total = Object.values(drops).reduce((sum, n) => sum + (Number(n) || 0), 0);
    const detail = Object.entries(drops).filter(([, n]) => n > 0).map(([k, n]) => `${k.replaceAll("_", " ")}: ${n}`);
    const sources = (Array.isArray(agent.sources) ? agent.sources : []).map((s) => `${s.name} (${s.type})`);
    body.append(h("tr", { "data-agent": agent.id },
      h("th", { scope: "row" }, h("span", { text: agent.id }), h("span", { class: "muted small", text: ` ${agent.hostname} · v${agent.version}` })),
      h("td", {}, h("time", { datetime: new Date(agent.last_seen).toISOString(), title: localTime(agent.last_seen), text: ago(agent.last_seen) })),
      h("td", { class: `status ${up ? "up" : "down"}`, text: up ? "up" : "down" }),
      h("td", { text: sources.length ? sources.join(", ") : "—" }),
      h("td", { class: total > 0 ? "num warn" : "num", text: String(total), title: detail.join("; ") || "nothing dropped" }),
      h("td", { class: "num", text: number(agent.points) })));
  }
  show(current, h("section", { class: "panel" },
    h("h2", { text: "Agents and sources" }),
    h("p", { class: "muted", text: "An agent is up when its last batch arrived within three scrape intervals (at least a minute). Drops are what the agent reported losing (full spool or queue, corrupt or rejected batches)." }),
    tableWrap(h("table", { id: "agents" },
      h("thead", {}, h("tr", {},
        h("th", { scope: "col", text: "Agent" }),
        h("th", { scope: "col", text: "Last seen" }),
        h("th", { scope: "col", text: "Up/down" }),
        h("th", { scope: "col", text: "Sources" }),
        h("th", { scope: "col", text: "Drops reported" }),
        h("th", { scope: "col", text: "Points" }))),
      body))));
}

// ---------------------------------------------------------------- explorer

function seriesKey(series) {
  return JSON.stringify([series.name, series.labels || {}]);
}

/** Most series the explorer's picker lists; a name prefix narrows the rest. */
const MAX_PICKER_SERIES = 500;

async function renderExplore(current, params) {
  const prefix = params.get("prefix") || "";
  const { series } = await getJson(`/api/v1/series?${new URLSearchParams({ prefix })}`);
  const range = RANGES[params.get("range")] ? params.get("range") : FIT;
  const listed = series.slice(0, MAX_PICKER_SERIES);
  const chosen = series.find((s) => seriesKey(s) === params.get("series")) || listed[0];
  if (chosen && !listed.includes(chosen)) listed.unshift(chosen);
  const navigate = (key, r, p) => {
    location.hash = `#/explore?${new URLSearchParams({ series: key, range: r, prefix: p })}`;
  };
  const prefixInput = h("input", { id: "series-prefix", type: "search", value: prefix, placeholder: "name prefix, e.g. pg_" });
  const select = h("select", { id: "series-select", disabled: series.length === 0 },
    listed.map((s) => h("option", { value: seriesKey(s), selected: s === chosen, text: seriesLabel(s) })));
  const cut = series.length > listed.length
    ? h("p", { class: "muted small", text: `Listing ${listed.length} of ${number(series.length)} series: type a name prefix to narrow them.` })
    : "";
  const ranges = rangeSelect("range", range);
  select.onchange = () => navigate(select.value, ranges.value, prefixInput.value);
  ranges.onchange = () => navigate(select.value, ranges.value, prefixInput.value);
  prefixInput.onchange = () => navigate("", ranges.value, prefixInput.value.trim());
  const chart = h("div", { id: "explore-chart", class: "chart-box" });
  if (!chosen) chart.append(h("p", { class: "muted empty", text: "No series stored yet: connect an agent or run the demo." }));
  const shown = show(current, h("section", { class: "panel" },
    h("h2", { text: "Explore series" }),
    h("div", { class: "controls" },
      h("label", { for: "series-prefix", text: "Filter" }), prefixInput,
      h("label", { for: "series-select", text: "Series" }), select,
      h("label", { for: "range", text: "Range" }), ranges),
    cut,
    h("div", {}, chart,
      chosen ? h("p", { class: "muted small" },
        `${chosen.kind}${chosen.kind === "counter" ? " (drawn as a rate per second)" : ""} · ${number(chosen.points)} points stored`,
        h("span", { class: "window" }), " · shaded: 80% forecast band") : "")));
  if (shown && chosen) await loadChart(chart, chartUrl(chosen, range));
}

// ---------------------------------------------------------------- alerts

async function deleteJson(path) {
  return (await request(path, { method: "DELETE" })).json();
}

/** A silence's matchers as `key=value` words ("—" when none). */
function matcherText(matchers) {
  const words = Object.entries(matchers || {}).map(([k, v]) => `${k}=${v}`);
  return words.length ? words.join(" ") : "—";
}

function receiversTable(receivers) {
  const body = h("tbody");
  if (receivers.length === 0) {
    body.append(h("tr", { class: "empty" },
      h("td", { colspan: 8, text: "No receivers: add [[alerts]] entries to collector.toml to send recommendations to chat." })));
  }
  for (const r of receivers) {
    const d = r.deliveries || {};
    body.append(h("tr", { "data-receiver": r.name },
      h("th", { scope: "row", text: r.name }),
      h("td", { text: r.type }),
      h("td", {}, h("span", { class: `badge ${r.min_severity}`, text: r.min_severity })),
      h("td", { text: r.kinds.length ? r.kinds.join(", ") : "all kinds" }),
      h("td", { class: "num", text: String(r.max_per_hour) }),
      h("td", { class: "num", "data-count": "pending", text: String(d.pending || 0) }),
      h("td", { class: "num", "data-count": "delivered", text: String(d.delivered || 0) }),
      h("td", { class: d.failed > 0 ? "num warn" : "num", "data-count": "failed", text: String(d.failed || 0) })));
  }
  return h("table", { id: "receivers" },
    h("thead", {}, h("tr", {},
      ["Receiver", "Type", "Min severity", "Kinds", "Max / hour", "Pending", "Delivered", "Failed"]
        .map((t) => h("th", { scope: "col", text: t })))),
    body);
}

function deliveriesTable(deliveries) {
  const body = h("tbody");
  if (deliveries.length === 0) {
    body.append(h("tr", { class: "empty" }, h("td", { colspan: 6, text: "No notifications yet." })));
  }
  for (const d of deliveries) {
    const answer = d.last_status === null || d.last_status === undefined ? "—" : `HTTP ${d.last_status}`;
    const when = d.delivered_at || d.last_attempt_at || d.created_at;
    body.append(h("tr", { "data-delivery": d.id, "data-status": d.status, class: d.status === "failed" ? "failed" : null },
      h("td", {}, h("time", { datetime: new Date(when).toISOString(), title: localTime(when), text: ago(when) })),
      h("td", { text: d.receiver }),
      h("td", { class: "headline" }, h("span", { text: d.headline }), h("span", { class: "muted small", text: ` · ${d.reason}` })),
      h("td", { class: `delivery-status ${d.status}`, text: d.status }),
      h("td", { class: "num", text: String(d.attempts) }),
      h("td", { class: "last-answer" },
        h("span", { class: "last-status", text: answer }),
        d.last_error ? h("span", { class: "last-error", text: d.last_error }) : "",
        d.status === "pending" && d.attempts > 0 ? h("span", { class: "muted small", text: `retry ${localTime(d.next_attempt_at)}` }) : "")));
  }
  return h("table", { id: "deliveries" },
    h("thead", {}, h("tr", {},
      ["When", "Receiver", "Notification", "Status", "Attempts", "Last answer"].map((t) => h("th", { scope: "col", text: t })))),
    body);
}

function silencesTable(silences, id, canAct, expire) {
  const body = h("tbody");
  if (silences.length === 0) {
    body.append(h("tr", { class: "empty" }, h("td", { colspan: 7, text: "No silences in effect." })));
  }
  for (const s of silences) {
    let button = "";
    if (canAct && s.state !== "expired") {
      button = h("button", { type: "button", "data-expire": s.id, text: "Expire" });
      button.onclick = () => expire(s, button);
    }
    body.append(h("tr", { "data-silence": s.id, "data-state": s.state, class: s.state },
      h("td", { class: "matchers", text: matcherText(s.matchers) }),
      h("td", { class: "silence-state", text: s.state }),
      h("td", { text: localTime(s.starts_at) }),
      h("td", { text: localTime(s.ends_at) }),
      h("td", { text: s.created_by }),
      h("td", { class: "comment", text: s.comment }),
      h("td", {}, button)));
  }
  return h("table", { id, class: "silences" },
    h("thead", {}, h("tr", {},
      ["Matches", "State", "Starts", "Ends", "By", "Comment", ""].map((t) => h("th", { scope: "col", text: t })))),
    body);
}

function silenceForm(receivers, params, reload) {
  const select = (id, any, values) => h("select", { id },
    h("option", { value: "", text: any }), values.map((v) => h("option", { value: v, text: v })));
  const kind = select("silence-kind", "any kind", KINDS);
  const severity = select("silence-severity", "any severity", SEVERITIES);
  const receiver = select("silence-receiver", "every receiver", receivers.map((r) => r.name));
  const rec = h("input", { id: "silence-rec", type: "text", value: params.get("rec") || "", placeholder: "e.g. index-3f2a…", autocomplete: "off" });
  const duration = h("input", { id: "silence-duration", type: "text", value: "2h", required: true, placeholder: "2h, 30m, 1d" });
  const comment = h("input", { id: "silence-comment", type: "text", required: true, maxlength: 500, placeholder: "why (e.g. migration tonight)" });
  const by = h("input", { id: "silence-by", type: "text", required: true, maxlength: 500, value: actor(), autocomplete: "name" });
  const error = h("p", { id: "silence-error", class: "error", role: "alert" });
  const submit = h("button", { id: "silence-create", type: "submit", class: "primary", text: "Create silence" });
  const field = (label, input) => h("div", { class: "field" }, h("label", { for: input.id, text: label }), input);
  const form = h("form", { id: "silence-form", class: "silence-form" },
    h("div", { class: "form-grid" },
      field("Kind", kind), field("Severity", severity),
      field("Recommendation id", rec), field("Receiver", receiver),
      field("For how long", duration), field("Your name", by)),
    field("Comment", comment),
    h("div", { class: "buttons" }, submit),
    error);
  form.onsubmit = async (event) => {
    event.preventDefault();
    error.textContent = "";
    const matchers = {};
    if (kind.value) matchers.kind = kind.value;
    if (severity.value) matchers.severity = severity.value;
    if (rec.value.trim()) matchers.recommendation_id = rec.value.trim();
    if (receiver.value) matchers.receiver = receiver.value;
    if (Object.keys(matchers).length === 0) {
      error.textContent = "Pick at least one thing to match: a kind, a severity, a recommendation or a receiver.";
      return;
    }
    setActor(by.value);
    submit.disabled = true;
    await actThenReload(
      () => postJson("/api/v1/silences", {
        matchers,
        comment: comment.value.trim(),
        created_by: by.value.trim(),
        duration: duration.value.trim(),
      }),
      reload, error, () => { submit.disabled = false; });
  };
  return form;
}

async function renderAlerts(current, params) {
  const [{ receivers }, { deliveries }, { silences }] = await Promise.all([
    getJson("/api/v1/alerts/receivers"),
    getJson("/api/v1/alerts/deliveries?limit=50"),
    getJson("/api/v1/silences"),
  ]);
  const reload = async () => {
    // Drops a ?rec= prefill once it has been used.
    const next = begin("alerts");
    if (location.hash !== "#/alerts") history.replaceState(null, "", "#/alerts");
    await renderAlerts(next, new URLSearchParams());
    done(next);
  };
  const listError = h("p", { id: "silences-error", class: "error", role: "alert" });
  const expire = async (silence, button) => {
    listError.textContent = "";
    button.disabled = true;
    await actThenReload(
      () => deleteJson(`/api/v1/silences/${encodeURIComponent(silence.id)}`),
      reload, listError, () => { button.disabled = false; });
  };
  const live = silences.filter((s) => s.state !== "expired");
  const expired = silences.filter((s) => s.state === "expired");
  const failed = deliveries.filter((d) => d.status === "failed").length;
  const form = session.can_act
    ? silenceForm(receivers, params, reload)
    : h("p", { class: "muted", text: "Your session may read but not create or expire silences." });
  const shown = show(current,
    h("section", { class: "panel" },
      h("h2", { text: "Alerts" }),
      h("p", { class: "muted", text: "Recommendations go to these receivers by severity and kind. Webhook URLs and secrets stay in collector.toml and are never shown here." }),
      tableWrap(receiversTable(receivers))),
    h("section", { class: "panel" },
      h("h3", { text: "Recent notifications" }),
      h("p", { class: "muted small", text: failed ? `${failed} failed: the platform refused them or they could not be delivered in time.` : "The latest 50, newest first." }),
      tableWrap(deliveriesTable(deliveries))),
    h("section", { class: "panel" },
      h("h3", { text: "Silences" }),
      h("p", { class: "muted small", text: "A silence leaves matching alerts out of notifications until it ends. Every matcher set must match." }),
      tableWrap(silencesTable(live, "silences", session.can_act, expire)),
      listError,
      expired.length ? h("details", { id: "expired-silences", class: "expired" },
        h("summary", { text: `Expired (${expired.length})` }),
        tableWrap(silencesTable(expired, "silences-expired", false, expire))) : ""),
    h("section", { class: "panel", id: "new-silence" },
      h("h3", { text: "New silence" }),
      form));
  if (shown && params.get("rec")) {
    document.getElementById("new-silence").scrollIntoView();
    const comment = document.getElementById("silence-comment");
    if (comment) comment.focus();
  }
}

// ---------------------------------------------------------------- start

window.addEventListener("hashchange", route);
document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("logout").onclick = logout;
  route();
});
