//! The dispatcher: every tick, reads the recommendations, silences and group
//! states, runs the policy and writes its notifications and group states to
//! the store in one transaction, then wakes the deliverer. Because the group
//! states are stored with the notifications, a restart neither repeats nor
//! forgets a notification.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::policy::{self, Inputs, Timers};
use super::retry::RetryPolicy;
use super::throttle::warn_throttle;
use super::{AlertingConfig, ReceiverConfig, deliver};
use crate::store::{Store, StoreError, now_ms};

/// How often the dispatcher decides and the deliverer looks for due retries.
pub const TICK: Duration = Duration::from_millis(500);

/// How long delivered and failed notifications, and ended silences, are
/// kept (the notification log; the staffing rule reads its last week).
pub const KEEP_MS: i64 = 30 * 86_400_000;

/// How often the dispatcher prunes what is older than [`KEEP_MS`].
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Everything the dispatcher needs, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub receivers: Vec<ReceiverConfig>,
    pub timers: Timers,
    pub retry: RetryPolicy,
    pub timeout: Duration,
    pub dashboard_url: String,
}

impl Settings {
    /// From `[[alerts]]` and `[alerting]`.
    pub fn new(
        receivers: &[ReceiverConfig],
        alerting: &AlertingConfig,
        dashboard_url: String,
    ) -> Self {
        let ms = |d: &headroom_proto::config::HumanDuration| d.0.as_millis() as i64;
        Self {
            receivers: receivers.to_vec(),
            timers: Timers {
                group_wait: ms(&alerting.group_wait),
                group_interval: ms(&alerting.group_interval),
                repeat_interval: ms(&alerting.repeat_interval),
            },
            retry: RetryPolicy {
                backoff: ms(&alerting.retry_backoff),
                max_backoff: ms(&alerting.retry_max_backoff),
                give_up_after: ms(&alerting.give_up_after),
            },
            timeout: alerting.timeout.0,
            dashboard_url,
        }
    }
}

/// One decision at `now`: returns how many notifications it added.
pub async fn dispatch_once(
    store: &Store,
    settings: &Settings,
    now: i64,
    rate_limited: &mut HashMap<String, i64>,
) -> Result<usize, StoreError> {
    let recommendations = store.recommendations_without_evidence().await?;
    let mut silences = store.silences().await?;
    silences.retain(|s| s.state(now) != "expired");
    let groups = store.alert_groups().await?;
    let unreadable = &groups.unreadable;
    let sent_last_hour = store.notifications_since(now - 3_600_000).await?;
    let mut decision = policy::decide(&Inputs {
        now,
        receivers: &settings.receivers,
        recommendations: &recommendations,
        silences: &silences,
        groups: &groups.groups,
        sent_last_hour: &sent_last_hour,
        timers: settings.timers,
        dashboard_url: &settings.dashboard_url,
    });
    // A group whose stored state does not decode would look new and
    // notify again: nothing is decided for it until its row is fixed.
    let held = |receiver: &str, group_key: &str| {
        unreadable
            .iter()
            .any(|(r, g)| r == receiver && g == group_key)
    };
    decision.groups.retain(|g| !held(&g.receiver, &g.group_key));
    decision
        .notifications
        .retain(|n| !held(&n.receiver, &n.group_key));
    store
        .record_decision(&decision.groups, &decision.notifications)
        .await?;
    for notification in &decision.notifications {
        tracing::info!(
            receiver = %notification.receiver,
            notification = %notification.id,
            group = %notification.group_key,
            reason = notification.reason.as_str(),
            alerts = notification.alerts.len(),
            "alert notification decided"
        );
    }
    for receiver in decision.rate_limited {
        // Say it once per hour per receiver, not every tick.
        let last = rate_limited.entry(receiver.clone()).or_insert(i64::MIN);
        if now - *last >= 3_600_000 {
            *last = now;
            tracing::warn!(receiver = %receiver, "receiver reached max_per_hour; its notifications wait");
        }
    }
    Ok(decision.notifications.len())
}

/// Starts the dispatcher and the deliverer; both run until aborted. Does
/// nothing without receivers.
pub fn spawn(
    store: Store,
    settings: Settings,
) -> Result<Vec<tokio::task::JoinHandle<()>>, deliver::ClientError> {
    if settings.receivers.is_empty() {
        return Ok(Vec::new());
    }
    let client = deliver::client(settings.timeout)?;
    let wake = Arc::new(tokio::sync::Notify::new());
    let receivers: HashMap<String, ReceiverConfig> = settings
        .receivers
        .iter()
        .map(|r| (r.name.clone(), r.clone()))
        .collect();
    let deliverer = tokio::spawn(deliver::run(
        store.clone(),
        client,
        Arc::new(receivers),
        settings.retry,
        Arc::clone(&wake),
        TICK,
    ));
    let dispatcher = tokio::spawn(async move {
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut rate_limited = HashMap::new();
        let mut throttle = warn_throttle();
        let mut pruned: Option<std::time::Instant> = None;
        loop {
            ticker.tick().await;
            if pruned.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                pruned = Some(std::time::Instant::now());
                match store.prune_alerts(now_ms() - KEEP_MS).await {
                    Ok((0, 0)) => {}
                    Ok((notifications, silences)) => tracing::info!(
                        notifications,
                        silences,
                        "alert log pruned (older than 30 days)"
                    ),
                    Err(error) => tracing::warn!(error = %error, "pruning the alert log failed"),
                }
            }
            match dispatch_once(&store, &settings, now_ms(), &mut rate_limited).await {
                Ok(added) => {
                    throttle.succeeded();
                    if added > 0 {
                        wake.notify_one();
                    }
                }
                Err(error) => {
                    if let Some(suppressed) = throttle.failed() {
                        tracing::warn!(error = %error, suppressed, "alert dispatch failed; retrying every tick");
                    }
                }
            }
        }
    });
    Ok(vec![dispatcher, deliverer])
}
