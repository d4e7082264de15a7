//! Tests of the advisor's tables on SQLite in a temp dir.

use std::collections::HashMap;

use super::lifecycle::{self, Action, Event, Recommendation, State};
use super::{Evidence, RecKind, Severity};
use crate::store::temp_sqlite;

#[tokio::test]
async fn a_pass_computed_before_an_acknowledgement_does_not_overwrite_it() {
    let (_dir, store) = temp_sqlite().await;
    let open = Recommendation {
        id: "cache-1".into(),
        kind: RecKind::Cache,
        key: "redis".into(),
        severity: Severity::Warning,
        title: "Low hit ratio".into(),
        summary: "s".into(),
        action: "a".into(),
        evidence: Evidence::default(),
        confidence: 0.5,
        state: State::Open,
        snoozed_until: None,
        first_seen: 1_000,
        last_seen: 1_000,
        resolved_at: None,
        seen_passes: 2,
        missed_passes: 0,
    };
    let opened = Event {
        recommendation_id: open.id.clone(),
        at: 1_000,
        state: State::Open,
        actor: "advisor".into(),
        note: String::new(),
    };
    let skipped = store
        .save_recommendations(std::slice::from_ref(&open), &[opened], &HashMap::new())
        .await
        .expect("save");
    assert!(skipped.is_empty());

    // A pass reads the recommendation while it is open…
    let read_by_pass = HashMap::from([(open.id.clone(), State::Open)]);
    // …someone acknowledges it meanwhile…
    let (acked, event) = lifecycle::act(&open, Action::Acknowledge, "ana", 2_000).expect("act");
    let skipped = store
        .save_recommendations(&[acked], &[event], &read_by_pass)
        .await
        .expect("save");
    assert!(skipped.is_empty(), "the action applies");
    // …and the pass then saves what it computed from the open state.
    let mut seen_again = open.clone();
    seen_again.last_seen = 3_000;
    let resolved = Event {
        recommendation_id: open.id.clone(),
        at: 3_000,
        state: State::Resolved,
        actor: "advisor".into(),
        note: "stale".into(),
    };
    let skipped = store
        .save_recommendations(&[seen_again], &[resolved], &read_by_pass)
        .await
        .expect("save");
    assert_eq!(skipped, vec![open.id.clone()]);

    let stored = store
        .recommendation(&open.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(stored.state, State::Acknowledged);
    let history = store.recommendation_events(&open.id).await.expect("events");
    let states: Vec<State> = history.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        vec![State::Open, State::Acknowledged],
        "the stale event is not written"
    );
}

/// An INSERT of a recommendation row as it might be stored, any value allowed.
fn raw_recommendation(id: &str, kind: &str, severity: &str, evidence: &str, state: &str) -> String {
    format!(
        "INSERT INTO recommendations (id, kind, key, severity, title, summary, action, evidence, \
         confidence, state, snoozed_until_ms, first_seen_ms, last_seen_ms, resolved_ms, seen_passes, \
         missed_passes) VALUES ('{id}', '{kind}', '{id}', '{severity}', 't', 's', 'a', '{evidence}', \
         0.5, '{state}', NULL, 1000, 1000, NULL, 3, 0)"
    )
}

#[tokio::test]
async fn a_recommendation_with_an_unknown_value_is_skipped_with_an_error_naming_it() {
    let (_dir, store) = temp_sqlite().await;
    let (_guard, log) = crate::store::rows::capture::start();
    for sql in [
        raw_recommendation(
            "good",
            "cache",
            "warning",
            "{\"facts\":[],\"series\":[]}",
            "open",
        ),
        raw_recommendation(
            "rec-bad-kind",
            "teleport",
            "warning",
            "{\"facts\":[],\"series\":[]}",
            "open",
        ),
        raw_recommendation(
            "rec-bad-severity",
            "cache",
            "dire",
            "{\"facts\":[],\"series\":[]}",
            "open",
        ),
        raw_recommendation(
            "rec-bad-state",
            "cache",
            "warning",
            "{\"facts\":[],\"series\":[]}",
            "archived",
        ),
        raw_recommendation("rec-bad-evidence", "index", "warning", "{", "resolved"),
    ] {
        store.execute_raw(&sql).await;
    }

    let decoded = store
        .decode_recommendations("SELECT * FROM recommendations ORDER BY id", None)
        .await
        .expect("reads");
    let ids: Vec<&str> = decoded.rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, vec!["good"]);
    let errors: Vec<String> = decoded.bad.iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        vec![
            "row rec-bad-evidence of table recommendations does not decode: evidence is not the expected JSON (EOF while parsing an object at line 1 column 1)",
            "row rec-bad-kind of table recommendations does not decode: kind has the unknown value \"teleport\"",
            "row rec-bad-severity of table recommendations does not decode: severity has the unknown value \"dire\"",
            "row rec-bad-state of table recommendations does not decode: state has the unknown value \"archived\"",
        ]
    );

    let listed: Vec<String> = store
        .recommendations()
        .await
        .expect("reads")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(listed, vec!["good".to_owned()], "never read as a default");
    assert_eq!(
        store.recommendation("rec-bad-state").await.expect("reads"),
        None
    );
    // The dispatcher's read leaves the evidence out, so only that row stays.
    let for_alerts: Vec<String> = store
        .recommendations_without_evidence()
        .await
        .expect("reads")
        .into_iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        for_alerts,
        vec!["good".to_owned(), "rec-bad-evidence".to_owned()]
    );
    assert_eq!(
        store.open_counts().await.expect("counts"),
        vec![(RecKind::Cache, Severity::Warning, 1)]
    );
    for id in [
        "rec-bad-kind",
        "rec-bad-severity",
        "rec-bad-state",
        "rec-bad-evidence",
    ] {
        let lines = log.lines_with(&format!("row={id} "));
        assert_eq!(lines.len(), 1, "{id} logged once: {lines:?}");
        assert!(
            lines[0].contains(" WARN ") && lines[0].contains("table=\"recommendations\""),
            "{lines:?}"
        );
    }
}

#[tokio::test]
async fn an_event_with_an_unknown_state_is_skipped() {
    let (_dir, store) = temp_sqlite().await;
    store
        .execute_raw(
            "INSERT INTO recommendation_events (recommendation_id, at_ms, state, actor, note) VALUES \
             ('ev-rec', 1, 'open', 'advisor', ''), ('ev-rec', 2, 'archived', 'ana', '')",
        )
        .await;
    let states: Vec<State> = store
        .recommendation_events("ev-rec")
        .await
        .expect("reads")
        .into_iter()
        .map(|e| e.state)
        .collect();
    assert_eq!(states, vec![State::Open]);
}

#[tokio::test]
async fn a_headroom_entry_that_is_not_json_is_skipped() {
    let (_dir, store) = temp_sqlite().await;
    store
        .execute_raw(
            "INSERT INTO headroom (resource, data, updated_ms) VALUES \
             ('cpu', '{\"resource\":\"cpu\"}', 5), ('disk', '{', 5)",
        )
        .await;
    let table = store.headroom().await.expect("reads");
    assert_eq!(table, vec![(serde_json::json!({"resource": "cpu"}), 5)]);
}
