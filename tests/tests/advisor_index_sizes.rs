//! Index advice on table sizes that survive a statistics reset, with the
//! agent's verdicts, against a private cluster with `pg_stat_statements`
//! and hypopg under a load generator:
//!
//! - (a) a 300,000-row `cart` loses the index on its foreign key
//!   `customer_id` and `pg_stat_reset()` follows, so `n_live_tup` reads 0:
//!   with DEFAULT settings (15 s scrapes, the collector's default analysis
//!   interval and lifecycle) the exact `CREATE INDEX` opens; the time from
//!   the regression to the open recommendation, the DDL and the statement's
//!   mean before and after applying it are printed (≥ 10× faster asserted).
//!   A table never analysed (`reltuples` = -1) gets its rows from its pages.
//! - (e) a small hot table, a lookup an existing index serves and a
//!   write-only table: no index advice, and each statement's verdict says
//!   why (`table_too_small`, `already_covered` naming the index,
//!   `not_select`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use headroom_tests::pgcluster::PgCluster;
use headroom_tests::{Agent, Collector, CollectorOptions, tail, wait_for};
use serde_json::Value;

/// (a): customers and their carts (300,000, indexed on the foreign key),
/// and an audit log never analysed nor vacuumed.
const CART_SCHEMA: &str = "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg; \
     CREATE TABLE customer (id bigint PRIMARY KEY, email text NOT NULL); \
     INSERT INTO customer SELECT i, 'c' || i || '@example.com' FROM generate_series(1, 30000) i; \
     CREATE TABLE cart (id bigint PRIMARY KEY, customer_id bigint NOT NULL REFERENCES customer (id), \
       currency_code text NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz, \
       metadata text); \
     INSERT INTO cart (id, customer_id, currency_code, metadata) \
       SELECT i, 1 + i % 30000, 'eur', repeat('x', 40) FROM generate_series(1, 300000) i; \
     CREATE INDEX cart_customer_id_idx ON cart (customer_id); \
     ANALYZE customer; ANALYZE cart; \
     CREATE TABLE audit_log (at timestamptz NOT NULL, actor bigint NOT NULL, note text) \
       WITH (autovacuum_enabled = false); \
     INSERT INTO audit_log SELECT now(), i, 'n' || i FROM generate_series(1, 100000) i;";

const CART_QUERY: &str =
    "SELECT id, created_at FROM cart WHERE customer_id = $1 AND deleted_at IS NULL";

/// (e): five regions (hot), 200,000 products with an index on `handle`,
/// and an event log only written to.
const QUIET_SCHEMA: &str = "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg; \
     CREATE TABLE region (id text PRIMARY KEY, name text NOT NULL, currency_code text NOT NULL); \
     INSERT INTO region VALUES ('reg_1', 'Europe', 'eur'), ('reg_2', 'US', 'usd'), \
       ('reg_3', 'UK', 'gbp'), ('reg_4', 'Nordics', 'dkk'), ('reg_5', 'Japan', 'jpy'); \
     CREATE TABLE product (id text PRIMARY KEY, handle text NOT NULL, title text NOT NULL); \
     INSERT INTO product SELECT 'prod_' || i, 'handle-' || i, 'Product ' || i FROM generate_series(1, 200000) i; \
     CREATE INDEX product_handle_idx ON product (handle); \
     CREATE TABLE event_log (id bigserial PRIMARY KEY, kind text NOT NULL, payload text NOT NULL); \
     ANALYZE region; ANALYZE product;";

const REGION_QUERY: &str = "SELECT id, name FROM region WHERE currency_code = $1";
const PRODUCT_QUERY: &str = "SELECT id, title FROM product WHERE handle = $1";
const EVENT_INSERT: &str = "INSERT INTO event_log (kind, payload) VALUES ($1, $2)";

/// One round of the load: statements with their parameters for run `n`.
type Round = fn(u64) -> Vec<(&'static str, Vec<String>)>;

fn agent_toml(endpoint: &str, url: &str, source_extra: &str) -> String {
    format!(
        "[agent]\nid = \"shop-db\"\nflush_interval = \"200ms\"\n[collector]\nendpoint = \"{endpoint}\"\n\
         min_backoff = \"100ms\"\nmax_backoff = \"1s\"\n[spool]\ndir = \"{{spool}}\"\n\
         [[sources]]\ntype = \"postgres\"\nurl = \"{url}\"\n{source_extra}"
    )
}

/// Runs `statements` (each with its parameters for run `n`) in a loop on
/// `client` until `stop`, pausing `pause` between rounds.
fn load(
    client: tokio_postgres::Client,
    stop: Arc<AtomicBool>,
    pause: Duration,
    round: Round,
) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut runs = 0u64;
        while !stop.load(Ordering::Relaxed) {
            for (sql, params) in round(runs) {
                let statement = client.prepare(sql).await.expect("prepare");
                let types = statement.params();
                let values: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> = params
                    .iter()
                    .zip(types)
                    .map(
                        |(p, t)| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
                            if *t == tokio_postgres::types::Type::INT8 {
                                Box::new(p.parse::<i64>().expect("int"))
                            } else {
                                Box::new(p.clone())
                            }
                        },
                    )
                    .collect();
                let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = values
                    .iter()
                    .map(|v| v.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                client.execute(&statement, &refs).await.expect("statement");
            }
            runs += 1;
            tokio::time::sleep(pause).await;
        }
        runs
    })
}

fn cart_round(n: u64) -> Vec<(&'static str, Vec<String>)> {
    vec![(CART_QUERY, vec![(1 + n * 7919 % 30_000).to_string()])]
}

fn quiet_round(n: u64) -> Vec<(&'static str, Vec<String>)> {
    vec![
        (REGION_QUERY, vec!["eur".into()]),
        (REGION_QUERY, vec!["usd".into()]),
        (
            PRODUCT_QUERY,
            vec![format!("handle-{}", 1 + n * 7919 % 200_000)],
        ),
        (EVENT_INSERT, vec!["view".into(), format!("payload {n}")]),
    ]
}

/// The verdicts stored, as their JSON objects.
async fn verdicts(collector: &Collector) -> Vec<Value> {
    let (status, body) = collector.get("/api/v1/texts?kind=pg_index_verdict").await;
    assert_eq!(status, 200, "{body}");
    body["texts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|t| serde_json::from_str(t["text"].as_str()?).ok())
        .collect()
}

/// The verdict of the statement whose text starts with `prefix`.
async fn verdict_of(
    collector: &Collector,
    admin: &tokio_postgres::Client,
    prefix: &str,
) -> Option<Value> {
    let queryid = queryid(admin, prefix).await?;
    verdicts(collector)
        .await
        .into_iter()
        .find(|v| v["queryid"] == queryid.as_str())
}

async fn queryid(admin: &tokio_postgres::Client, prefix: &str) -> Option<String> {
    admin
        .query_opt(
            "SELECT queryid::text FROM pg_stat_statements WHERE starts_with(query, $1) \
             AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[&prefix],
        )
        .await
        .expect("pg_stat_statements")
        .map(|row| row.get(0))
}

/// (calls, total ms) of the statement whose text starts with `prefix`.
async fn stats(admin: &tokio_postgres::Client, prefix: &str) -> (f64, f64) {
    let row = admin
        .query_one(
            "SELECT calls::float8, total_exec_time FROM pg_stat_statements WHERE starts_with(query, $1)",
            &[&prefix],
        )
        .await
        .expect("the statement is tracked");
    (row.get(0), row.get(1))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_big_table_after_a_statistics_reset_still_gets_index_advice_at_defaults() {
    let cluster = PgCluster::start_shop(CART_SCHEMA).await;
    let admin = cluster.connect("shop", "postgres").await;

    // Every setting at its default: 15 s scrapes, the default analysis
    // interval and lifecycle.
    let collector = Collector::start(CollectorOptions::default()).await;
    let mut agent = Agent::start(&agent_toml(
        &collector.endpoint(),
        &cluster.url("shop", "headroom"),
        "",
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let apps: Vec<_> = [0, 1]
        .into_iter()
        .map(|_| async { cluster.connect("shop", "postgres").await })
        .collect();
    let mut tasks = Vec::new();
    for app in apps {
        tasks.push(load(
            app.await,
            Arc::clone(&stop),
            Duration::from_millis(20),
            cart_round,
        ));
    }
    // The indexed lookup runs and is examined first (its verdict: covered).
    let covered = wait_for(
        Duration::from_secs(60),
        "the indexed lookup's verdict",
        || async {
            verdict_of(&collector, &admin, "SELECT id, created_at FROM cart")
                .await
                .filter(|v| v["verdict"] == "already_covered")
        },
    )
    .await;
    eprintln!("before the regression: {covered}");

    // The regression: the foreign key's index goes, statistics are reset.
    admin
        .batch_execute("DROP INDEX cart_customer_id_idx; SELECT pg_stat_reset();")
        .await
        .unwrap();
    let regressed = Instant::now();
    let (calls_at_regression, total_at_regression) =
        stats(&admin, "SELECT id, created_at FROM cart").await;
    let live: i64 = admin
        .query_one(
            "SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'cart'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(live, 0, "pg_stat_reset() zeroes n_live_tup");

    let advice = wait_for(
        Duration::from_secs(240),
        "an index recommendation on cart",
        || async {
            collector
                .recommendations("kind=index&state=open")
                .await
                .into_iter()
                .find(|r| r["action"].as_str().is_some_and(|a| a.contains("cart")))
        },
    )
    .await;
    let to_advice = regressed.elapsed();
    let action = advice["action"].as_str().unwrap().to_owned();
    eprintln!(
        "index advice {:.1} s after the regression (default settings): {action}",
        to_advice.as_secs_f64()
    );
    assert!(action.starts_with("CREATE INDEX CONCURRENTLY"), "{action}");
    assert!(action.contains("(customer_id)"), "{action}");
    let facts = advice["evidence"]["facts"].as_array().unwrap();
    assert!(
        facts
            .iter()
            .any(|f| f["name"] == "table rows" && f["value"].as_f64().unwrap() >= 290_000.0),
        "the planner's estimate, not n_live_tup: {advice}"
    );
    let candidate = verdict_of(&collector, &admin, "SELECT id, created_at FROM cart")
        .await
        .expect("a verdict");
    assert_eq!(candidate["verdict"], "candidate", "{candidate}");
    assert!(
        candidate["table_rows"].as_f64().unwrap() >= 290_000.0,
        "{candidate}"
    );

    // The table never analysed: its rows from its pages and row width.
    let reltuples: f32 = admin
        .query_one(
            "SELECT reltuples FROM pg_class WHERE relname = 'audit_log'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(reltuples < 0.0, "never analysed: {reltuples}");
    let rows = collector
        .points("pg_table_rows", &[("table", "audit_log")])
        .await;
    let estimate = rows
        .iter()
        .flatten()
        .last()
        .expect("pg_table_rows of audit_log")
        .1;
    eprintln!("audit_log (100,000 rows, never analysed): pg_table_rows {estimate:.0}");
    assert!((50_000.0..=150_000.0).contains(&estimate), "{estimate}");

    // Apply the advice as an engineer would.
    let (calls_before, total_before) = stats(&admin, "SELECT id, created_at FROM cart").await;
    // The mean since the regression (the calls before it had the index).
    let mean_before = (total_before - total_at_regression) / (calls_before - calls_at_regression);
    cluster.psql("shop", &action);
    let (calls_at, total_at) = stats(&admin, "SELECT id, created_at FROM cart").await;
    let (calls_after, total_after) = wait_for(
        Duration::from_secs(30),
        "200 runs with the index",
        || async {
            let (calls, total) = stats(&admin, "SELECT id, created_at FROM cart").await;
            (calls - calls_at >= 200.0).then_some((calls, total))
        },
    )
    .await;
    let mean_after = (total_after - total_at) / (calls_after - calls_at);
    eprintln!(
        "(a) cart lookup: time to advice {:.1} s; {action}; mean {mean_before:.3} ms before, {mean_after:.3} ms after ({:.0}×)",
        to_advice.as_secs_f64(),
        mean_before / mean_after
    );
    assert!(
        mean_before >= 10.0 * mean_after,
        "at least 10× faster: {mean_before:.3} ms → {mean_after:.3} ms"
    );

    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("load");
    }
    agent.stop();
    let log = tail(&collector.log, 400);
    assert!(!log.contains("analysis pass failed"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn small_tables_indexed_lookups_and_writes_get_no_index_advice_and_say_why() {
    let cluster = PgCluster::start_shop(QUIET_SCHEMA).await;
    let admin = cluster.connect("shop", "postgres").await;

    let collector = Collector::start(CollectorOptions {
        analysis_interval: Some("2s".into()),
        extra_toml: "[advisor]\nopen_after = 1\n".into(),
        ..CollectorOptions::default()
    })
    .await;
    let mut agent = Agent::start(&agent_toml(
        &collector.endpoint(),
        &cluster.url("shop", "headroom"),
        "interval = \"1s\"\nindex_advice_interval = \"1s\"\n",
    ));
    let stop = Arc::new(AtomicBool::new(false));
    let app = load(
        cluster.connect("shop", "postgres").await,
        Arc::clone(&stop),
        Duration::from_millis(5),
        quiet_round,
    );

    let expected = [
        (REGION_QUERY, "table_too_small", "public.region has"),
        (
            PRODUCT_QUERY,
            "already_covered",
            "public.product_handle_idx",
        ),
        (EVENT_INSERT, "not_select", "not a single plain SELECT"),
    ];
    for (sql, code, says) in expected {
        let prefix = &sql[..30];
        let verdict = wait_for(
            Duration::from_secs(60),
            &format!("the verdict of {sql}"),
            || async { verdict_of(&collector, &admin, prefix).await },
        )
        .await;
        eprintln!("{sql}: {verdict}");
        assert_eq!(verdict["verdict"], code, "{verdict}");
        assert!(
            verdict["reason"].as_str().unwrap().contains(says),
            "{verdict}"
        );
    }
    // Ten analysis passes later: still no index advice of any state.
    tokio::time::sleep(Duration::from_secs(20)).await;
    let all = collector
        .recommendations("kind=index&state=pending,open")
        .await;
    assert!(all.is_empty(), "no index advice: {all:?}");

    stop.store(true, Ordering::Relaxed);
    app.await.expect("load");
    agent.stop();
}
