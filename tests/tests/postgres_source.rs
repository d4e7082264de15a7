//! The postgres source end to end against a private cluster with
//! `pg_stat_statements` preloaded, read by a non-superuser with
//! `pg_monitor`: per-query deltas with their normalised text, table and
//! index statistics with index definitions, no literal (e-mail, token,
//! password) ever reaching the collector; and without the extension, the
//! rest still arrives and `pg_stat_statements_available` is 0.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use headroom_tests::pgcluster::PgCluster;
use headroom_tests::{Agent, Collector, CollectorOptions, tail, wait_for};

/// Literals that must never reach the collector.
const EMAIL: &str = "buyer@example.com";
const TOKEN: &str = "tok_live_9fQ2xZ7pL4mK8vR1";
const PASSWORD: &str = "S3cretPassw0rd";

/// Times the filtered query runs.
const RUNS: usize = 120;
/// Primary key lookups.
const LOOKUPS: usize = 20;

const DEADLINE: Duration = Duration::from_secs(40);

/// An agent.toml with one postgres source on `url`, scraped every second,
/// its tables and indexes read every second too (the statistics tests
/// watch them move).
fn agent_toml(id: &str, endpoint: &str, url: &str) -> String {
    agent_toml_catalog(id, endpoint, url, "1s")
}

/// As [`agent_toml`], the catalog read at most every `catalog_interval`.
fn agent_toml_catalog(id: &str, endpoint: &str, url: &str, catalog_interval: &str) -> String {
    format!(
        "[agent]\nid = \"{id}\"\nflush_interval = \"200ms\"\n[collector]\nendpoint = \"{endpoint}\"\n\
         min_backoff = \"100ms\"\nmax_backoff = \"1s\"\n[spool]\ndir = \"{{spool}}\"\n\
         [[sources]]\ntype = \"postgres\"\nurl = \"{url}\"\ninterval = \"1s\"\n\
         catalog_interval = \"{catalog_interval}\"\n"
    )
}

/// The role the agent logs in as: LOGIN and pg_monitor, not a superuser.
const MONITOR_ROLE: &str = "CREATE ROLE headroom LOGIN; GRANT pg_monitor TO headroom;";

/// A table of a few thousand orders, with no index on `email`.
const ORDERS: &str = "CREATE TABLE orders (id serial PRIMARY KEY, email text NOT NULL, \
     token text NOT NULL, total numeric NOT NULL); \
     INSERT INTO orders (email, token, total) \
     SELECT 'customer' || i || '@example.org', md5(i::text), i % 100 FROM generate_series(1, 5000) i; \
     ANALYZE orders;";

/// The last value of the one series `name` with `labels`, once it exists.
async fn last(collector: &Collector, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let series = collector.points(name, labels).await;
    series.first()?.last().map(|(_, value)| *value)
}

/// How many scrapes of `agent` the collector holds.
async fn scrapes(collector: &Collector, agent: &str) -> usize {
    collector
        .points("agent_scrapes_total", &[("agent", agent)])
        .await
        .first()
        .map_or(0, Vec::len)
}

/// Every stored text of `kind` as (key, text).
async fn texts(collector: &Collector, kind: &str) -> Vec<(String, String)> {
    let (status, body) = collector.get(&format!("/api/v1/texts?kind={kind}")).await;
    assert_eq!(status, 200, "{body}");
    body["texts"]
        .as_array()
        .expect("texts")
        .iter()
        .map(|t| {
            assert_eq!(t["kind"], kind, "{t}");
            assert!(t["last_seen"].as_i64().unwrap() > 0, "{t}");
            (
                t["key"].as_str().unwrap().to_owned(),
                t["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn statements_tables_and_indexes_arrive_without_literals() {
    let cluster = PgCluster::start();
    cluster.execute("postgres", MONITOR_ROLE).await;
    cluster.execute("postgres", "CREATE DATABASE shop").await;
    cluster
        .execute(
            "shop",
            &format!("CREATE EXTENSION pg_stat_statements; {ORDERS}"),
        )
        .await;
    let collector = Collector::start(CollectorOptions::default()).await;
    let agent = Agent::start(&agent_toml(
        "pg-stmt",
        &collector.endpoint(),
        &cluster.url("shop", "headroom"),
    ));
    let agent_labels = [("agent", "pg-stmt"), ("database", "shop")];
    // The first reading only sets the baseline: run the workload after it.
    wait_for(DEADLINE, "pg_stat_statements_available = 1", || async {
        (last(&collector, "pg_stat_statements_available", &agent_labels).await? == 1.0)
            .then_some(())
    })
    .await;

    let app = cluster.connect("shop", "postgres").await;
    for i in 0..RUNS {
        let email = if i % 2 == 0 {
            EMAIL.to_owned()
        } else {
            format!("shopper{i}@example.com")
        };
        app.simple_query(&format!(
            "SELECT id, total FROM orders WHERE email = '{email}' AND token <> '{TOKEN}'"
        ))
        .await
        .expect("filtered query");
    }
    for id in 1..=LOOKUPS {
        app.simple_query(&format!("SELECT total FROM orders WHERE id = {id}"))
            .await
            .expect("lookup");
    }
    app.batch_execute(&format!("ALTER ROLE headroom PASSWORD '{PASSWORD}'"))
        .await
        .expect("alter role");
    let queryid: i64 = app
        .query_one(
            "SELECT queryid FROM pg_stat_statements \
             WHERE query LIKE 'SELECT id, total FROM orders WHERE email = $1%'",
            &[],
        )
        .await
        .expect("the filtered query is tracked")
        .get(0);
    let queryid = queryid.to_string();

    let calls = wait_for(DEADLINE, "the filtered query's calls", || async {
        let series = collector
            .points(
                "pg_statement_calls",
                &[
                    ("agent", "pg-stmt"),
                    ("database", "shop"),
                    ("queryid", &queryid),
                ],
            )
            .await;
        let sum: f64 = series.first()?.iter().map(|(_, calls)| calls).sum();
        (sum >= RUNS as f64).then_some(sum)
    })
    .await;
    assert_eq!(
        calls, RUNS as f64,
        "the deltas sum to the calls made, no more"
    );
    let table = [
        ("agent", "pg-stmt"),
        ("database", "shop"),
        ("schema", "public"),
        ("table", "orders"),
    ];
    wait_for(DEADLINE, "sequential scans of orders", || async {
        (last(&collector, "pg_table_seq_scan", &table).await? >= RUNS as f64).then_some(())
    })
    .await;
    let pkey = [
        ("agent", "pg-stmt"),
        ("database", "shop"),
        ("index", "orders_pkey"),
    ];
    wait_for(DEADLINE, "index scans of orders_pkey", || async {
        (last(&collector, "pg_index_scans", &pkey).await? >= LOOKUPS as f64).then_some(())
    })
    .await;
    let indexes = texts(&collector, "pg_index").await;
    let pkey: serde_json::Value = indexes
        .iter()
        .find(|(key, _)| key == "shop/public.orders_pkey")
        .map(|(_, text)| serde_json::from_str(text).expect("a JSON pg_index text"))
        .unwrap_or_else(|| panic!("no orders_pkey text: {indexes:?}"));
    assert_eq!(
        pkey,
        serde_json::json!({
            "definition": "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)",
            "keys": ["id"],
            "include": [],
            "predicate": "",
            "method": "btree",
            "unique": true,
        })
    );
    let queries = wait_for(
        DEADLINE,
        "the normalised text and ALTER ROLE's head",
        || async {
            let queries = texts(&collector, "pg_query").await;
            let normalised = queries.iter().any(|(key, text)| {
                *key == format!("shop/{queryid}")
                    && text.starts_with(
                        "SELECT id, total FROM orders WHERE email = $1 AND token <> $2",
                    )
            });
            let utility = queries.iter().any(|(_, text)| text == "ALTER ROLE …");
            (normalised && utility).then_some(queries)
        },
    )
    .await;

    // A few more scrapes, to catch anything sent later.
    let before = scrapes(&collector, "pg-stmt").await;
    wait_for(DEADLINE, "three more scrapes", || async {
        (scrapes(&collector, "pg-stmt").await >= before + 3).then_some(())
    })
    .await;
    let mut stored: Vec<(String, String)> = texts(&collector, "pg_query").await;
    stored.extend(texts(&collector, "pg_index").await);
    let collector_log = std::fs::read_to_string(&collector.log).unwrap_or_default();
    let agent_log = std::fs::read_to_string(&agent.log).unwrap_or_default();
    for secret in [EMAIL, "@example.com", TOKEN, PASSWORD] {
        for (key, text) in &stored {
            assert!(
                !key.contains(secret) && !text.contains(secret),
                "{secret} reached the collector: {key} = {text}"
            );
        }
        assert!(
            !collector_log.contains(secret),
            "{secret} is in the collector's log"
        );
        assert!(
            !agent_log.contains(secret),
            "{secret} is in the agent's log"
        );
    }
    let (_, list) = collector.get("/api/v1/series?prefix=pg_").await;
    let labels = list.to_string();
    for secret in [EMAIL, TOKEN, PASSWORD] {
        assert!(!labels.contains(secret), "{secret} is in a series label");
    }
    assert!(
        !queries.iter().any(|(_, text)| text.contains("S3cret")),
        "{queries:?}"
    );

    let (status, body) = collector.get("/api/v1/texts").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("`kind`"),
        "{body}"
    );
    drop(agent);
}

/// Runs an agent on `db` of `cluster`, where pg_stat_statements cannot be
/// read, and checks that tables, indexes and database counters arrive,
/// `pg_stat_statements_available` is 0 and one WARN containing `fix` is
/// logged over several scrapes.
async fn everything_else_arrives(cluster: &PgCluster, db: &str, id: &str, fix: &str) {
    let collector = Collector::start(CollectorOptions::default()).await;
    let agent = Agent::start(&agent_toml(
        id,
        &collector.endpoint(),
        &cluster.url(db, "headroom"),
    ));
    let labels = [("agent", id), ("database", db)];
    let table = [("agent", id), ("database", db), ("table", "orders")];
    let pkey = [("agent", id), ("index", "orders_pkey")];
    let available = wait_for(
        DEADLINE,
        "three scrapes with tables, indexes and database counters",
        || async {
            last(&collector, "pg_table_seq_scan", &table).await?;
            last(&collector, "pg_table_live_tuples", &table).await?;
            last(&collector, "pg_index_scans", &pkey).await?;
            last(&collector, "pg_database_xact_commit", &[("agent", id)]).await?;
            let available = collector
                .points("pg_stat_statements_available", &labels)
                .await;
            let points = available.first()?;
            (points.len() >= 3).then(|| points.clone())
        },
    )
    .await;
    assert!(
        available.iter().all(|(_, value)| *value == 0.0),
        "pg_stat_statements is unavailable: {available:?}"
    );
    let up = last(&collector, "up", &[("agent", id), ("source", "postgres")]).await;
    assert_eq!(up, Some(1.0), "{}", tail(&agent.log, 20));
    assert!(
        collector
            .points("pg_statement_calls", &[("agent", id)])
            .await
            .is_empty()
    );
    assert!(texts(&collector, "pg_query").await.is_empty());
    let log = std::fs::read_to_string(&agent.log).unwrap_or_default();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("pg_stat_statements is unavailable"))
        .collect();
    assert_eq!(warnings.len(), 1, "one WARN, not one per scrape:\n{log}");
    assert!(
        warnings[0].contains(fix),
        "the WARN says how to fix it:\n{log}"
    );
    drop(agent);
}

/// At the default `catalog_interval` (5 minutes) the tables and indexes
/// are read at the first scrape and held while scrapes go on; an index
/// created meanwhile is read at the next scrape, with the tables.
#[tokio::test(flavor = "multi_thread")]
async fn the_catalog_is_read_once_then_at_once_when_an_index_is_created() {
    let cluster = PgCluster::start();
    cluster.execute("postgres", MONITOR_ROLE).await;
    cluster.execute("postgres", "CREATE DATABASE shop").await;
    cluster.execute("shop", ORDERS).await;
    let collector = Collector::start(CollectorOptions::default()).await;
    let agent = Agent::start(&agent_toml_catalog(
        "pg-catalog",
        &collector.endpoint(),
        &cluster.url("shop", "headroom"),
        "5m",
    ));
    let table = [
        ("agent", "pg-catalog"),
        ("database", "shop"),
        ("table", "orders"),
    ];
    let rows = || async { collector.points("pg_table_live_tuples", &table).await };
    wait_for(DEADLINE, "the first catalog read", || async {
        rows()
            .await
            .first()
            .map(|points| !points.is_empty())?
            .then_some(())
    })
    .await;
    let before = scrapes(&collector, "pg-catalog").await;
    wait_for(DEADLINE, "three more scrapes", || async {
        (scrapes(&collector, "pg-catalog").await >= before + 3).then_some(())
    })
    .await;
    assert_eq!(
        rows().await[0].len(),
        1,
        "tables are held, not read at every scrape: {}",
        tail(&agent.log, 20)
    );
    assert!(
        texts(&collector, "pg_index")
            .await
            .iter()
            .all(|(key, _)| key != "shop/public.orders_email")
    );
    cluster
        .execute("shop", "CREATE INDEX orders_email ON orders (email)")
        .await;
    wait_for(
        DEADLINE,
        "the new index read at the next scrape",
        || async {
            texts(&collector, "pg_index")
                .await
                .iter()
                .any(|(key, _)| key == "shop/public.orders_email")
                .then_some(())
        },
    )
    .await;
    assert_eq!(rows().await[0].len(), 2, "the tables were read with it");
    drop(agent);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_pg_stat_statements_everything_else_still_arrives() {
    let cluster = PgCluster::start();
    cluster.execute("postgres", MONITOR_ROLE).await;
    cluster.execute("postgres", "CREATE DATABASE plain").await;
    cluster.execute("plain", ORDERS).await;
    everything_else_arrives(
        &cluster,
        "plain",
        "pg-plain",
        "CREATE EXTENSION pg_stat_statements",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_extension_that_is_not_preloaded_is_reported_and_the_rest_arrives() {
    let cluster = PgCluster::start_with(false);
    cluster.execute("postgres", MONITOR_ROLE).await;
    cluster
        .execute("postgres", "CREATE DATABASE unloaded")
        .await;
    cluster
        .execute(
            "unloaded",
            &format!("CREATE EXTENSION pg_stat_statements; {ORDERS}"),
        )
        .await;
    everything_else_arrives(
        &cluster,
        "unloaded",
        "pg-unloaded",
        "shared_preload_libraries",
    )
    .await;
}
