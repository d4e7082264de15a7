//! The OpenAPI document's part for young-data and index explanations: the
//! index verdicts (`web/indexes.rs`) and the order volume (`web/volume.rs`).

use serde_json::{Value, json};

use super::{error_response, json_response, query, schema_ref, with_auth};
use crate::web::indexes::VERDICT_CODES;

/// `/api/v1/index-verdicts` and `/api/v1/volume`.
pub(super) fn index_paths() -> Value {
    json!({
        "/api/v1/index-verdicts": {
            "get": {
                "summary": "Why each examined top statement did or did not get index advice, busiest first",
                "parameters": [
                    query("database", "Only this database's statements.", false, json!({"type": "string"})),
                ],
                "responses": with_auth(json!({
                    "200": json_response("The verdicts.", json!({
                        "type": "object",
                        "required": ["database", "databases", "verdicts", "undecodable"],
                        "properties": {
                            "database": {"type": ["string", "null"], "description": "The `database` asked for."},
                            "databases": {"type": "array", "items": {"type": "string"}, "description": "Every database with verdicts."},
                            "verdicts": {"type": "array", "items": schema_ref("IndexVerdict")},
                            "undecodable": {"type": "array", "items": {
                                "type": "object",
                                "required": ["key", "error"],
                                "properties": {"key": {"type": "string"}, "error": {"type": "string"}},
                            }, "description": "Stored verdicts that do not decode, by key."},
                        },
                    })),
                    "400": error_response("An unknown parameter."),
                })),
            },
        },
        "/api/v1/volume": {
            "get": {
                "summary": "Order volume per agent from whatever order data exists, and how much",
                "responses": with_auth(json!({
                    "200": json_response("The volume of each agent with order data in the last 30 days.", json!({
                        "type": "object",
                        "required": ["volume"],
                        "properties": {"volume": {"type": "array", "items": schema_ref("Volume")}},
                    })),
                    "400": error_response("An unknown parameter."),
                })),
            },
        },
    })
}

/// `IndexVerdict` and `Volume`.
pub(super) fn index_schemas() -> Value {
    json!({
        "IndexVerdict": {
            "type": "object",
            "required": ["database", "queryid", "verdict", "reason", "schema", "table", "table_rows", "definition", "timestamp_ms", "last_seen", "statement", "exec_ms_last_hour"],
            "properties": {
                "database": {"type": "string"},
                "queryid": {"type": "string"},
                "verdict": {"type": "string", "examples": VERDICT_CODES, "description": "A code; an agent newer than the collector may send others."},
                "reason": {"type": "string", "description": "The agent's explanation, e.g. which estimate found the table too small."},
                "schema": {"type": "string"},
                "table": {"type": "string"},
                "table_rows": {"type": ["number", "null"]},
                "definition": {"type": "string", "description": "The candidate's DDL; empty when there is none."},
                "timestamp_ms": {"type": "integer", "description": "When the agent examined the statement."},
                "last_seen": {"type": "integer", "description": "When the collector last received the verdict."},
                "statement": {"type": ["string", "null"], "description": "The normalised statement (the `pg_query` text of the same key)."},
                "exec_ms_last_hour": {"type": ["number", "null"], "description": "Execution time over the last hour (`pg_statement_exec_ms`)."},
            },
        },
        "Volume": {
            "type": "object",
            "required": ["agent", "orders_per_minute", "orders_per_month", "history_ms", "first_ms", "last_ms", "young"],
            "properties": {
                "agent": {"type": "string"},
                "orders_per_minute": {"type": "number", "description": "Time-weighted mean of `medusa_orders_per_minute`."},
                "orders_per_month": {"type": "number", "description": "Whole orders in 30 days at that rate (as the staffing rule counts)."},
                "history_ms": {"type": "integer", "description": "The span of the order data behind it."},
                "first_ms": {"type": "integer"},
                "last_ms": {"type": "integer"},
                "young": {"type": "boolean", "description": "Less than a week of orders: the month is extrapolated."},
            },
        },
    })
}
