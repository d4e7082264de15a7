//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of every HTTP
//! endpoint, written by hand next to the router (a test fails when a route
//! is missing from it).

use axum::Json;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::advisor::{RecKind, Severity};

mod alerts;
mod indexes;
use alerts::{alert_paths, alert_schemas};
use indexes::{index_paths, index_schemas};

/// `GET /api/v1/openapi.json`.
pub(super) async fn openapi() -> impl IntoResponse {
    Json(document())
}

/// The whole document.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Headroom collector API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Metrics stored from Headroom agents, the advisor's recommendations and \
                the headroom per resource. When `[auth] dashboard_token` is set, every path under \
                /api (except /api/v1/session) and /metrics needs the dashboard or admin token, as a \
                bearer token or the session cookie; every other method (recommendation actions, \
                creating and expiring silences) needs the admin token when one is set. Times are \
                unix milliseconds unless stated. Alert receivers' webhook URLs and secrets are never \
                returned.",
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": merged(merged(paths(), alert_paths()), index_paths()),
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "`[auth] dashboard_token` (reads) or `admin_token` (reads and actions).",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "headroom_session",
                    "description": "Set by POST /api/v1/session.",
                },
            },
            "schemas": merged(merged(schemas(), alert_schemas()), index_schemas()),
            "responses": {
                "BadRequest": error_response("A parameter or the body is invalid; the message says which and why."),
                "Unauthorized": error_response("No token, or not a valid one (with `WWW-Authenticate: Bearer`)."),
                "Forbidden": error_response("The dashboard token may not act when an admin token is set."),
                "NotFound": error_response("No such recommendation, action, silence or endpoint."),
                "Unavailable": error_response("The store is unavailable; details are in the collector's log."),
            },
        },
    })
}

fn paths() -> Value {
    let kinds: Vec<&str> = RecKind::ALL.iter().map(|k| k.as_str()).collect();
    let severities: Vec<&str> = [Severity::Info, Severity::Warning, Severity::Critical]
        .iter()
        .map(|s| s.as_str())
        .collect();
    json!({
        "/healthz": {
            "get": {
                "summary": "Whether the store is writable (never needs a token)",
                "security": [],
                "responses": {
                    "200": json_response("The store is writable.", json!({
                        "type": "object",
                        "required": ["status", "store"],
                        "properties": {
                            "status": {"const": "ok"},
                            "store": {"enum": ["sqlite", "postgres"]},
                        },
                    })),
                    "503": json_response("The store is not writable.", json!({
                        "type": "object",
                        "properties": {
                            "status": {"const": "unavailable"},
                            "message": {"type": "string"},
                        },
                    })),
                },
            },
        },
        "/metrics": {
            "get": {
                "summary": "Headroom's own health and advice in the Prometheus text format 0.0.4",
                "responses": with_auth(json!({
                    "200": {
                        "description": "The exposition.",
                        "content": {"text/plain; version=0.0.4": {"schema": {"type": "string"}}},
                    },
                })),
            },
        },
        "/api/v1/openapi.json": {
            "get": {
                "summary": "This document",
                "responses": with_auth(json!({
                    "200": json_response("The OpenAPI 3.1 document.", json!({"type": "object"})),
                })),
            },
        },
        "/api/v1/session": {
            "get": {
                "summary": "Whether a token is needed and what the presented one may do (never needs a token)",
                "security": [],
                "responses": {
                    "200": json_response("The session.", schema_ref("Session")),
                },
            },
            "post": {
                "summary": "Log in: sets the `headroom_session` cookie (HttpOnly, SameSite=Strict)",
                "security": [],
                "requestBody": {
                    "required": true,
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "required": ["token"],
                        "additionalProperties": false,
                        "properties": {"token": {"type": "string"}},
                    }}},
                },
                "responses": {
                    "204": {
                        "description": "Logged in.",
                        "headers": {"Set-Cookie": {"schema": {"type": "string"}, "description": "headroom_session=<token>; HttpOnly; SameSite=Strict; Path=/"}},
                    },
                    "400": {"$ref": "#/components/responses/BadRequest"},
                    "401": {"$ref": "#/components/responses/Unauthorized"},
                },
            },
            "delete": {
                "summary": "Log out: clears the cookie",
                "security": [],
                "responses": {"204": {"description": "Logged out."}},
            },
        },
        "/api/v1/agents": {
            "get": {
                "summary": "Every agent that ever connected",
                "responses": with_auth(json!({
                    "200": json_response("The agents.", object_of("agents", schema_ref("Agent"))),
                })),
            },
        },
        "/api/v1/series": {
            "get": {
                "summary": "Without `name`, the stored series; with `name`, points of the matching series",
                "parameters": [
                    query("name", "Series name; without it, the list of series.", false, json!({"type": "string"})),
                    query("prefix", "Without `name`: only series whose name starts with this.", false, json!({"type": "string"})),
                    query("from", "Start: unix ms or RFC 3339 (default: `to` minus one hour).", false, time_schema()),
                    query("to", "End: unix ms or RFC 3339 (default: now).", false, time_schema()),
                    query("step", "Aggregate per step: a duration like `30s` or ms; at most 11,000 steps.", false, step_schema()),
                    labels_parameter(),
                ],
                "responses": with_auth(json!({
                    "200": json_response("The series list, or the points.", json!({
                        "oneOf": [
                            object_of("series", schema_ref("SeriesSummary")),
                            {
                                "type": "object",
                                "required": ["from", "to", "series"],
                                "properties": {
                                    "from": {"type": "integer"},
                                    "to": {"type": "integer"},
                                    "step": {"type": ["integer", "null"]},
                                    "series": {"type": "array", "items": schema_ref("SeriesPoints")},
                                },
                            },
                        ],
                    })),
                    "400": {"$ref": "#/components/responses/BadRequest"},
                })),
            },
        },
        "/api/v1/chart": {
            "get": {
                "summary": "An SVG chart of the matching series",
                "parameters": [
                    query("name", "Series name.", true, json!({"type": "string"})),
                    query("from", "Start: unix ms or RFC 3339.", false, time_schema()),
                    query("to", "End: unix ms or RFC 3339.", false, time_schema()),
                    query("step", "Aggregate per step: a duration like `30s` or ms.", false, step_schema()),
                    query("threshold", "Draw a horizontal line at this value.", false, json!({"type": "number"})),
                    query("forecast", "Draw the forecast band.", false, json!({"type": "boolean"})),
                    query("tz_offset", "Minutes east of UTC for the time axis (at most ±840).", false, json!({"type": "integer", "minimum": -840, "maximum": 840})),
                    query("quantile", "For a histogram (`<name>_bucket{le}` counters): the quantile drawn per step (default 0.95).", false, json!({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1})),
                    query("fit", "Without `from`: open on the smallest of 1h, 6h, 24h, 7d, 30d (ending at `to`) that holds every stored point of the matching series with 5% to spare, and say which in the root's `data-window`.", false, json!({"type": "boolean"})),
                    labels_parameter(),
                ],
                "responses": with_auth(json!({
                    "200": {
                        "description": "The chart.",
                        "content": {"image/svg+xml": {"schema": {"type": "string"}}},
                    },
                    "400": {"$ref": "#/components/responses/BadRequest"},
                })),
            },
        },
        "/api/v1/status": {
            "get": {
                "summary": "The store's size and blocks, and ingest counts since start",
                "responses": with_auth(json!({
                    "200": json_response("The status.", schema_ref("Status")),
                })),
            },
        },
        "/api/v1/texts": {
            "get": {
                "summary": "Stored texts of one kind (query texts, index definitions)",
                "parameters": [
                    query("kind", "`pg_query` (keyed database/queryid), `pg_index` (JSON {definition, keys, include, predicate, method, unique}, keyed database/schema.index), `pg_index_candidate` or `pg_index_verdict` (keyed database/queryid).", true, json!({"type": "string", "examples": ["pg_query", "pg_index", "pg_index_verdict"]})),
                ],
                "responses": with_auth(json!({
                    "200": json_response("The texts.", object_of("texts", schema_ref("Text"))),
                    "400": {"$ref": "#/components/responses/BadRequest"},
                })),
            },
        },
        "/api/v1/recommendations": {
            "get": {
                "summary": "Recommendations: active first, then most severe, then most recent",
                "parameters": [
                    query("kind", "Comma-separated kinds.", false, json!({"type": "string", "examples": [kinds.join(",")]})),
                    query("severity", "Comma-separated severities.", false, json!({"type": "string", "examples": [severities.join(",")]})),
                    query("state", "Comma-separated states (default: all but pending).", false, json!({"type": "string", "examples": ["open,acknowledged,snoozed,resolved"]})),
                    query("limit", "Page size.", false, json!({"type": "integer", "minimum": 1, "maximum": super::advice::MAX_LIMIT, "default": 100})),
                    query("offset", "Recommendations to skip.", false, json!({"type": "integer", "minimum": 0, "default": 0})),
                ],
                "responses": with_auth(json!({
                    "200": json_response("One page.", json!({
                        "type": "object",
                        "required": ["recommendations", "total", "limit", "offset"],
                        "properties": {
                            "recommendations": {"type": "array", "items": schema_ref("Recommendation")},
                            "total": {"type": "integer", "description": "Matching recommendations on every page."},
                            "limit": {"type": "integer"},
                            "offset": {"type": "integer"},
                        },
                    })),
                    "400": {"$ref": "#/components/responses/BadRequest"},
                })),
            },
        },
        "/api/v1/recommendations/{id}": {
            "get": {
                "summary": "One recommendation with its history",
                "parameters": [path_param("id", "The recommendation's id.", json!({"type": "string"}))],
                "responses": with_auth(json!({
                    "200": json_response("The recommendation.", json!({
                        "allOf": [
                            schema_ref("Recommendation"),
                            {
                                "type": "object",
                                "required": ["history"],
                                "properties": {"history": {"type": "array", "items": schema_ref("Event")}},
                            },
                        ],
                    })),
                    "404": {"$ref": "#/components/responses/NotFound"},
                })),
            },
        },
        "/api/v1/recommendations/{id}/{action}": {
            "post": {
                "summary": "Acknowledge, snooze, resolve or reopen a recommendation (recorded with who and when)",
                "parameters": [
                    path_param("id", "The recommendation's id.", json!({"type": "string"})),
                    path_param("action", "What to do.", json!({"enum": ["acknowledge", "snooze", "resolve", "reopen"]})),
                ],
                "requestBody": {
                    "required": false,
                    "content": {"application/json": {"schema": {
                        "type": "object",
                        "additionalProperties": false,
                        "properties": {
                            "by": {"type": "string", "description": "Who acts (default `api`)."},
                            "until": {"description": "Required to snooze: unix ms or RFC 3339.", "oneOf": [{"type": "integer"}, {"type": "string"}]},
                        },
                    }}},
                },
                "responses": with_auth(json!({
                    "200": json_response("The recommendation after the action.", schema_ref("Recommendation")),
                    "400": {"$ref": "#/components/responses/BadRequest"},
                    "403": {"$ref": "#/components/responses/Forbidden"},
                    "404": {"$ref": "#/components/responses/NotFound"},
                    "409": error_response("The action does not apply in the recommendation's state."),
                })),
            },
        },
        "/api/v1/headroom": {
            "get": {
                "summary": "Headroom per resource, soonest ETA first",
                "parameters": [
                    query("limit", "Page size (1–1000, default 100).", false, json!({"type": "integer", "minimum": 1, "maximum": 1000})),
                    query("offset", "Resources to skip.", false, json!({"type": "integer", "minimum": 0})),
                ],
                "responses": with_auth(json!({
                    "200": json_response("One page of the headroom table.", json!({
                        "type": "object",
                        "required": ["headroom", "computed_at", "total", "limit", "offset", "min_confidence"],
                        "properties": {
                            "headroom": {"type": "array", "items": schema_ref("Headroom")},
                            "min_confidence": {"type": "number", "description": "The confidence floor (0.2) below which trends and ETAs are null."},
                            "computed_at": {"type": ["integer", "null"], "description": "When the advisor computed it."},
                            "total": {"type": "integer", "description": "Resources in the whole table."},
                            "limit": {"type": "integer"},
                            "offset": {"type": "integer"},
                        },
                    })),
                    "400": error_response("A bad `limit` or `offset`, or an unknown parameter."),
                })),
            },
        },
    })
}

fn schemas() -> Value {
    let kinds: Vec<&str> = RecKind::ALL.iter().map(|k| k.as_str()).collect();
    json!({
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {"error": {
                "type": "object",
                "required": ["status", "message"],
                "properties": {
                    "status": {"type": "integer", "description": "The HTTP status again."},
                    "message": {"type": "string", "description": "What is wrong, in a sentence."},
                },
            }},
        },
        "Session": {
            "type": "object",
            "required": ["auth_required", "authenticated", "can_act"],
            "properties": {
                "auth_required": {"type": "boolean", "description": "Whether `[auth] dashboard_token` is set."},
                "authenticated": {"type": "boolean", "description": "Whether this request may read (always true without auth)."},
                "can_act": {"type": "boolean", "description": "Whether this request may act on recommendations."},
            },
        },
        "Agent": {
            "type": "object",
            "required": ["id", "hostname", "version", "sources", "first_seen", "last_seen"],
            "properties": {
                "id": {"type": "string"},
                "hostname": {"type": "string"},
                "version": {"type": "string"},
                "sources": {"description": "The agent's configured sources, as it reported them."},
                "first_seen": {"type": "integer"},
                "last_seen": {"type": "integer"},
                "spool_epoch": {"type": "string"},
                "last_sequence": {"type": "integer"},
                "batches": {"type": "integer"},
                "points": {"type": "integer"},
                "duplicates": {"type": "integer"},
                "dropped": {
                    "type": "object",
                    "description": "What the agent reported it had to drop, by cause.",
                    "properties": {
                        "spool_full_batches": {"type": "integer"},
                        "spool_full_points": {"type": "integer"},
                        "corrupt_batches": {"type": "integer"},
                        "queue_full_samples": {"type": "integer"},
                        "rejected_batches": {"type": "integer"},
                    },
                },
            },
        },
        "Labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "SeriesSummary": {
            "type": "object",
            "required": ["name", "labels", "kind", "points"],
            "properties": {
                "name": {"type": "string"},
                "labels": schema_ref("Labels"),
                "kind": {"enum": ["gauge", "counter"]},
                "first_timestamp": {"type": ["integer", "null"]},
                "last_timestamp": {"type": ["integer", "null"]},
                "points": {"type": "integer", "description": "Raw points stored."},
            },
        },
        "SeriesPoints": {
            "type": "object",
            "required": ["name", "labels", "kind", "points", "truncated"],
            "properties": {
                "name": {"type": "string"},
                "labels": schema_ref("Labels"),
                "kind": {"enum": ["gauge", "counter"]},
                "points": {
                    "type": "array",
                    "description": "[timestamp_ms, value] pairs, oldest first.",
                    "items": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "number"}], "minItems": 2, "maxItems": 2},
                },
                "truncated": {"type": "boolean", "description": "More points matched than one response holds."},
            },
        },
        "Status": {
            "type": "object",
            "required": ["store", "size_bytes", "resolutions", "uncompacted_blocks", "ingest"],
            "properties": {
                "store": {"enum": ["sqlite", "postgres"]},
                "size_bytes": {"type": "integer"},
                "resolutions": {"type": "array", "items": {
                    "type": "object",
                    "properties": {
                        "resolution_ms": {"type": "integer"},
                        "blocks": {"type": "integer"},
                        "points": {"type": "integer"},
                        "data_bytes": {"type": "integer"},
                    },
                }},
                "uncompacted_blocks": {"type": "integer"},
                "ingest": {
                    "type": "object",
                    "properties": {
                        "batches_stored": {"type": "integer"},
                        "batches_duplicate": {"type": "integer"},
                        "points_stored": {"type": "integer"},
                    },
                },
            },
        },
        "Text": {
            "type": "object",
            "required": ["kind", "key", "text", "last_seen"],
            "properties": {
                "kind": {"type": "string"},
                "key": {"type": "string"},
                "text": {"type": "string"},
                "last_seen": {"type": "integer"},
            },
        },
        "Recommendation": {
            "type": "object",
            "required": ["id", "kind", "severity", "title", "summary", "action", "evidence", "confidence", "state", "first_seen", "last_seen"],
            "properties": {
                "id": {"type": "string"},
                "kind": {"enum": kinds},
                "severity": {"enum": ["info", "warning", "critical"]},
                "title": {"type": "string"},
                "summary": {"type": "string", "description": "What is wrong and what happens if nothing is done."},
                "action": {"type": "string", "description": "What to do, exactly."},
                "evidence": {
                    "type": "object",
                    "properties": {
                        "facts": {"type": "array", "items": {
                            "type": "object",
                            "required": ["name", "value", "unit"],
                            "properties": {
                                "name": {"type": "string"},
                                "value": {"type": "number"},
                                "unit": {"type": "string"},
                                "threshold": {"type": "number"},
                            },
                        }},
                        "series": {"type": "array", "items": {
                            "type": "object",
                            "required": ["name", "labels"],
                            "properties": {
                                "name": {"type": "string"},
                                "labels": schema_ref("Labels"),
                                "threshold": {"type": "number"},
                            },
                        }},
                        "notes": {"type": "array", "items": {"type": "string"}},
                    },
                },
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                "state": {"enum": ["open", "acknowledged", "snoozed", "resolved"]},
                "snoozed_until": {"type": "integer"},
                "first_seen": {"type": "integer"},
                "last_seen": {"type": "integer"},
                "resolved_at": {"type": "integer"},
            },
        },
        "Event": {
            "type": "object",
            "required": ["recommendation_id", "at", "state", "actor", "note"],
            "properties": {
                "recommendation_id": {"type": "string"},
                "at": {"type": "integer"},
                "state": {"enum": ["pending", "open", "acknowledged", "snoozed", "resolved"]},
                "actor": {"type": "string", "description": "`advisor`, or who acted through the API."},
                "note": {"type": "string"},
            },
        },
        "Headroom": {
            "type": "object",
            "required": ["resource", "current", "limit", "utilization", "eta", "confidence", "collecting", "collecting_ms"],
            "properties": {
                "resource": {"type": "string"},
                "current": {"type": ["number", "null"]},
                "limit": {"type": ["number", "null"]},
                "utilization": {"type": ["number", "null"], "description": "current / limit."},
                "trend_per_day": {"type": ["number", "null"], "description": "Growth per day when the trend is significant and `confidence` is at least `min_confidence`; else null."},
                "eta": {"type": ["integer", "null"], "description": "When the resource reaches its limit at the current trend (unix ms); null below `min_confidence`."},
                "eta_ms": {"type": ["integer", "null"]},
                "eta_earliest_ms": {"type": ["integer", "null"]},
                "eta_latest_ms": {"type": ["integer", "null"]},
                "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                "samples": {"type": "integer"},
                "history_ms": {"type": "integer"},
                "collecting": {"type": ["string", "null"], "description": "Below `min_confidence`: why there is no trend or ETA yet, e.g. `collecting: about 2d more history before a forecast (…)`; null at or above it."},
                "collecting_ms": {"type": ["integer", "null"], "description": "Below `min_confidence`: about how much more history (ms) lifts the confidence to it, if the coverage and noise so far hold; null when history alone will not, or at or above it."},
            },
        },
    })
}

/// `a` with the keys of `b` added (both objects).
fn merged(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn json_response(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn error_response(description: &str) -> Value {
    json_response(description, schema_ref("Error"))
}

fn object_of(key: &str, item: Value) -> Value {
    json!({
        "type": "object",
        "required": [key],
        "properties": {key: {"type": "array", "items": item}},
    })
}

/// Adds the refusals every protected endpoint may answer with.
fn with_auth(mut responses: Value) -> Value {
    if let Some(map) = responses.as_object_mut() {
        map.insert(
            "401".into(),
            json!({"$ref": "#/components/responses/Unauthorized"}),
        );
        map.insert(
            "503".into(),
            json!({"$ref": "#/components/responses/Unavailable"}),
        );
    }
    responses
}

fn query(name: &str, description: &str, required: bool, schema: Value) -> Value {
    json!({"name": name, "in": "query", "description": description, "required": required, "schema": schema})
}

fn path_param(name: &str, description: &str, schema: Value) -> Value {
    json!({"name": name, "in": "path", "description": description, "required": true, "schema": schema})
}

fn time_schema() -> Value {
    json!({"oneOf": [{"type": "integer"}, {"type": "string", "format": "date-time"}]})
}

fn step_schema() -> Value {
    json!({"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string", "examples": ["30s", "5m"]}]})
}

/// Any other query parameter is an exact label match (`database=shop`).
fn labels_parameter() -> Value {
    json!({
        "name": "labels",
        "in": "query",
        "description": "Any other parameter matches a label exactly, e.g. `database=shop`.",
        "required": false,
        "style": "form",
        "explode": true,
        "schema": schema_ref("Labels"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The paths of `.route("…"` calls in `source` (a path on the next
    /// line too), with axum's `{id}`
    /// (the same syntax as OpenAPI's).
    fn routes(source: &str) -> Vec<String> {
        source
            .split(".route(")
            .skip(1)
            .filter_map(|rest| rest.trim_start().strip_prefix('"'))
            .filter_map(|rest| rest.split('"').next())
            .map(str::to_owned)
            .collect()
    }

    /// Static dashboard files are not API endpoints.
    fn is_static(path: &str) -> bool {
        path == "/" || path.starts_with("/assets")
    }

    #[test]
    fn every_route_of_the_router_is_documented() {
        let document = document();
        let paths = document["paths"].as_object().expect("paths");
        let routes = routes(include_str!("mod.rs"));
        assert!(
            routes.len() >= 10,
            "the router source no longer has `.route(\"…\"` calls: {routes:?}"
        );
        for route in routes.iter().filter(|r| !is_static(r)) {
            assert!(
                paths.contains_key(route.as_str()),
                "`{route}` is routed in web/mod.rs but missing from openapi.rs"
            );
        }
        for path in paths.keys() {
            assert!(
                routes.contains(path),
                "`{path}` is documented but not routed"
            );
        }
    }

    #[test]
    fn every_reference_resolves() {
        let document = document();
        let text = document.to_string();
        for part in text.split("\"$ref\":\"#/").skip(1) {
            let pointer = part.split('"').next().unwrap_or_default();
            assert!(
                document.pointer(&format!("/{pointer}")).is_some(),
                "dangling $ref #/{pointer}"
            );
        }
    }

    #[test]
    fn path_parameters_match_the_path_template() {
        let document = document();
        for (path, item) in document["paths"].as_object().expect("paths") {
            for operation in item.as_object().expect("item").values() {
                let declared: Vec<&str> = operation["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .filter(|p| p["in"] == "path")
                            .filter_map(|p| p["name"].as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                let templated: Vec<&str> = path
                    .split('{')
                    .skip(1)
                    .filter_map(|rest| rest.split('}').next())
                    .collect();
                assert_eq!(declared, templated, "{path}");
            }
        }
    }

    #[test]
    fn it_is_openapi_3_1_with_both_security_schemes() {
        let document = document();
        assert!(
            document["openapi"]
                .as_str()
                .expect("openapi")
                .starts_with("3.1")
        );
        let schemes = &document["components"]["securitySchemes"];
        assert_eq!(schemes["bearer"]["scheme"], "bearer");
        assert_eq!(schemes["session"]["name"], "headroom_session");
    }
}
