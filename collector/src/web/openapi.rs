//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of every route,
//! generated from the handlers (`#[utoipa::path]`, typed queries and
//! responses) that [`super::routes`] registers, never written by hand.
//! [`base`] holds what no handler says (info, security schemes, the
//! refusals); [`guard`] adds to each operation the refusals of the token
//! check (auth.rs) that can answer it.

use std::sync::LazyLock;

use axum::http::{Method, header};
use axum::response::IntoResponse;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa::{OpenApi as _, ToSchema};

use super::ErrorBody;
use super::auth::{Access, SESSION_COOKIE, access};

/// What no handler says: the title, version and description, the security
/// schemes (required everywhere unless an operation says otherwise) and
/// the `Error` schema.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Headroom collector API",
        description = "Metrics stored from Headroom agents, the advisor's recommendations and \
            the headroom per resource. When `[auth] dashboard_token` is set, every path under \
            /api (except /api/v1/session) and /metrics needs the dashboard or admin token, as a \
            bearer token or the session cookie; every other method (recommendation actions, \
            creating and expiring silences) needs the admin token when one is set. Times are \
            unix milliseconds unless stated. Alert receivers' webhook URLs and secrets are never \
            returned. This document is generated from the collector's handlers.",
    ),
    components(schemas(ErrorBody)),
    security(("bearer" = []), ("session" = [])),
)]
struct Base;

/// The refusals that [`guard`] adds, as `#/components/responses/…`.
const REFUSALS: [(&str, &str); 3] = [
    (
        "Unauthorized",
        "No token, or not a valid one (with `WWW-Authenticate: Bearer`).",
    ),
    (
        "Forbidden",
        "The dashboard token may not act when an admin token is set.",
    ),
    (
        "Unavailable",
        "The store is unavailable; details are in the collector's log.",
    ),
];

/// The document before any route is added.
pub fn base() -> OpenApi {
    let mut document = Base::openapi();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "`[auth] dashboard_token` (reads) or `admin_token` (reads and actions).",
                ))
                .build(),
        ),
    );
    components.add_security_scheme(
        "session",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            SESSION_COOKIE,
            "Set by POST /api/v1/session.",
        ))),
    );
    for (name, description) in REFUSALS {
        components.responses.insert(
            name.to_owned(),
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name(ErrorBody::name())))
                            .build(),
                    )
                    .build(),
            ),
        );
    }
    document
}

/// Adds to each operation the refusals auth.rs can answer it with: 401 and
/// 503 where a token is needed ([`Access::Read`] or [`Access::Act`]), and
/// 403 where the admin token is ([`Access::Act`]). Operations that need no
/// token say so (`security: [{}]`).
pub fn guard(document: &mut OpenApi) {
    for (path, item) in document.paths.paths.iter_mut() {
        let operations = [
            (Method::GET, &mut item.get),
            (Method::POST, &mut item.post),
            (Method::PUT, &mut item.put),
            (Method::PATCH, &mut item.patch),
            (Method::DELETE, &mut item.delete),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else {
                continue;
            };
            match access(&method, path) {
                Access::Open => {}
                Access::Read => refuse(operation, &[("401", 0), ("503", 2)]),
                Access::Act => refuse(operation, &[("401", 0), ("403", 1), ("503", 2)]),
            }
        }
    }
}

fn refuse(operation: &mut Operation, statuses: &[(&str, usize)]) {
    for &(status, refusal) in statuses {
        let reference = format!("#/components/responses/{}", REFUSALS[refusal].0);
        operation
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::new(reference)));
    }
}

/// The whole document.
pub fn document() -> OpenApi {
    let mut document = super::routes().into_openapi();
    guard(&mut document);
    document
}

/// The document as served, made once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    serde_json::to_string(&document()).unwrap_or_else(|error| {
        tracing::error!(error = %error, "the OpenAPI document does not serialize");
        "{}".to_owned()
    })
});

/// This document
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "collector",
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = Object))
)]
pub(super) async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

#[cfg(test)]
mod tests;
