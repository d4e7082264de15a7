//! The notification policy, pure (Alertmanager's semantics): per receiver,
//! the recommendations it routes are grouped by kind; a new group waits
//! `group_wait` before its first notification, a changed group (an alert
//! added, escalated or resolved) waits `group_interval` after the last one,
//! and an unchanged group still firing is repeated every `repeat_interval`.
//! Silenced alerts are left out; a receiver over `max_per_hour` waits.
//!
//! An alert *fires* while its recommendation is `open`. Acknowledged and
//! snoozed ones stop firing (no reminders) but stay notified, so that their
//! resolution is still announced.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::silence::Silence;
use super::{Alert, AlertStatus, Notification, Reason, ReceiverConfig};
use crate::advisor::Severity;
use crate::advisor::lifecycle::{Recommendation, State};

/// What is remembered of one (receiver, group) between decisions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupState {
    pub receiver: String,
    pub group_key: String,
    /// When the group, empty, first had a firing alert (its `group_wait` runs from here).
    pub pending_since: Option<i64>,
    /// When the group's last notification was decided.
    pub last_notified: Option<i64>,
    /// Recommendations announced as firing and not yet as resolved, with
    /// the severity they were announced at.
    pub notified: BTreeMap<String, Severity>,
}

/// Alertmanager's timers, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    pub group_wait: i64,
    pub group_interval: i64,
    pub repeat_interval: i64,
}

/// What one decision produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    /// Notifications to put in the outbox.
    pub notifications: Vec<Notification>,
    /// Group states that changed (to save with the notifications, atomically).
    pub groups: Vec<GroupState>,
    /// Receivers that had something to send but reached `max_per_hour`.
    pub rate_limited: Vec<String>,
}

/// Everything a decision reads.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub now: i64,
    pub receivers: &'a [ReceiverConfig],
    pub recommendations: &'a [Recommendation],
    pub silences: &'a [Silence],
    pub groups: &'a [GroupState],
    /// Notifications decided in the last hour, per receiver.
    pub sent_last_hour: &'a HashMap<String, u32>,
    pub timers: Timers,
    /// The dashboard's address, without a trailing slash.
    pub dashboard_url: &'a str,
}

/// The group of a recommendation.
pub fn group_key(rec: &Recommendation) -> String {
    format!("kind={}", rec.kind.as_str())
}

/// A notification id, stable for (receiver, group, time, reason).
fn notification_id(receiver: &str, group: &str, now: i64, reason: Reason) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let now = now.to_string();
    for part in [receiver, group, now.as_str(), reason.as_str()] {
        for byte in part.bytes().chain([0u8]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("ntf-{now}-{hash:016x}")
}

/// The link to a recommendation's page in the dashboard.
pub fn recommendation_url(dashboard_url: &str, id: &str) -> String {
    format!("{}/#/rec/{id}", dashboard_url.trim_end_matches('/'))
}

fn alert(rec: &Recommendation, status: AlertStatus, dashboard_url: &str) -> Alert {
    Alert {
        recommendation_id: rec.id.clone(),
        kind: rec.kind,
        severity: rec.severity,
        status,
        title: rec.title.clone(),
        summary: rec.summary.clone(),
        action: rec.action.clone(),
        confidence: rec.confidence,
        first_seen: rec.first_seen,
        resolved_at: match status {
            AlertStatus::Resolved => rec.resolved_at,
            AlertStatus::Firing => None,
        },
        url: recommendation_url(dashboard_url, &rec.id),
    }
}

/// Decides what to notify at `inputs.now`.
pub fn decide(inputs: &Inputs<'_>) -> Decision {
    let mut decision = Decision::default();
    let by_id: HashMap<&str, &Recommendation> = inputs
        .recommendations
        .iter()
        .map(|r| (r.id.as_str(), r))
        .collect();
    for receiver in inputs.receivers {
        let silenced = |rec: &Recommendation| {
            inputs
                .silences
                .iter()
                .any(|s| s.silences(inputs.now, &receiver.name, &rec.id, rec.kind, rec.severity))
        };
        // Firing alerts this receiver routes, by group.
        let mut firing: BTreeMap<String, Vec<&Recommendation>> = BTreeMap::new();
        for rec in inputs.recommendations {
            if rec.state == State::Open && receiver.routes(rec.kind, rec.severity) && !silenced(rec)
            {
                firing.entry(group_key(rec)).or_default().push(rec);
            }
        }
        let stored: BTreeMap<&str, &GroupState> = inputs
            .groups
            .iter()
            .filter(|g| g.receiver == receiver.name)
            .map(|g| (g.group_key.as_str(), g))
            .collect();
        let mut keys: Vec<String> = firing.keys().cloned().collect();
        keys.extend(stored.keys().map(|k| (*k).to_owned()));
        keys.sort();
        keys.dedup();
        let mut budget = receiver.max_per_hour.saturating_sub(
            inputs
                .sent_last_hour
                .get(&receiver.name)
                .copied()
                .unwrap_or(0),
        );
        for key in keys {
            let empty = GroupState {
                receiver: receiver.name.clone(),
                group_key: key.clone(),
                ..GroupState::default()
            };
            let group = stored.get(key.as_str()).copied().unwrap_or(&empty);
            let mut firing = firing.remove(&key).unwrap_or_default();
            firing.sort_by(|a, b| {
                b.severity
                    .cmp(&a.severity)
                    .then(a.first_seen.cmp(&b.first_seen))
                    .then(a.id.cmp(&b.id))
            });
            let Some(outcome) = decide_group(inputs, &by_id, group, &firing, &silenced) else {
                continue;
            };
            match outcome {
                GroupOutcome::State(state) => decision.groups.push(state),
                GroupOutcome::Notify(state, notification) => {
                    if budget == 0 {
                        if !decision.rate_limited.contains(&receiver.name) {
                            decision.rate_limited.push(receiver.name.clone());
                        }
                        // Keep the group waiting, but remember when it started.
                        if group.notified.is_empty() && group.pending_since.is_none() {
                            decision.groups.push(GroupState {
                                pending_since: Some(inputs.now),
                                ..group.clone()
                            });
                        }
                        continue;
                    }
                    budget -= 1;
                    decision.groups.push(state);
                    decision.notifications.push(*notification);
                }
            }
        }
    }
    decision
}

enum GroupOutcome {
    /// Only the group's state changes (its wait starts or ends).
    State(GroupState),
    /// A notification is due; the state after it.
    Notify(GroupState, Box<Notification>),
}

fn decide_group(
    inputs: &Inputs<'_>,
    by_id: &HashMap<&str, &Recommendation>,
    group: &GroupState,
    firing: &[&Recommendation],
    silenced: &dyn Fn(&Recommendation) -> bool,
) -> Option<GroupOutcome> {
    let now = inputs.now;
    let timers = inputs.timers;
    // Notified alerts that are now resolved (or gone) and not silenced.
    let resolved: Vec<&str> = group
        .notified
        .keys()
        .map(String::as_str)
        .filter(|id| match by_id.get(id) {
            Some(rec) => rec.state == State::Resolved && !silenced(rec),
            None => true,
        })
        .collect();
    let changed = !resolved.is_empty()
        || firing
            .iter()
            .any(|rec| group.notified.get(&rec.id) != Some(&rec.severity));

    let reason = if group.notified.is_empty() {
        // A new group: wait `group_wait` from its first firing alert.
        if firing.is_empty() {
            return (group.pending_since.is_some()).then(|| {
                GroupOutcome::State(GroupState {
                    pending_since: None,
                    ..group.clone()
                })
            });
        }
        let since = group.pending_since.unwrap_or(now);
        if now < since + timers.group_wait {
            return group.pending_since.is_none().then(|| {
                GroupOutcome::State(GroupState {
                    pending_since: Some(now),
                    ..group.clone()
                })
            });
        }
        Reason::New
    } else {
        let last = group.last_notified.unwrap_or(i64::MIN / 2);
        if changed && now >= last + timers.group_interval {
            if firing.is_empty() {
                Reason::Resolved
            } else {
                Reason::Changed
            }
        } else if !changed && !firing.is_empty() && now >= last + timers.repeat_interval {
            Reason::Repeat
        } else {
            return None;
        }
    };

    let mut alerts: Vec<Alert> = firing
        .iter()
        .map(|rec| alert(rec, AlertStatus::Firing, inputs.dashboard_url))
        .collect();
    alerts.extend(
        resolved
            .iter()
            .filter_map(|id| by_id.get(id))
            .map(|rec| alert(rec, AlertStatus::Resolved, inputs.dashboard_url)),
    );
    let mut notified: BTreeMap<String, Severity> = group
        .notified
        .iter()
        .filter(|(id, _)| !resolved.contains(&id.as_str()))
        .map(|(id, severity)| (id.clone(), *severity))
        .collect();
    for rec in firing {
        notified.insert(rec.id.clone(), rec.severity);
    }
    let state = GroupState {
        receiver: group.receiver.clone(),
        group_key: group.group_key.clone(),
        pending_since: None,
        last_notified: Some(now),
        notified,
    };
    if alerts.is_empty() {
        // Everything resolved was a recommendation no longer stored: forget it quietly.
        return Some(GroupOutcome::State(state));
    }
    let notification = Notification {
        id: notification_id(&group.receiver, &group.group_key, now, reason),
        receiver: group.receiver.clone(),
        group_key: group.group_key.clone(),
        status: if firing.is_empty() {
            AlertStatus::Resolved
        } else {
            AlertStatus::Firing
        },
        reason,
        created_at: now,
        alerts,
        dashboard_url: inputs.dashboard_url.to_owned(),
    };
    Some(GroupOutcome::Notify(state, Box::new(notification)))
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
