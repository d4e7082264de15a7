//! The index advice end to end, against a private PostgreSQL cluster with
//! `pg_stat_statements` and hypopg: a Medusa-like `product` table of
//! 200,000 rows filtered on an unindexed column (with Medusa's soft-delete
//! predicate) and a small `region` table scanned just as often. With 1 s
//! scrapes and a 5 s analysis interval, the exact `CREATE INDEX
//! CONCURRENTLY … WHERE deleted_at IS NULL` is advised within 60 s; run
//! through psql it makes the statement at least 10× faster, and the advice
//! then resolves itself. The small table gets no index advice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use headroom_tests::pgcluster::PgCluster;
use headroom_tests::{Agent, Collector, CollectorOptions, tail, wait_for};

/// Medusa-like tables: products with soft deletes (200,000 rows, no index
/// on `handle`) and five regions.
const SCHEMA: &str = "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg; \
     CREATE TABLE product (id text PRIMARY KEY, handle text NOT NULL, title text NOT NULL, \
       status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz); \
     INSERT INTO product (id, handle, title, status, deleted_at) \
       SELECT 'prod_' || i, 'handle-' || i, 'Product ' || i, CASE WHEN i % 3 = 0 THEN 'draft' ELSE 'published' END, \
              CASE WHEN i % 50 = 0 THEN now() END \
       FROM generate_series(1, 200000) i; \
     CREATE TABLE region (id text PRIMARY KEY, name text NOT NULL, currency_code text NOT NULL, deleted_at timestamptz); \
     INSERT INTO region VALUES ('reg_1', 'Europe', 'eur', NULL), ('reg_2', 'US', 'usd', NULL), \
       ('reg_3', 'UK', 'gbp', NULL), ('reg_4', 'Nordics', 'dkk', NULL), ('reg_5', 'Japan', 'jpy', NULL); \
     ANALYZE product; ANALYZE region;";

const PRODUCT_QUERY: &str =
    "SELECT id, title FROM product WHERE handle = $1 AND deleted_at IS NULL";
const REGION_QUERY: &str =
    "SELECT id, name FROM region WHERE currency_code = $1 AND deleted_at IS NULL";

fn agent_toml(endpoint: &str, url: &str) -> String {
    format!(
        "[agent]\nid = \"shop-db\"\nflush_interval = \"200ms\"\n[collector]\nendpoint = \"{endpoint}\"\n\
         min_backoff = \"100ms\"\nmax_backoff = \"1s\"\n[spool]\ndir = \"{{spool}}\"\n\
         [[sources]]\ntype = \"postgres\"\nurl = \"{url}\"\ninterval = \"1s\"\nindex_advice_interval = \"1s\"\n"
    )
}

/// Runs the app's two statements in a loop until `stop`.
fn workload(client: tokio_postgres::Client, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let product = client
            .prepare(PRODUCT_QUERY)
            .await
            .expect("prepare product");
        let region = client.prepare(REGION_QUERY).await.expect("prepare region");
        let mut runs = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let handle = format!("handle-{}", 1 + runs * 7919 % 200_000);
            client
                .query(&product, &[&handle])
                .await
                .expect("product query");
            for currency in ["eur", "usd", "gbp"] {
                client
                    .query(&region, &[&currency])
                    .await
                    .expect("region query");
            }
            runs += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        runs
    })
}

/// (calls, total ms) of the product statement in pg_stat_statements.
async fn product_stats(admin: &tokio_postgres::Client) -> (f64, f64) {
    let row = admin
        .query_one(
            "SELECT calls::float8, total_exec_time FROM pg_stat_statements \
             WHERE query LIKE 'SELECT id, title FROM product WHERE handle = $1%'",
            &[],
        )
        .await
        .expect("the product statement is tracked");
    (row.get(0), row.get(1))
}

#[tokio::test(flavor = "multi_thread")]
async fn index_advice_appears_speeds_the_query_up_and_resolves_itself() {
    let cluster = PgCluster::start_shop(SCHEMA).await;

    let collector = Collector::start(CollectorOptions {
        analysis_interval: Some("5s".into()),
        extra_toml: "[advisor]\nopen_after = 2\nresolve_after = 2\n[advisor.index]\ncandidate_grace_seconds = 10\n".into(),
        ..CollectorOptions::default()
    })
    .await;
    let mut agent = Agent::start(&agent_toml(
        &collector.endpoint(),
        &cluster.url("shop", "headroom"),
    ));

    let stop = Arc::new(AtomicBool::new(false));
    let app = workload(cluster.connect("shop", "postgres").await, Arc::clone(&stop));
    let started = Instant::now();

    let advice = wait_for(
        Duration::from_secs(60),
        "an index recommendation on product",
        || async {
            collector
                .recommendations("kind=index&state=open")
                .await
                .into_iter()
                .find(|r| r["action"].as_str().is_some_and(|a| a.contains("product")))
        },
    )
    .await;
    let elapsed = started.elapsed();
    eprintln!(
        "index advice after {:.1} s: {}",
        elapsed.as_secs_f64(),
        advice["action"]
    );
    let action = advice["action"].as_str().unwrap().to_owned();
    assert!(action.starts_with("CREATE INDEX CONCURRENTLY"), "{action}");
    assert!(action.contains("(handle)"), "{action}");
    assert!(action.contains("WHERE deleted_at IS NULL"), "{action}");
    assert_eq!(advice["severity"], "warning", "{advice}");
    assert!(advice["confidence"].as_f64().unwrap() > 0.5, "{advice}");
    let facts = advice["evidence"]["facts"].as_array().unwrap();
    assert!(
        facts
            .iter()
            .any(|f| f["name"] == "table rows" && f["value"].as_f64().unwrap() >= 190_000.0),
        "{advice}"
    );
    let all = collector
        .recommendations("kind=index&state=pending,open")
        .await;
    assert!(
        all.iter()
            .all(|r| !r["action"].as_str().unwrap_or("").contains("region")),
        "the small region table is left to sequential scans: {all:?}"
    );

    // Run the advice through psql, as an engineer would.
    let admin = cluster.connect("shop", "postgres").await;
    let (calls_before, total_before) = product_stats(&admin).await;
    let mean_before = total_before / calls_before;
    cluster.psql("shop", &action);
    let (calls_at_index, total_at_index) = product_stats(&admin).await;
    let (calls_after, total_after) = wait_for(
        Duration::from_secs(30),
        "200 runs with the index",
        || async {
            let (calls, total) = product_stats(&admin).await;
            (calls - calls_at_index >= 200.0).then_some((calls, total))
        },
    )
    .await;
    let mean_after = (total_after - total_at_index) / (calls_after - calls_at_index);
    eprintln!("product statement mean: {mean_before:.3} ms before, {mean_after:.3} ms after");
    assert!(
        mean_before >= 10.0 * mean_after,
        "the index must make the statement at least 10× faster: {mean_before:.3} ms → {mean_after:.3} ms"
    );

    let resolved = wait_for(
        Duration::from_secs(90),
        "the index advice resolves itself",
        || async {
            collector
                .recommendations("kind=index&state=resolved")
                .await
                .into_iter()
                .find(|r| r["id"] == advice["id"])
        },
    )
    .await;
    assert!(resolved["resolved_at"].as_i64().is_some(), "{resolved}");
    let (status, detail) = collector
        .get(&format!(
            "/api/v1/recommendations/{}",
            advice["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(status, 200);
    let history: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["open", "resolved"], "{detail}");

    stop.store(true, Ordering::Relaxed);
    app.await.expect("workload");
    agent.stop();
    let log = tail(&collector.log, 400);
    assert!(!log.contains("analysis pass failed"), "{log}");
    let id = advice["id"].as_str().unwrap();
    let changes: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("recommendation changed state") && l.contains(id))
        .collect();
    assert!(
        changes.iter().any(|l| l.contains("opened"))
            && changes.iter().any(|l| l.contains("resolved")),
        "the log tells when the advice opens and resolves: {changes:?}"
    );
}
