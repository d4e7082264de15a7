// Headroom's dashboard: the "Why no index advice?" page (#/indexes), per
// database. Loaded after app.js, whose helpers (h, getJson, show, ago,
// duration, number, tableWrap …) it uses; text from the API reaches the page
// only through textContent.
"use strict";

// What each verdict code means, in words; an unknown code is shown as it is.
const VERDICTS = {
  candidate: "index advised",
  table_too_small: "table too small",
  no_usable_predicate: "no usable predicate",
  not_select: "not a SELECT",
  parse_error: "does not parse",
  unsupported_or: "OR not supported",
  planner_would_not_use: "planner would not use it",
  already_covered: "already covered",
  not_explainable: "cannot be explained",
  table_not_found: "table not found",
};

function verdictLabel(code) {
  return Object.prototype.hasOwnProperty.call(VERDICTS, code) ? VERDICTS[code] : String(code);
}

/** Milliseconds of execution as "1.9 s" or "120 ms" ("—" when unknown). */
function execTime(ms) {
  if (!Number.isFinite(ms)) return "—";
  return ms >= 1000 ? `${number(ms / 1000)} s` : `${number(ms)} ms`;
}

function verdictRows(verdicts) {
  const body = h("tbody");
  if (verdicts.length === 0) {
    body.append(h("tr", { class: "empty" },
      h("td", { colspan: 5, text: "No verdicts for this database yet: the agent gives one for each top statement it examines." })));
  }
  for (const v of verdicts) {
    const table = v.table ? `${v.schema ? `${v.schema}.` : ""}${v.table}` : "—";
    const rows = Number.isFinite(v.table_rows) ? ` (${number(v.table_rows)} rows)` : "";
    body.append(h("tr", { "data-queryid": v.queryid, "data-verdict": v.verdict },
      h("td", { class: "statement" },
        h("code", { text: v.statement || `queryid ${v.queryid} (no text stored)`, title: v.statement || null })),
      h("td", {}, h("span", { class: `verdict ${VERDICTS[v.verdict] ? v.verdict : "unknown"}`, text: verdictLabel(v.verdict), title: v.verdict })),
      h("td", { class: "reason" },
        h("span", { text: v.reason }),
        v.definition ? h("code", { class: "definition", text: v.definition }) : ""),
      h("td", { text: `${table}${rows}` }),
      h("td", { class: "num", text: execTime(v.exec_ms_last_hour), title: `examined ${ago(v.timestamp_ms)}` })));
  }
  return h("table", { id: "index-verdicts" },
    h("thead", {}, h("tr", {},
      ["Statement", "Verdict", "Why", "Table", "Time, last hour"].map((t) => h("th", { scope: "col", text: t })))),
    body);
}

async function renderIndexVerdicts(current, params) {
  const all = await getJson("/api/v1/index-verdicts");
  const databases = all.databases || [];
  const database = databases.includes(params.get("database")) ? params.get("database") : databases[0];
  const answer = database
    ? await getJson(`/api/v1/index-verdicts?${new URLSearchParams({ database })}`)
    : { verdicts: [], undecodable: [] };
  const picker = h("select", { id: "verdict-database", disabled: databases.length === 0 },
    databases.map((d) => h("option", { value: d, selected: d === database, text: d })));
  picker.onchange = () => {
    location.hash = `#/indexes?${new URLSearchParams({ database: picker.value })}`;
  };
  const bad = answer.undecodable || [];
  show(current, h("section", { class: "panel" },
    h("h2", { text: "Why no index advice?" }),
    h("p", { class: "muted", text: "For each top statement the agent examined: whether an index would help and, if not, why. Busiest first (execution time over the last hour)." }),
    databases.length
      ? h("div", { class: "controls" }, h("label", { for: "verdict-database", text: "Database" }), picker)
      : h("p", { class: "muted empty", text: "No verdicts yet: the agent sends them once its PostgreSQL source has examined statements." }),
    database ? tableWrap(verdictRows(answer.verdicts || [])) : "",
    bad.length ? h("p", { class: "error", role: "alert",
      text: `${bad.length} stored verdict(s) could not be read: ${bad.map((b) => `${b.key} (${b.error})`).join("; ")}` }) : ""));
}
