//! `headroom-collector alerts test --receiver NAME`: sends one test
//! notification straight to a receiver (not through the outbox) and reports
//! what the platform answered.

use super::retry::Answer;
use super::{Alert, AlertStatus, Notification, Reason, deliver};
use crate::advisor::{RecKind, Severity};
use crate::config::Config;
use crate::store::now_ms;

/// Why the test could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("no receiver is named `{name}` in [[alerts]]; configured: {known}")]
    UnknownReceiver { name: String, known: String },
    #[error(transparent)]
    Client(#[from] deliver::ClientError),
}

/// The test notification for `receiver`.
pub fn test_notification(receiver: &str, dashboard_url: &str, now: i64) -> Notification {
    Notification {
        id: format!("ntf-test-{now}"),
        receiver: receiver.to_owned(),
        group_key: "test".to_owned(),
        status: AlertStatus::Firing,
        reason: Reason::Test,
        created_at: now,
        alerts: vec![Alert {
            recommendation_id: "test".to_owned(),
            kind: RecKind::None,
            severity: Severity::Info,
            status: AlertStatus::Firing,
            title: "Headroom can post to this channel".to_owned(),
            summary: format!(
                "A test from `headroom-collector alerts test --receiver {receiver}`. \
                 Recommendations routed to this receiver will arrive here."
            ),
            action: String::new(),
            confidence: 1.0,
            first_seen: now,
            resolved_at: None,
            url: dashboard_url.to_owned(),
        }],
        dashboard_url: dashboard_url.to_owned(),
    }
}

/// Sends the test to the receiver named `name`; returns its type and the answer.
pub async fn send_test(config: &Config, name: &str) -> Result<(&'static str, Answer), ProbeError> {
    let Some(receiver) = config.alerts.iter().find(|r| r.name == name) else {
        let known: Vec<&str> = config.alerts.iter().map(|r| r.name.as_str()).collect();
        return Err(ProbeError::UnknownReceiver {
            name: name.to_owned(),
            known: if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            },
        });
    };
    let client = deliver::client(config.alerting.timeout.0)?;
    let dashboard = config.dashboard_url();
    let notification = test_notification(name, &dashboard, now_ms());
    let answer = deliver::attempt(&client, receiver, &notification, None).await;
    Ok((receiver.kind.as_str(), answer))
}
