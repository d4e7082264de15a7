//! `GET /api/v1/index-verdicts`: why each statement the agent examined for
//! an index did or did not get one. The agent sends a verdict per examined
//! top statement, stored as texts of kind [`VERDICT_KIND`] keyed
//! `<database>/<queryid>` (the newest per key replaces the older); each is
//! shown with the statement's text (the `pg_query` text of the same key)
//! and its execution time over the last hour (`pg_statement_exec_ms`),
//! busiest first.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::query::Params;
use super::{ApiError, AppState, ErrorBody};
use crate::store::now_ms;
use crate::store::query::{PointsQuery, SeriesPoints, TextRow};

/// The text kind of a verdict.
pub const VERDICT_KIND: &str = "pg_index_verdict";
/// The text kind of a normalised statement, keyed like a verdict.
pub const QUERY_KIND: &str = "pg_query";
/// The series whose last hour gives a statement's execution time.
pub const EXEC_SERIES: &str = "pg_statement_exec_ms";
/// The window of `exec_ms_last_hour`.
pub const EXEC_WINDOW_MS: i64 = 3_600_000;

/// The verdicts the agent gives today. Any other code is shown as it is:
/// an agent newer than the collector may know more.
pub const VERDICT_CODES: [&str; 10] = [
    "candidate",
    "table_too_small",
    "no_usable_predicate",
    "not_select",
    "parse_error",
    "unsupported_or",
    "planner_would_not_use",
    "already_covered",
    "not_explainable",
    "table_not_found",
];

/// A verdict code: a string, one of [`VERDICT_CODES`] today.
fn verdict_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .description(Some(
            "A code; an agent newer than the collector may send others.",
        ))
        .examples(VERDICT_CODES)
        .build()
}

/// A verdict as the agent stores it (the text's JSON object).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
pub struct StoredVerdict {
    pub database: String,
    #[serde(deserialize_with = "string_or_number")]
    pub queryid: String,
    /// A code ([`VERDICT_CODES`] today); an agent newer than the collector may send others.
    #[schema(schema_with = verdict_schema)]
    pub verdict: String,
    /// The agent's explanation, e.g. which estimate found the table too small.
    pub reason: String,
    pub schema: String,
    pub table: String,
    pub table_rows: Option<f64>,
    /// The candidate's DDL; empty when there is none.
    pub definition: String,
    /// When the agent examined the statement.
    pub timestamp_ms: i64,
}

/// One row of the answer: the verdict, the statement and its cost.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(as = IndexVerdict)]
pub struct VerdictRow {
    #[serde(flatten)]
    pub verdict: StoredVerdict,
    /// When the collector last received it.
    pub last_seen: i64,
    /// The normalised statement (the `pg_query` text of the same key),
    /// when the collector has it.
    pub statement: Option<String>,
    /// Execution time summed over the last hour (`pg_statement_exec_ms`),
    /// when recorded.
    pub exec_ms_last_hour: Option<f64>,
}

/// A stored verdict that does not decode, named by its key.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Undecodable {
    pub key: String,
    pub error: String,
}

fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(i64),
    }
    Ok(match Raw::deserialize(deserializer)? {
        Raw::Text(text) => text,
        Raw::Number(n) => n.to_string(),
    })
}

/// The verdicts of `database` (every database when None), each with its
/// statement text from `queries` and its time from `exec_ms` (keyed like
/// the texts), busiest first, then newest; and the rows that do not decode.
pub fn join(
    verdicts: &[TextRow],
    queries: &[TextRow],
    exec_ms: &HashMap<String, f64>,
    database: Option<&str>,
) -> (Vec<VerdictRow>, Vec<Undecodable>) {
    let texts: HashMap<&str, &str> = queries
        .iter()
        .map(|q| (q.key.as_str(), q.text.as_str()))
        .collect();
    let mut rows = Vec::new();
    let mut undecodable = Vec::new();
    for stored in verdicts {
        let verdict = match serde_json::from_str::<StoredVerdict>(&stored.text) {
            Ok(verdict) => verdict,
            Err(error) => {
                if database.is_none_or(|d| stored.key.starts_with(&format!("{d}/"))) {
                    undecodable.push(Undecodable {
                        key: stored.key.clone(),
                        error: format!("the stored verdict does not decode: {error}"),
                    });
                }
                continue;
            }
        };
        if database.is_some_and(|d| d != verdict.database) {
            continue;
        }
        rows.push(VerdictRow {
            statement: texts.get(stored.key.as_str()).map(|t| (*t).to_owned()),
            exec_ms_last_hour: exec_ms.get(&stored.key).copied(),
            last_seen: stored.last_seen,
            verdict,
        });
    }
    rows.sort_by(|a, b| {
        let busy = |r: &VerdictRow| r.exec_ms_last_hour.unwrap_or(-1.0);
        busy(b)
            .total_cmp(&busy(a))
            .then(b.verdict.timestamp_ms.cmp(&a.verdict.timestamp_ms))
            .then(a.verdict.queryid.cmp(&b.verdict.queryid))
    });
    (rows, undecodable)
}

/// Total execution time per `database/queryid` over the points given.
pub fn exec_totals(series: &[SeriesPoints]) -> HashMap<String, f64> {
    let mut totals: HashMap<String, f64> = HashMap::new();
    for s in series {
        let (Some(database), Some(queryid)) = (s.labels.get("database"), s.labels.get("queryid"))
        else {
            continue;
        };
        let sum: f64 = s.points.iter().map(|p| p.1).filter(|v| v.is_finite()).sum();
        *totals.entry(format!("{database}/{queryid}")).or_default() += sum;
    }
    totals
}

/// The parameters of `/api/v1/index-verdicts`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerdictsQuery {
    /// Only this database's statements.
    pub database: Option<String>,
}

/// The verdicts asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndexVerdicts {
    /// The `database` asked for.
    pub database: Option<String>,
    /// Every database with verdicts.
    pub databases: BTreeSet<String>,
    pub verdicts: Vec<VerdictRow>,
    /// Stored verdicts that do not decode, by key.
    pub undecodable: Vec<Undecodable>,
}

/// Why each examined top statement did or did not get index advice, busiest first
#[utoipa::path(
    get,
    path = "/api/v1/index-verdicts",
    tag = "advice",
    params(VerdictsQuery),
    responses(
        (status = 200, description = "The verdicts.", body = IndexVerdicts),
        (status = 400, description = "An unknown parameter.", body = ErrorBody),
    )
)]
pub(super) async fn verdicts(
    State(state): State<AppState>,
    Params(query): Params<VerdictsQuery>,
) -> Result<Json<IndexVerdicts>, ApiError> {
    let database = query.database.filter(|d| !d.is_empty());
    let stored = state.store.texts(VERDICT_KIND).await?;
    let databases: BTreeSet<String> = stored
        .iter()
        .filter_map(|t| serde_json::from_str::<StoredVerdict>(&t.text).ok())
        .map(|v| v.database)
        .collect();
    let shown: Vec<&String> = match &database {
        Some(d) => databases.iter().filter(|known| *known == d).collect(),
        None => databases.iter().collect(),
    };
    let now = now_ms();
    let mut series = Vec::new();
    for d in shown {
        let query = PointsQuery {
            name: EXEC_SERIES.to_owned(),
            labels: BTreeMap::from([("database".to_owned(), d.clone())]),
            from_ms: now - EXEC_WINDOW_MS,
            to_ms: now,
            step_ms: None,
        };
        series.extend(state.store.points(&query, &state.retention).await?);
    }
    let queries = state.store.texts(QUERY_KIND).await?;
    let (rows, undecodable) = join(
        &stored,
        &queries,
        &exec_totals(&series),
        database.as_deref(),
    );
    for bad in &undecodable {
        tracing::warn!(key = %bad.key, error = %bad.error, "an index verdict does not decode");
    }
    Ok(Json(IndexVerdicts {
        database,
        databases,
        verdicts: rows,
        undecodable,
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::store::model::Kind;

    fn text(kind: &str, key: &str, text: &str) -> TextRow {
        TextRow {
            kind: kind.into(),
            key: key.into(),
            text: text.into(),
            last_seen: 5,
        }
    }

    fn verdict(database: &str, queryid: &str, code: &str, at: i64) -> TextRow {
        text(
            VERDICT_KIND,
            &format!("{database}/{queryid}"),
            &json!({
                "database": database, "queryid": queryid, "verdict": code,
                "reason": format!("because {code}"), "schema": "public", "table": "cart",
                "table_rows": 300_026, "definition": "", "timestamp_ms": at,
            })
            .to_string(),
        )
    }

    #[test]
    fn verdicts_join_their_statement_and_time_busiest_first() {
        let verdicts = [
            verdict("shop", "1", "table_too_small", 10),
            verdict("shop", "2", "planner_would_not_use", 20),
            verdict("shop", "3", "a_code_from_a_newer_agent", 30),
            verdict("other", "1", "not_select", 40),
        ];
        let queries = [text(
            QUERY_KIND,
            "shop/2",
            "SELECT * FROM cart WHERE id = $1",
        )];
        let exec = HashMap::from([("shop/1".to_owned(), 5.0), ("shop/2".to_owned(), 900.0)]);
        let (rows, bad) = join(&verdicts, &queries, &exec, Some("shop"));
        assert!(bad.is_empty());
        let order: Vec<&str> = rows.iter().map(|r| r.verdict.queryid.as_str()).collect();
        assert_eq!(order, ["2", "1", "3"], "busiest first, unmeasured last");
        assert_eq!(
            rows[0].statement.as_deref(),
            Some("SELECT * FROM cart WHERE id = $1")
        );
        assert_eq!(rows[0].exec_ms_last_hour, Some(900.0));
        assert_eq!(
            (rows[1].statement.as_deref(), rows[2].exec_ms_last_hour),
            (None, None)
        );
        assert_eq!(rows[2].verdict.verdict, "a_code_from_a_newer_agent");
        assert_eq!(join(&verdicts, &queries, &exec, None).0.len(), 4);
    }

    #[test]
    fn a_verdict_that_does_not_decode_is_named_not_hidden_or_defaulted() {
        let verdicts = [
            verdict("shop", "1", "candidate", 10),
            text(
                VERDICT_KIND,
                "shop/9",
                r#"{"database":"shop","queryid":"9"}"#,
            ),
        ];
        let (rows, bad) = join(&verdicts, &[], &HashMap::new(), Some("shop"));
        assert_eq!(rows.len(), 1);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].key, "shop/9");
        assert!(bad[0].error.contains("verdict"), "{}", bad[0].error);
    }

    #[test]
    fn a_numeric_queryid_and_null_rows_decode() {
        let stored: StoredVerdict = serde_json::from_str(
            r#"{"database":"shop","queryid":-42,"verdict":"parse_error","reason":"syntax error at or near \"$1\"","schema":"","table":"","table_rows":null,"definition":"","timestamp_ms":1}"#,
        )
        .expect("decodes");
        assert_eq!(stored.queryid, "-42");
        assert_eq!(stored.table_rows, None);
    }

    #[test]
    fn exec_time_sums_the_points_of_each_statement_across_agents() {
        let series = |agent: &str, points: Vec<(i64, f64)>| SeriesPoints {
            name: EXEC_SERIES.into(),
            labels: BTreeMap::from([
                ("agent".to_owned(), agent.to_owned()),
                ("database".to_owned(), "shop".to_owned()),
                ("queryid".to_owned(), "7".to_owned()),
            ]),
            kind: Kind::Gauge,
            points,
            truncated: false,
        };
        let totals = exec_totals(&[
            series("a", vec![(1, 10.0), (2, 5.5)]),
            series("b", vec![(1, 4.5), (2, f64::NAN)]),
        ]);
        assert_eq!(totals.get("shop/7"), Some(&20.0));
    }
}
