//! The advisor's API: `GET /api/v1/recommendations` (filters and
//! pagination), one recommendation with its history, and the actions on
//! it. (The headroom table is headroom.rs.)

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::query::{Params, parsed};
use super::series::parse_time;
use super::{ApiError, AppState, ErrorBody};
use crate::advisor::lifecycle::{self, Action, Event, Recommendation, State as RecState};
use crate::advisor::{RecKind, Severity};
use crate::store::now_ms;

/// Most recommendations one page may hold.
pub const MAX_LIMIT: usize = 500;
/// Recommendations on a page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 100;
/// Every state, in the API's order.
const STATES: [RecState; 5] = [
    RecState::Pending,
    RecState::Open,
    RecState::Acknowledged,
    RecState::Snoozed,
    RecState::Resolved,
];
/// Every severity, in the API's order.
const SEVERITIES: [Severity; 3] = [Severity::Info, Severity::Warning, Severity::Critical];

/// The parameters of `/api/v1/recommendations`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RecommendationsQuery {
    /// Comma-separated kinds (default: every kind).
    #[serde(default, deserialize_with = "kinds")]
    #[param(value_type = Option<String>, example = "index,cache")]
    pub kind: Option<Vec<RecKind>>,
    /// Comma-separated severities (default: every severity).
    #[serde(default, deserialize_with = "severities")]
    #[param(value_type = Option<String>, example = "warning,critical")]
    pub severity: Option<Vec<Severity>>,
    /// Comma-separated states (default: all but pending).
    #[serde(default, deserialize_with = "states")]
    #[param(value_type = Option<String>, example = "open,acknowledged,snoozed,resolved")]
    pub state: Option<Vec<RecState>>,
    /// Page size.
    #[serde(default, deserialize_with = "limit")]
    #[param(minimum = 1, maximum = 500, default = 100)]
    pub limit: Option<usize>,
    /// Recommendations to skip.
    #[serde(default, deserialize_with = "offset")]
    #[param(minimum = 0, default = 0)]
    pub offset: Option<usize>,
}

/// The filters of a list request, with their defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filters {
    pub kinds: Vec<RecKind>,
    pub severities: Vec<Severity>,
    pub states: Vec<RecState>,
    pub limit: usize,
    pub offset: usize,
}

impl RecommendationsQuery {
    /// The filters asked for: no kind or severity means any; no state
    /// means every state but pending.
    pub fn filters(self) -> Filters {
        let states = self
            .state
            .filter(|states| !states.is_empty())
            .unwrap_or_else(|| STATES[1..].to_vec());
        Filters {
            kinds: self.kind.unwrap_or_default(),
            severities: self.severity.unwrap_or_default(),
            states,
            limit: self.limit.unwrap_or(DEFAULT_LIMIT),
            offset: self.offset.unwrap_or(0),
        }
    }
}

/// A comma-separated list of `key`, each part one of `all` (by `name`).
fn list<T: Copy>(
    key: &str,
    text: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<Vec<T>, ApiError> {
    text.split(',')
        .filter(|part| !part.is_empty())
        .map(|part| {
            all.iter()
                .copied()
                .find(|value| name(*value) == part)
                .ok_or_else(|| {
                    let allowed: Vec<&str> = all.iter().map(|v| name(*v)).collect();
                    ApiError::bad_request(format!(
                        "`{key}`: `{part}` is not one of {}",
                        allowed.join(", ")
                    ))
                })
        })
        .collect()
}

fn kinds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<RecKind>>, D::Error> {
    parsed(d, |text| list("kind", text, &RecKind::ALL, RecKind::as_str))
}

fn severities<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Severity>>, D::Error> {
    parsed(d, |text| {
        list("severity", text, &SEVERITIES, Severity::as_str)
    })
}

fn states<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<RecState>>, D::Error> {
    parsed(d, |text| list("state", text, &STATES, RecState::as_str))
}

fn count(key: &str, text: &str) -> Result<usize, ApiError> {
    text.parse::<usize>().map_err(|_| {
        ApiError::bad_request(format!("`{key}`: `{text}` is not a non-negative integer"))
    })
}

fn limit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    parsed(d, |text| {
        let limit = count("limit", text)?;
        if limit == 0 || limit > MAX_LIMIT {
            return Err(ApiError::bad_request(format!(
                "`limit` must be between 1 and {MAX_LIMIT}"
            )));
        }
        Ok(limit)
    })
}

fn offset<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    parsed(d, |text| count("offset", text))
}

/// One page of recommendations.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationPage {
    pub recommendations: Vec<Recommendation>,
    /// Matching recommendations on every page.
    pub total: usize,
    pub limit: usize,
    pub offset: usize,
}

/// Recommendations: active first, then most severe, then most recent
#[utoipa::path(
    get,
    path = "/api/v1/recommendations",
    tag = "advice",
    params(RecommendationsQuery),
    responses(
        (status = 200, description = "One page.", body = RecommendationPage),
        (status = 400, description = "A bad filter, `limit` or `offset`, or an unknown parameter.", body = ErrorBody),
    )
)]
pub(super) async fn list_recommendations(
    State(state): State<AppState>,
    Params(query): Params<RecommendationsQuery>,
) -> Result<Json<RecommendationPage>, ApiError> {
    let filters = query.filters();
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
    Ok(Json(RecommendationPage {
        recommendations: page,
        total,
        limit: filters.limit,
        offset: filters.offset,
    }))
}

/// A recommendation with every change of its state.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationWithHistory {
    #[serde(flatten)]
    pub recommendation: Recommendation,
    pub history: Vec<Event>,
}

/// One recommendation with its history
#[utoipa::path(
    get,
    path = "/api/v1/recommendations/{id}",
    tag = "advice",
    params(("id" = String, Path, description = "The recommendation's id.")),
    responses(
        (status = 200, description = "The recommendation.", body = RecommendationWithHistory),
        (status = 404, description = "No such recommendation.", body = ErrorBody),
    )
)]
pub(super) async fn one(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<RecommendationWithHistory>, ApiError> {
    let recommendation = state
        .store
        .recommendation(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no recommendation `{id}`")))?;
    let history = state.store.recommendation_events(&id).await?;
    Ok(Json(RecommendationWithHistory {
        recommendation,
        history,
    }))
}

/// The body of an action: who acts, and for `snooze` until when.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionBody {
    /// Who acts (default `api`).
    #[serde(default)]
    pub by: Option<String>,
    /// Required to snooze: unix ms (as text) or RFC 3339.
    #[serde(default)]
    pub until: Option<String>,
}

/// What may be done to a recommendation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ActionName {
    Acknowledge,
    Snooze,
    Resolve,
    Reopen,
}

/// Acknowledge, snooze, resolve or reopen a recommendation (recorded with who and when)
#[utoipa::path(
    post,
    path = "/api/v1/recommendations/{id}/{action}",
    tag = "advice",
    params(
        ("id" = String, Path, description = "The recommendation's id."),
        ("action" = inline(ActionName), Path, description = "What to do."),
    ),
    request_body(content = Option<ActionBody>, description = "Optional.", content_type = "application/json"),
    responses(
        (status = 200, description = "The recommendation after the action.", body = Recommendation),
        (status = 400, description = "`until` missing or bad when snoozing.", body = ErrorBody),
        (status = 404, description = "No such recommendation or action.", body = ErrorBody),
        (status = 409, description = "The action does not apply in the recommendation's state, or it changed meanwhile.", body = ErrorBody),
    )
)]
pub(super) async fn act(
    State(state): State<AppState>,
    Path((id, verb)): Path<(String, String)>,
    body: Option<Json<ActionBody>>,
) -> Result<Json<Recommendation>, ApiError> {
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
    Ok(Json(next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filters(query: &str) -> Result<Filters, String> {
        serde_urlencoded::from_str::<RecommendationsQuery>(query)
            .map(RecommendationsQuery::filters)
            .map_err(|error| error.to_string())
    }

    #[test]
    fn filters_parse_lists_and_default_to_every_shown_state() {
        let f = filters("kind=index,cache&severity=critical").unwrap();
        assert_eq!(f.kinds, vec![RecKind::Index, RecKind::Cache]);
        assert_eq!(f.severities, vec![Severity::Critical]);
        assert!(!f.states.contains(&RecState::Pending));
        assert_eq!(f.states.len(), 4);
        assert_eq!((f.limit, f.offset), (100, 0));
    }

    #[test]
    fn bad_filters_are_refused_with_the_allowed_values() {
        for (bad, needle) in [
            (
                "kind=indexes",
                "`kind`: `indexes` is not one of index, drop_index, cache, cdn, database, app, staffing, integrity, none",
            ),
            ("severity=high", "is not one of info, warning, critical"),
            (
                "state=closed",
                "is not one of pending, open, acknowledged, snoozed, resolved",
            ),
            ("limit=0", "`limit` must be between 1 and 500"),
            ("limit=501", "`limit` must be between 1 and 500"),
            (
                "limit=many",
                "`limit`: `many` is not a non-negative integer",
            ),
            ("offset=-1", "`offset`: `-1` is not a non-negative integer"),
        ] {
            let error = filters(bad).expect_err("refused");
            assert!(error.contains(needle), "{bad}: {error}");
        }
    }
}
