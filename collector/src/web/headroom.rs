//! `GET /api/v1/headroom`: the advisor's headroom table, most urgent first,
//! one page at a time, kept between requests ([`HeadroomCache`]). Below
//! [`MIN_FORECAST_CONFIDENCE`] a row shows its level but no trend or ETA,
//! and says what the forecast still needs ([`shown_row`]).

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Deserializer, Serialize};
use tokio::sync::Mutex;
use utoipa::{IntoParams, ToSchema};

use super::query::{Params, parsed};
use super::{ApiError, AppState, ErrorBody};
use crate::analysis::headroom::{MIN_FORECAST_CONFIDENCE, Readiness, readiness};
use crate::store::Store;
use headroom_proto::duration;

/// Most resources one page may hold, and its default.
pub const MAX_HEADROOM_LIMIT: usize = 1000;
pub const DEFAULT_HEADROOM_LIMIT: usize = 100;

/// One resource as the API shows it: the advisor's stored row
/// (`analysis::headroom::Headroom`, whose non-finite numbers are stored as
/// null) and what the forecast still needs.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, ToSchema)]
#[schema(as = Headroom)]
pub struct HeadroomRow {
    pub resource: String,
    pub current: Option<f64>,
    pub limit: Option<f64>,
    /// current / limit.
    pub utilization: Option<f64>,
    /// Growth per day when the trend is significant and `confidence` is at
    /// least `min_confidence`; else null.
    pub trend_per_day: Option<f64>,
    /// When the resource reaches its limit at the current trend (unix ms,
    /// `eta_ms` again); null below `min_confidence`.
    #[serde(default)]
    pub eta: Option<i64>,
    pub eta_ms: Option<i64>,
    pub eta_earliest_ms: Option<i64>,
    pub eta_latest_ms: Option<i64>,
    #[schema(minimum = 0, maximum = 1)]
    pub confidence: f64,
    pub samples: u64,
    pub history_ms: i64,
    /// Below `min_confidence`: why there is no trend or ETA yet, e.g.
    /// `collecting: about 2d more history before a forecast (…)`; null at
    /// or above it.
    #[serde(default)]
    pub collecting: Option<String>,
    /// Below `min_confidence`: about how much more history (ms) lifts the
    /// confidence to it, if the coverage and noise so far hold; null when
    /// history alone will not, or at or above it.
    #[serde(default)]
    pub collecting_ms: Option<i64>,
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
    rows: Vec<HeadroomRow>,
}

impl HeadroomCache {
    /// The current table, re-read from `store` when the advisor saved a new one.
    pub async fn get(&self, store: &Store) -> Result<Arc<HeadroomTable>, ApiError> {
        let version = store.headroom_version().await?;
        let cached = Arc::clone(&*self.table.lock().await);
        if cached.version == version && version.1.is_some() {
            return Ok(cached);
        }
        let mut rows = shown_rows(store.headroom().await?);
        rows.sort_by(|a, b| {
            let eta = |r: &HeadroomRow| r.eta_ms.unwrap_or(i64::MAX);
            let utilization = |r: &HeadroomRow| r.utilization.unwrap_or(0.0);
            eta(a)
                .cmp(&eta(b))
                .then(utilization(b).total_cmp(&utilization(a)))
        });
        let fresh = Arc::new(HeadroomTable { version, rows });
        *self.table.lock().await = Arc::clone(&fresh);
        Ok(fresh)
    }
}

/// The stored rows (with when each was computed) as the API shows them; a
/// row that does not decode is left out with a WARN naming it.
pub fn shown_rows(stored: Vec<(serde_json::Value, i64)>) -> Vec<HeadroomRow> {
    stored
        .into_iter()
        .filter_map(|(value, _)| {
            let resource = value["resource"].as_str().unwrap_or("?").to_owned();
            match serde_json::from_value::<HeadroomRow>(value) {
                Ok(row) => Some(shown_row(row)),
                Err(error) => {
                    tracing::warn!(resource = %resource, error = %error, "a stored headroom row does not decode");
                    None
                }
            }
        })
        .collect()
}

/// A stored headroom row as the API shows it: below
/// [`MIN_FORECAST_CONFIDENCE`] its trend and ETAs are null (a forecast from
/// minutes of history is noise, not growth) and `collecting` says what the
/// forecast still needs (`collecting_ms`: about how much more history, when
/// history alone will do); at or above it, `collecting` is null.
pub fn shown_row(mut row: HeadroomRow) -> HeadroomRow {
    let confidence = row.confidence;
    let (collecting, collecting_ms) = match readiness(confidence, row.history_ms) {
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
        row.trend_per_day = None;
        row.eta_ms = None;
        row.eta_earliest_ms = None;
        row.eta_latest_ms = None;
    }
    row.eta = row.eta_ms;
    row.collecting = collecting;
    row.collecting_ms = collecting_ms;
    row
}

/// The parameters of `/api/v1/headroom`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HeadroomQuery {
    /// Page size.
    #[serde(default, deserialize_with = "limit")]
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<usize>,
    /// Resources to skip.
    #[serde(default, deserialize_with = "offset")]
    #[param(minimum = 0, default = 0)]
    pub offset: Option<usize>,
}

fn whole(key: &str, text: &str) -> Result<usize, ApiError> {
    text.parse::<usize>()
        .map_err(|_| ApiError::bad_request(format!("`{key}` must be a whole number, not `{text}`")))
}

fn limit<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<usize>, D::Error> {
    parsed(deserializer, |text| {
        let limit = whole("limit", text)?;
        if limit == 0 || limit > MAX_HEADROOM_LIMIT {
            return Err(ApiError::bad_request(format!(
                "`limit` must be between 1 and {MAX_HEADROOM_LIMIT}, not {limit}"
            )));
        }
        Ok(limit)
    })
}

fn offset<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<usize>, D::Error> {
    parsed(deserializer, |text| whole("offset", text))
}

/// One page of the headroom table.
#[derive(Debug, Serialize, ToSchema)]
pub struct HeadroomPage {
    pub headroom: Vec<HeadroomRow>,
    /// When the advisor computed the table (unix ms); null before its first pass.
    pub computed_at: Option<i64>,
    /// Resources on every page.
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
    /// The confidence below which no trend or ETA is shown.
    pub min_confidence: f64,
}

/// The headroom per resource, most urgent first, one page at a time
#[utoipa::path(
    get,
    path = "/api/v1/headroom",
    tag = "advice",
    params(HeadroomQuery),
    responses(
        (status = 200, description = "One page; `total` counts every resource.", body = HeadroomPage),
        (status = 400, description = "A bad `limit` or `offset`, or an unknown parameter.", body = ErrorBody),
    )
)]
pub(super) async fn headroom(
    State(state): State<AppState>,
    Params(query): Params<HeadroomQuery>,
) -> Result<Json<HeadroomPage>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_HEADROOM_LIMIT);
    let offset = query.offset.unwrap_or(0);
    let table = state.headroom.get(&state.store).await?;
    Ok(Json(HeadroomPage {
        headroom: table
            .rows
            .iter()
            .skip(offset)
            .take(limit)
            .cloned()
            .collect(),
        computed_at: table.version.1,
        total: table.rows.len(),
        limit,
        offset,
        min_confidence: MIN_FORECAST_CONFIDENCE,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(query: &str) -> Result<(usize, usize), String> {
        let query: HeadroomQuery = serde_urlencoded::from_str(query).map_err(|e| e.to_string())?;
        Ok((
            query.limit.unwrap_or(DEFAULT_HEADROOM_LIMIT),
            query.offset.unwrap_or(0),
        ))
    }

    #[test]
    fn a_headroom_page_defaults_to_the_first_hundred_and_refuses_bad_values() {
        assert_eq!(page("").unwrap(), (DEFAULT_HEADROOM_LIMIT, 0));
        assert_eq!(page("limit=5&offset=10").unwrap(), (5, 10));
        for (bad, needle) in [
            ("limit=0", "`limit` must be between 1 and 1000, not 0"),
            ("limit=1001", "`limit` must be between 1 and 1000"),
            ("offset=-1", "`offset` must be a whole number, not `-1`"),
        ] {
            let error = page(bad).expect_err("refused");
            assert!(error.contains(needle), "{bad}: {error}");
        }
    }

    fn stored_row(confidence: f64, history_ms: i64) -> HeadroomRow {
        serde_json::from_value(json!({
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
        }))
        .expect("a stored row")
    }

    #[test]
    fn below_the_floor_a_row_has_no_trend_or_eta_and_says_how_long_it_is_collecting() {
        // 15 minutes of a steady series: confidence d / (d + 7) ≈ 0.0015.
        let row = shown_row(stored_row(0.0015, 15 * 60_000));
        assert_eq!(
            (row.trend_per_day, row.eta, row.eta_ms, row.eta_earliest_ms),
            (None, None, None, None)
        );
        let text = row.collecting.as_deref().expect("collecting");
        assert!(
            text.starts_with("collecting: about 2d more history before a forecast"),
            "{text}"
        );
        let more = row.collecting_ms.expect("collecting_ms");
        assert!((41 * 3_600_000..42 * 3_600_000).contains(&more), "{more}");
        assert_eq!(
            row.utilization,
            Some(0.75),
            "the level is shown whatever the confidence"
        );
    }

    #[test]
    fn at_the_floor_a_row_keeps_its_forecast() {
        let row = shown_row(stored_row(MIN_FORECAST_CONFIDENCE, 3 * 86_400_000));
        assert_eq!(row.trend_per_day, Some(-183.4));
        assert_eq!(row.eta_ms, Some(1_800_000_000_000));
        assert_eq!(row.eta, row.eta_ms);
        assert!(row.collecting.is_none() && row.collecting_ms.is_none());
        let shown = serde_json::to_value(&row).expect("serializes");
        assert!(
            shown["collecting"].is_null() && shown.get("collecting").is_some(),
            "{shown}"
        );
    }

    #[test]
    fn a_row_too_noisy_for_history_to_help_says_so_without_a_time() {
        // Three days of history at 5% confidence: the quality factor is 1/6.
        let row = shown_row(stored_row(0.05, 3 * 86_400_000));
        assert!(row.eta_ms.is_none() && row.collecting_ms.is_none());
        assert!(
            row.collecting
                .as_deref()
                .is_some_and(|t| t.contains("however long the history")),
            "{row:?}"
        );
    }

    #[test]
    fn a_stored_row_that_does_not_decode_is_left_out() {
        let good = serde_json::to_value(stored_row(0.5, 86_400_000)).expect("value");
        let rows = shown_rows(vec![(json!({"resource": "broken"}), 1), (good, 1)]);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].resource, "host cpu (db-1)");
    }
}
