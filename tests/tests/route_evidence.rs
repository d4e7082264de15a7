//! Index advice that names its routes, end to end: a private cluster with
//! `pg_stat_statements` and hypopg runs an ORM-shaped statement with its
//! literals inlined (as MikroORM sends them) on a 200,000-row table without
//! the index it needs, while the real Python OpenTelemetry SDK sends the
//! same statement, with other literals, as the `db.statement` of a route's
//! spans to the same agent's otlp source. The agent fingerprints both sides
//! with PostgreSQL's parser; the open index recommendation says how many
//! calls each request of the route makes and what share of its time they
//! take, and charts the route's latency.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use headroom_tests::otlp_sdk::run_script;
use headroom_tests::pgcluster::PgCluster;
use headroom_tests::{Agent, Collector, CollectorOptions, free_port, tail, wait_for};
use serde_json::Value;

/// Line items with soft deletes: 200,000 rows over 20,000 carts, no index
/// on `cart_id`.
const SCHEMA: &str = "CREATE EXTENSION pg_stat_statements; CREATE EXTENSION hypopg; \
     CREATE TABLE line_item (id text PRIMARY KEY, cart_id text NOT NULL, quantity int NOT NULL, \
       title text NOT NULL, deleted_at timestamptz); \
     INSERT INTO line_item (id, cart_id, quantity, title) \
       SELECT 'item_' || i, 'cart_' || (i % 20000), 1 + i % 3, 'Item ' || i \
       FROM generate_series(1, 200000) i; \
     ANALYZE line_item;";

const ROUTE: &str = "/store/carts/:id/line-items";

/// The statement as the ORM sends it, for one cart.
fn statement(cart: u64) -> String {
    format!(
        "select \"l0\".\"id\", \"l0\".\"quantity\", \"l0\".\"title\" from \"line_item\" as \"l0\" \
         where \"l0\".\"cart_id\" = 'cart_{cart}' and \"l0\".\"deleted_at\" is null"
    )
}

fn agent_toml(endpoint: &str, url: &str, listen: &str) -> String {
    format!(
        "[agent]\nid = \"shop\"\nflush_interval = \"200ms\"\n[collector]\nendpoint = \"{endpoint}\"\n\
         min_backoff = \"100ms\"\nmax_backoff = \"1s\"\n[spool]\ndir = \"{{spool}}\"\n\
         [[sources]]\ntype = \"postgres\"\nurl = \"{url}\"\ninterval = \"1s\"\nindex_advice_interval = \"1s\"\n\
         [[sources]]\ntype = \"otlp\"\nlisten = \"{listen}\"\ninterval = \"1s\"\ngrace = \"500ms\"\n"
    )
}

/// Runs the statement with its literals inlined until `stop`.
fn workload(client: tokio_postgres::Client, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<u64> {
    tokio::spawn(async move {
        let mut runs = 0u64;
        while !stop.load(Ordering::Relaxed) {
            client
                .simple_query(&statement(runs * 7919 % 20_000))
                .await
                .expect("line item query");
            runs += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        runs
    })
}

async fn open_index_advice(collector: &Collector) -> Option<Value> {
    collector
        .recommendations("kind=index&state=open")
        .await
        .into_iter()
        .find(|r| {
            r["action"]
                .as_str()
                .is_some_and(|a| a.contains("line_item"))
        })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_index_advice_names_the_route_whose_spans_run_the_statement() {
    let cluster = PgCluster::start_shop(SCHEMA).await;
    let collector = Collector::start(CollectorOptions {
        analysis_interval: Some("5s".into()),
        extra_toml: "[advisor]\nopen_after = 2\n".into(),
        ..CollectorOptions::default()
    })
    .await;
    let listen = format!("127.0.0.1:{}", free_port());
    let agent = Agent::start(&agent_toml(
        &collector.endpoint(),
        &cluster.url("shop", "headroom"),
        &listen,
    ));
    wait_for(
        Duration::from_secs(30),
        "the agent's OTLP server",
        || async {
            tokio::net::TcpStream::connect(&listen)
                .await
                .ok()
                .map(|_| ())
        },
    )
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let app = workload(cluster.connect("shop", "postgres").await, Arc::clone(&stop));
    let started = Instant::now();

    // 20 requests of 100 ms, each running the statement twice for 30 ms.
    let args = [
        "--endpoint".to_owned(),
        format!("http://{listen}"),
        "--processor".to_owned(),
        "batch".to_owned(),
        "--requests".to_owned(),
        "20".to_owned(),
        "--queries".to_owned(),
        "2".to_owned(),
        "--query-ms".to_owned(),
        "30".to_owned(),
        "--duration-ms".to_owned(),
        "100".to_owned(),
        "--route".to_owned(),
        ROUTE.to_owned(),
        "--statement".to_owned(),
        statement(4242),
    ];
    tokio::task::spawn_blocking(move || run_script("send_traces.py", &args))
        .await
        .expect("the script's thread");

    let wanted = format!("2 calls per `POST {ROUTE}`, 60% of its time");
    let advice = wait_for(
        Duration::from_secs(90),
        "index advice naming the route",
        || async {
            open_index_advice(&collector)
                .await
                .filter(|a| a["summary"].as_str().is_some_and(|s| s.contains(&wanted)))
        },
    )
    .await;
    eprintln!(
        "advice naming the route after {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        advice["summary"]
    );
    stop.store(true, Ordering::Relaxed);
    app.await.expect("workload");
    assert!(
        advice["action"]
            .as_str()
            .is_some_and(|a| a.contains("(cart_id)")),
        "{advice}"
    );
    let charts = advice["evidence"]["series"].as_array().unwrap();
    assert!(
        charts
            .iter()
            .any(|s| s["name"] == "http_route_latency_ms" && s["labels"]["route"] == ROUTE),
        "{advice}"
    );
    assert!(
        charts
            .iter()
            .any(|s| s["name"] == "pg_statement_mean_exec_ms"),
        "{advice}"
    );
    let (_, fingerprints) = collector
        .get("/api/v1/texts?kind=pg_query_fingerprint")
        .await;
    assert!(
        fingerprints.to_string().contains(&format!(
            "{:016x}",
            headroom_proto::fingerprint::statement(&statement(1)).unwrap()
        )),
        "{fingerprints}\n{}",
        tail(&agent.log, 30)
    );
    drop(agent);
}
