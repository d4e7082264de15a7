//! The alerts' part of the OpenAPI document: receivers, the delivery log
//! and silences (`web/alerts.rs`).

use serde_json::{Value, json};

use super::{error_response, json_response, object_of, path_param, query, schema_ref, with_auth};
use crate::advisor::RecKind;

/// The alerts' paths: receivers, the delivery log and silences.
pub(super) fn alert_paths() -> Value {
    let statuses = json!({"enum": ["pending", "delivered", "failed"]});
    json!({
        "/api/v1/alerts/receivers": {
            "get": {
                "summary": "The `[[alerts]]` receivers: names, types, routes and delivery counts (never URLs or secrets)",
                "responses": with_auth(json!({
                    "200": json_response("The receivers, in configuration order.", object_of("receivers", schema_ref("Receiver"))),
                })),
            },
        },
        "/api/v1/alerts/deliveries": {
            "get": {
                "summary": "The notification log: deliveries newest first",
                "parameters": [
                    query("receiver", "Only this receiver's deliveries.", false, json!({"type": "string"})),
                    query("status", "Only deliveries in this status.", false, statuses),
                    query("limit", "Most deliveries returned.", false, json!({
                        "type": "integer", "minimum": 1,
                        "maximum": crate::web::alerts::MAX_DELIVERIES_LIMIT,
                        "default": crate::web::alerts::DEFAULT_DELIVERIES_LIMIT,
                    })),
                ],
                "responses": with_auth(json!({
                    "200": json_response("The deliveries.", object_of("deliveries", schema_ref("Delivery"))),
                    "400": error_response("A bad `status` or `limit`, or an unknown parameter."),
                })),
            },
        },
        "/api/v1/silences": {
            "get": {
                "summary": "Every silence, newest first, with its state now",
                "responses": with_auth(json!({
                    "200": json_response("The silences.", object_of("silences", schema_ref("Silence"))),
                })),
            },
            "post": {
                "summary": "Create a silence: matching alerts are left out of notifications until it ends",
                "requestBody": {
                    "required": true,
                    "content": {"application/json": {"schema": schema_ref("NewSilence")}},
                },
                "responses": with_auth(json!({
                    "201": json_response("The new silence.", schema_ref("Silence")),
                    "400": error_response("The body is invalid: no matcher, an unknown receiver, both or neither of `ends_at` and `duration`, an end not in the future, an empty or too long text."),
                    "403": {"$ref": "#/components/responses/Forbidden"},
                })),
            },
        },
        "/api/v1/silences/{id}": {
            "delete": {
                "summary": "Expire a silence now (it stays listed, `expired`)",
                "parameters": [path_param("id", "The silence's id (`sil-…`).", json!({"type": "string"}))],
                "responses": with_auth(json!({
                    "200": json_response("The silence, expired.", schema_ref("Silence")),
                    "403": {"$ref": "#/components/responses/Forbidden"},
                    "404": {"$ref": "#/components/responses/NotFound"},
                })),
            },
        },
    })
}

/// The alerts' schemas.
pub(super) fn alert_schemas() -> Value {
    let kinds: Vec<&str> = RecKind::ALL.iter().map(|k| k.as_str()).collect();
    let severities = json!({"enum": ["info", "warning", "critical"]});
    let count = json!({"type": "integer", "minimum": 0});
    json!({
        "Receiver": {
            "type": "object",
            "required": ["name", "type", "min_severity", "kinds", "max_per_hour", "deliveries"],
            "additionalProperties": false,
            "properties": {
                "name": {"type": "string"},
                "type": {"enum": ["slack", "discord", "teams", "webhook"]},
                "min_severity": severities,
                "kinds": {"type": "array", "items": {"enum": kinds}, "description": "Kinds sent; empty means every kind."},
                "max_per_hour": {"type": "integer", "minimum": 1},
                "deliveries": {
                    "type": "object",
                    "required": ["pending", "delivered", "failed"],
                    "properties": {"pending": count, "delivered": count, "failed": count},
                },
            },
        },
        "Delivery": {
            "type": "object",
            "required": ["id", "receiver", "group_key", "reason", "status", "attempts", "created_at",
                "next_attempt_at", "last_attempt_at", "delivered_at", "last_status", "last_error",
                "headline", "alerts"],
            "properties": {
                "id": {"type": "string", "description": "The notification's id, stable across retries."},
                "receiver": {"type": "string"},
                "group_key": {"type": "string"},
                "reason": {"enum": ["new", "changed", "repeat", "resolved", "test"]},
                "status": {"enum": ["pending", "delivered", "failed"]},
                "attempts": {"type": "integer", "minimum": 0},
                "created_at": {"type": "integer"},
                "next_attempt_at": {"type": "integer"},
                "last_attempt_at": {"type": ["integer", "null"]},
                "delivered_at": {"type": ["integer", "null"]},
                "last_status": {"type": ["integer", "null"], "description": "The platform's last HTTP status, if it answered."},
                "last_error": {"type": "string", "description": "Why the last attempt failed; empty when none did."},
                "headline": {"type": "string", "description": "e.g. `[FIRING:2] Add an index on product (handle) (+1 more)`."},
                "alerts": {"type": "array", "items": {
                    "type": "object",
                    "required": ["recommendation_id", "title", "severity", "status"],
                    "properties": {
                        "recommendation_id": {"type": "string"},
                        "title": {"type": "string"},
                        "severity": severities,
                        "status": {"enum": ["firing", "resolved"]},
                    },
                }},
            },
        },
        "Matchers": {
            "type": "object",
            "description": "Every matcher set must match; at least one must be set.",
            "additionalProperties": false,
            "properties": {
                "kind": {"enum": kinds},
                "severity": severities,
                "recommendation_id": {"type": "string"},
                "receiver": {"type": "string", "description": "A configured receiver's name."},
            },
        },
        "Silence": {
            "type": "object",
            "required": ["id", "matchers", "comment", "created_by", "starts_at", "ends_at", "created_at", "state"],
            "properties": {
                "id": {"type": "string"},
                "matchers": schema_ref("Matchers"),
                "comment": {"type": "string"},
                "created_by": {"type": "string"},
                "starts_at": {"type": "integer"},
                "ends_at": {"type": "integer", "description": "The silence stops applying at this instant."},
                "created_at": {"type": "integer"},
                "state": {"enum": ["pending", "active", "expired"]},
            },
        },
        "NewSilence": {
            "type": "object",
            "required": ["matchers", "comment", "created_by"],
            "additionalProperties": false,
            "description": "Exactly one of `ends_at` and `duration`; the end must be in the future and after the start.",
            "properties": {
                "matchers": schema_ref("Matchers"),
                "comment": {"type": "string", "minLength": 1, "maxLength": crate::web::alerts::MAX_SILENCE_TEXT},
                "created_by": {"type": "string", "minLength": 1, "maxLength": crate::web::alerts::MAX_SILENCE_TEXT},
                "starts_at": {"type": "integer", "description": "Default: now."},
                "ends_at": {"type": "integer"},
                "duration": {"type": "string", "examples": ["2h", "30m", "1d"]},
            },
        },
    })
}
