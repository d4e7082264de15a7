//! Strict decoding end to end: rows the collector would never write (an
//! unknown recommendation state or kind, an unknown delivery status, a
//! silence of an unknown kind) are put straight into the real collector's
//! store, on SQLite and on PostgreSQL. The collector skips each, logs a
//! WARN naming its table and row, and sends nothing on their account; the
//! good recommendation beside them is delivered once, alone.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use headroom_tests::receiver::Receiver;
use headroom_tests::{Collector, CollectorOptions, PgDatabase};
use sqlx::Connection;

const WAIT: Duration = Duration::from_secs(20);

/// Runs `sql` on the collector's store at `url`, as it is.
async fn raw(url: &str, sql: &str) {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if url.starts_with("sqlite:") {
        let mut db = sqlx::SqliteConnection::connect(url).await.expect("sqlite");
        sqlx::raw_sql(sql).execute(&mut db).await.expect("raw SQL");
    } else {
        let mut db = sqlx::PgConnection::connect(url).await.expect("postgres");
        sqlx::raw_sql(sql).execute(&mut db).await.expect("raw SQL");
    }
}

fn recommendation(id: &str, kind: &str, state: &str, now: i64) -> String {
    format!(
        "INSERT INTO recommendations (id, kind, key, severity, title, summary, action, evidence, \
         confidence, state, snoozed_until_ms, first_seen_ms, last_seen_ms, resolved_ms, seen_passes, \
         missed_passes) VALUES ('{id}', '{kind}', '{id}', 'critical', 'Title of {id}', 's', 'a', \
         '{{\"facts\":[],\"series\":[]}}', 0.9, '{state}', NULL, {now}, {now}, NULL, 3, 0);"
    )
}

async fn unknown_values_are_skipped_and_never_sent(database_url: Option<String>) {
    let receiver = Receiver::start().await;
    let collector = Collector::start(CollectorOptions {
        extra_toml: format!(
            "[alerting]\ngroup_wait = \"1s\"\ngroup_interval = \"2s\"\nrepeat_interval = \"1h\"\n\
             [[alerts]]\nname = \"ops\"\ntype = \"webhook\"\nurl = {:?}\n\
             secret = \"hmac-secret-for-tests-0123\"\nmin_severity = \"info\"\n",
            receiver.url("/ops")
        ),
        analysis_interval: Some("1h".into()),
        database_url: database_url.clone(),
        ..CollectorOptions::default()
    })
    .await;
    let url = database_url.unwrap_or_else(|| {
        let path = collector.dir.path().join("data").join("headroom.db");
        format!("sqlite://{}", path.display())
    });
    let now = headroom_collector::store::now_ms();
    let notification = "{\"id\":\"stored-bounced\",\"receiver\":\"ops\",\"group_key\":\"kind=cache\",\
                        \"status\":\"firing\",\"reason\":\"new\",\"created_at\":1,\"alerts\":[],\
                        \"dashboard_url\":\"http://127.0.0.1\"}";
    let sql = [
        recommendation("stored-archived", "cache", "archived", now),
        recommendation("stored-teleport", "teleport", "open", now),
        format!(
            "INSERT INTO alert_outbox (id, receiver, group_key, reason, created_ms, notification, \
             status, attempts, next_attempt_ms, last_error) VALUES ('stored-bounced', 'ops', \
             'kind=cache', 'new', {now}, '{notification}', 'bounced', 1, 0, '');"
        ),
        // Read as "any kind", this silence would hold back every alert of `ops`.
        format!(
            "INSERT INTO silences (id, kind, severity, recommendation_id, receiver, comment, \
             created_by, starts_ms, ends_ms, created_ms) VALUES ('stored-silence', 'teleport', NULL, \
             NULL, 'ops', 'c', 't', 0, {}, 0);",
            now + 3_600_000
        ),
        recommendation("stored-good", "cache", "open", now),
    ]
    .concat();
    raw(&url, &sql).await;

    let sent = receiver.wait_for("/ops", 1, WAIT).await;
    let body = sent[0].json();
    let alerts: Vec<&str> = body["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| a["recommendation_id"].as_str().expect("id"))
        .collect();
    assert_eq!(alerts, vec!["stored-good"], "{body}");

    let listed: Vec<String> = collector
        .recommendations("")
        .await
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(listed, vec!["stored-good".to_owned()]);
    let (status, deliveries) = collector.get("/api/v1/alerts/deliveries").await;
    assert_eq!(status, 200, "{deliveries}");
    let ids: Vec<&str> = deliveries["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| d["id"].as_str().expect("id"))
        .collect();
    assert!(!ids.contains(&"stored-bounced"), "{deliveries}");
    let (_, silences) = collector.get("/api/v1/silences").await;
    assert_eq!(
        silences["silences"].as_array().map(Vec::len),
        Some(0),
        "{silences}"
    );

    let log = std::fs::read_to_string(&collector.log).expect("log");
    for (table, row) in [
        ("recommendations", "stored-archived"),
        ("recommendations", "stored-teleport"),
        ("alert_outbox", "stored-bounced"),
        ("silences", "stored-silence"),
    ] {
        assert!(
            log.lines().any(|line| line.contains(" WARN ")
                && line.contains(&format!("table=\"{table}\""))
                && line.contains(&format!("row={row} "))),
            "no WARN names {table} row {row}:\n{log}"
        );
    }
    assert_eq!(
        receiver.requests_to("/ops").len(),
        1,
        "one notification, for the good recommendation only"
    );
}

#[tokio::test]
async fn unknown_stored_values_are_skipped_and_never_sent_on_sqlite() {
    unknown_values_are_skipped_and_never_sent(None).await;
}

#[tokio::test]
async fn unknown_stored_values_are_skipped_and_never_sent_on_postgresql() {
    let db = PgDatabase::create();
    unknown_values_are_skipped_and_never_sent(Some(db.url.clone())).await;
}
