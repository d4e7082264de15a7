//! Delivery: sends the outbox's due notifications over HTTP, one receiver
//! at a time per receiver (so a group's messages keep their order), and
//! records each attempt. A notification is marked delivered as soon as the
//! platform answers 2xx; the `X-Headroom-Notification` header carries its id,
//! unchanged across retries, for receivers that deduplicate. Each attempt is
//! a `headroom.alert.delivery` span of the collector's own telemetry
//! (receiver name and platform, attempts, HTTP status, outcome; never the
//! URL or the message) and counted by outcome.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use headroom_proto::telemetry::{self, attribute, span};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _};

use super::format;
use super::outbox::{Delivery, DeliveryStatus};
use super::retry::{self, Answer, RetryPolicy};
use super::{Notification, Reason, ReceiverConfig, ReceiverType};
use crate::store::{Store, StoreError, now_ms};

/// Most of a platform's answer kept for the record.
const MAX_ANSWER_BYTES: usize = 2_048;

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the HTTP client for alerts: {0}")]
pub struct ClientError(String);

/// The HTTP client for every receiver: rustls with the ring provider (the
/// one tonic already uses), the platform verifier's roots, `timeout` per request.
pub fn client(timeout: Duration) -> Result<reqwest::Client, ClientError> {
    install_crypto_provider();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("headroom-collector/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|error| ClientError(describe(&error)))
}

/// Installs ring as the process's rustls provider, which reqwest (built
/// with `rustls-no-provider`, so that aws-lc is not built beside the ring
/// tonic uses) needs before any client is built. Installing twice is
/// refused harmlessly: the first provider stays.
pub fn install_crypto_provider() {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
}

/// A reqwest error without its URL (a webhook URL is a secret), with its causes.
pub fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "cannot connect"
    } else {
        "request failed"
    };
    // The error's own text names the URL; its causes do not.
    headroom_proto::with_sources(kind.to_owned(), std::error::Error::source(error))
}

/// `url` with `?wait=true` added (Discord then answers with the message).
fn with_wait(url: &str) -> String {
    if url.contains('?') {
        format!("{url}&wait=true")
    } else {
        format!("{url}?wait=true")
    }
}

/// Discord's URL to edit message `id` of the webhook at `url`.
fn discord_message_url(url: &str, id: &str) -> String {
    match url.split_once('?') {
        Some((base, query)) => format!("{}/messages/{id}?{query}", base.trim_end_matches('/')),
        None => format!("{}/messages/{id}", url.trim_end_matches('/')),
    }
}

/// Discord's edit takes the message's content, embeds and mentions, not the
/// webhook's `username` or `avatar_url`: those are dropped from the body.
fn edit_body(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut message)) => {
            message.remove("username");
            message.remove("avatar_url");
            serde_json::Value::Object(message).to_string().into_bytes()
        }
        _ => body.to_vec(),
    }
}

/// One attempt to send `notification` to `receiver`. For Discord, a
/// resolved group edits the group's last message (`edit`) when there is one.
pub async fn attempt(
    client: &reqwest::Client,
    receiver: &ReceiverConfig,
    notification: &Notification,
    edit: Option<&str>,
) -> Answer {
    let rendered = format::render(
        receiver.kind,
        notification,
        &receiver.secret,
        now_ms().div_euclid(1000),
    );
    let url = receiver.url.expose();
    let request = |method: reqwest::Method, target: String| {
        let body = if method == reqwest::Method::PATCH {
            edit_body(&rendered.body)
        } else {
            rendered.body.clone()
        };
        let mut request = client
            .request(method, target)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Headroom-Notification", &notification.id)
            .body(body);
        for (name, value) in &rendered.headers {
            request = request.header(*name, value);
        }
        request
    };
    if receiver.kind == ReceiverType::Discord
        && notification.reason == Reason::Resolved
        && let Some(id) = edit
    {
        let answer = send(request(
            reqwest::Method::PATCH,
            discord_message_url(url, id),
        ))
        .await;
        // The message may have been deleted: then post a new one.
        if !matches!(answer, Answer::Http { status: 404, .. }) {
            return answer;
        }
    }
    let target = match receiver.kind {
        ReceiverType::Discord => with_wait(url),
        _ => url.to_owned(),
    };
    send(request(reqwest::Method::POST, target)).await
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => return Answer::Network(describe(&error)),
    };
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match response.bytes().await {
        Ok(bytes) => {
            String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_ANSWER_BYTES)]).into_owned()
        }
        Err(error) => format!(
            "(the answer's body could not be read: {})",
            describe(&error)
        ),
    };
    // Discord (`?wait=true`) answers with the message, whose id allows an edit.
    let platform_ref = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("id")?.as_str().map(str::to_owned));
    Answer::Http {
        status,
        retry_after,
        body,
        platform_ref,
    }
}

/// Sends what is due, receivers in parallel; returns how many attempts ran.
pub async fn deliver_due(
    store: &Store,
    client: &reqwest::Client,
    receivers: &HashMap<String, ReceiverConfig>,
    policy: &RetryPolicy,
) -> Result<usize, StoreError> {
    let now = now_ms();
    let pending = store.pending_deliveries().await?;
    // Only the oldest pending notification of each group may go, so a
    // group's messages arrive in order.
    let mut seen = HashSet::new();
    let mut due: HashMap<String, Vec<Delivery>> = HashMap::new();
    for delivery in pending {
        if seen.insert((delivery.receiver.clone(), delivery.group_key.clone()))
            && delivery.next_attempt_at <= now
        {
            due.entry(delivery.receiver.clone())
                .or_default()
                .push(delivery);
        }
    }
    let per_receiver = due.into_iter().map(|(name, deliveries)| async move {
        let mut attempts = 0;
        for delivery in deliveries {
            attempts += 1;
            let tracer = telemetry::tracer();
            let platform = receivers.get(&name).map_or("unknown", |r| r.kind.as_str());
            let mut span = tracer
                .span_builder(span::ALERT_DELIVERY)
                .with_kind(SpanKind::Client)
                .with_attributes([
                    KeyValue::new(attribute::RECEIVER, name.clone()),
                    KeyValue::new(attribute::PLATFORM, platform),
                ])
                .start(&tracer);
            let answer = match receivers.get(&name) {
                Some(receiver) => {
                    let edit = if delivery.notification.reason == Reason::Resolved
                        && receiver.kind == ReceiverType::Discord
                    {
                        store.last_platform_ref(&name, &delivery.group_key).await?
                    } else {
                        None
                    };
                    attempt(client, receiver, &delivery.notification, edit.as_deref()).await
                }
                None => Answer::Http {
                    status: 410,
                    retry_after: None,
                    body: format!("the receiver `{name}` is no longer configured"),
                    platform_ref: None,
                },
            };
            let update = retry::apply(&delivery, &answer, now_ms(), policy);
            let outcome = [
                KeyValue::new(attribute::OUTCOME, update.status.as_str()),
                KeyValue::new(attribute::PLATFORM, platform),
            ];
            crate::telemetry::instruments().deliveries.add(1, &outcome);
            span.set_attributes(outcome);
            span.set_attributes([
                KeyValue::new(attribute::ATTEMPTS, update.attempts),
                KeyValue::new(attribute::HTTP_STATUS, update.last_status.unwrap_or(0)),
            ]);
            if update.status != DeliveryStatus::Delivered {
                span.set_status(Status::error(
                    "the platform did not accept the notification",
                ));
            }
            span.end();
            store.update_delivery(&delivery.id, &update).await?;
            tracing::info!(
                receiver = %name,
                notification = %delivery.id,
                status = update.status.as_str(),
                attempts = update.attempts,
                http_status = update.last_status.unwrap_or(0),
                error = %update.last_error,
                "alert delivery attempt"
            );
        }
        Ok::<usize, StoreError>(attempts)
    });
    let mut total = 0;
    for result in futures::future::join_all(per_receiver).await {
        total += result?;
    }
    Ok(total)
}

/// Delivers until the task is dropped: at once when `wake` fires, else
/// every `poll`.
pub async fn run(
    store: Store,
    client: reqwest::Client,
    receivers: Arc<HashMap<String, ReceiverConfig>>,
    policy: RetryPolicy,
    wake: Arc<tokio::sync::Notify>,
    poll: Duration,
) {
    let mut throttle = super::throttle::warn_throttle();
    loop {
        match deliver_due(&store, &client, &receivers, &policy).await {
            Ok(_) => throttle.succeeded(),
            Err(error) => {
                if let Some(suppressed) = throttle.failed() {
                    tracing::warn!(error = %error, suppressed, "alert delivery pass failed; retrying every tick");
                }
            }
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(poll) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_urls_keep_their_query() {
        assert_eq!(
            with_wait("https://d/api/webhooks/1/t"),
            "https://d/api/webhooks/1/t?wait=true"
        );
        assert_eq!(
            with_wait("https://d/api/webhooks/1/t?thread_id=9"),
            "https://d/api/webhooks/1/t?thread_id=9&wait=true"
        );
        assert_eq!(
            discord_message_url("https://d/api/webhooks/1/t?thread_id=9", "42"),
            "https://d/api/webhooks/1/t/messages/42?thread_id=9"
        );
    }

    #[test]
    fn a_discord_edit_keeps_the_message_but_not_the_webhook_identity() {
        let body = br#"{"username":"Headroom","content":"x","embeds":[{"title":"t"}]}"#;
        let edited: serde_json::Value = serde_json::from_slice(&edit_body(body)).expect("json");
        assert_eq!(
            edited,
            serde_json::json!({"content": "x", "embeds": [{"title": "t"}]})
        );
    }

    #[tokio::test]
    async fn the_client_builds_and_its_errors_never_show_the_url() {
        let client = client(Duration::from_secs(2)).expect("client");
        // Nothing listens on port 9 (discard) here: the error must not echo the path.
        let error = client
            .post("http://127.0.0.1:9/services/T0/B0/SECRETPATH")
            .send()
            .await
            .expect_err("nothing listens");
        let text = describe(&error);
        assert!(!text.contains("SECRETPATH"), "{text}");
        assert!(text.starts_with("cannot connect"), "{text}");
    }
}
