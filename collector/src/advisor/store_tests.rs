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
