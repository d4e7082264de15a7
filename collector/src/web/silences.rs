//! Silences: `GET /api/v1/silences` (every silence with its state now),
//! `POST /api/v1/silences` (create one; admin) and `DELETE
//! /api/v1/silences/{id}` (expire one now; admin). Times are unix
//! milliseconds.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, AppState, ErrorBody};
use crate::alerts::ReceiverConfig;
use crate::alerts::silence::{Matchers, Silence};
use crate::store::now_ms;

/// Longest `comment` or `created_by` of a silence, in characters.
pub const MAX_SILENCE_TEXT: usize = 500;

/// A silence as the API shows it: the stored fields and its state now.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SilenceView {
    #[serde(flatten)]
    pub silence: Silence,
    /// `pending`, `active` or `expired`.
    #[schema(examples("pending", "active", "expired"))]
    pub state: &'static str,
}

/// `silence` as the API shows it at `now`.
fn silence_view(silence: Silence, now: i64) -> SilenceView {
    let state = silence.state(now);
    SilenceView { silence, state }
}

/// Every silence.
#[derive(Debug, Serialize, ToSchema)]
pub struct Silences {
    pub silences: Vec<SilenceView>,
}

/// Every silence, newest first, with its state now
#[utoipa::path(
    get,
    path = "/api/v1/silences",
    tag = "alerts",
    responses((status = 200, description = "The silences.", body = Silences))
)]
pub(super) async fn silences(State(state): State<AppState>) -> Result<Json<Silences>, ApiError> {
    let now = now_ms();
    let silences = state
        .store
        .silences()
        .await?
        .into_iter()
        .map(|s| silence_view(s, now))
        .collect();
    Ok(Json(Silences { silences }))
}

/// The body of `POST /api/v1/silences`: exactly one of `ends_at` and
/// `duration`; the end must be in the future and after the start.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    pub matchers: Matchers,
    #[schema(min_length = 1, max_length = 500)]
    pub comment: String,
    #[schema(min_length = 1, max_length = 500)]
    pub created_by: String,
    /// Default: now.
    #[serde(default)]
    pub starts_at: Option<i64>,
    #[serde(default)]
    pub ends_at: Option<i64>,
    /// A duration like `2h`, `30m` or `1d`.
    #[serde(default)]
    #[schema(examples("2h", "30m", "1d"))]
    pub duration: Option<String>,
}

/// Checks `body` and makes the silence `id` of it at `now`, or says what is
/// wrong. `receivers` are the configured ones (a receiver matcher must name one).
pub fn new_silence(
    body: NewSilence,
    receivers: &[ReceiverConfig],
    now: i64,
    id: String,
) -> Result<Silence, ApiError> {
    let trimmed =
        |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let matchers = Matchers {
        recommendation_id: trimmed(body.matchers.recommendation_id),
        receiver: trimmed(body.matchers.receiver),
        ..body.matchers
    };
    if matchers.is_empty() {
        return Err(ApiError::bad_request(
            "a silence needs at least one matcher: `kind`, `severity`, `recommendation_id` or `receiver`",
        ));
    }
    if let Some(name) = &matchers.receiver
        && !receivers.iter().any(|r| &r.name == name)
    {
        let known: Vec<&str> = receivers.iter().map(|r| r.name.as_str()).collect();
        return Err(ApiError::bad_request(format!(
            "`matchers.receiver`: no receiver is named `{name}` (configured: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        )));
    }
    let text = |key: &str, value: &str| -> Result<String, ApiError> {
        let value = value.trim();
        if value.is_empty() {
            return Err(ApiError::bad_request(format!("`{key}` must not be empty")));
        }
        if value.chars().count() > MAX_SILENCE_TEXT {
            return Err(ApiError::bad_request(format!(
                "`{key}` must be at most {MAX_SILENCE_TEXT} characters"
            )));
        }
        Ok(value.to_owned())
    };
    let comment = text("comment", &body.comment)?;
    let created_by = text("created_by", &body.created_by)?;
    let starts_at = body.starts_at.unwrap_or(now);
    let ends_at = match (body.ends_at, body.duration.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give either `ends_at` or `duration`, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::bad_request(
                "`ends_at` (unix ms) or `duration` (like 2h) is required",
            ));
        }
        (Some(ends_at), None) => ends_at,
        (None, Some(text)) => {
            let duration = humantime::parse_duration(text.trim())
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "`duration` must be a duration like 2h or 30m, not `{text}`"
                    ))
                })?;
            i64::try_from(duration.as_millis())
                .ok()
                .and_then(|ms| starts_at.checked_add(ms))
                .ok_or_else(|| ApiError::bad_request(format!("`duration` `{text}` is too long")))?
        }
    };
    if ends_at <= now {
        return Err(ApiError::bad_request(format!(
            "`ends_at` ({ends_at}) is in the past; a silence must end in the future (now is {now})"
        )));
    }
    if ends_at <= starts_at {
        return Err(ApiError::bad_request(format!(
            "`ends_at` ({ends_at}) must be after `starts_at` ({starts_at})"
        )));
    }
    Ok(Silence {
        id,
        matchers,
        comment,
        created_by,
        starts_at,
        ends_at,
        created_at: now,
    })
}

/// A new silence id: `sil-` and 16 random hex digits.
fn silence_id() -> String {
    format!("sil-{:016x}", rand::random::<u64>())
}

/// Create a silence: matching alerts are left out of notifications until it ends
#[utoipa::path(
    post,
    path = "/api/v1/silences",
    tag = "alerts",
    request_body = NewSilence,
    responses(
        (status = 201, description = "The new silence.", body = SilenceView),
        (status = 400, description = "The body is invalid: no matcher, an unknown receiver, both or neither of `ends_at` and `duration`, an end not in the future, an empty or too long text.", body = ErrorBody),
    )
)]
pub(super) async fn create_silence(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<(StatusCode, Json<SilenceView>), ApiError> {
    let body: NewSilence = serde_json::from_slice(&body).map_err(|error| {
        ApiError::bad_request(format!("the body is not a valid silence: {error}"))
    })?;
    let now = now_ms();
    let silence = new_silence(body, &state.receivers, now, silence_id())?;
    state.store.insert_silence(&silence).await?;
    tracing::info!(
        id = %silence.id,
        created_by = %silence.created_by,
        ends_at = silence.ends_at,
        "silence created"
    );
    Ok((StatusCode::CREATED, Json(silence_view(silence, now))))
}

/// Expire a silence now (it stays listed, `expired`)
#[utoipa::path(
    delete,
    path = "/api/v1/silences/{id}",
    tag = "alerts",
    params(("id" = String, Path, description = "The silence's id (`sil-…`).")),
    responses(
        (status = 200, description = "The silence, expired.", body = SilenceView),
        (status = 404, description = "No such silence.", body = ErrorBody),
    )
)]
pub(super) async fn expire_silence(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<SilenceView>, ApiError> {
    let now = now_ms();
    let missing = || ApiError::not_found(format!("no silence `{id}`"));
    if !state.store.expire_silence(&id, now).await? {
        return Err(missing());
    }
    let silence = state
        .store
        .silences()
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(missing)?;
    tracing::info!(id = %silence.id, "silence expired");
    Ok(Json(silence_view(silence, now)))
}

/// How many silences are active at `now` (for `/metrics`).
pub fn active_silences(silences: &[Silence], now: i64) -> usize {
    silences.iter().filter(|s| s.state(now) == "active").count()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::advisor::RecKind;
    use crate::web::alerts::tests::receivers;

    const NOW: i64 = 1_700_000_000_000;

    fn body(value: Value) -> NewSilence {
        serde_json::from_value(value).expect("a silence body")
    }

    fn refused(value: Value) -> String {
        new_silence(body(value), &receivers(), NOW, "sil-1".into())
            .expect_err("refused")
            .message()
            .to_owned()
    }

    #[test]
    fn a_silence_with_a_duration_starts_now_and_ends_that_long_after() {
        let silence = new_silence(
            body(json!({
                "matchers": {"kind": "index", "receiver": "ops", "recommendation_id": "  "},
                "comment": " deploying ",
                "created_by": "ana",
                "duration": "2h",
            })),
            &receivers(),
            NOW,
            "sil-1".into(),
        )
        .expect("valid");
        assert_eq!(silence.starts_at, NOW);
        assert_eq!(silence.ends_at, NOW + 2 * 3_600_000);
        assert_eq!(silence.created_at, NOW);
        assert_eq!(silence.comment, "deploying");
        assert_eq!(
            silence.matchers.recommendation_id, None,
            "blank matchers are unset"
        );
        assert_eq!(silence.matchers.kind, Some(RecKind::Index));
        assert_eq!(silence_view(silence.clone(), NOW).state, "active");
        assert_eq!(
            silence_view(silence.clone(), NOW)
                .silence
                .matchers
                .receiver
                .as_deref(),
            Some("ops")
        );
    }

    #[test]
    fn a_silence_may_start_later_and_is_pending_until_then() {
        let silence = new_silence(
            body(json!({
                "matchers": {"severity": "critical"},
                "comment": "maintenance",
                "created_by": "ana",
                "starts_at": NOW + 60_000,
                "ends_at": NOW + 120_000,
            })),
            &receivers(),
            NOW,
            "sil-1".into(),
        )
        .expect("valid");
        assert_eq!(silence.state(NOW), "pending");
        assert_eq!(silence.state(NOW + 60_000), "active");
        assert_eq!(silence.state(NOW + 120_000), "expired");
    }

    #[test]
    fn bad_silences_are_refused_with_what_is_wrong() {
        let base = |extra: Value| {
            let mut value =
                json!({"matchers": {"kind": "index"}, "comment": "c", "created_by": "ana"});
            for (key, v) in extra.as_object().expect("object") {
                value[key] = v.clone();
            }
            value
        };
        for (value, needle) in [
            (
                base(json!({"matchers": {}, "duration": "1h"})),
                "at least one matcher",
            ),
            (
                base(json!({"matchers": {"receiver": "nobody"}, "duration": "1h"})),
                "no receiver is named `nobody` (configured: ops, chat)",
            ),
            (
                base(json!({"ends_at": NOW + 1000, "duration": "1h"})),
                "either `ends_at` or `duration`, not both",
            ),
            (base(json!({})), "`ends_at` (unix ms) or `duration`"),
            (base(json!({"ends_at": NOW - 1000})), "is in the past"),
            (
                base(json!({"starts_at": NOW + 5000, "ends_at": NOW + 1000})),
                "must be after `starts_at`",
            ),
            (
                base(json!({"duration": "soon"})),
                "`duration` must be a duration",
            ),
            (
                base(json!({"duration": "0s"})),
                "`duration` must be a duration",
            ),
            (
                base(json!({"comment": " ", "duration": "1h"})),
                "`comment` must not be empty",
            ),
            (
                base(json!({"created_by": "", "duration": "1h"})),
                "`created_by` must not be empty",
            ),
            (
                base(json!({"comment": "x".repeat(501), "duration": "1h"})),
                "at most 500 characters",
            ),
        ] {
            let got = refused(value.clone());
            assert!(got.contains(needle), "{value}: {got}");
        }
    }

    #[test]
    fn a_silence_expired_before_it_started_is_expired_not_pending() {
        let silence = Silence {
            id: "sil-1".into(),
            matchers: Matchers {
                kind: Some(RecKind::Cache),
                ..Matchers::default()
            },
            comment: "c".into(),
            created_by: "ana".into(),
            starts_at: NOW + 60_000,
            ends_at: NOW,
            created_at: NOW - 1,
        };
        assert_eq!(silence.state(NOW), "expired");
        assert_eq!(active_silences(std::slice::from_ref(&silence), NOW), 0);
    }

    #[test]
    fn silence_ids_are_sil_and_sixteen_hex_digits() {
        let id = silence_id();
        let hex = id.strip_prefix("sil-").expect("prefix");
        assert_eq!(hex.len(), 16, "{id}");
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    }
}
