//! The policy's timers, grouping, dedup, silences and rate limit.

use std::collections::HashMap;

use super::*;
use crate::advisor::{Evidence, RecKind};
use crate::alerts::config::{ReceiverType, Secret};
use crate::alerts::silence::Matchers;

const TIMERS: Timers = Timers {
    group_wait: 30_000,
    group_interval: 300_000,
    repeat_interval: 4 * 3_600_000,
};

fn receiver(name: &str) -> ReceiverConfig {
    ReceiverConfig {
        name: name.into(),
        kind: ReceiverType::Webhook,
        url: Secret::new("http://127.0.0.1:9/hook"),
        secret: Secret::new("0123456789abcdef"),
        min_severity: Severity::Warning,
        kinds: Vec::new(),
        max_per_hour: 30,
    }
}

fn rec(id: &str, kind: RecKind, severity: Severity, state: State) -> Recommendation {
    Recommendation {
        id: id.into(),
        kind,
        key: id.into(),
        severity,
        title: format!("title of {id}"),
        summary: "summary".into(),
        action: String::new(),
        evidence: Evidence::default(),
        confidence: 0.8,
        state,
        snoozed_until: None,
        first_seen: 0,
        last_seen: 0,
        resolved_at: (state == State::Resolved).then_some(1),
        seen_passes: 3,
        missed_passes: 0,
    }
}

/// Runs the policy over time, keeping group states as the store would.
struct World {
    receivers: Vec<ReceiverConfig>,
    recs: Vec<Recommendation>,
    silences: Vec<Silence>,
    groups: Vec<GroupState>,
    sent: Vec<Notification>,
}

impl World {
    fn new(recs: Vec<Recommendation>) -> Self {
        Self {
            receivers: vec![receiver("ops")],
            recs,
            silences: Vec::new(),
            groups: Vec::new(),
            sent: Vec::new(),
        }
    }

    /// One decision at `now`; returns the notifications it made.
    fn tick(&mut self, now: i64) -> Vec<Notification> {
        let mut sent_last_hour: HashMap<String, u32> = HashMap::new();
        for n in self.sent.iter().filter(|n| n.created_at >= now - 3_600_000) {
            *sent_last_hour.entry(n.receiver.clone()).or_default() += 1;
        }
        let decision = decide(&Inputs {
            now,
            receivers: &self.receivers,
            recommendations: &self.recs,
            silences: &self.silences,
            groups: &self.groups,
            sent_last_hour: &sent_last_hour,
            timers: TIMERS,
            dashboard_url: "http://dash",
        });
        for group in decision.groups {
            self.groups
                .retain(|g| !(g.receiver == group.receiver && g.group_key == group.group_key));
            self.groups.push(group);
        }
        self.sent.extend(decision.notifications.iter().cloned());
        decision.notifications
    }

    /// Every notification from `from` to `to` (inclusive), ticking each second.
    fn run(&mut self, from: i64, to: i64) -> Vec<Notification> {
        (from..=to)
            .step_by(1_000)
            .flat_map(|now| self.tick(now))
            .collect()
    }

    fn set_state(&mut self, id: &str, state: State) {
        for rec in self.recs.iter_mut().filter(|r| r.id == id) {
            rec.state = state;
            rec.resolved_at = (state == State::Resolved).then_some(99);
        }
    }
}

fn ids(n: &Notification) -> Vec<(&str, AlertStatus)> {
    n.alerts
        .iter()
        .map(|a| (a.recommendation_id.as_str(), a.status))
        .collect()
}

#[test]
fn a_new_group_waits_group_wait_then_sends_its_alerts_together_once() {
    let mut world = World::new(vec![
        rec("i1", RecKind::Index, Severity::Warning, State::Open),
        rec("i2", RecKind::Index, Severity::Critical, State::Open),
    ]);
    assert!(world.run(0, 29_000).is_empty(), "group_wait not over");
    let sent = world.run(30_000, 600_000);
    assert_eq!(sent.len(), 1, "one notification, no duplicate: {sent:?}");
    let n = &sent[0];
    assert_eq!(n.reason, Reason::New);
    assert_eq!(n.created_at, 30_000);
    assert_eq!(n.group_key, "kind=index");
    assert_eq!(
        ids(n),
        vec![("i2", AlertStatus::Firing), ("i1", AlertStatus::Firing)],
        "most severe first"
    );
    assert_eq!(n.alerts[0].url, "http://dash/#/rec/i2");
}

#[test]
fn an_unchanged_firing_group_is_repeated_every_repeat_interval() {
    let mut world = World::new(vec![rec(
        "c1",
        RecKind::Cache,
        Severity::Warning,
        State::Open,
    )]);
    world.tick(0);
    let first = world.tick(30_000);
    assert_eq!(first.len(), 1);
    assert!(world.tick(30_000 + TIMERS.repeat_interval - 1).is_empty());
    let repeat = world.tick(30_000 + TIMERS.repeat_interval);
    assert_eq!(repeat.len(), 1);
    assert_eq!(repeat[0].reason, Reason::Repeat);
    assert_ne!(repeat[0].id, first[0].id, "a repeat is a new notification");
}

#[test]
fn a_new_alert_in_a_notified_group_waits_group_interval() {
    let mut world = World::new(vec![rec(
        "i1",
        RecKind::Index,
        Severity::Warning,
        State::Open,
    )]);
    world.run(0, 30_000);
    world
        .recs
        .push(rec("i2", RecKind::Index, Severity::Warning, State::Open));
    assert!(
        world.run(31_000, 329_000).is_empty(),
        "within group_interval"
    );
    let changed = world.tick(330_000);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].reason, Reason::Changed);
    assert_eq!(changed[0].alerts.len(), 2, "the whole group is sent");
}

#[test]
fn an_escalation_is_a_change() {
    let mut world = World::new(vec![rec(
        "d1",
        RecKind::Database,
        Severity::Warning,
        State::Open,
    )]);
    world.run(0, 30_000);
    world.recs[0].severity = Severity::Critical;
    let sent = world.run(31_000, 330_000);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].reason, Reason::Changed);
    assert_eq!(sent[0].severity(), Severity::Critical);
}

#[test]
fn resolving_sends_a_resolved_notification_and_the_group_starts_over() {
    let mut world = World::new(vec![rec(
        "i1",
        RecKind::Index,
        Severity::Warning,
        State::Open,
    )]);
    world.run(0, 30_000);
    world.set_state("i1", State::Resolved);
    let sent = world.run(31_000, 400_000);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].reason, Reason::Resolved);
    assert_eq!(sent[0].status, AlertStatus::Resolved);
    assert_eq!(ids(&sent[0]), vec![("i1", AlertStatus::Resolved)]);
    assert_eq!(sent[0].alerts[0].resolved_at, Some(99));
    // Firing again: a new group, which waits group_wait again.
    world.set_state("i1", State::Open);
    assert!(world.run(401_000, 430_000).is_empty());
    let again = world.tick(431_000);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].reason, Reason::New);
}

#[test]
fn routing_follows_min_severity_and_kinds() {
    let mut world = World::new(vec![
        rec("info", RecKind::Index, Severity::Info, State::Open),
        rec("cdn", RecKind::Cdn, Severity::Critical, State::Open),
        rec("idx", RecKind::Index, Severity::Warning, State::Open),
    ]);
    world.receivers[0].kinds = vec![RecKind::Index];
    let sent = world.run(0, 60_000);
    assert_eq!(sent.len(), 1);
    assert_eq!(ids(&sent[0]), vec![("idx", AlertStatus::Firing)]);
}

#[test]
fn each_receiver_has_its_own_groups() {
    let mut world = World::new(vec![rec(
        "i1",
        RecKind::Index,
        Severity::Critical,
        State::Open,
    )]);
    world.receivers.push(receiver("chat"));
    let sent = world.run(0, 60_000);
    let mut receivers: Vec<&str> = sent.iter().map(|n| n.receiver.as_str()).collect();
    receivers.sort();
    assert_eq!(receivers, vec!["chat", "ops"]);
}

#[test]
fn a_silence_suppresses_matching_alerts_until_it_expires() {
    let mut world = World::new(vec![
        rec("i1", RecKind::Index, Severity::Warning, State::Open),
        rec("c1", RecKind::Cache, Severity::Warning, State::Open),
    ]);
    world.silences.push(Silence {
        id: "s".into(),
        matchers: Matchers {
            kind: Some(RecKind::Index),
            ..Matchers::default()
        },
        comment: "known".into(),
        created_by: "ana".into(),
        starts_at: 0,
        ends_at: 120_000,
        created_at: 0,
    });
    let during = world.run(0, 119_000);
    assert_eq!(during.len(), 1);
    assert_eq!(during[0].group_key, "kind=cache");
    let after = world.run(120_000, 200_000);
    assert_eq!(after.len(), 1, "{after:?}");
    assert_eq!(after[0].group_key, "kind=index");
    assert_eq!(after[0].created_at, 150_000, "group_wait from the expiry");
}

#[test]
fn acknowledged_alerts_get_no_reminders_but_their_resolution_is_sent() {
    let mut world = World::new(vec![rec(
        "a1",
        RecKind::App,
        Severity::Warning,
        State::Open,
    )]);
    world.run(0, 30_000);
    world.set_state("a1", State::Acknowledged);
    assert!(
        world
            .run(31_000, 31_000 + TIMERS.repeat_interval)
            .is_empty()
    );
    world.set_state("a1", State::Resolved);
    let sent = world.tick(40_000 + TIMERS.repeat_interval);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].reason, Reason::Resolved);
}

#[test]
fn a_receiver_over_max_per_hour_waits_without_losing_anything() {
    let mut world = World::new(vec![
        rec("i1", RecKind::Index, Severity::Warning, State::Open),
        rec("c1", RecKind::Cache, Severity::Warning, State::Open),
    ]);
    world.receivers[0].max_per_hour = 1;
    let sent = world.run(0, 60_000);
    assert_eq!(sent.len(), 1, "one per hour");
    let decision_limited = {
        let sent_last_hour = HashMap::from([("ops".to_owned(), 1)]);
        decide(&Inputs {
            now: 61_000,
            receivers: &world.receivers,
            recommendations: &world.recs,
            silences: &[],
            groups: &world.groups,
            sent_last_hour: &sent_last_hour,
            timers: TIMERS,
            dashboard_url: "http://dash",
        })
    };
    assert_eq!(decision_limited.rate_limited, vec!["ops".to_owned()]);
    let later = world.run(3_631_000, 3_700_000);
    assert_eq!(later.len(), 1, "sent once the hour has passed");
    assert_ne!(later[0].group_key, sent[0].group_key);
}

#[test]
fn nothing_is_sent_for_pending_or_snoozed_recommendations() {
    let mut world = World::new(vec![
        rec("p", RecKind::Index, Severity::Critical, State::Pending),
        rec("s", RecKind::Cache, Severity::Critical, State::Snoozed),
        rec("r", RecKind::Cdn, Severity::Critical, State::Resolved),
    ]);
    assert!(world.run(0, 100_000).is_empty());
}
