//! Who may read and act through the HTTP API: the `[auth] dashboard_token`
//! and `admin_token`, presented as `Authorization: Bearer <token>` or the
//! `headroom_session` cookie set by `POST /api/v1/session`. Tokens are
//! compared in constant time and never logged.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRef, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::{ApiError, AppState, ErrorBody};
use crate::config::AuthConfig;

/// The cookie `POST /api/v1/session` sets.
pub const SESSION_COOKIE: &str = "headroom_session";
/// The one API path that never needs a token.
pub const SESSION_PATH: &str = "/api/v1/session";

/// What a request wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Carries no data: `/healthz`, the dashboard's static files, the session.
    Open,
    /// Reads data: GET or HEAD under `/api` and `/metrics`.
    Read,
    /// Changes state: any other method under `/api`.
    Act,
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// 401: no token, or not one we know.
    Unauthenticated(&'static str),
    /// 403: a valid token that may not do this.
    Forbidden(&'static str),
}

/// Which configured token a presented one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Dashboard,
    Admin,
}

/// The configured tokens; empty `dashboard` means no authentication.
#[derive(Clone, Default)]
pub struct WebAuth {
    tokens: Arc<Tokens>,
}

#[derive(Default)]
struct Tokens {
    dashboard: String,
    admin: String,
}

impl std::fmt::Debug for WebAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebAuth")
            .field("required", &self.required())
            .field("admin_token", &!self.tokens.admin.is_empty())
            .finish()
    }
}

impl WebAuth {
    /// The tokens of `[auth]` (the configuration refuses an admin token
    /// without a dashboard token).
    pub fn new(config: &AuthConfig) -> Self {
        Self {
            tokens: Arc::new(Tokens {
                dashboard: config.dashboard_token.clone(),
                admin: config.admin_token.clone(),
            }),
        }
    }

    /// Whether reads need a token.
    pub fn required(&self) -> bool {
        !self.tokens.dashboard.is_empty()
    }

    /// Which token `presented` is, if any.
    pub fn role(&self, presented: &str) -> Option<Role> {
        let matches = |token: &str| -> bool {
            !token.is_empty() && bool::from(token.as_bytes().ct_eq(presented.as_bytes()))
        };
        // Both comparisons run whatever the first one found.
        let admin = matches(&self.tokens.admin);
        let dashboard = matches(&self.tokens.dashboard);
        if admin {
            Some(Role::Admin)
        } else if dashboard {
            Some(Role::Dashboard)
        } else {
            None
        }
    }

    /// Whether a request presenting `presented` may do `access`.
    pub fn verdict(&self, access: Access, presented: Option<&str>) -> Verdict {
        if access == Access::Open || !self.required() {
            return Verdict::Allow;
        }
        let Some(presented) = presented else {
            return Verdict::Unauthenticated(
                "this collector needs a token: send `Authorization: Bearer <token>` or log in",
            );
        };
        match (self.role(presented), access) {
            (None, _) => Verdict::Unauthenticated("the token is not valid"),
            (Some(Role::Dashboard), Access::Act) if !self.tokens.admin.is_empty() => {
                Verdict::Forbidden("this action needs the admin token")
            }
            (Some(_), _) => Verdict::Allow,
        }
    }
}

/// What `method` on `path` wants: everything under `/api` (except the
/// session) and `/metrics` carries data; the rest is static.
pub fn access(method: &Method, path: &str) -> Access {
    let data = path == "/metrics" || path == "/api" || path.starts_with("/api/");
    if !data || path == SESSION_PATH {
        Access::Open
    } else if method == Method::GET || method == Method::HEAD {
        Access::Read
    } else {
        Access::Act
    }
}

/// The token a request presents: the bearer token, else the session cookie.
pub fn presented(headers: &HeaderMap) -> Option<String> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        return value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|token| token.trim().to_owned());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, token)| token.to_owned())
}

impl FromRef<AppState> for WebAuth {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

/// Middleware: refuses requests the tokens do not allow.
pub async fn require(State(auth): State<WebAuth>, request: Request, next: Next) -> Response {
    let access = access(request.method(), request.uri().path());
    let token = presented(request.headers());
    match auth.verdict(access, token.as_deref()) {
        Verdict::Allow => next.run(request).await,
        Verdict::Unauthenticated(message) => {
            tracing::debug!(path = %request.uri().path(), "refused a request without a valid token");
            ApiError::unauthorized(message).into_response()
        }
        Verdict::Forbidden(message) => {
            tracing::debug!(path = %request.uri().path(), "refused an action with the dashboard token");
            ApiError::forbidden(message).into_response()
        }
    }
}

/// What the presented token may do.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// Whether `[auth] dashboard_token` is set.
    pub auth_required: bool,
    /// Whether this request may read (always true without auth).
    pub authenticated: bool,
    /// Whether this request may act on recommendations and silences.
    pub can_act: bool,
}

/// Whether a token is needed and what the presented one may do (never needs a token)
#[utoipa::path(
    get,
    path = "/api/v1/session",
    tag = "session",
    security(()),
    responses((status = 200, description = "The session.", body = Session))
)]
pub(super) async fn session(State(auth): State<WebAuth>, headers: HeaderMap) -> Json<Session> {
    let token = presented(&headers);
    let can = |access| auth.verdict(access, token.as_deref()) == Verdict::Allow;
    Json(Session {
        auth_required: auth.required(),
        authenticated: can(Access::Read),
        can_act: can(Access::Act),
    })
}

/// The body of `POST /api/v1/session`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub token: String,
}

/// Log in: sets the `headroom_session` cookie (HttpOnly, SameSite=Strict)
#[utoipa::path(
    post,
    path = "/api/v1/session",
    tag = "session",
    security(()),
    request_body = Login,
    responses(
        (status = 204, description = "Logged in.", headers(
            ("Set-Cookie" = String, description = "headroom_session=<token>; HttpOnly; SameSite=Strict; Path=/")
        )),
        (status = 400, description = "The body is not `{\"token\": \"…\"}`.", body = ErrorBody),
        (status = 401, description = "Not a valid token, or no `[auth] dashboard_token` to log in to.", body = ErrorBody),
    )
)]
pub(super) async fn login(
    State(auth): State<WebAuth>,
    body: Result<Json<Login>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(login) = body.map_err(|rejection| {
        ApiError::bad_request(format!(
            "the body must be JSON like {{\"token\": \"…\"}}: {}",
            rejection.body_text()
        ))
    })?;
    if !auth.required() {
        return Err(ApiError::unauthorized(
            "this collector has no `[auth] dashboard_token`: no session is needed",
        ));
    }
    if auth.role(&login.token).is_none() {
        return Err(ApiError::unauthorized("the token is not valid"));
    }
    let cookie = HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/",
        login.token
    ))
    .map_err(|_| ApiError::unauthorized("the token is not valid"))?;
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

/// Log out: clears the cookie
#[utoipa::path(
    delete,
    path = "/api/v1/session",
    tag = "session",
    security(()),
    responses((status = 204, description = "Logged out.", headers(
        ("Set-Cookie" = String, description = "headroom_session=; Max-Age=0")
    )))
)]
pub(super) async fn logout() -> Response {
    let cookie =
        HeaderValue::from_static("headroom_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DASHBOARD: &str = "dashboard-token-0123";
    const ADMIN: &str = "admin-token-456789ab";

    fn auth(dashboard: &str, admin: &str) -> WebAuth {
        WebAuth::new(&AuthConfig {
            dashboard_token: dashboard.to_owned(),
            admin_token: admin.to_owned(),
            ..AuthConfig::default()
        })
    }

    #[test]
    fn without_a_dashboard_token_everything_is_allowed() {
        let auth = auth("", "");
        for access in [Access::Open, Access::Read, Access::Act] {
            assert_eq!(auth.verdict(access, None), Verdict::Allow);
        }
    }

    #[test]
    fn reads_need_the_dashboard_or_the_admin_token() {
        let auth = auth(DASHBOARD, ADMIN);
        assert!(matches!(
            auth.verdict(Access::Read, None),
            Verdict::Unauthenticated(_)
        ));
        assert!(matches!(
            auth.verdict(Access::Read, Some("dashboard-token-0124")),
            Verdict::Unauthenticated(_)
        ));
        assert!(matches!(
            auth.verdict(Access::Read, Some("")),
            Verdict::Unauthenticated(_)
        ));
        assert_eq!(auth.verdict(Access::Read, Some(DASHBOARD)), Verdict::Allow);
        assert_eq!(auth.verdict(Access::Read, Some(ADMIN)), Verdict::Allow);
        assert_eq!(auth.verdict(Access::Open, None), Verdict::Allow);
    }

    #[test]
    fn actions_need_the_admin_token_when_one_is_set() {
        let with_admin = auth(DASHBOARD, ADMIN);
        assert_eq!(
            with_admin.verdict(Access::Act, Some(DASHBOARD)),
            Verdict::Forbidden("this action needs the admin token")
        );
        assert_eq!(with_admin.verdict(Access::Act, Some(ADMIN)), Verdict::Allow);
        let without_admin = auth(DASHBOARD, "");
        assert_eq!(
            without_admin.verdict(Access::Act, Some(DASHBOARD)),
            Verdict::Allow
        );
        assert!(matches!(
            without_admin.verdict(Access::Act, Some("")),
            Verdict::Unauthenticated(_)
        ));
    }

    #[test]
    fn only_api_and_metrics_paths_carry_data() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(access(&get, "/healthz"), Access::Open);
        assert_eq!(access(&get, "/"), Access::Open);
        assert_eq!(access(&get, "/assets/app.js"), Access::Open);
        assert_eq!(access(&post, SESSION_PATH), Access::Open);
        assert_eq!(access(&Method::DELETE, SESSION_PATH), Access::Open);
        assert_eq!(access(&get, "/metrics"), Access::Read);
        assert_eq!(access(&get, "/api/v1/agents"), Access::Read);
        assert_eq!(access(&Method::HEAD, "/api/v1/agents"), Access::Read);
        assert_eq!(access(&get, "/api/v1/session/x"), Access::Read);
        assert_eq!(access(&get, "/api/v2/anything"), Access::Read);
        assert_eq!(
            access(&post, "/api/v1/recommendations/x/acknowledge"),
            Access::Act
        );
    }

    #[test]
    fn the_bearer_token_wins_over_the_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("theme=dark; headroom_session=from-cookie"),
        );
        assert_eq!(presented(&headers).as_deref(), Some("from-cookie"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer from-header"),
        );
        assert_eq!(presented(&headers).as_deref(), Some("from-header"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(presented(&headers), None);
        assert_eq!(presented(&HeaderMap::new()), None);
    }
}
