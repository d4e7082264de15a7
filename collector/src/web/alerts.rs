//! The alerts' API: `GET /api/v1/alerts/receivers` (names and routes, never
//! URLs or secrets) and `GET /api/v1/alerts/deliveries` (the notification
//! log). Silences are silences.rs. Times are unix milliseconds.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::query::{Params, parsed};
use super::{ApiError, AppState, ErrorBody};
use crate::advisor::{RecKind, Severity};
use crate::alerts::model::{AlertStatus, Reason};
use crate::alerts::outbox::{Delivery, DeliveryStatus};
use crate::alerts::{ReceiverConfig, ReceiverType};

/// Deliveries one request lists unless `limit` says otherwise.
pub const DEFAULT_DELIVERIES_LIMIT: i64 = 100;
/// Most deliveries one request may list.
pub const MAX_DELIVERIES_LIMIT: i64 = 1000;
/// Every delivery status, in the API's order.
pub const DELIVERY_STATUSES: [DeliveryStatus; 3] = [
    DeliveryStatus::Pending,
    DeliveryStatus::Delivered,
    DeliveryStatus::Failed,
];

/// A receiver as the API shows it: everything but `url` and `secret`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = Receiver)]
pub struct ReceiverView {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ReceiverType,
    pub min_severity: Severity,
    /// Kinds sent; empty means every kind.
    pub kinds: Vec<RecKind>,
    #[schema(minimum = 1)]
    pub max_per_hour: u32,
    pub deliveries: DeliveryCounts,
}

/// A receiver's deliveries in each status.
#[derive(Debug, Default, PartialEq, Serialize, ToSchema)]
pub struct DeliveryCounts {
    #[schema(minimum = 0)]
    pub pending: i64,
    #[schema(minimum = 0)]
    pub delivered: i64,
    #[schema(minimum = 0)]
    pub failed: i64,
}

/// The receivers, in configuration order.
#[derive(Debug, Serialize, ToSchema)]
pub struct Receivers {
    pub receivers: Vec<ReceiverView>,
}

/// The `[[alerts]]` receivers: names, types, routes and delivery counts (never URLs or secrets)
#[utoipa::path(
    get,
    path = "/api/v1/alerts/receivers",
    tag = "alerts",
    responses((status = 200, description = "The receivers, in configuration order.", body = Receivers))
)]
pub(super) async fn receivers(State(state): State<AppState>) -> Result<Json<Receivers>, ApiError> {
    let counts = state.store.delivery_counts().await?;
    let receivers = state
        .receivers
        .iter()
        .map(|receiver| receiver_view(receiver, &counts))
        .collect();
    Ok(Json(Receivers { receivers }))
}

/// `receiver` with how many of its deliveries stand in each status.
fn receiver_view(
    receiver: &ReceiverConfig,
    counts: &[(String, DeliveryStatus, i64)],
) -> ReceiverView {
    let count = |status: DeliveryStatus| -> i64 {
        counts
            .iter()
            .filter(|(name, s, _)| *name == receiver.name && *s == status)
            .map(|(_, _, n)| *n)
            .sum()
    };
    ReceiverView {
        name: receiver.name.clone(),
        kind: receiver.kind,
        min_severity: receiver.min_severity,
        kinds: receiver.kinds.clone(),
        max_per_hour: receiver.max_per_hour,
        deliveries: DeliveryCounts {
            pending: count(DeliveryStatus::Pending),
            delivered: count(DeliveryStatus::Delivered),
            failed: count(DeliveryStatus::Failed),
        },
    }
}

/// The parameters of `/api/v1/alerts/deliveries`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Only this receiver's deliveries.
    #[serde(default, deserialize_with = "receiver")]
    pub receiver: Option<String>,
    /// Only deliveries in this status.
    #[serde(default, deserialize_with = "status")]
    pub status: Option<DeliveryStatus>,
    /// Most deliveries returned.
    #[serde(default, deserialize_with = "limit")]
    #[param(minimum = 1, maximum = 1000, default = 100)]
    pub limit: Option<i64>,
}

fn receiver<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Some(String::deserialize(d)?).filter(|r| !r.is_empty()))
}

fn status<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DeliveryStatus>, D::Error> {
    let text = String::deserialize(d)?;
    if text.is_empty() {
        return Ok(None);
    }
    DeliveryStatus::parse(&text).map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "`status`: `{text}` is not one of pending, delivered, failed"
        ))
    })
}

fn limit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    parsed(d, |text| {
        text.parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_DELIVERIES_LIMIT).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!(
                    "`limit` must be a whole number between 1 and {MAX_DELIVERIES_LIMIT}, not `{text}`"
                ))
            })
    })
}

/// A delivery as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Delivery)]
pub struct DeliveryView {
    /// The notification's id, stable across retries.
    pub id: String,
    pub receiver: String,
    pub group_key: String,
    pub reason: Reason,
    pub status: DeliveryStatus,
    #[schema(minimum = 0)]
    pub attempts: i64,
    pub created_at: i64,
    pub next_attempt_at: i64,
    pub last_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
    /// The platform's last HTTP status, if it answered.
    pub last_status: Option<i64>,
    /// Why the last attempt failed; empty when none did.
    pub last_error: String,
    /// e.g. `[FIRING:2] Add an index on product (handle) (+1 more)`.
    pub headline: String,
    pub alerts: Vec<DeliveredAlert>,
}

/// One alert of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveredAlert {
    pub recommendation_id: String,
    pub title: String,
    pub severity: Severity,
    pub status: AlertStatus,
}

/// The deliveries asked for.
#[derive(Debug, Serialize, ToSchema)]
pub struct Deliveries {
    pub deliveries: Vec<DeliveryView>,
}

/// The notification log: deliveries newest first
#[utoipa::path(
    get,
    path = "/api/v1/alerts/deliveries",
    tag = "alerts",
    params(DeliveriesQuery),
    responses(
        (status = 200, description = "The deliveries.", body = Deliveries),
        (status = 400, description = "A bad `status` or `limit`, or an unknown parameter.", body = ErrorBody),
    )
)]
pub(super) async fn deliveries(
    State(state): State<AppState>,
    Params(query): Params<DeliveriesQuery>,
) -> Result<Json<Deliveries>, ApiError> {
    let rows = state
        .store
        .deliveries(
            query.receiver.as_deref(),
            query.status,
            query.limit.unwrap_or(DEFAULT_DELIVERIES_LIMIT),
        )
        .await?;
    let deliveries = rows
        .iter()
        .map(|delivery| delivery_view(delivery, &state.receivers))
        .collect();
    Ok(Json(Deliveries { deliveries }))
}

/// A delivery as the API shows it. `last_error` is scrubbed of every
/// receiver's URL and secret, in case a transport error quoted one.
fn delivery_view(delivery: &Delivery, receivers: &[ReceiverConfig]) -> DeliveryView {
    let notification = &delivery.notification;
    DeliveryView {
        id: delivery.id.clone(),
        receiver: delivery.receiver.clone(),
        group_key: delivery.group_key.clone(),
        reason: notification.reason,
        status: delivery.status,
        attempts: delivery.attempts,
        created_at: delivery.created_at,
        next_attempt_at: delivery.next_attempt_at,
        last_attempt_at: delivery.last_attempt_at,
        delivered_at: delivery.delivered_at,
        last_status: delivery.last_status,
        last_error: redact(&delivery.last_error, receivers),
        headline: notification.headline(),
        alerts: notification
            .alerts
            .iter()
            .map(|alert| DeliveredAlert {
                recommendation_id: alert.recommendation_id.clone(),
                title: alert.title.clone(),
                severity: alert.severity,
                status: alert.status,
            })
            .collect(),
    }
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
pub(super) mod tests {
    use serde_json::json;

    use super::*;
    use crate::alerts::Secret;

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

    /// Two receivers with a URL path and a secret that must never show.
    pub fn receivers() -> Vec<ReceiverConfig> {
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

    #[test]
    fn a_receiver_is_shown_with_its_routes_and_counts_but_never_its_url_or_secret() {
        let counts = vec![
            ("ops".to_owned(), DeliveryStatus::Failed, 2),
            ("chat".to_owned(), DeliveryStatus::Delivered, 5),
        ];
        let view = serde_json::to_value(receiver_view(&receivers()[0], &counts)).expect("json");
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
        let read = |query: &str| {
            serde_urlencoded::from_str::<DeliveriesQuery>(query).map_err(|e| e.to_string())
        };
        assert_eq!(read("").expect("valid"), DeliveriesQuery::default());
        assert_eq!(
            read("receiver=&status=").expect("valid"),
            DeliveriesQuery::default()
        );
        let query = read("receiver=ops&status=failed&limit=1000").expect("valid");
        assert_eq!(query.receiver.as_deref(), Some("ops"));
        assert_eq!(query.status, Some(DeliveryStatus::Failed));
        assert_eq!(query.limit, Some(1000));
        for (query, needle) in [
            (
                "status=sent",
                "`status`: `sent` is not one of pending, delivered, failed",
            ),
            (
                "limit=0",
                "`limit` must be a whole number between 1 and 1000, not `0`",
            ),
            ("limit=1001", "`limit`"),
            ("limit=ten", "`limit`"),
        ] {
            let error = read(query).expect_err("refused");
            assert!(error.contains(needle), "{query}: {error}");
        }
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
}
