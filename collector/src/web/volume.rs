//! `GET /api/v1/volume`: the store's order volume from whatever order data
//! exists (`medusa_orders_per_minute`, per agent), with how much history it
//! stands on, so the overview can say "about 1,200 orders/month, from 3h of
//! orders" before the staffing rule has enough to name a tier. The monthly
//! figure is the staffing rule's own: the time-weighted mean per minute ×
//! 43,200 minutes.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::query::Params;
use super::{ApiError, AppState, ErrorBody};
use crate::advisor::rules::staffing::{self, MINUTES_PER_MONTH, weighted_mean};
use crate::analysis::DAY_MS;
use crate::store::now_ms;
use crate::store::query::{PointsQuery, SeriesPoints};

/// The series the volume is read from.
pub const ORDERS_SERIES: &str = "medusa_orders_per_minute";
/// How far back the volume is read (the advisor's default look-back).
pub const LOOKBACK_MS: i64 = 30 * DAY_MS;

/// One agent's order volume.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Volume {
    pub agent: String,
    /// Time-weighted mean of `medusa_orders_per_minute`.
    pub orders_per_minute: f64,
    /// Whole orders in 30 days at that rate (as the staffing rule counts).
    pub orders_per_month: f64,
    /// The span of the order data behind it.
    pub history_ms: i64,
    pub first_ms: i64,
    pub last_ms: i64,
    /// Less history than a full week (the staffing rule's
    /// `full_history_days` default): the figure extrapolates it.
    pub young: bool,
}

/// The volume of each series that has points, by its `agent` label.
pub fn volumes(series: &[SeriesPoints]) -> Vec<Volume> {
    let young_below = staffing::Config::default().full_history_days * DAY_MS as f64;
    series
        .iter()
        .filter_map(|s| {
            let (&(first_ms, _), &(last_ms, _)) = (s.points.first()?, s.points.last()?);
            let per_minute = weighted_mean(&s.points)?;
            let history_ms = last_ms - first_ms;
            Some(Volume {
                agent: s.labels.get("agent").cloned().unwrap_or_default(),
                orders_per_minute: per_minute,
                orders_per_month: (per_minute * MINUTES_PER_MONTH).round(),
                history_ms,
                first_ms,
                last_ms,
                young: (history_ms as f64) < young_below,
            })
        })
        .collect()
}

/// `/api/v1/volume` takes no parameters.
#[derive(Debug, Deserialize, IntoParams)]
pub struct NoParameters {}

/// The volume of each agent with order data.
#[derive(Debug, Serialize, ToSchema)]
pub struct Volumes {
    pub volume: Vec<Volume>,
}

/// Order volume per agent from whatever order data exists, and how much
#[utoipa::path(
    get,
    path = "/api/v1/volume",
    tag = "advice",
    responses(
        (status = 200, description = "The volume of each agent with order data in the last 30 days.", body = Volumes),
        (status = 400, description = "An unknown parameter.", body = ErrorBody),
    )
)]
pub(super) async fn volume(
    State(state): State<AppState>,
    Params(NoParameters {}): Params<NoParameters>,
) -> Result<Json<Volumes>, ApiError> {
    let now = now_ms();
    let query = PointsQuery {
        name: ORDERS_SERIES.to_owned(),
        labels: BTreeMap::new(),
        from_ms: now - LOOKBACK_MS,
        to_ms: now,
        step_ms: None,
    };
    let series = state.store.points(&query, &state.retention).await?;
    Ok(Json(Volumes {
        volume: volumes(&series),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::model::Kind;

    fn orders(agent: &str, points: Vec<(i64, f64)>) -> SeriesPoints {
        SeriesPoints {
            name: ORDERS_SERIES.into(),
            labels: BTreeMap::from([("agent".to_owned(), agent.to_owned())]),
            kind: Kind::Gauge,
            points,
            truncated: false,
        }
    }

    #[test]
    fn fifteen_minutes_of_orders_give_a_young_monthly_figure() {
        // 0.05 orders a minute, a point a minute for 15 minutes.
        let points = (0..=15).map(|i| (i * 60_000, 0.05)).collect();
        let found = volumes(&[orders("shop", points)]);
        let [v] = &found[..] else {
            panic!("one volume");
        };
        assert_eq!(v.agent, "shop");
        assert_eq!(v.orders_per_month, 2_160.0);
        assert_eq!(v.history_ms, 15 * 60_000);
        assert!(v.young);
    }

    #[test]
    fn a_week_of_orders_is_no_longer_young() {
        let points = (0..=7 * 24).map(|h| (h * 3_600_000, 1.0)).collect();
        let v = &volumes(&[orders("shop", points)])[0];
        assert_eq!(v.orders_per_month, 43_200.0);
        assert!(!v.young);
    }

    #[test]
    fn a_series_without_points_gives_no_volume() {
        assert!(volumes(&[orders("shop", Vec::new())]).is_empty());
    }
}
