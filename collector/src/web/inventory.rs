//! What the collector holds and how it is: `GET /healthz` (never needs a
//! token), `GET /api/v1/agents`, `GET /api/v1/status` and `GET
//! /api/v1/texts`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::query::Params;
use super::{ApiError, AppState, ErrorBody};
use crate::metrics::IngestSnapshot;
use crate::store::ResolutionStats;
use crate::store::query::{AgentRow, TextRow};

/// `status` of a healthy collector.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Up {
    Ok,
}

/// `status` of a collector whose store is not writable.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Down {
    Unavailable,
}

/// The store is writable.
#[derive(Debug, Serialize, ToSchema)]
pub struct Healthy {
    pub status: Up,
    /// `sqlite` or `postgres`.
    #[schema(examples("sqlite", "postgres"))]
    pub store: &'static str,
}

/// The store is not writable.
#[derive(Debug, Serialize, ToSchema)]
pub struct Unhealthy {
    pub status: Down,
    pub message: String,
}

/// Whether the store is writable (never needs a token)
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "collector",
    security(()),
    responses(
        (status = 200, description = "The store is writable.", body = Healthy),
        (status = 503, description = "The store is not writable.", body = Unhealthy),
    )
)]
pub(super) async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.check_writable().await {
        Ok(()) => Json(Healthy {
            status: Up::Ok,
            store: state.store.backend(),
        })
        .into_response(),
        Err(error) => {
            tracing::warn!(error = %error, "health check: the store is not writable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(Unhealthy {
                    status: Down::Unavailable,
                    message: "the store is not writable".into(),
                }),
            )
                .into_response()
        }
    }
}

/// Every agent that ever connected.
#[derive(Debug, Serialize, ToSchema)]
pub struct Agents {
    pub agents: Vec<AgentRow>,
}

/// Every agent that ever connected
#[utoipa::path(
    get,
    path = "/api/v1/agents",
    tag = "collector",
    responses((status = 200, description = "The agents.", body = Agents))
)]
pub(super) async fn agents(State(state): State<AppState>) -> Result<Json<Agents>, ApiError> {
    let agents = state.store.agents().await?;
    Ok(Json(Agents { agents }))
}

/// The store's size and blocks, and ingest counts since start.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `sqlite` or `postgres`.
    #[schema(examples("sqlite", "postgres"))]
    pub store: &'static str,
    pub size_bytes: i64,
    pub resolutions: Vec<ResolutionStats>,
    pub uncompacted_blocks: i64,
    pub ingest: IngestSnapshot,
}

/// The store's size and blocks, and ingest counts since start
#[utoipa::path(
    get,
    path = "/api/v1/status",
    tag = "collector",
    responses((status = 200, description = "The status.", body = Status))
)]
pub(super) async fn status(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    Ok(Json(Status {
        store: state.store.backend(),
        size_bytes: state.store.size_bytes().await?,
        resolutions: state.store.stats().await?,
        uncompacted_blocks: state.store.uncompacted_blocks().await?,
        ingest: state.counters.snapshot(),
    }))
}

/// The parameters of `/api/v1/texts`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TextsQuery {
    /// `pg_query` (keyed database/queryid), `pg_index` (JSON {definition,
    /// keys, include, predicate, method, unique}, keyed
    /// database/schema.index), `pg_index_candidate` or `pg_index_verdict`
    /// (keyed database/queryid).
    #[param(required = true, example = "pg_query")]
    pub kind: Option<String>,
}

impl TextsQuery {
    /// The kind asked for, or what is wrong.
    pub fn kind(&self) -> Result<&str, ApiError> {
        match self.kind.as_deref() {
            Some(kind) if !kind.is_empty() => Ok(kind),
            _ => Err(ApiError::bad_request(
                "`kind` is required, e.g. /api/v1/texts?kind=pg_query or kind=pg_index",
            )),
        }
    }
}

/// Stored texts of one kind.
#[derive(Debug, Serialize, ToSchema)]
pub struct Texts {
    pub texts: Vec<TextRow>,
}

/// Stored texts of one kind (query texts, index definitions)
#[utoipa::path(
    get,
    path = "/api/v1/texts",
    tag = "collector",
    params(TextsQuery),
    responses(
        (status = 200, description = "The texts.", body = Texts),
        (status = 400, description = "No `kind`, or an unknown parameter.", body = ErrorBody),
    )
)]
pub(super) async fn texts(
    State(state): State<AppState>,
    Params(query): Params<TextsQuery>,
) -> Result<Json<Texts>, ApiError> {
    let texts = state.store.texts(query.kind()?).await?;
    Ok(Json(Texts { texts }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_need_a_kind() {
        let query = |kind: Option<&str>| TextsQuery {
            kind: kind.map(str::to_owned),
        };
        assert_eq!(query(Some("pg_query")).kind().expect("valid"), "pg_query");
        for kind in [None, Some("")] {
            let error = query(kind).kind().expect_err("refused");
            assert!(error.message().contains("`kind` is required"));
        }
    }
}
