//! The alerts' API: `GET /api/v1/alerts/receivers` (names and routes, never
//! URLs or secrets), `GET /api/v1/alerts/deliveries` (the notification log)
//! and silences (`GET`/`POST /api/v1/silences`, `DELETE
//! /api/v1/silences/{id}`). Times are unix milliseconds.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState};
use crate::alerts::ReceiverConfig;
use crate::alerts::outbox::{Delivery, DeliveryStatus};
use crate::alerts::silence::{Matchers, Silence};
use crate::store::now_ms;

/// Deliveries one request lists unless `limit` says otherwise.
pub const DEFAULT_DELIVERIES_LIMIT: i64 = 100;
/// Most deliveries one request may list.
pub const MAX_DELIVERIES_LIMIT: i64 = 1000;
/// Longest `comment` or `created_by` of a silence, in characters.
pub const MAX_SILENCE_TEXT: usize = 500;
/// Every delivery status, in the API's order.
pub const DELIVERY_STATUSES: [DeliveryStatus; 3] = [
    DeliveryStatus::Pending,
    DeliveryStatus::Delivered,
    DeliveryStatus::Failed,
];

/// `GET /api/v1/alerts/receivers`: each receiver's name, type and routes, and
/// how many of its deliveries stand in each status.
pub(super) async fn receivers(
    State(state): State<AppState>,
) -> Result<impl IntoResponse, ApiError> {
    let counts = state.store.delivery_counts().await?;
    let receivers: Vec<Value> = state
        .receivers
        .iter()
        .map(|receiver| receiver_view(receiver, &counts))
        .collect();
    Ok(Json(json!({ "receivers": receivers })))
}

/// A receiver as the API shows it: everything but `url` and `secret`.
fn receiver_view(receiver: &ReceiverConfig, counts: &[(String, DeliveryStatus, i64)]) -> Value {
    let deliveries: serde_json::Map<String, Value> = DELIVERY_STATUSES
        .iter()
        .map(|&status| {
            let count: i64 = counts
                .iter()
                .filter(|(name, s, _)| *name == receiver.name && *s == status)
                .map(|(_, _, n)| *n)
                .sum();
            (status.as_str().to_owned(), json!(count))
        })
        .collect();
    json!({
        "name": receiver.name,
        "type": receiver.kind.as_str(),
        "min_severity": receiver.min_severity.as_str(),
        "kinds": receiver.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
        "max_per_hour": receiver.max_per_hour,
        "deliveries": deliveries,
    })
}

/// The validated query of `GET /api/v1/alerts/deliveries`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryFilter {
    pub receiver: Option<String>,
    pub status: Option<DeliveryStatus>,
    pub limit: i64,
}

/// Parses `receiver`, `status` and `limit` (1–[`MAX_DELIVERIES_LIMIT`]).
pub fn delivery_filter(params: &HashMap<String, String>) -> Result<DeliveryFilter, ApiError> {
    for key in params.keys() {
        if !["receiver", "status", "limit"].contains(&key.as_str()) {
            return Err(ApiError::bad_request(format!(
                "unknown parameter `{key}`; use receiver, status, limit"
            )));
        }
    }
    let status = params
        .get("status")
        .filter(|text| !text.is_empty())
        .map(|text| {
            DeliveryStatus::parse(text).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "`status`: `{text}` is not one of pending, delivered, failed"
                ))
            })
        })
        .transpose()?;
    let limit = match params.get("limit") {
        None => DEFAULT_DELIVERIES_LIMIT,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_DELIVERIES_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "`limit` must be a whole number between 1 and {MAX_DELIVERIES_LIMIT}, not `{text}`"
                ))
            })?,
    };
    Ok(DeliveryFilter {
        receiver: params.get("receiver").filter(|r| !r.is_empty()).cloned(),
        status,
        limit,
    })
}

/// `GET /api/v1/alerts/deliveries`: the notification log, newest first.
pub(super) async fn deliveries(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<impl IntoResponse, ApiError> {
    let filter = delivery_filter(&params)?;
    let rows = state
        .store
        .deliveries(filter.receiver.as_deref(), filter.status, filter.limit)
        .await?;
    let deliveries: Vec<Value> = rows
        .iter()
        .map(|delivery| delivery_view(delivery, &state.receivers))
        .collect();
    Ok(Json(json!({ "deliveries": deliveries })))
}

/// A delivery as the API shows it. `last_error` is scrubbed of every
/// receiver's URL and secret, in case a transport error quoted one.
fn delivery_view(delivery: &Delivery, receivers: &[ReceiverConfig]) -> Value {
    let notification = &delivery.notification;
    let alerts: Vec<Value> = notification
        .alerts
        .iter()
        .map(|alert| {
            json!({
                "recommendation_id": alert.recommendation_id,
                "title": alert.title,
                "severity": alert.severity.as_str(),
                "status": alert.status.as_str(),
            })
        })
        .collect();
    json!({
        "id": delivery.id,
        "receiver": delivery.receiver,
        "group_key": delivery.group_key,
        "reason": notification.reason.as_str(),
        "status": delivery.status.as_str(),
        "attempts": delivery.attempts,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at,
        "last_attempt_at": delivery.last_attempt_at,
        "delivered_at": delivery.delivered_at,
        "last_status": delivery.last_status,
        "last_error": redact(&delivery.last_error, receivers),
        "headline": notification.headline(),
        "alerts": alerts,
    })
}

/// `text` with every receiver's URL, URL path and secret replaced by `***`.
pub fn redact(text: &str, receivers: &[ReceiverConfig]) -> String {
    let mut out = text.to_owned();
    for receiver in receivers {
        let url = receiver.url.expose();
        // The path (and query) is the credential: it may appear without the host.
        let path = url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|at| &rest[at..]))
            .filter(|path| path.len() > 1);
        for secret in [Some(url), path, Some(receiver.secret.expose())]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
        {
            out = out.replace(secret, "***");
        }
    }
    out
}

/// A silence as the API shows it: the stored fields and its `state` at `now`.
fn silence_view(silence: &Silence, now: i64) -> Value {
    let mut view = serde_json::to_value(silence).unwrap_or_else(|_| json!({}));
    view["state"] = json!(silence.state(now));
    view
}

/// `GET /api/v1/silences`: every silence, newest first.
pub(super) async fn silences(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let now = now_ms();
    let silences: Vec<Value> = state
        .store
        .silences()
        .await?
        .iter()
        .map(|s| silence_view(s, now))
        .collect();
    Ok(Json(json!({ "silences": silences })))
}

/// The body of `POST /api/v1/silences`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    pub matchers: Matchers,
    pub comment: String,
    pub created_by: String,
    #[serde(default)]
    pub starts_at: Option<i64>,
    #[serde(default)]
    pub ends_at: Option<i64>,
    #[serde(default)]
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

/// `POST /api/v1/silences`: 201 with the new silence.
pub(super) async fn create_silence(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
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
    Ok((StatusCode::CREATED, Json(silence_view(&silence, now))))
}

/// `DELETE /api/v1/silences/{id}`: expires the silence now; 200 with it.
pub(super) async fn expire_silence(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
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
    Ok(Json(silence_view(&silence, now)))
}

/// How many silences are active at `now` (for `/metrics`).
pub fn active_silences(silences: &[Silence], now: i64) -> usize {
    silences.iter().filter(|s| s.state(now) == "active").count()
}

/// Delivery counts per receiver and status: 0 for every configured receiver
/// and status, plus whatever else the outbox holds (for `/metrics`).
pub fn delivery_gauges(
    receivers: &[ReceiverConfig],
    counts: &[(String, DeliveryStatus, i64)],
) -> BTreeMap<(String, &'static str), i64> {
    let mut gauges: BTreeMap<(String, &'static str), i64> = receivers
        .iter()
        .flat_map(|r| {
            DELIVERY_STATUSES
                .iter()
                .map(|s| ((r.name.clone(), s.as_str()), 0))
        })
        .collect();
    for (receiver, status, count) in counts {
        *gauges
            .entry((receiver.clone(), status.as_str()))
            .or_default() += count;
    }
    gauges
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::{RecKind, Severity};
    use crate::alerts::{ReceiverType, Secret};
    use crate::web::params;

    const NOW: i64 = 1_700_000_000_000;

    fn receiver(name: &str, kind: ReceiverType, url: &str, secret: &str) -> ReceiverConfig {
        ReceiverConfig {
            name: name.into(),
            kind,
            url: Secret::new(url),
            secret: Secret::new(secret),
            min_severity: Severity::Warning,
            kinds: vec![RecKind::Index],
            max_per_hour: 30,
        }
    }

    fn receivers() -> Vec<ReceiverConfig> {
        vec![
            receiver(
                "ops",
                ReceiverType::Webhook,
                "https://hooks.example/SECRET-PATH",
                "hmac-secret-0123456789",
            ),
            receiver(
                "chat",
                ReceiverType::Slack,
                "https://hooks.slack.example/services/T0/B0/XXXX",
                "",
            ),
        ]
    }

    fn body(value: Value) -> NewSilence {
        serde_json::from_value(value).expect("a silence body")
    }

    fn message(error: ApiError) -> String {
        format!("{error:?}")
    }

    fn refused(value: Value) -> String {
        message(new_silence(body(value), &receivers(), NOW, "sil-1".into()).expect_err("refused"))
    }

    #[test]
    fn a_receiver_is_shown_with_its_routes_and_counts_but_never_its_url_or_secret() {
        let counts = vec![
            ("ops".to_owned(), DeliveryStatus::Failed, 2),
            ("chat".to_owned(), DeliveryStatus::Delivered, 5),
        ];
        let view = receiver_view(&receivers()[0], &counts);
        assert_eq!(view["name"], "ops");
        assert_eq!(view["type"], "webhook");
        assert_eq!(view["min_severity"], "warning");
        assert_eq!(view["kinds"], json!(["index"]));
        assert_eq!(view["max_per_hour"], 30);
        assert_eq!(
            view["deliveries"],
            json!({"pending": 0, "delivered": 0, "failed": 2})
        );
        let text = view.to_string();
        assert!(
            !text.contains("SECRET-PATH") && !text.contains("hmac-secret"),
            "{text}"
        );
        assert!(!text.contains("url") && !text.contains("secret"), "{text}");
    }

    #[test]
    fn urls_paths_and_secrets_are_redacted_from_errors() {
        let text = "error sending request for url (https://hooks.example/SECRET-PATH): \
                    refused /services/T0/B0/XXXX with hmac-secret-0123456789";
        let clean = redact(text, &receivers());
        assert!(!clean.contains("SECRET-PATH"), "{clean}");
        assert!(!clean.contains("XXXX"), "{clean}");
        assert!(!clean.contains("hmac-secret"), "{clean}");
        assert!(
            clean.starts_with("error sending request for url (***)"),
            "{clean}"
        );
        assert_eq!(redact("timed out", &receivers()), "timed out");
    }

    #[test]
    fn the_delivery_filter_defaults_to_a_hundred_and_refuses_bad_values() {
        let filter = delivery_filter(&params(&[])).expect("valid");
        assert_eq!(
            filter,
            DeliveryFilter {
                receiver: None,
                status: None,
                limit: DEFAULT_DELIVERIES_LIMIT
            }
        );
        let filter = delivery_filter(&params(&[
            ("receiver", "ops"),
            ("status", "failed"),
            ("limit", "1000"),
        ]))
        .expect("valid");
        assert_eq!(filter.receiver.as_deref(), Some("ops"));
        assert_eq!(filter.status, Some(DeliveryStatus::Failed));
        assert_eq!(filter.limit, 1000);
        for (pairs, needle) in [
            (vec![("status", "sent")], "`status`"),
            (vec![("limit", "0")], "`limit`"),
            (vec![("limit", "1001")], "`limit`"),
            (vec![("limit", "ten")], "`limit`"),
            (vec![("order", "asc")], "unknown parameter"),
        ] {
            let error = delivery_filter(&params(&pairs)).expect_err("refused");
            assert!(message(error).contains(needle), "{pairs:?}");
        }
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
        assert_eq!(silence_view(&silence, NOW)["state"], "active");
        assert_eq!(silence_view(&silence, NOW)["matchers"]["receiver"], "ops");
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
    fn every_configured_receiver_has_a_gauge_per_status() {
        let gauges = delivery_gauges(
            &receivers(),
            &[
                ("ops".into(), DeliveryStatus::Failed, 3),
                ("removed".into(), DeliveryStatus::Delivered, 1),
            ],
        );
        assert_eq!(gauges.len(), 7);
        assert_eq!(gauges[&("ops".to_owned(), "failed")], 3);
        assert_eq!(gauges[&("chat".to_owned(), "pending")], 0);
        assert_eq!(gauges[&("removed".to_owned(), "delivered")], 1);
    }

    #[test]
    fn silence_ids_are_sil_and_sixteen_hex_digits() {
        let id = silence_id();
        let hex = id.strip_prefix("sil-").expect("prefix");
        assert_eq!(hex.len(), 16, "{id}");
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit()), "{id}");
    }
}
