//! What a notification says, independent of the platform it goes to: stored
//! as JSON in the outbox and rendered per receiver type at delivery time.

use serde::{Deserialize, Serialize};

use crate::advisor::{RecKind, Severity};

/// Why a notification was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The group's first notification (after `group_wait`).
    New,
    /// The group changed: an alert was added, escalated or resolved (after
    /// `group_interval`).
    Changed,
    /// Nothing changed and the alerts are still firing (after `repeat_interval`).
    Repeat,
    /// Every alert the group had notified is resolved.
    Resolved,
    /// `headroom-collector alerts test`.
    Test,
}

impl Reason {
    /// The payload's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::New => "new",
            Reason::Changed => "changed",
            Reason::Repeat => "repeat",
            Reason::Resolved => "resolved",
            Reason::Test => "test",
        }
    }
}

/// Whether an alert (or a whole notification) is firing or resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    /// The payload's name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// One recommendation inside a notification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub recommendation_id: String,
    pub kind: RecKind,
    pub severity: Severity,
    pub status: AlertStatus,
    pub title: String,
    pub summary: String,
    /// What to do (e.g. the exact `CREATE INDEX CONCURRENTLY …`); may be empty.
    pub action: String,
    pub confidence: f64,
    /// Unix milliseconds.
    pub first_seen: i64,
    /// Unix milliseconds; set when resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<i64>,
    /// The recommendation's page in the dashboard.
    pub url: String,
}

/// One message to one receiver about one group of alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Unique and stable across retries: receivers may deduplicate on it.
    pub id: String,
    pub receiver: String,
    /// The group (`kind=index`); alerts of one group travel together.
    pub group_key: String,
    /// `firing` when any alert fires, else `resolved`.
    pub status: AlertStatus,
    pub reason: Reason,
    /// Unix milliseconds when the notification was decided.
    pub created_at: i64,
    /// Firing alerts first (most severe first), then resolved ones.
    pub alerts: Vec<Alert>,
    /// The dashboard's address (`[alerting] external_url`).
    pub dashboard_url: String,
}

impl Notification {
    /// The most severe firing alert's severity, or the most severe of all
    /// when nothing fires.
    pub fn severity(&self) -> Severity {
        let firing = self
            .alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Firing)
            .map(|a| a.severity)
            .max();
        firing
            .or_else(|| self.alerts.iter().map(|a| a.severity).max())
            .unwrap_or(Severity::Info)
    }

    /// How many alerts have `status`.
    pub fn count(&self, status: AlertStatus) -> usize {
        self.alerts.iter().filter(|a| a.status == status).count()
    }

    /// A one-line title: `[FIRING:2] index: Add an index on product (handle)`.
    pub fn headline(&self) -> String {
        let first = self.alerts.first().map_or("", |a| a.title.as_str());
        let more = self.alerts.len().saturating_sub(1);
        let tail = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        match self.reason {
            Reason::Test => "Headroom test notification".to_owned(),
            _ => format!(
                "[{}:{}] {}{tail}",
                self.status.as_str().to_uppercase(),
                self.count(self.status),
                first
            ),
        }
    }
}
