//! What an attempt's answer means for a delivery, pure: 2xx delivers; 429
//! waits its `Retry-After`; any other 4xx, and a redirect, is final; 5xx and network errors
//! retry with exponential backoff; past `give_up_after` the delivery fails
//! and says why.

use std::time::{Duration, UNIX_EPOCH};

use super::outbox::{Delivery, DeliveryStatus, DeliveryUpdate};

/// How hard delivery tries, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub backoff: i64,
    pub max_backoff: i64,
    pub give_up_after: i64,
}

/// What the platform (or the network) answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// An HTTP answer: its status, its `Retry-After` header, the start of its
    /// body (for the record) and the platform's message id if any.
    Http {
        status: u16,
        retry_after: Option<String>,
        body: String,
        platform_ref: Option<String>,
    },
    /// No HTTP answer: connection refused, timeout, TLS failure…
    Network(String),
}

/// The delay before attempt `attempts + 1` after `attempts` failures.
pub fn backoff(attempts: i64, policy: &RetryPolicy) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    policy
        .backoff
        .saturating_mul(1_i64 << doublings)
        .min(policy.max_backoff)
}

/// Milliseconds to wait from a `Retry-After` value: delay-seconds, or an
/// HTTP date (RFC 9110). `None` when it is neither.
pub fn parse_retry_after(value: &str, now_ms: i64) -> Option<i64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0).then(|| (seconds * 1000.0).ceil() as i64);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let at_ms = at.duration_since(UNIX_EPOCH).ok()?.as_millis() as i64;
    Some((at_ms - now_ms).max(0))
}

/// The delivery's new state after `answer` at `now`.
pub fn apply(
    delivery: &Delivery,
    answer: &Answer,
    now: i64,
    policy: &RetryPolicy,
) -> DeliveryUpdate {
    let attempts = delivery.attempts + 1;
    let base = DeliveryUpdate {
        status: DeliveryStatus::Pending,
        attempts,
        next_attempt_at: now,
        last_attempt_at: now,
        delivered_at: None,
        last_status: None,
        last_error: String::new(),
        platform_ref: delivery.platform_ref.clone(),
    };
    let (status, retry_in, error) = match answer {
        Answer::Http {
            status,
            platform_ref,
            ..
        } if (200..300).contains(status) => {
            return DeliveryUpdate {
                status: DeliveryStatus::Delivered,
                delivered_at: Some(now),
                last_status: Some(i64::from(*status)),
                platform_ref: platform_ref.clone().or(base.platform_ref.clone()),
                ..base
            };
        }
        Answer::Http {
            status: 429,
            retry_after,
            body,
            ..
        } => {
            let wait = retry_after
                .as_deref()
                .and_then(|value| parse_retry_after(value, now))
                .unwrap_or_else(|| backoff(attempts, policy));
            (
                Some(429),
                Some(wait),
                format!(
                    "429 Too Many Requests: retrying in {} ms as asked{}",
                    wait,
                    detail(body)
                ),
            )
        }
        Answer::Http { status, .. } if (300..400).contains(status) => (
            Some(*status),
            None,
            format!(
                "{status}: the platform redirects (redirects are not followed): set `url` to the final address"
            ),
        ),
        Answer::Http { status, body, .. } if (400..500).contains(status) => (
            Some(*status),
            None,
            format!(
                "{status}: refused by the platform, not retried{}",
                detail(body)
            ),
        ),
        Answer::Http { status, body, .. } => (
            Some(*status),
            Some(backoff(attempts, policy)),
            format!("{status}: the platform failed{}", detail(body)),
        ),
        Answer::Network(error) => (None, Some(backoff(attempts, policy)), error.clone()),
    };
    let last_status = status.map(i64::from);
    match retry_in {
        Some(wait) if now + wait <= delivery.created_at + policy.give_up_after => DeliveryUpdate {
            next_attempt_at: now + wait,
            last_status,
            last_error: error,
            ..base
        },
        Some(_) => DeliveryUpdate {
            status: DeliveryStatus::Failed,
            last_status,
            last_error: format!(
                "gave up after {attempts} attempts over {}: {error}",
                headroom_proto::duration::format(Duration::from_millis(
                    (now - delivery.created_at).max(0) as u64 / 1000 * 1000
                ))
            ),
            ..base
        },
        None => DeliveryUpdate {
            status: DeliveryStatus::Failed,
            last_status,
            last_error: error,
            ..base
        },
    }
}

/// `: <the body's first line, shortened>` or nothing.
fn detail(body: &str) -> String {
    let line: String = body
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    if line.is_empty() {
        String::new()
    } else {
        format!(" ({line})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::{AlertStatus, Notification, Reason};

    /// An HTTP date `delay` after `now_ms`.
    fn http_date_after(now_ms: i64, delay: Duration) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_millis(now_ms as u64) + delay)
    }

    const POLICY: RetryPolicy = RetryPolicy {
        backoff: 1_000,
        max_backoff: 60_000,
        give_up_after: 3_600_000,
    };

    fn delivery(attempts: i64) -> Delivery {
        Delivery {
            id: "ntf-1".into(),
            receiver: "ops".into(),
            group_key: "kind=index".into(),
            status: DeliveryStatus::Pending,
            attempts,
            created_at: 0,
            next_attempt_at: 0,
            last_attempt_at: None,
            delivered_at: None,
            last_status: None,
            last_error: String::new(),
            platform_ref: None,
            notification: Notification {
                id: "ntf-1".into(),
                receiver: "ops".into(),
                group_key: "kind=index".into(),
                status: AlertStatus::Firing,
                reason: Reason::New,
                created_at: 0,
                alerts: Vec::new(),
                dashboard_url: "http://127.0.0.1:8080".into(),
            },
        }
    }

    fn http(status: u16, retry_after: Option<&str>, body: &str) -> Answer {
        Answer::Http {
            status,
            retry_after: retry_after.map(str::to_owned),
            body: body.into(),
            platform_ref: None,
        }
    }

    #[test]
    fn a_2xx_delivers() {
        let update = apply(&delivery(0), &http(204, None, ""), 5, &POLICY);
        assert_eq!(update.status, DeliveryStatus::Delivered);
        assert_eq!(update.delivered_at, Some(5));
        assert_eq!(update.attempts, 1);
        assert_eq!(update.last_status, Some(204));
    }

    #[test]
    fn a_5xx_retries_with_doubling_backoff_up_to_the_cap() {
        let first = apply(&delivery(0), &http(500, None, "oops"), 10_000, &POLICY);
        assert_eq!(first.status, DeliveryStatus::Pending);
        assert_eq!(first.next_attempt_at, 11_000);
        assert!(first.last_error.contains("500") && first.last_error.contains("oops"));
        let third = apply(&delivery(2), &http(503, None, ""), 10_000, &POLICY);
        assert_eq!(third.next_attempt_at, 14_000, "1 s, 2 s, 4 s");
        let late = apply(&delivery(20), &http(502, None, ""), 10_000, &POLICY);
        assert_eq!(late.next_attempt_at, 70_000, "capped at max_backoff");
    }

    #[test]
    fn a_429_waits_its_retry_after_in_seconds_or_as_a_date() {
        let seconds = apply(&delivery(0), &http(429, Some("7"), ""), 1_000, &POLICY);
        assert_eq!(seconds.status, DeliveryStatus::Pending);
        assert_eq!(seconds.next_attempt_at, 8_000);
        let now = 1_700_000_000_000;
        let date = http_date_after(now, Duration::from_secs(30));
        let recent = Delivery {
            created_at: now,
            ..delivery(0)
        };
        let dated = apply(&recent, &http(429, Some(&date), ""), now, &POLICY);
        assert_eq!(dated.status, DeliveryStatus::Pending);
        assert!(
            (dated.next_attempt_at - (now + 30_000)).abs() <= 1_000,
            "{}",
            dated.next_attempt_at - now
        );
        let without = apply(&delivery(0), &http(429, None, ""), 1_000, &POLICY);
        assert_eq!(without.next_attempt_at, 2_000, "falls back to the backoff");
    }

    #[test]
    fn a_4xx_other_than_429_is_final_and_says_why() {
        let update = apply(
            &delivery(0),
            &http(400, None, "invalid_payload"),
            1,
            &POLICY,
        );
        assert_eq!(update.status, DeliveryStatus::Failed);
        assert_eq!(update.last_status, Some(400));
        assert!(
            update.last_error.contains("invalid_payload"),
            "{}",
            update.last_error
        );
        assert!(update.last_error.contains("not retried"));
    }

    #[test]
    fn a_redirect_is_final_and_says_to_fix_the_url() {
        let update = apply(&delivery(0), &http(301, None, ""), 1, &POLICY);
        assert_eq!(update.status, DeliveryStatus::Failed);
        assert!(
            update.last_error.contains("final address"),
            "{}",
            update.last_error
        );
    }

    #[test]
    fn network_errors_retry_until_give_up_after_then_fail() {
        let error = Answer::Network("connection refused".into());
        let early = apply(&delivery(3), &error, 60_000, &POLICY);
        assert_eq!(early.status, DeliveryStatus::Pending);
        let late = apply(&delivery(40), &error, 3_590_000, &POLICY);
        assert_eq!(late.status, DeliveryStatus::Failed);
        assert!(
            late.last_error.starts_with("gave up after 41 attempts"),
            "{}",
            late.last_error
        );
        assert!(late.last_error.contains("connection refused"));
    }

    #[test]
    fn retry_after_values_that_are_not_delays_are_ignored() {
        assert_eq!(parse_retry_after("soon", 0), None);
        assert_eq!(parse_retry_after("-3", 0), None);
        assert_eq!(parse_retry_after("1.5", 0), Some(1_500));
    }
}
