//! The HTTP side: `/healthz`, the JSON API under `/api/v1` (advice.rs for
//! recommendations and headroom, alerts.rs for receivers, deliveries and
//! silences, indexes.rs for the index verdicts, volume.rs for the order
//! volume), `/metrics`, the dashboard (`/`, `/assets/*`, dashboard.rs) and
//! the token check in front of them (auth.rs).

mod advice;
mod alerts;
pub mod auth;
mod chart;
mod dashboard;
mod error;
pub mod indexes;
pub mod openapi;
pub mod prom;
pub mod volume;

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::json;

pub use advice::HeadroomCache;
pub use error::ApiError;

use crate::metrics::IngestCounters;
use crate::store::query::PointsQuery;
use crate::store::{Retention, Store, now_ms};

/// Most buckets a stepped query may ask for, per series (as Prometheus).
pub const MAX_STEPS: i64 = 11_000;
/// The range a points query covers when `from` is absent.
pub const DEFAULT_RANGE_MS: i64 = 3_600_000;

/// What handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub retention: Retention,
    pub counters: IngestCounters,
    pub auth: auth::WebAuth,
    /// The sorted headroom table, re-read only when the advisor saves a new one.
    pub headroom: advice::HeadroomCache,
    /// `[[alerts]]` receivers (the API shows their names and routes, never
    /// their URLs or secrets).
    pub receivers: std::sync::Arc<Vec<crate::alerts::ReceiverConfig>>,
}

/// The router with every route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(prom::metrics))
        .route("/api/v1/openapi.json", get(openapi::openapi))
        .route(
            "/api/v1/session",
            get(auth::session).post(auth::login).delete(auth::logout),
        )
        .route("/api/v1/agents", get(agents))
        .route("/api/v1/series", get(series))
        .route("/api/v1/status", get(status))
        .route("/api/v1/texts", get(texts))
        .route("/api/v1/recommendations", get(advice::list))
        .route("/api/v1/recommendations/{id}", get(advice::one))
        .route("/api/v1/recommendations/{id}/{action}", post(advice::act))
        .route("/api/v1/headroom", get(advice::headroom))
        .route("/api/v1/volume", get(volume::volume))
        .route("/api/v1/index-verdicts", get(indexes::verdicts))
        .route("/api/v1/chart", get(chart::chart))
        .route("/api/v1/alerts/receivers", get(alerts::receivers))
        .route("/api/v1/alerts/deliveries", get(alerts::deliveries))
        .route(
            "/api/v1/silences",
            get(alerts::silences).post(alerts::create_silence),
        )
        .route("/api/v1/silences/{id}", delete(alerts::expire_silence))
        .route("/", get(dashboard::index))
        .route("/assets/{file}", get(dashboard::file))
        .fallback(|| async { ApiError::not_found("no such endpoint; the API lives under /api/v1") })
        .layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
            auth::require,
        ))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.check_writable().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "ok", "store": state.store.backend()})),
        ),
        Err(error) => {
            tracing::warn!(error = %error, "health check: the store is not writable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "message": "the store is not writable"})),
            )
        }
    }
}

async fn agents(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let agents = state.store.agents().await?;
    Ok(Json(json!({ "agents": agents })))
}

async fn status(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let resolutions = state.store.stats().await?;
    let size_bytes = state.store.size_bytes().await?;
    let uncompacted_blocks = state.store.uncompacted_blocks().await?;
    Ok(Json(json!({
        "store": state.store.backend(),
        "size_bytes": size_bytes,
        "resolutions": resolutions,
        "uncompacted_blocks": uncompacted_blocks,
        "ingest": state.counters.snapshot(),
    })))
}

/// Stored texts of one `kind` (`pg_query`: normalised query texts keyed
/// `database/queryid`; `pg_index`: index definitions with their parsed
/// fields as JSON (`store::model::IndexText`), keyed
/// `database/schema.index`).
async fn texts(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = text_kind(&params)?;
    let texts = state.store.texts(kind).await?;
    Ok(Json(json!({ "texts": texts })))
}

fn text_kind(params: &HashMap<String, String>) -> Result<&str, ApiError> {
    match params.get("kind").map(String::as_str) {
        Some(kind) if !kind.is_empty() => Ok(kind),
        _ => Err(ApiError::bad_request(
            "`kind` is required, e.g. /api/v1/texts?kind=pg_query or kind=pg_index",
        )),
    }
}

/// Without `name`: the list of series (optionally `prefix=`). With `name`:
/// points of the matching series; `from`, `to` (unix ms or RFC 3339),
/// `step` (`30s`, or ms) and any other parameter as an exact label match.
async fn series(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let Some(name) = params.get("name") else {
        let prefix = params.get("prefix").map_or("", String::as_str);
        let series = state.store.series_list(prefix).await?;
        return Ok(Json(json!({ "series": series })));
    };
    let query = points_query(name, &params, now_ms())?;
    let series = state.store.points(&query, &state.retention).await?;
    Ok(Json(json!({
        "from": query.from_ms,
        "to": query.to_ms,
        "step": query.step_ms,
        "series": series,
    })))
}

fn points_query(
    name: &str,
    params: &HashMap<String, String>,
    now: i64,
) -> Result<PointsQuery, ApiError> {
    if name.is_empty() {
        return Err(ApiError::bad_request("`name` is empty"));
    }
    let to_ms = match params.get("to") {
        Some(text) => parse_time("to", text)?,
        None => now,
    };
    let from_ms = match params.get("from") {
        Some(text) => parse_time("from", text)?,
        None => to_ms - DEFAULT_RANGE_MS,
    };
    if from_ms > to_ms {
        return Err(ApiError::bad_request(format!(
            "`from` ({from_ms}) is after `to` ({to_ms})"
        )));
    }
    let step_ms = params
        .get("step")
        .map(|text| parse_step(text))
        .transpose()?;
    if let Some(step) = step_ms
        && (to_ms - from_ms) / step > MAX_STEPS
    {
        return Err(ApiError::bad_request(format!(
            "the range holds more than {MAX_STEPS} steps of {step} ms; use a larger `step` or a shorter range"
        )));
    }
    let labels: BTreeMap<String, String> = params
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "name" | "from" | "to" | "step" | "prefix"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Ok(PointsQuery {
        name: name.to_owned(),
        labels,
        from_ms,
        to_ms,
        step_ms,
    })
}

fn parse_time(key: &str, text: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    humantime::parse_rfc3339_weak(text)
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|since| since.as_millis() as i64)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "`{key}` must be unix milliseconds or an RFC 3339 time like 2026-11-27T12:00:00Z, not `{text}`"
            ))
        })
}

fn parse_step(text: &str) -> Result<i64, ApiError> {
    let step = match text.parse::<i64>() {
        Ok(ms) => ms,
        Err(_) => humantime::parse_duration(text)
            .map(|d| d.as_millis() as i64)
            .map_err(|_| {
                ApiError::bad_request(format!(
                    "`step` must be a duration like 30s or milliseconds, not `{text}`"
                ))
            })?,
    };
    if step <= 0 {
        return Err(ApiError::bad_request("`step` must be more than 0"));
    }
    Ok(step)
}

/// A query string's parameters, as handlers receive them (for the web tests).
#[cfg(test)]
pub(crate) fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_parameters_are_label_matchers() {
        let query = points_query(
            "pg_database_backends",
            &params(&[
                ("database", "shop"),
                ("step", "1m"),
                ("from", "0"),
                ("to", "60000"),
            ]),
            0,
        )
        .expect("valid");
        assert_eq!(
            query.labels.get("database").map(String::as_str),
            Some("shop")
        );
        assert_eq!(query.step_ms, Some(60_000));
        assert_eq!((query.from_ms, query.to_ms), (0, 60_000));
    }

    #[test]
    fn bad_parameters_say_what_is_wrong() {
        for (pairs, needle) in [
            (vec![("from", "yesterday")], "`from`"),
            (vec![("from", "10"), ("to", "5")], "after"),
            (vec![("step", "0")], "`step`"),
            (vec![("step", "fast")], "`step`"),
            (
                vec![("from", "0"), ("to", "100000000"), ("step", "1")],
                "steps",
            ),
        ] {
            let error = points_query("x", &params(&pairs), 1_000).expect_err("refused");
            assert!(error_message(error).contains(needle), "{pairs:?}");
        }
    }

    #[test]
    fn rfc3339_times_are_accepted() {
        let query = points_query(
            "x",
            &params(&[
                ("from", "1970-01-01T00:00:01Z"),
                ("to", "1970-01-01T00:00:02Z"),
            ]),
            0,
        )
        .expect("valid");
        assert_eq!((query.from_ms, query.to_ms), (1_000, 2_000));
    }

    #[test]
    fn texts_need_a_kind() {
        assert_eq!(
            text_kind(&params(&[("kind", "pg_query")])).expect("valid"),
            "pg_query"
        );
        for pairs in [vec![], vec![("kind", "")], vec![("other", "pg_query")]] {
            let error = text_kind(&params(&pairs)).expect_err("refused");
            assert!(error_message(error).contains("`kind` is required"));
        }
    }

    fn error_message(error: ApiError) -> String {
        format!("{error:?}")
    }
}
