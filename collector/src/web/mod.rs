//! The HTTP side: `/healthz` and the store's inventory (inventory.rs), the
//! JSON API under `/api/v1` (series.rs for series and points, advice.rs
//! for recommendations, headroom.rs for the headroom table, alerts.rs for
//! receivers and deliveries, silences.rs for silences, indexes.rs for the
//! index verdicts, volume.rs for the order volume, chart.rs for SVG
//! charts), `/metrics`, the dashboard (`/`, `/assets/*`, dashboard.rs) and
//! the token check in front of them (auth.rs). [`routes`] is the one list
//! of routes: the router and the OpenAPI document (openapi.rs) are both
//! made from it, each handler described by its `#[utoipa::path]`, its
//! typed query (query.rs) and its typed answer.

mod advice;
mod alerts;
pub mod auth;
mod chart;
mod dashboard;
mod error;
pub mod headroom;
pub mod indexes;
mod inventory;
pub mod openapi;
pub mod prom;
pub mod query;
pub mod series;
mod silences;
pub mod volume;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::{ApiError, ErrorBody};
pub use headroom::HeadroomCache;
pub use series::{DEFAULT_RANGE_MS, MAX_STEPS};

use crate::metrics::IngestCounters;
use crate::store::{Retention, Store};

/// What handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub retention: Retention,
    pub counters: IngestCounters,
    pub auth: auth::WebAuth,
    /// The sorted headroom table, re-read only when the advisor saves a new one.
    pub headroom: headroom::HeadroomCache,
    /// `[[alerts]]` receivers (the API shows their names and routes, never
    /// their URLs or secrets).
    pub receivers: std::sync::Arc<Vec<crate::alerts::ReceiverConfig>>,
}

/// Every route, each with its description: the router ([`router`]) and the
/// OpenAPI document ([`openapi::document`]) are both made from this list,
/// so neither has a route the other lacks. One path per `routes!`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(inventory::healthz))
        .routes(routes!(prom::metrics))
        .routes(routes!(openapi::openapi))
        .routes(routes!(auth::session, auth::login, auth::logout))
        .routes(routes!(inventory::agents))
        .routes(routes!(series::series))
        .routes(routes!(series::reserved_parameters))
        .routes(routes!(inventory::status))
        .routes(routes!(inventory::texts))
        .routes(routes!(advice::list_recommendations))
        .routes(routes!(advice::one))
        .routes(routes!(advice::act))
        .routes(routes!(headroom::headroom))
        .routes(routes!(volume::volume))
        .routes(routes!(indexes::verdicts))
        .routes(routes!(chart::chart))
        .routes(routes!(alerts::receivers))
        .routes(routes!(alerts::deliveries))
        .routes(routes!(silences::silences, silences::create_silence))
        .routes(routes!(silences::expire_silence))
        .routes(routes!(dashboard::index))
        .routes(routes!(dashboard::file))
}

/// The router with every route of [`routes`], the JSON 404 for any other
/// path and the token check in front.
pub fn router(state: AppState) -> Router {
    let (router, _) = routes().split_for_parts();
    router
        .fallback(|| async { ApiError::not_found("no such endpoint; the API lives under /api/v1") })
        .layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
            auth::require,
        ))
        .with_state(state)
}
