//! One renderer per platform, pure: a [`Notification`] becomes the JSON body
//! (and headers) that platform documents.
//!
//! `slack.rs`, `discord.rs`, `teams.rs` and `webhook.rs` each turn a
//! notification into a `serde_json::Value` within that platform's documented
//! limits; this file picks one, serializes it and, for the generic webhook,
//! signs the body. The helpers below (truncation, ISO-8601, percentages) are
//! shared by all four.

pub mod discord;
pub mod slack;
pub mod teams;
pub mod webhook;

use super::{Alert, AlertStatus, Notification, ReceiverType, Secret};

/// A request body and its extra headers, ready to POST.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// JSON, `Content-Type: application/json`.
    pub body: Vec<u8>,
    /// Extra headers (the webhook's signature; nothing for the chat platforms).
    pub headers: Vec<(&'static str, String)>,
}

/// Renders `notification` for a receiver of `kind`; `secret` signs webhooks,
/// `now_secs` is the signature's timestamp (unix seconds).
pub fn render(
    kind: ReceiverType,
    notification: &Notification,
    secret: &Secret,
    now_secs: i64,
) -> Rendered {
    let value = match kind {
        ReceiverType::Slack => slack::render(notification),
        ReceiverType::Discord => discord::render(notification),
        ReceiverType::Teams => teams::render(notification),
        ReceiverType::Webhook => webhook::render(notification),
    };
    // `Display` of a `Value` is the same compact JSON as `serde_json::to_vec`
    // and cannot fail: every key is a string.
    let body = value.to_string().into_bytes();
    let headers = match kind {
        ReceiverType::Webhook => vec![
            (webhook::TIMESTAMP_HEADER, now_secs.to_string()),
            (
                webhook::SIGNATURE_HEADER,
                webhook::sign(secret.expose().as_bytes(), now_secs, &body),
            ),
        ],
        ReceiverType::Slack | ReceiverType::Discord | ReceiverType::Teams => Vec::new(),
    };
    Rendered { body, headers }
}

/// The ellipsis that marks a truncated text.
const ELLIPSIS: char = '…';

/// `text` cut to at most `max` characters (Unicode scalar values), ending
/// with "…" when something was cut.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push(ELLIPSIS);
    out
}

/// Length in characters, the unit every platform's limits are stated in.
pub(crate) fn chars(text: &str) -> usize {
    text.chars().count()
}

/// Breaks runs of three backticks so that `text` cannot close the Markdown
/// code block it is put in (a zero-width space between the backticks).
pub(crate) fn fence_safe(text: &str) -> String {
    text.replace("```", "`\u{200b}`\u{200b}`")
}

/// `0.853` → `85%`.
pub(crate) fn percent(confidence: f64) -> String {
    format!("{:.0}%", (confidence * 100.0).clamp(0.0, 100.0))
}

/// When an alert last changed state: its resolution for a resolved alert,
/// else when it was first seen (unix milliseconds).
pub(crate) fn alert_time(alert: &Alert) -> i64 {
    match (alert.status, alert.resolved_at) {
        (AlertStatus::Resolved, Some(at)) => at,
        _ => alert.first_seen,
    }
}

/// The distinct kinds of the notification's alerts, in order: `index, cache`.
pub(crate) fn kinds(notification: &Notification) -> String {
    let mut seen: Vec<&str> = Vec::new();
    for alert in &notification.alerts {
        let kind = alert.kind.as_str();
        if !seen.contains(&kind) {
            seen.push(kind);
        }
    }
    if seen.is_empty() {
        "-".to_owned()
    } else {
        seen.join(", ")
    }
}

/// `firing` with the counts: `firing (1 firing, 1 resolved)`.
pub(crate) fn status_line(notification: &Notification) -> String {
    format!(
        "{} ({} firing, {} resolved)",
        notification.status.as_str(),
        notification.count(AlertStatus::Firing),
        notification.count(AlertStatus::Resolved)
    )
}

/// The highest confidence among the alerts, as a percentage.
pub(crate) fn top_confidence(notification: &Notification) -> String {
    notification
        .alerts
        .iter()
        .map(|a| a.confidence)
        .reduce(f64::max)
        .map_or_else(|| "-".to_owned(), percent)
}

/// Notifications shared by the renderers' tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::advisor::{RecKind, Severity};
    use crate::alerts::{Alert, AlertStatus, Notification, Reason};

    /// An action with every character the platforms treat specially.
    pub(crate) const ACTION: &str =
        "CREATE INDEX CONCURRENTLY ON `product` (handle) WHERE price < 10 && stock > 0;";

    /// 2024-03-01T12:00:00.000Z.
    pub(crate) const FIRST_SEEN: i64 = 1_709_294_400_000;
    /// 2024-03-01T13:30:15.250Z.
    pub(crate) const RESOLVED_AT: i64 = 1_709_299_815_250;
    /// 2024-03-01T14:00:00.000Z.
    pub(crate) const CREATED_AT: i64 = 1_709_301_600_000;

    /// A firing critical index alert whose action needs escaping.
    pub(crate) fn index_alert() -> Alert {
        Alert {
            recommendation_id: "rec-index-1".to_owned(),
            kind: RecKind::Index,
            severity: Severity::Critical,
            status: AlertStatus::Firing,
            title: "Add an index on product (handle)".to_owned(),
            summary: "Sequential scans on product read 2.1M rows/s <at peak> & grow 8%/week."
                .to_owned(),
            action: ACTION.to_owned(),
            confidence: 0.853,
            first_seen: FIRST_SEEN,
            resolved_at: None,
            url: "https://headroom.example/recommendations/rec-index-1".to_owned(),
        }
    }

    /// A resolved warning cache alert without an action.
    pub(crate) fn cache_alert() -> Alert {
        Alert {
            recommendation_id: "rec-cache-2".to_owned(),
            kind: RecKind::Cache,
            severity: Severity::Warning,
            status: AlertStatus::Resolved,
            title: "Redis hit ratio below 80%".to_owned(),
            summary: "The hit ratio is back at 93%.".to_owned(),
            action: String::new(),
            confidence: 0.6,
            first_seen: FIRST_SEEN,
            resolved_at: Some(RESOLVED_AT),
            url: "https://headroom.example/recommendations/rec-cache-2".to_owned(),
        }
    }

    /// Two alerts: one firing critical index, one resolved warning cache.
    pub(crate) fn two_alerts() -> Notification {
        Notification {
            id: "ntf-42".to_owned(),
            receiver: "ops".to_owned(),
            group_key: "kind=index".to_owned(),
            status: AlertStatus::Firing,
            reason: Reason::Changed,
            created_at: CREATED_AT,
            alerts: vec![index_alert(), cache_alert()],
            dashboard_url: "https://headroom.example".to_owned(),
        }
    }

    /// 30 firing alerts with 10,000-character summaries, titles and actions.
    pub(crate) fn oversized() -> Notification {
        let long = "x".repeat(10_000);
        let alerts = (0..30)
            .map(|i| Alert {
                recommendation_id: format!("rec-{i}-{}", "r".repeat(300)),
                title: format!("{i} {long}"),
                summary: format!("<&> {long}"),
                action: format!("```{long}"),
                ..index_alert()
            })
            .collect();
        Notification {
            alerts,
            ..two_alerts()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::format::fixtures::two_alerts;

    #[test]
    fn truncate_keeps_short_texts_and_cuts_long_ones_with_an_ellipsis() {
        assert_eq!(truncate("abc", 3), "abc");
        assert_eq!(truncate("abcd", 3), "ab…");
        assert_eq!(chars(&truncate("ééééé", 4)), 4);
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn fence_safe_breaks_triple_backticks_only() {
        assert_eq!(fence_safe("`a`"), "`a`");
        assert!(!fence_safe("a```b").contains("```"));
    }

    #[test]
    fn chat_platforms_get_no_extra_headers_and_ignore_the_secret() {
        let n = two_alerts();
        for kind in [
            ReceiverType::Slack,
            ReceiverType::Discord,
            ReceiverType::Teams,
        ] {
            let a = render(kind, &n, &Secret::new("one"), 10);
            let b = render(kind, &n, &Secret::new("two"), 99);
            assert!(a.headers.is_empty(), "{kind:?}");
            assert_eq!(a, b, "{kind:?}");
            let parsed: serde_json::Value =
                serde_json::from_slice(&a.body).expect("the body is JSON");
            assert!(parsed.is_object(), "{kind:?}");
        }
    }

    #[test]
    fn webhook_gets_a_timestamp_and_a_signature_of_the_exact_body() {
        let n = two_alerts();
        let rendered = render(
            ReceiverType::Webhook,
            &n,
            &Secret::new("s3cret"),
            1_700_000_000,
        );
        let names: Vec<&str> = rendered.headers.iter().map(|(k, _)| *k).collect();
        assert_eq!(names, ["X-Headroom-Timestamp", "X-Headroom-Signature"]);
        assert_eq!(rendered.headers[0].1, "1700000000");
        assert_eq!(
            rendered.headers[1].1,
            webhook::sign(b"s3cret", 1_700_000_000, &rendered.body)
        );
        assert_eq!(
            webhook::verify(
                b"s3cret",
                Some(&rendered.headers[0].1),
                Some(&rendered.headers[1].1),
                &rendered.body,
                1_700_000_010,
                300,
            ),
            Ok(())
        );
        let parsed: serde_json::Value =
            serde_json::from_slice(&rendered.body).expect("the body is JSON");
        assert_eq!(parsed, webhook::render(&n));
    }
}
