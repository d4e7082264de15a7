//! Index advice end to end against a private cluster with
//! `pg_stat_statements` preloaded and `hypopg` created: a soft-deleting
//! query filtering 50,000 rows by an unindexed column becomes a candidate
//! with the partial predicate, verified with a hypothetical index (cheaper
//! with it); a small table queried just as often gets none; once the index
//! exists the candidate is no longer refreshed at the collector.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use headroom_tests::pgcluster::PgCluster;
use headroom_tests::{Agent, Collector, CollectorOptions, tail, wait_for};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);
/// Times each query runs.
const RUNS: usize = 60;

/// The role the agent logs in as: pg_monitor, and SELECT on the tables so
/// that it may EXPLAIN their queries.
const ROLES: &str = "CREATE ROLE headroom LOGIN; GRANT pg_monitor TO headroom;";

/// 50,000 orders (a tenth soft-deleted) with no index on `email`, and a
/// small table of 100 rows with no index on `code`.
const SCHEMA: &str = "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg; \
     CREATE TABLE orders (id serial PRIMARY KEY, email text NOT NULL, total numeric NOT NULL, \
       deleted_at timestamptz); \
     INSERT INTO orders (email, total, deleted_at) \
     SELECT 'customer' || i || '@example.org', i % 100, CASE WHEN i % 10 = 0 THEN now() END \
     FROM generate_series(1, 50000) i; \
     CREATE TABLE region (id serial PRIMARY KEY, code text NOT NULL); \
     INSERT INTO region (code) SELECT 'r' || i FROM generate_series(1, 100) i; \
     ANALYZE orders; ANALYZE region; \
     GRANT SELECT ON ALL TABLES IN SCHEMA public TO headroom;";

fn agent_toml(id: &str, endpoint: &str, url: &str) -> String {
    format!(
        "[agent]\nid = \"{id}\"\nflush_interval = \"200ms\"\n[collector]\nendpoint = \"{endpoint}\"\n\
         min_backoff = \"100ms\"\nmax_backoff = \"1s\"\n[spool]\ndir = \"{{spool}}\"\n\
         [[sources]]\ntype = \"postgres\"\nurl = \"{url}\"\ninterval = \"1s\"\n\
         index_advice_interval = \"1s\"\n"
    )
}

/// The stored candidates as (key, parsed JSON, last_seen).
async fn candidates(collector: &Collector) -> Vec<(String, Value, i64)> {
    let (status, body) = collector.get("/api/v1/texts?kind=pg_index_candidate").await;
    assert_eq!(status, 200, "{body}");
    body["texts"]
        .as_array()
        .expect("texts")
        .iter()
        .map(|t| {
            let json: Value =
                serde_json::from_str(t["text"].as_str().expect("text")).expect("a JSON text");
            (
                t["key"].as_str().unwrap().to_owned(),
                json,
                t["last_seen"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// How many scrapes of `agent` the collector holds.
async fn scrapes(collector: &Collector, agent: &str) -> usize {
    collector
        .points("agent_scrapes_total", &[("agent", agent)])
        .await
        .first()
        .map_or(0, Vec::len)
}

fn is_orders_email(json: &Value) -> bool {
    json["table"] == "orders" && json["columns"] == serde_json::json!(["email"])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_soft_deleting_query_gets_a_verified_partial_index_until_it_exists() {
    let cluster = PgCluster::start();
    cluster.execute("postgres", ROLES).await;
    cluster.execute("postgres", "CREATE DATABASE shop").await;
    cluster.execute("shop", SCHEMA).await;
    let collector = Collector::start(CollectorOptions::default()).await;
    let agent = Agent::start(&agent_toml(
        "pg-advice",
        &collector.endpoint(),
        &cluster.url("shop", "headroom"),
    ));
    // The first reading of pg_stat_statements only sets the baseline.
    wait_for(DEADLINE, "two scrapes", || async {
        (scrapes(&collector, "pg-advice").await >= 2).then_some(())
    })
    .await;

    let app = cluster.connect("shop", "postgres").await;
    for i in 0..RUNS {
        app.simple_query(&format!(
            "SELECT id, total FROM orders o WHERE o.email = 'customer{i}@example.org' \
             AND o.deleted_at IS NULL"
        ))
        .await
        .expect("orders query");
        app.simple_query(&format!("SELECT id FROM region WHERE code = 'r{i}'"))
            .await
            .expect("region query");
    }

    let (key, found) = wait_for(DEADLINE, "a candidate for orders(email)", || async {
        candidates(&collector)
            .await
            .into_iter()
            .find(|(_, json, _)| is_orders_email(json))
            .map(|(key, json, _)| (key, json))
    })
    .await;
    assert!(key.starts_with("shop/"), "{key}");
    assert_eq!(found["database"], "shop", "{found}");
    assert_eq!(found["schema"], "public", "{found}");
    assert_eq!(found["predicate"], "deleted_at IS NULL", "{found}");
    assert_eq!(
        found["definition"],
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS headroom_orders_email_idx \
         ON public.orders (email) WHERE deleted_at IS NULL",
        "{found}"
    );
    assert_eq!(found["method"], "hypopg", "{found}");
    assert_eq!(found["uses_index"], true, "{found}");
    let before = found["cost_before"].as_f64().expect("cost_before");
    let after = found["cost_after"].as_f64().expect("cost_after");
    assert!(after < before, "{found}");
    assert!(found["table_rows"].as_u64().unwrap() >= 40_000, "{found}");
    assert_eq!(
        found["queryid"].as_str(),
        key.strip_prefix("shop/"),
        "{found}"
    );

    // A few more scrapes: the small table never gets a candidate.
    let now = scrapes(&collector, "pg-advice").await;
    wait_for(DEADLINE, "three more scrapes", || async {
        (scrapes(&collector, "pg-advice").await >= now + 3).then_some(())
    })
    .await;
    let all = candidates(&collector).await;
    assert!(
        all.iter().all(|(_, json, _)| json["table"] != "region"),
        "{all:?}"
    );

    // The index exists: the candidate stops being refreshed.
    cluster
        .execute(
            "shop",
            "CREATE INDEX orders_email_live ON orders (email) WHERE deleted_at IS NULL",
        )
        .await;
    let now = scrapes(&collector, "pg-advice").await;
    wait_for(DEADLINE, "two scrapes after the index", || async {
        (scrapes(&collector, "pg-advice").await >= now + 2).then_some(())
    })
    .await;
    let last_seen = |all: &[(String, Value, i64)]| {
        all.iter()
            .find(|(_, json, _)| is_orders_email(json))
            .map(|(_, _, seen)| *seen)
            .expect("still stored")
    };
    let settled = last_seen(&candidates(&collector).await);
    let now = scrapes(&collector, "pg-advice").await;
    wait_for(DEADLINE, "three more scrapes", || async {
        (scrapes(&collector, "pg-advice").await >= now + 3).then_some(())
    })
    .await;
    assert_eq!(
        last_seen(&candidates(&collector).await),
        settled,
        "the covered candidate is no longer sent; agent log:\n{}",
        tail(&agent.log, 50)
    );
    drop(agent);
}

/// `headroom-agent check` output for an agent on `url`.
fn check_report(agent: &Agent) -> String {
    let output = std::process::Command::new(headroom_tests::bin("headroom-agent"))
        .args(["check", "--config"])
        .arg(&agent.config)
        .output()
        .expect("check runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn check_names_the_grant_index_advice_needs_to_explain_tables() {
    let cluster = PgCluster::start();
    cluster.execute("postgres", ROLES).await;
    cluster.execute("postgres", "CREATE DATABASE shop").await;
    cluster
        .execute(
            "shop",
            "CREATE TABLE orders (id serial PRIMARY KEY, email text); CREATE TABLE region (id serial PRIMARY KEY);",
        )
        .await;
    let collector = Collector::start(CollectorOptions::default()).await;
    let mut agent = Agent::start(&agent_toml(
        "pg-check",
        &collector.endpoint(),
        &cluster.url("shop", "headroom"),
    ));
    agent.stop();

    let report = check_report(&agent);
    assert!(
        report.contains("index advice cannot EXPLAIN statements on 2 of 2 tables")
            && report.contains("GRANT pg_read_all_data"),
        "{report}"
    );
    cluster
        .execute("postgres", "GRANT pg_read_all_data TO headroom;")
        .await;
    let report = check_report(&agent);
    assert!(
        report.contains("index advice can read every table it may explain"),
        "{report}"
    );
    assert!(!report.contains("cannot EXPLAIN"), "{report}");
}
