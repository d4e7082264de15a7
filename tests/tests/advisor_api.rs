//! The advisor's HTTP API against a real collector: with no agent at all,
//! the first passes open the honest "not enough data yet" advice; it can be
//! listed and filtered, read with its history, acknowledged, snoozed and
//! resolved (each recorded with who and when, surviving a restart); bad
//! parameters and impossible actions get precise JSON errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use headroom_tests::{Collector, CollectorOptions, PgDatabase, wait_for};
use serde_json::{Value, json};

async fn list(collector: &Collector, query: &str) -> Value {
    let (status, body) = collector
        .get(&format!("/api/v1/recommendations{query}"))
        .await;
    assert_eq!(status, 200, "{query}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn recommendations_can_be_listed_read_and_acted_on_and_bad_requests_are_refused() {
    listed_read_and_acted_on(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn recommendations_can_be_listed_read_and_acted_on_on_postgresql() {
    let database = PgDatabase::create();
    listed_read_and_acted_on(Some(database.url.clone())).await;
}

/// The whole scenario on SQLite (`None`) or the PostgreSQL at `database_url`.
async fn listed_read_and_acted_on(database_url: Option<String>) {
    let mut collector = Collector::start(CollectorOptions {
        analysis_interval: Some("1s".into()),
        extra_toml: "[advisor]\nopen_after = 2\n".into(),
        database_url,
        ..CollectorOptions::default()
    })
    .await;

    let rec = wait_for(
        Duration::from_secs(30),
        "the not-enough-data advice",
        || async {
            list(&collector, "?kind=none").await["recommendations"]
                .as_array()?
                .first()
                .cloned()
        },
    )
    .await;
    assert_eq!(rec["title"], "Not enough data yet", "{rec}");
    assert_eq!(rec["state"], "open");
    assert_eq!(rec["severity"], "info");
    assert!(rec["confidence"].as_f64().is_some());
    assert!(rec["first_seen"].as_i64().unwrap() <= rec["last_seen"].as_i64().unwrap());
    let id = rec["id"].as_str().unwrap().to_owned();

    assert_eq!(list(&collector, "?kind=index").await["total"], 0);
    assert_eq!(
        list(&collector, "?severity=info&state=open").await["total"],
        1
    );
    assert_eq!(
        list(&collector, "?limit=1&offset=1").await["recommendations"],
        json!([])
    );
    for bad in [
        "?kind=indexes",
        "?severity=high",
        "?state=closed",
        "?limit=0",
        "?limit=x",
        "?sort=1",
    ] {
        let (status, body) = collector
            .get(&format!("/api/v1/recommendations{bad}"))
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["error"]["message"].as_str().unwrap().len() > 10,
            "{body}"
        );
    }
    let (status, body) = collector.get("/api/v1/recommendations/none-0000").await;
    assert_eq!(
        (status, body["error"]["status"].as_u64()),
        (404, Some(404)),
        "{body}"
    );

    let (status, acked) = collector
        .post(
            &format!("/api/v1/recommendations/{id}/acknowledge"),
            &json!({"by": "ana"}),
        )
        .await;
    assert_eq!(status, 200, "{acked}");
    assert_eq!(acked["state"], "acknowledged");
    let (status, body) = collector
        .post(
            &format!("/api/v1/recommendations/{id}/snooze"),
            &json!({"by": "ana"}),
        )
        .await;
    assert_eq!(status, 400, "snooze needs until: {body}");
    let (status, body) = collector
        .post(&format!("/api/v1/recommendations/{id}/shelve"), &json!({}))
        .await;
    assert_eq!(status, 404, "{body}");

    // The acknowledgement survives a restart and further passes.
    collector.stop();
    collector.restart().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (status, detail) = collector
        .get(&format!("/api/v1/recommendations/{id}"))
        .await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["state"], "acknowledged", "{detail}");
    let history = detail["history"].as_array().unwrap();
    assert_eq!(history.len(), 2, "{detail}");
    assert_eq!(
        (history[0]["state"].as_str(), history[0]["actor"].as_str()),
        (Some("open"), Some("advisor"))
    );
    assert_eq!(
        (history[1]["state"].as_str(), history[1]["actor"].as_str()),
        (Some("acknowledged"), Some("ana"))
    );

    let until = chrono_like_in_an_hour();
    let (status, snoozed) = collector
        .post(
            &format!("/api/v1/recommendations/{id}/snooze"),
            &json!({"by": "bo", "until": until}),
        )
        .await;
    assert_eq!(status, 200, "{snoozed}");
    assert_eq!(snoozed["state"], "snoozed");
    assert!(snoozed["snoozed_until"].as_i64().unwrap() > 0, "{snoozed}");

    let (status, resolved) = collector
        .post(
            &format!("/api/v1/recommendations/{id}/resolve"),
            &json!({"by": "bo"}),
        )
        .await;
    assert_eq!(
        (status, resolved["state"].as_str()),
        (200, Some("resolved")),
        "{resolved}"
    );
    let (status, body) = collector
        .post(
            &format!("/api/v1/recommendations/{id}/resolve"),
            &json!({"by": "bo"}),
        )
        .await;
    assert_eq!(status, 409, "resolving twice: {body}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        list(&collector, "?kind=none&state=resolved").await["total"],
        1,
        "resolved by hand stays resolved while the evidence continues"
    );

    let (status, headroom) = collector.get("/api/v1/headroom").await;
    assert_eq!(status, 200, "{headroom}");
    assert_eq!(
        headroom["headroom"],
        json!([]),
        "no resource is measured: {headroom}"
    );
}

/// Unix milliseconds an hour from now, as a string (the API takes both).
fn chrono_like_in_an_hour() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    (now + 3_600_000).to_string()
}
