//! The advisor's API: `GET /api/v1/recommendations` (filters and
//! pagination), one recommendation with its history, the actions on it,
//! and `GET /api/v1/headroom`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, AppState, parse_time};
use crate::advisor::lifecycle::{self, Action, State as RecState};
use crate::advisor::{RecKind, Severity};
use crate::analysis::headroom::{MIN_FORECAST_CONFIDENCE, Readiness, readiness};
use crate::store::{Store, now_ms};
use headroom_proto::duration;
use tokio::sync::Mutex;

/// Most recommendations one page may hold.
pub const MAX_LIMIT: usize = 500;

/// The filters of a list request, validated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filters {
    pub kinds: Vec<RecKind>,
    pub severities: Vec<Severity>,
    pub states: Vec<RecState>,
    pub limit: usize,
    pub offset: usize,
}

/// Parses `kind`, `severity`, `state` (comma-separated each), `limit` and
/// `offset`. Without `state`, every state but pending.
pub fn filters(params: &HashMap<String, String>) -> Result<Filters, ApiError> {
    fn list<T>(
        params: &HashMap<String, String>,
        key: &str,
        parse: impl Fn(&str) -> Option<T>,
        allowed: &str,
    ) -> Result<Vec<T>, ApiError> {
        params
            .get(key)
            .map(|text| {
                text.split(',')
                    .filter(|part| !part.is_empty())
                    .map(|part| {
                        parse(part).ok_or_else(|| {
                            ApiError::bad_request(format!(
                                "`{key}`: `{part}` is not one of {allowed}"
                            ))
                        })
                    })
                    .collect()
            })
            .unwrap_or(Ok(Vec::new()))
    }
    for key in params.keys() {
        if !["kind", "severity", "state", "limit", "offset"].contains(&key.as_str()) {
            return Err(ApiError::bad_request(format!(
                "unknown parameter `{key}`; use kind, severity, state, limit, offset"
            )));
        }
    }
    let number = |key: &str, default: usize| -> Result<usize, ApiError> {
        params.get(key).map_or(Ok(default), |text| {
            text.parse::<usize>().map_err(|_| {
                ApiError::bad_request(format!("`{key}`: `{text}` is not a non-negative integer"))
            })
        })
    };
    let limit = number("limit", 100)?;
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ApiError::bad_request(format!(
            "`limit` must be between 1 and {MAX_LIMIT}"
        )));
    }
    let mut states = list(
        params,
        "state",
        RecState::parse,
        "pending, open, acknowledged, snoozed, resolved",
    )?;
    if states.is_empty() {
        states = vec![
            RecState::Open,
            RecState::Acknowledged,
            RecState::Snoozed,
            RecState::Resolved,
        ];
    }
    Ok(Filters {
        kinds: list(
            params,
            "kind",
            RecKind::parse,
            "index, drop_index, cache, cdn, database, app, staffing, integrity, none",
        )?,
        severities: list(
            params,
            "severity",
            Severity::parse,
            "info, warning, critical",
        )?,
        states,
        limit,
        offset: number("offset", 0)?,
    })
}

pub(super) async fn list(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let filters = filters(&params)?;
    let mut recs: Vec<_> = state
        .store
        .recommendations()
        .await?
        .into_iter()
        .filter(|r| filters.kinds.is_empty() || filters.kinds.contains(&r.kind))
        .filter(|r| filters.severities.is_empty() || filters.severities.contains(&r.severity))
        .filter(|r| filters.states.contains(&r.state))
        .collect();
    // Active first, then most severe, then most recently seen.
    recs.sort_by(|a, b| {
        b.state
            .is_active()
            .cmp(&a.state.is_active())
            .then(b.severity.cmp(&a.severity))
            .then(b.last_seen.cmp(&a.last_seen))
            .then(a.id.cmp(&b.id))
    });
    let total = recs.len();
    let page: Vec<_> = recs
        .into_iter()
        .skip(filters.offset)
        .take(filters.limit)
        .collect();
    Ok(Json(json!({
        "recommendations": page,
        "total": total,
        "limit": filters.limit,
        "offset": filters.offset,
    })))
}

pub(super) async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let rec = state
        .store
        .recommendation(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no recommendation `{id}`")))?;
    let history = state.store.recommendation_events(&id).await?;
    let mut body = serde_json::to_value(&rec).unwrap_or_default();
    body["history"] = serde_json::to_value(history).unwrap_or_default();
    Ok(Json(body))
}

/// The body of an action: who acts, and for `snooze` until when.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    #[serde(default)]
    pub by: Option<String>,
    #[serde(default)]
    pub until: Option<String>,
}

pub(super) async fn act(
    State(state): State<AppState>,
    Path((id, verb)): Path<(String, String)>,
    body: Option<Json<ActionBody>>,
) -> Result<impl IntoResponse, ApiError> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let now = now_ms();
    let action = match verb.as_str() {
        "acknowledge" => Action::Acknowledge,
        "resolve" => Action::Resolve,
        "reopen" => Action::Reopen,
        "snooze" => {
            let until = body.until.as_deref().ok_or_else(|| {
                ApiError::bad_request("`until` (unix ms or RFC 3339) is required to snooze")
            })?;
            Action::Snooze(parse_time("until", until)?)
        }
        _ => {
            return Err(ApiError::not_found(format!(
                "no action `{verb}`; use acknowledge, snooze, resolve or reopen"
            )));
        }
    };
    let by = body
        .by
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| "api".to_owned());
    let rec = state
        .store
        .recommendation(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no recommendation `{id}`")))?;
    let (next, event) = lifecycle::act(&rec, action, &by, now).map_err(ApiError::conflict)?;
    let read = HashMap::from([(rec.id.clone(), rec.state)]);
    let skipped = state
        .store
        .save_recommendations(
            std::slice::from_ref(&next),
            std::slice::from_ref(&event),
            &read,
        )
        .await?;
    if !skipped.is_empty() {
        return Err(ApiError::conflict(format!(
            "recommendation `{id}` changed while this action was applied; read it again and retry"
        )));
    }
    Ok(Json(serde_json::to_value(&next).unwrap_or_default()))
}

/// The headroom table as the API shows it, sorted most urgent first, kept
/// between requests and re-read only when its version (rows, last write)
/// changes: at thousands of resources, parsing it is most of a request.
#[derive(Debug, Clone, Default)]
pub struct HeadroomCache {
    table: Arc<Mutex<Arc<HeadroomTable>>>,
}

/// One version of the headroom table.
#[derive(Debug, Default)]
pub struct HeadroomTable {
    version: (i64, Option<i64>),
    rows: Vec<serde_json::Value>,
}

impl HeadroomCache {
    /// The current table, re-read from `store` when the advisor saved a new one.
    pub async fn get(&self, store: &Store) -> Result<Arc<HeadroomTable>, ApiError> {
        let version = store.headroom_version().await?;
        let cached = Arc::clone(&*self.table.lock().await);
        if cached.version == version && version.1.is_some() {
            return Ok(cached);
        }
        let mut rows: Vec<(serde_json::Value, i64)> = store
            .headroom()
            .await?
            .into_iter()
            .map(|(row, at)| (shown_row(row), at))
            .collect();
        rows.sort_by(|(a, _), (b, _)| {
            let eta = |v: &serde_json::Value| v["eta_ms"].as_i64().unwrap_or(i64::MAX);
            let utilization = |v: &serde_json::Value| v["utilization"].as_f64().unwrap_or(0.0);
            eta(a)
                .cmp(&eta(b))
                .then(utilization(b).total_cmp(&utilization(a)))
        });
        let fresh = Arc::new(HeadroomTable {
            version,
            rows: rows
                .into_iter()
                .map(|(mut v, _)| {
                    v["eta"] = v["eta_ms"].clone();
                    v
                })
                .collect(),
        });
        *self.table.lock().await = Arc::clone(&fresh);
        Ok(fresh)
    }
}

/// A stored headroom row as the API shows it: below
/// [`MIN_FORECAST_CONFIDENCE`] its trend and ETAs are null (a forecast from
/// minutes of history is noise, not growth) and `collecting` says what the
/// forecast still needs (`collecting_ms`: about how much more history, when
/// history alone will do); at or above it, `collecting` is null.
pub fn shown_row(mut row: serde_json::Value) -> serde_json::Value {
    let confidence = row["confidence"].as_f64().unwrap_or(0.0);
    let history_ms = row["history_ms"].as_i64().unwrap_or(0);
    let (collecting, collecting_ms) = match readiness(confidence, history_ms) {
        Readiness::Ready => (None, None),
        Readiness::Collecting { more_ms } => (
            Some(format!(
                "collecting: about {} more history before a forecast (confidence {:.0}% of the {:.0}% a forecast needs)",
                duration::approximate(Duration::from_millis(more_ms.max(0) as u64), 1),
                confidence * 100.0,
                MIN_FORECAST_CONFIDENCE * 100.0,
            )),
            Some(more_ms),
        ),
        Readiness::Unsteady => (
            Some(format!(
                "collecting: gaps or noise hold the confidence at {:.0}%, under the {:.0}% a forecast needs, however long the history",
                confidence * 100.0,
                MIN_FORECAST_CONFIDENCE * 100.0,
            )),
            None,
        ),
    };
    if collecting.is_some() {
        for key in [
            "trend_per_day",
            "eta_ms",
            "eta_earliest_ms",
            "eta_latest_ms",
        ] {
            row[key] = serde_json::Value::Null;
        }
    }
    row["collecting"] = json!(collecting);
    row["collecting_ms"] = json!(collecting_ms);
    row
}

/// Most resources one page of `GET /api/v1/headroom` may hold, and its default.
pub const MAX_HEADROOM_LIMIT: usize = 1000;
pub const DEFAULT_HEADROOM_LIMIT: usize = 100;

/// `limit` (1–[`MAX_HEADROOM_LIMIT`]) and `offset` of a headroom page.
pub fn headroom_page(params: &HashMap<String, String>) -> Result<(usize, usize), ApiError> {
    for key in params.keys() {
        if !["limit", "offset"].contains(&key.as_str()) {
            return Err(ApiError::bad_request(format!(
                "unknown parameter `{key}`; use limit, offset"
            )));
        }
    }
    let number = |key: &str, default: usize| -> Result<usize, ApiError> {
        params.get(key).map_or(Ok(default), |text| {
            text.parse::<usize>().map_err(|_| {
                ApiError::bad_request(format!("`{key}` must be a whole number, not `{text}`"))
            })
        })
    };
    let limit = number("limit", DEFAULT_HEADROOM_LIMIT)?;
    if limit == 0 || limit > MAX_HEADROOM_LIMIT {
        return Err(ApiError::bad_request(format!(
            "`limit` must be between 1 and {MAX_HEADROOM_LIMIT}, not {limit}"
        )));
    }
    Ok((limit, number("offset", 0)?))
}

/// The headroom table, most urgent first, one page at a time (`total` counts
/// every resource).
pub(super) async fn headroom(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let (limit, offset) = headroom_page(&params)?;
    let table = state.headroom.get(&state.store).await?;
    let computed_at = table.version.1;
    let total = table.rows.len();
    let resources: Vec<&serde_json::Value> = table.rows.iter().skip(offset).take(limit).collect();
    Ok(Json(json!({
        "headroom": resources,
        "computed_at": computed_at,
        "total": total,
        "limit": limit,
        "offset": offset,
        "min_confidence": MIN_FORECAST_CONFIDENCE,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::params;

    #[test]
    fn a_headroom_page_defaults_to_the_first_hundred_and_refuses_bad_values() {
        assert_eq!(
            headroom_page(&params(&[])).unwrap(),
            (DEFAULT_HEADROOM_LIMIT, 0)
        );
        assert_eq!(
            headroom_page(&params(&[("limit", "5"), ("offset", "10")])).unwrap(),
            (5, 10)
        );
        for bad in [
            &[("limit", "0")][..],
            &[("limit", "1001")][..],
            &[("offset", "-1")][..],
            &[("sort", "eta")][..],
        ] {
            assert!(headroom_page(&params(bad)).is_err(), "{bad:?}");
        }
    }

    fn stored_row(confidence: f64, history_ms: i64) -> serde_json::Value {
        json!({
            "resource": "host cpu (db-1)",
            "current": 1.5,
            "limit": 2.0,
            "utilization": 0.75,
            "trend_per_day": -183.4,
            "eta_ms": 1_800_000_000_000i64,
            "eta_earliest_ms": 1_790_000_000_000i64,
            "eta_latest_ms": null,
            "confidence": confidence,
            "samples": 60,
            "history_ms": history_ms,
        })
    }

    #[test]
    fn below_the_floor_a_row_has_no_trend_or_eta_and_says_how_long_it_is_collecting() {
        // 15 minutes of a steady series: confidence d / (d + 7) ≈ 0.0015.
        let row = shown_row(stored_row(0.0015, 15 * 60_000));
        for key in [
            "trend_per_day",
            "eta_ms",
            "eta_earliest_ms",
            "eta_latest_ms",
        ] {
            assert!(row[key].is_null(), "{key}: {row}");
        }
        let text = row["collecting"].as_str().expect("collecting");
        assert!(
            text.starts_with("collecting: about 2d more history before a forecast"),
            "{text}"
        );
        let more = row["collecting_ms"].as_i64().expect("collecting_ms");
        assert!((41 * 3_600_000..42 * 3_600_000).contains(&more), "{more}");
        assert_eq!(
            row["utilization"], 0.75,
            "the level is shown whatever the confidence"
        );
    }

    #[test]
    fn at_the_floor_a_row_keeps_its_forecast() {
        let row = shown_row(stored_row(MIN_FORECAST_CONFIDENCE, 3 * 86_400_000));
        assert_eq!(row["trend_per_day"], -183.4);
        assert_eq!(row["eta_ms"], 1_800_000_000_000i64);
        assert!(row["collecting"].is_null() && row["collecting_ms"].is_null());
    }

    #[test]
    fn a_row_too_noisy_for_history_to_help_says_so_without_a_time() {
        // Three days of history at 5% confidence: the quality factor is 1/6.
        let row = shown_row(stored_row(0.05, 3 * 86_400_000));
        assert!(row["eta_ms"].is_null() && row["collecting_ms"].is_null());
        assert!(
            row["collecting"]
                .as_str()
                .is_some_and(|t| t.contains("however long the history")),
            "{row}"
        );
    }

    #[test]
    fn filters_parse_lists_and_default_to_every_shown_state() {
        let f = filters(&params(&[
            ("kind", "index,cache"),
            ("severity", "critical"),
        ]))
        .unwrap();
        assert_eq!(f.kinds, vec![RecKind::Index, RecKind::Cache]);
        assert_eq!(f.severities, vec![Severity::Critical]);
        assert!(!f.states.contains(&RecState::Pending));
        assert_eq!((f.limit, f.offset), (100, 0));
    }

    #[test]
    fn bad_filters_are_refused_with_the_allowed_values() {
        for bad in [
            params(&[("kind", "indexes")]),
            params(&[("severity", "high")]),
            params(&[("state", "closed")]),
            params(&[("limit", "0")]),
            params(&[("limit", "501")]),
            params(&[("offset", "-1")]),
            params(&[("sort", "x")]),
        ] {
            assert!(filters(&bad).is_err(), "{bad:?}");
        }
    }
}
