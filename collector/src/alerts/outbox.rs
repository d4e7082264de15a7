//! The outbox's rows: a decided notification and how its delivery stands.
//! Rows stay after delivery: they are the notification log.

use serde::Serialize;

use super::Notification;

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not yet accepted by the platform (waiting for its first attempt or a retry).
    Pending,
    /// Accepted by the platform (a 2xx answer).
    Delivered,
    /// Refused for good (a 4xx other than 429) or given up after `give_up_after`.
    Failed,
}

impl DeliveryStatus {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// Parses the API's name.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::Delivered, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// One row of the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delivery {
    pub id: String,
    pub receiver: String,
    pub group_key: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    /// Unix milliseconds.
    pub created_at: i64,
    pub next_attempt_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<i64>,
    /// The platform's last HTTP status, if it answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<i64>,
    /// Why the last attempt failed (empty when none did).
    pub last_error: String,
    /// The platform's id of the message (Discord), to edit it on resolve.
    #[serde(skip)]
    pub platform_ref: Option<String>,
    pub notification: Notification,
}

/// What an attempt changed.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryUpdate {
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_attempt_at: i64,
    pub delivered_at: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: String,
    pub platform_ref: Option<String>,
}
