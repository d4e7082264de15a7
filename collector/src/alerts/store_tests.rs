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
