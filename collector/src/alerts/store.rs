//! The alerts' tables: group states, the outbox (the notification log) and
//! silences. A decision's notifications and group states are written in one
//! transaction, so a notification is decided exactly once. A row that does
//! not decode (an unknown status, kind or severity, JSON that does not
//! parse) is skipped and logged (`store::rows`), never read as a default.

use std::collections::HashMap;

use super::Notification;
use super::outbox::{Delivery, DeliveryStatus, DeliveryUpdate};
use super::policy::GroupState;
use super::silence::{Matchers, Silence};
use crate::advisor::{RecKind, Severity};
use crate::store::rows::{BadRow, Decoded, parse_enum, parse_json, parse_optional_enum, warn};
use crate::store::{Context, Store, StoreError, on_pool};

macro_rules! select_outbox {
    ($rest:literal) => {
        concat!(
            "SELECT id, receiver, group_key, status, attempts, created_ms, next_attempt_ms, ",
            "last_attempt_ms, delivered_ms, last_status, last_error, platform_ref, notification ",
            "FROM alert_outbox ",
            $rest
        )
    };
}

/// An `alert_outbox` row as stored.
#[derive(sqlx::FromRow)]
struct OutboxRow {
    id: String,
    receiver: String,
    group_key: String,
    status: String,
    attempts: i64,
    created_ms: i64,
    next_attempt_ms: i64,
    last_attempt_ms: Option<i64>,
    delivered_ms: Option<i64>,
    last_status: Option<i64>,
    last_error: String,
    platform_ref: Option<String>,
    notification: String,
}

impl OutboxRow {
    fn decode(self) -> Result<Delivery, BadRow> {
        const TABLE: &str = "alert_outbox";
        let id = self.id;
        Ok(Delivery {
            status: parse_enum(TABLE, &id, "status", &self.status, DeliveryStatus::parse)?,
            notification: parse_json::<Notification>(
                TABLE,
                &id,
                "notification",
                &self.notification,
            )?,
            id,
            receiver: self.receiver,
            group_key: self.group_key,
            attempts: self.attempts,
            created_at: self.created_ms,
            next_attempt_at: self.next_attempt_ms,
            last_attempt_at: self.last_attempt_ms,
            delivered_at: self.delivered_ms,
            last_status: self.last_status,
            last_error: self.last_error,
            platform_ref: self.platform_ref,
        })
    }
}

/// A `silences` row as stored.
#[derive(sqlx::FromRow)]
struct SilenceRow {
    id: String,
    kind: Option<String>,
    severity: Option<String>,
    recommendation_id: Option<String>,
    receiver: Option<String>,
    comment: String,
    created_by: String,
    starts_ms: i64,
    ends_ms: i64,
    created_ms: i64,
}

impl SilenceRow {
    /// An unknown kind or severity is an error: read as "any", the silence
    /// would silence more than it was made for.
    fn decode(self) -> Result<Silence, BadRow> {
        const TABLE: &str = "silences";
        let id = self.id;
        Ok(Silence {
            matchers: Matchers {
                kind: parse_optional_enum(
                    TABLE,
                    &id,
                    "kind",
                    self.kind.as_deref(),
                    RecKind::parse,
                )?,
                severity: parse_optional_enum(
                    TABLE,
                    &id,
                    "severity",
                    self.severity.as_deref(),
                    Severity::parse,
                )?,
                recommendation_id: self.recommendation_id,
                receiver: self.receiver,
            },
            id,
            comment: self.comment,
            created_by: self.created_by,
            starts_at: self.starts_ms,
            ends_at: self.ends_ms,
            created_at: self.created_ms,
        })
    }
}

/// An `alert_groups` row as stored.
#[derive(sqlx::FromRow)]
struct GroupRow {
    receiver: String,
    group_key: String,
    pending_since_ms: Option<i64>,
    last_notified_ms: Option<i64>,
    notified: String,
}

impl GroupRow {
    fn decode(self) -> Result<GroupState, BadRow> {
        let key = format!("{}/{}", self.receiver, self.group_key);
        Ok(GroupState {
            notified: parse_json("alert_groups", &key, "notified", &self.notified)?,
            receiver: self.receiver,
            group_key: self.group_key,
            pending_since: self.pending_since_ms,
            last_notified: self.last_notified_ms,
        })
    }
}

/// The stored group states, and the `(receiver, group_key)` of the rows
/// that do not decode: the dispatcher decides nothing for those (with no
/// state, a group would look new and notify again).
#[derive(Debug, Default)]
pub struct GroupStates {
    pub groups: Vec<GroupState>,
    pub unreadable: Vec<(String, String)>,
}

impl Store {
    /// Every stored group state; a row that does not decode is logged and
    /// listed as unreadable.
    pub async fn alert_groups(&self) -> Result<GroupStates, StoreError> {
        let rows: Vec<GroupRow> = on_pool!(&self.read, pool => {
            sqlx::query_as(
                "SELECT receiver, group_key, pending_since_ms, last_notified_ms, notified FROM alert_groups",
            )
            .fetch_all(pool)
            .await
            .context("reading alert groups")?
        });
        let mut states = GroupStates::default();
        for row in rows {
            let key = (row.receiver.clone(), row.group_key.clone());
            match row.decode() {
                Ok(group) => states.groups.push(group),
                Err(bad) => {
                    warn(&bad);
                    states.unreadable.push(key);
                }
            }
        }
        Ok(states)
    }

    /// Saves a decision: the changed group states and the new notifications
    /// (pending, due at once), in one transaction.
    pub async fn record_decision(
        &self,
        groups: &[GroupState],
        notifications: &[Notification],
    ) -> Result<(), StoreError> {
        if groups.is_empty() && notifications.is_empty() {
            return Ok(());
        }
        on_pool!(&self.write, pool => {
            let mut tx = pool.begin().await.context("saving an alert decision")?;
            for group in groups {
                let notified =
                    serde_json::to_string(&group.notified).unwrap_or_else(|_| "{}".into());
                sqlx::query(
                    "INSERT INTO alert_groups (receiver, group_key, pending_since_ms, last_notified_ms, notified) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (receiver, group_key) DO UPDATE SET \
                     pending_since_ms = excluded.pending_since_ms, last_notified_ms = excluded.last_notified_ms, \
                     notified = excluded.notified",
                )
                .bind(&group.receiver)
                .bind(&group.group_key)
                .bind(group.pending_since)
                .bind(group.last_notified)
                .bind(notified)
                .execute(&mut *tx)
                .await
                .context("saving an alert group")?;
            }
            for notification in notifications {
                let body = serde_json::to_string(notification).unwrap_or_else(|_| "{}".into());
                sqlx::query(
                    "INSERT INTO alert_outbox (id, receiver, group_key, reason, created_ms, notification, \
                     status, attempts, next_attempt_ms, last_error) \
                     VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $5, '') ON CONFLICT (id) DO NOTHING",
                )
                .bind(&notification.id)
                .bind(&notification.receiver)
                .bind(&notification.group_key)
                .bind(notification.reason.as_str())
                .bind(notification.created_at)
                .bind(body)
                .execute(&mut *tx)
                .await
                .context("adding a notification to the outbox")?;
            }
            tx.commit().await.context("saving an alert decision")
        })
    }

    /// Every pending delivery, oldest first.
    pub async fn pending_deliveries(&self) -> Result<Vec<Delivery>, StoreError> {
        on_pool!(&self.read, pool => {
            sqlx::query_as::<_, OutboxRow>(select_outbox!("WHERE status = 'pending' ORDER BY created_ms, id"))
                .fetch_all(pool)
                .await
                .context("reading the outbox")
        })
        .map(|rows| rows.into_iter().map(OutboxRow::decode).collect::<Decoded<_>>().kept())
    }

    /// Deliveries newest first, optionally of one receiver and one status.
    pub async fn deliveries(
        &self,
        receiver: Option<&str>,
        status: Option<DeliveryStatus>,
        limit: i64,
    ) -> Result<Vec<Delivery>, StoreError> {
        on_pool!(&self.read, pool => {
            sqlx::query_as::<_, OutboxRow>(select_outbox!(
                "WHERE (CAST($1 AS TEXT) IS NULL OR receiver = $1) AND (CAST($2 AS TEXT) IS NULL OR status = $2) \
                 ORDER BY created_ms DESC, id DESC LIMIT $3"
            ))
            .bind(receiver)
            .bind(status.map(DeliveryStatus::as_str))
            .bind(limit)
            .fetch_all(pool)
            .await
            .context("reading the outbox")
        })
        .map(|rows| rows.into_iter().map(OutboxRow::decode).collect::<Decoded<_>>().kept())
    }

    /// Records an attempt's outcome.
    pub async fn update_delivery(
        &self,
        id: &str,
        update: &DeliveryUpdate,
    ) -> Result<(), StoreError> {
        on_pool!(&self.write, pool => {
            sqlx::query(
                "UPDATE alert_outbox SET status = $2, attempts = $3, next_attempt_ms = $4, \
                 last_attempt_ms = $5, delivered_ms = $6, last_status = $7, last_error = $8, \
                 platform_ref = $9 WHERE id = $1",
            )
            .bind(id)
            .bind(update.status.as_str())
            .bind(update.attempts)
            .bind(update.next_attempt_at)
            .bind(update.last_attempt_at)
            .bind(update.delivered_at)
            .bind(update.last_status)
            .bind(&update.last_error)
            .bind(&update.platform_ref)
            .execute(pool)
            .await
            .map(|_| ())
            .context("recording a delivery attempt")
        })
    }

    /// Notifications decided since `since_ms`, per receiver (the rate limit).
    pub async fn notifications_since(
        &self,
        since_ms: i64,
    ) -> Result<HashMap<String, u32>, StoreError> {
        let rows: Vec<(String, i64)> = on_pool!(&self.read, pool => {
            sqlx::query_as(
                "SELECT receiver, COUNT(*) FROM alert_outbox WHERE created_ms >= $1 GROUP BY receiver",
            )
            .bind(since_ms)
            .fetch_all(pool)
            .await
            .context("counting recent notifications")?
        });
        Ok(rows
            .into_iter()
            .map(|(receiver, count)| (receiver, u32::try_from(count).unwrap_or(u32::MAX)))
            .collect())
    }

    /// Firing notifications (new, changed, repeated: what pages someone)
    /// decided since `since_ms`, per group, most first.
    pub async fn pages_by_group_since(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        on_pool!(&self.read, pool => {
            sqlx::query_as(
                "SELECT group_key, COUNT(*) AS pages FROM alert_outbox WHERE created_ms >= $1 \
                 AND reason IN ('new', 'changed', 'repeat') GROUP BY group_key ORDER BY pages DESC, group_key",
            )
            .bind(since_ms)
            .fetch_all(pool)
            .await
            .context("counting alert pages")
        })
    }

    /// The platform's id of the last delivered message of a group (Discord
    /// edits it when the group resolves).
    pub async fn last_platform_ref(
        &self,
        receiver: &str,
        group_key: &str,
    ) -> Result<Option<String>, StoreError> {
        on_pool!(&self.read, pool => {
            sqlx::query_scalar(
                "SELECT platform_ref FROM alert_outbox WHERE receiver = $1 AND group_key = $2 \
                 AND status = 'delivered' AND platform_ref IS NOT NULL ORDER BY created_ms DESC LIMIT 1",
            )
            .bind(receiver)
            .bind(group_key)
            .fetch_optional(pool)
            .await
            .context("reading the outbox")
        })
    }

    /// How many deliveries each receiver has per status. A status that
    /// does not decode is skipped and logged, naming one of its rows.
    pub async fn delivery_counts(&self) -> Result<Vec<(String, DeliveryStatus, i64)>, StoreError> {
        let rows: Vec<(String, String, i64, String)> = on_pool!(&self.read, pool => {
            sqlx::query_as(
                "SELECT receiver, status, COUNT(*), MIN(id) FROM alert_outbox GROUP BY receiver, status",
            )
            .fetch_all(pool)
            .await
            .context("counting deliveries")?
        });
        Ok(rows
            .into_iter()
            .map(|(receiver, status, count, id)| {
                let status = parse_enum(
                    "alert_outbox",
                    &id,
                    "status",
                    &status,
                    DeliveryStatus::parse,
                )?;
                Ok((receiver, status, count))
            })
            .collect::<Decoded<_>>()
            .kept())
    }

    /// Deletes what the notification log no longer needs: delivered and
    /// failed notifications decided before `before_ms` (pending ones stay
    /// until they are delivered or fail) and silences that ended before it.
    /// Returns how many notifications and silences went.
    pub async fn prune_alerts(&self, before_ms: i64) -> Result<(u64, u64), StoreError> {
        on_pool!(&self.write, pool => {
            let notifications = sqlx::query(
                "DELETE FROM alert_outbox WHERE status <> 'pending' AND created_ms < $1",
            )
            .bind(before_ms)
            .execute(pool)
            .await
            .context("pruning the alert outbox")?
            .rows_affected();
            let silences = sqlx::query("DELETE FROM silences WHERE ends_ms < $1")
                .bind(before_ms)
                .execute(pool)
                .await
                .context("pruning silences")?
                .rows_affected();
            Ok((notifications, silences))
        })
    }

    /// Every silence, newest first.
    pub async fn silences(&self) -> Result<Vec<Silence>, StoreError> {
        let rows: Vec<SilenceRow> = on_pool!(&self.read, pool => {
            sqlx::query_as(
                "SELECT id, kind, severity, recommendation_id, receiver, comment, created_by, \
                 starts_ms, ends_ms, created_ms FROM silences ORDER BY created_ms DESC, id",
            )
            .fetch_all(pool)
            .await
            .context("reading silences")?
        });
        Ok(rows
            .into_iter()
            .map(SilenceRow::decode)
            .collect::<Decoded<_>>()
            .kept())
    }

    /// Stores a new silence.
    pub async fn insert_silence(&self, silence: &Silence) -> Result<(), StoreError> {
        let m = &silence.matchers;
        on_pool!(&self.write, pool => {
            sqlx::query(
                "INSERT INTO silences (id, kind, severity, recommendation_id, receiver, comment, \
                 created_by, starts_ms, ends_ms, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&silence.id)
            .bind(m.kind.map(RecKind::as_str))
            .bind(m.severity.map(Severity::as_str))
            .bind(&m.recommendation_id)
            .bind(&m.receiver)
            .bind(&silence.comment)
            .bind(&silence.created_by)
            .bind(silence.starts_at)
            .bind(silence.ends_at)
            .bind(silence.created_at)
            .execute(pool)
            .await
            .map(|_| ())
            .context("saving a silence")
        })
    }

    /// Ends a silence at `now` (if it ends later). Returns whether it exists.
    pub async fn expire_silence(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        on_pool!(&self.write, pool => {
            sqlx::query("UPDATE silences SET ends_ms = CASE WHEN ends_ms > $2 THEN $2 ELSE ends_ms END WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.rows_affected() > 0)
                .context("expiring a silence")
        })
    }
}
