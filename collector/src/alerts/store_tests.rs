//! Tests of the alerts' tables on SQLite in a temp dir.

use super::outbox::{DeliveryStatus, DeliveryUpdate};
use super::silence::{Matchers, Silence};
use super::{AlertStatus, Notification, Reason};
use crate::store::temp_sqlite;

#[tokio::test]
async fn pruning_the_alert_log_keeps_pending_notifications_and_recent_rows() {
    let (_dir, store) = temp_sqlite().await;
    let notification = |id: &str, at: i64| Notification {
        id: id.into(),
        receiver: "ops".into(),
        group_key: "kind=index".into(),
        status: AlertStatus::Firing,
        reason: Reason::New,
        created_at: at,
        alerts: Vec::new(),
        dashboard_url: "http://127.0.0.1:8080".into(),
    };
    let old = [
        notification("old-pending", 1_000),
        notification("old-sent", 2_000),
    ];
    let recent = [notification("recent", 9_000)];
    store
        .record_decision(&[], &[old[0].clone(), old[1].clone(), recent[0].clone()])
        .await
        .expect("record");
    let sent = DeliveryUpdate {
        status: DeliveryStatus::Delivered,
        attempts: 1,
        next_attempt_at: 2_000,
        last_attempt_at: 2_000,
        delivered_at: Some(2_000),
        last_status: Some(200),
        last_error: String::new(),
        platform_ref: None,
    };
    store
        .update_delivery("old-sent", &sent)
        .await
        .expect("update");
    store
        .update_delivery("recent", &sent)
        .await
        .expect("update");
    for (id, ends) in [("ended", 3_000), ("running", 20_000)] {
        store
            .insert_silence(&Silence {
                id: id.into(),
                matchers: Matchers {
                    receiver: Some("ops".into()),
                    ..Matchers::default()
                },
                comment: "c".into(),
                created_by: "t".into(),
                starts_at: 0,
                ends_at: ends,
                created_at: 0,
            })
            .await
            .expect("silence");
    }
    assert_eq!(store.prune_alerts(5_000).await.expect("prune"), (1, 1));
    let mut left: Vec<String> = store
        .deliveries(None, None, 10)
        .await
        .expect("deliveries")
        .into_iter()
        .map(|d| d.id)
        .collect();
    left.sort();
    assert_eq!(left, vec!["old-pending".to_owned(), "recent".to_owned()]);
    let silences: Vec<String> = store
        .silences()
        .await
        .expect("silences")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(silences, vec!["running".to_owned()]);
}

/// Dispatcher settings with one webhook receiver, `ops`, and no group wait.
fn settings() -> crate::alerts::dispatch::Settings {
    use super::config::{ReceiverConfig, ReceiverType, Secret};
    use super::policy::Timers;
    use super::retry::RetryPolicy;
    use crate::advisor::Severity;
    crate::alerts::dispatch::Settings {
        receivers: vec![ReceiverConfig {
            name: "ops".into(),
            kind: ReceiverType::Webhook,
            url: Secret::new("http://127.0.0.1:9/hook"),
            secret: Secret::new("0123456789abcdef"),
            min_severity: Severity::Info,
            kinds: Vec::new(),
            max_per_hour: 30,
        }],
        timers: Timers {
            group_wait: 0,
            group_interval: 300_000,
            repeat_interval: 4 * 3_600_000,
        },
        retry: RetryPolicy {
            backoff: 1_000,
            max_backoff: 60_000,
            give_up_after: 3_600_000,
        },
        timeout: std::time::Duration::from_secs(2),
        dashboard_url: "http://127.0.0.1:8080".into(),
    }
}

/// An INSERT of an open recommendation row with `state` as stored.
fn raw_recommendation(id: &str, state: &str) -> String {
    format!(
        "INSERT INTO recommendations (id, kind, key, severity, title, summary, action, evidence, \
         confidence, state, snoozed_until_ms, first_seen_ms, last_seen_ms, resolved_ms, seen_passes, \
         missed_passes) VALUES ('{id}', 'cache', '{id}', 'critical', 't', 's', 'a', \
         '{{\"facts\":[],\"series\":[]}}', 0.9, '{state}', NULL, 1000, 1000, NULL, 3, 0)"
    )
}

/// The ids in the outbox, sorted.
async fn outbox_ids(store: &crate::store::Store) -> Vec<String> {
    let mut ids: Vec<String> = store
        .deliveries(None, None, 100)
        .await
        .expect("deliveries")
        .into_iter()
        .map(|d| d.id)
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_recommendation_with_an_unknown_state_pages_nobody() {
    let (_dir, store) = temp_sqlite().await;
    let (_guard, log) = crate::store::rows::capture::start();
    store
        .execute_raw(&raw_recommendation("dispatch-bad-state", "archived"))
        .await;
    let mut limited = std::collections::HashMap::new();
    let added = super::dispatch::dispatch_once(&store, &settings(), 10_000, &mut limited)
        .await
        .expect("dispatches");
    assert_eq!(added, 0, "read as open, it would page");
    assert!(outbox_ids(&store).await.is_empty());
    assert_eq!(log.lines_with("row=dispatch-bad-state ").len(), 1);

    // The same row with a known state does page: the test can see one.
    store
        .execute_raw(&raw_recommendation("dispatch-good", "open"))
        .await;
    let added = super::dispatch::dispatch_once(&store, &settings(), 11_000, &mut limited)
        .await
        .expect("dispatches");
    assert_eq!(added, 1);
}

#[tokio::test]
async fn an_outbox_row_that_does_not_decode_is_skipped_and_never_sent() {
    let (_dir, store) = temp_sqlite().await;
    let (_guard, log) = crate::store::rows::capture::start();
    let good = Notification {
        id: "outbox-good".into(),
        receiver: "ops".into(),
        group_key: "kind=cache".into(),
        status: AlertStatus::Firing,
        reason: Reason::New,
        created_at: 1_000,
        alerts: Vec::new(),
        dashboard_url: "http://127.0.0.1:8080".into(),
    };
    store.record_decision(&[], &[good]).await.expect("record");
    let body = "{\"id\":\"x\",\"receiver\":\"ops\",\"group_key\":\"g\",\"status\":\"firing\",\"reason\":\"new\",\"created_at\":1,\"alerts\":[],\"dashboard_url\":\"d\"}";
    store
        .execute_raw(&format!(
            "INSERT INTO alert_outbox (id, receiver, group_key, reason, created_ms, notification, status, \
             attempts, next_attempt_ms, last_error) VALUES \
             ('outbox-bounced', 'ops', 'g1', 'new', 1000, '{body}', 'bounced', 1, 0, ''), \
             ('outbox-garbled', 'ops', 'g2', 'new', 1000, '{{', 'pending', 0, 0, '')"
        ))
        .await;

    assert_eq!(outbox_ids(&store).await, vec!["outbox-good".to_owned()]);
    let pending: Vec<String> = store
        .pending_deliveries()
        .await
        .expect("pending")
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(pending, vec!["outbox-good".to_owned()]);
    // Counts read the status alone: the garbled row's is a known one.
    assert_eq!(
        store.delivery_counts().await.expect("counts"),
        vec![("ops".to_owned(), DeliveryStatus::Pending, 2)]
    );
    for (id, column) in [
        ("outbox-bounced", "status"),
        ("outbox-garbled", "notification"),
    ] {
        let lines = log.lines_with(&format!("row={id} "));
        assert_eq!(lines.len(), 1, "{id} logged once: {lines:?}");
        assert!(
            lines[0].contains(" WARN ")
                && lines[0].contains("table=\"alert_outbox\"")
                && lines[0].contains(&format!("does not decode: {column}")),
            "{lines:?}"
        );
    }

    // The good notification goes out; the two bad rows are never attempted.
    let sent = DeliveryUpdate {
        status: DeliveryStatus::Delivered,
        attempts: 1,
        next_attempt_at: 2_000,
        last_attempt_at: 2_000,
        delivered_at: Some(2_000),
        last_status: Some(200),
        last_error: String::new(),
        platform_ref: None,
    };
    store
        .update_delivery("outbox-good", &sent)
        .await
        .expect("update");
    let client = super::deliver::client(std::time::Duration::from_secs(2)).expect("client");
    let attempts = super::deliver::deliver_due(
        &store,
        &client,
        &std::collections::HashMap::new(),
        &settings().retry,
    )
    .await
    .expect("a pass runs despite the bad rows");
    assert_eq!(attempts, 0, "nothing is sent again");
}

#[tokio::test]
async fn a_group_whose_state_does_not_decode_is_not_notified_again() {
    let (_dir, store) = temp_sqlite().await;
    store
        .execute_raw(&raw_recommendation("group-rec", "open"))
        .await;
    let rec = store
        .recommendation("group-rec")
        .await
        .expect("reads")
        .expect("exists");
    let group_key = super::policy::group_key(&rec);
    store
        .execute_raw(&format!(
            "INSERT INTO alert_groups (receiver, group_key, pending_since_ms, last_notified_ms, notified) \
             VALUES ('ops', '{group_key}', 1000, 1000, '{{\"group-rec\": \"catastrophic\"}}')"
        ))
        .await;
    let groups = store.alert_groups().await.expect("reads");
    assert!(groups.groups.is_empty());
    assert_eq!(groups.unreadable, vec![("ops".to_owned(), group_key)]);
    let mut limited = std::collections::HashMap::new();
    let added = super::dispatch::dispatch_once(&store, &settings(), 10_000, &mut limited)
        .await
        .expect("dispatches");
    assert_eq!(
        added, 0,
        "with no state the group would look new and page again"
    );
    assert!(outbox_ids(&store).await.is_empty());
}

#[tokio::test]
async fn a_silence_with_an_unknown_kind_is_skipped_not_read_as_any_kind() {
    let (_dir, store) = temp_sqlite().await;
    store
        .execute_raw(
            "INSERT INTO silences (id, kind, severity, recommendation_id, receiver, comment, created_by, \
             starts_ms, ends_ms, created_ms) VALUES \
             ('silence-bad-kind', 'teleport', NULL, NULL, NULL, 'c', 't', 0, 99000, 0), \
             ('silence-any', NULL, 'warning', NULL, 'ops', 'c', 't', 0, 99000, 1)",
        )
        .await;
    let ids: Vec<String> = store
        .silences()
        .await
        .expect("reads")
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(ids, vec!["silence-any".to_owned()]);
}
