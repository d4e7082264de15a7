//! The medusa source end to end against a private cluster holding the
//! Medusa v2 tables it reads (same names and types as Medusa 2.21's
//! migrations), read by a role with SELECT only: orders and their value per
//! currency counted exactly from the first scrape on, catalog estimates
//! after ANALYZE, oversold inventory levels; and a database without
//! Medusa's tables fails `check` clearly and reports `up = 0`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use headroom_tests::pgcluster::PgCluster;
use headroom_tests::{Agent, Collector, CollectorOptions, bin, tail, wait_for};

const DEADLINE: Duration = Duration::from_secs(60);

/// The tables and columns the source reads, as Medusa v2 creates them.
const SCHEMA: &str = r#"
CREATE TABLE "order" (id text PRIMARY KEY, currency_code text NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz, canceled_at timestamptz);
CREATE TABLE order_summary (id text PRIMARY KEY, order_id text NOT NULL,
    version integer NOT NULL DEFAULT 1, totals jsonb,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz);
CREATE INDEX "IDX_order_summary_order_id_version" ON order_summary (order_id, version)
    WHERE deleted_at IS NULL;
CREATE TABLE cart (id text PRIMARY KEY, currency_code text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz, completed_at timestamptz);
CREATE TABLE product (id text PRIMARY KEY, title text NOT NULL, handle text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz);
CREATE TABLE product_variant (id text PRIMARY KEY, title text NOT NULL, product_id text,
    created_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz);
CREATE TABLE inventory_level (id text PRIMARY KEY, inventory_item_id text NOT NULL,
    location_id text NOT NULL, stocked_quantity numeric NOT NULL DEFAULT 0,
    reserved_quantity numeric NOT NULL DEFAULT 0, incoming_quantity numeric NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz);
"#;

/// The read-only role the agent logs in as.
const ROLE: &str = "CREATE ROLE shop_ro LOGIN;";
const GRANT: &str = "GRANT SELECT ON ALL TABLES IN SCHEMA public TO shop_ro;";

/// Crockford base32, as ULIDs use it.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A Medusa-shaped id made now: `<prefix>_<ULID>`.
fn medusa_id(prefix: &str) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(1);
    let mut time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let mut random = SEQ.fetch_add(1, Ordering::Relaxed);
    let mut chars = [b'0'; 26];
    for slot in chars[..10].iter_mut().rev() {
        *slot = CROCKFORD[(time % 32) as usize];
        time /= 32;
    }
    for slot in chars[10..].iter_mut().rev() {
        *slot = CROCKFORD[(random % 32) as usize];
        random /= 32;
    }
    format!("{prefix}_{}", String::from_utf8_lossy(&chars))
}

/// An order of `total` in `currency` with its summary; `age` in SQL
/// (e.g. `'1 hour'`) makes it older than now.
fn order_sql(currency: &str, total: f64, age: &str) -> String {
    let id = medusa_id("order");
    format!(
        "INSERT INTO \"order\" (id, currency_code, created_at) VALUES ('{id}', '{currency}', now() - interval '{age}');\n\
         INSERT INTO order_summary (id, order_id, totals) VALUES ('{}', '{id}', \
         '{{\"current_order_total\": {total}, \"original_order_total\": {total}, \"paid_total\": 0}}');\n",
        medusa_id("ordsum")
    )
}

/// A few products, variants, old orders and carts, two inventory levels
/// (one with 7 reserved of 5 stocked), analysed.
fn seed() -> String {
    let mut sql = String::new();
    for i in 0..3 {
        let product = medusa_id("prod");
        sql.push_str(&format!(
            "INSERT INTO product (id, title, handle) VALUES ('{product}', 'P{i}', 'p-{i}');\n"
        ));
        for v in 0..2 {
            sql.push_str(&format!(
                "INSERT INTO product_variant (id, title, product_id) VALUES ('{}', 'V{v}', '{product}');\n",
                medusa_id("variant")
            ));
        }
    }
    sql.push_str(&order_sql("usd", 99.0, "1 hour"));
    sql.push_str(&order_sql("eur", 50.0, "2 hours"));
    sql.push_str(&format!(
        "INSERT INTO cart (id, currency_code, created_at) VALUES ('{}', 'usd', now() - interval '1 hour');\n",
        medusa_id("cart")
    ));
    sql.push_str(
        "INSERT INTO inventory_level (id, inventory_item_id, location_id, stocked_quantity, reserved_quantity) \
         VALUES ('ilev_1', 'iitem_1', 'sloc_1', 5, 7), ('ilev_2', 'iitem_2', 'sloc_1', 100, 3);\n\
         ANALYZE;\n",
    );
    sql
}

/// An agent.toml with one medusa source on `url`, scraped every second.
fn agent_toml(id: &str, endpoint: &str, url: &str) -> String {
    format!(
        "[agent]\nid = \"{id}\"\nflush_interval = \"200ms\"\n[collector]\nendpoint = \"{endpoint}\"\n\
         min_backoff = \"100ms\"\nmax_backoff = \"1s\"\n[spool]\ndir = \"{{spool}}\"\n\
         [[sources]]\ntype = \"medusa\"\nurl = \"{url}\"\ninterval = \"1s\"\n"
    )
}

/// The last value of the one series `name` with `labels`, once it exists.
async fn last(collector: &Collector, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let series = collector.points(name, labels).await;
    series.first()?.last().map(|(_, value)| *value)
}

/// Per-minute gauge points times their windows (from the previous scrape's
/// timestamp, read off a series sent at every scrape): what they account for.
async fn integrate(collector: &Collector, name: &str, labels: &[(&str, &str)]) -> f64 {
    let scrapes = collector
        .points("medusa_inventory_oversold_levels", &[labels[0]])
        .await;
    let scrapes: Vec<i64> = scrapes
        .first()
        .map(|points| points.iter().map(|(t, _)| *t).collect())
        .unwrap_or_default();
    let rates = collector.points(name, labels).await;
    let Some(rates) = rates.first() else {
        return 0.0;
    };
    rates
        .iter()
        .map(|(t, rate)| {
            let previous = scrapes.iter().rev().find(|s| *s < t).copied().unwrap_or(*t);
            rate * (t - previous) as f64 / 60_000.0
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn orders_value_catalog_and_oversold_inventory_arrive() {
    let cluster = PgCluster::start();
    cluster.execute("postgres", ROLE).await;
    cluster.execute("postgres", "CREATE DATABASE shop").await;
    cluster
        .execute("shop", &format!("{SCHEMA}{}{GRANT}", seed()))
        .await;
    let collector = Collector::start(CollectorOptions::default()).await;
    let agent = Agent::start(&agent_toml(
        "medusa-1",
        &collector.endpoint(),
        &cluster.url("shop", "shop_ro"),
    ));
    let agent_label = [("agent", "medusa-1")];

    // The first scrape sets the window's start: orders made after it count.
    wait_for(DEADLINE, "the first scrape", || async {
        last(&collector, "medusa_inventory_oversold_levels", &agent_label).await
    })
    .await;
    let mut sql = String::new();
    for total in [10.5, 20.0, 30.0] {
        sql.push_str(&order_sql("usd", total, "0 seconds"));
    }
    for total in [12.25, 7.75] {
        sql.push_str(&order_sql("eur", total, "0 seconds"));
    }
    for _ in 0..4 {
        sql.push_str(&format!(
            "INSERT INTO cart (id, currency_code) VALUES ('{}', 'eur');\n",
            medusa_id("cart")
        ));
    }
    sql.push_str(
        "UPDATE cart SET completed_at = now() WHERE created_at < now() - interval '30 minutes';\n",
    );
    cluster.execute("shop", &sql).await;

    let usd = [("agent", "medusa-1"), ("currency", "usd")];
    let eur = [("agent", "medusa-1"), ("currency", "eur")];
    wait_for(DEADLINE, "the new orders counted", || async {
        let usd = last(&collector, "medusa_orders_total", &usd).await?;
        let eur = last(&collector, "medusa_orders_total", &eur).await?;
        let carts = last(&collector, "medusa_carts_created_total", &agent_label).await?;
        (usd >= 3.0 && eur >= 2.0 && carts >= 4.0).then_some(())
    })
    .await;
    // A few more scrapes, so that nothing is counted twice or late.
    let scrapes = collector
        .points("medusa_inventory_oversold_levels", &agent_label)
        .await[0]
        .len();
    wait_for(DEADLINE, "three more scrapes", || async {
        let now = collector
            .points("medusa_inventory_oversold_levels", &agent_label)
            .await;
        (now.first()?.len() >= scrapes + 3).then_some(())
    })
    .await;
    let log = tail(&agent.log, 40);
    assert_eq!(
        last(&collector, "medusa_orders_total", &usd).await,
        Some(3.0),
        "{log}"
    );
    assert_eq!(
        last(&collector, "medusa_orders_total", &eur).await,
        Some(2.0),
        "{log}"
    );
    assert_eq!(
        last(&collector, "medusa_order_value_total", &usd).await,
        Some(60.5)
    );
    assert_eq!(
        last(&collector, "medusa_order_value_total", &eur).await,
        Some(20.0)
    );
    assert_eq!(
        last(&collector, "medusa_carts_created_total", &agent_label).await,
        Some(4.0)
    );
    assert_eq!(
        last(&collector, "medusa_carts_completed_total", &agent_label).await,
        Some(1.0)
    );
    // The per-minute gauges, times their windows, account for the same.
    let orders = integrate(&collector, "medusa_orders_per_minute", &agent_label).await;
    assert!(
        (orders - 5.0).abs() < 0.5,
        "orders per minute sum to {orders}"
    );
    let value = integrate(&collector, "medusa_order_value_per_minute", &usd).await;
    assert!((value - 60.5).abs() < 6.0, "usd per minute sum to {value}");

    assert!(last(&collector, "medusa_products_estimate", &agent_label).await > Some(0.0));
    assert!(last(&collector, "medusa_variants_estimate", &agent_label).await > Some(0.0));
    assert_eq!(
        last(&collector, "medusa_inventory_oversold_levels", &agent_label).await,
        Some(1.0)
    );
    assert_eq!(
        last(&collector, "medusa_inventory_oversold_units", &agent_label).await,
        Some(2.0)
    );
    assert_eq!(
        last(
            &collector,
            "up",
            &[("agent", "medusa-1"), ("source", "medusa")]
        )
        .await,
        Some(1.0)
    );
    drop(agent);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_without_medusa_tables_fails_check_and_reports_down() {
    let cluster = PgCluster::start();
    cluster.execute("postgres", ROLE).await;
    cluster.execute("postgres", "CREATE DATABASE plain").await;
    cluster
        .execute(
            "plain",
            &format!("CREATE TABLE orders (id serial PRIMARY KEY, total numeric); {GRANT}"),
        )
        .await;
    let collector = Collector::start(CollectorOptions::default()).await;
    let mut agent = Agent::start(&agent_toml(
        "medusa-2",
        &collector.endpoint(),
        &cluster.url("plain", "shop_ro"),
    ));
    let up = [("agent", "medusa-2"), ("source", "medusa")];
    let points = wait_for(DEADLINE, "three scrapes", || async {
        let series = collector.points("up", &up).await;
        let points = series.first()?;
        (points.len() >= 3).then(|| points.clone())
    })
    .await;
    assert!(points.iter().all(|(_, v)| *v == 0.0), "{points:?}");
    assert!(agent.is_running());
    let log = tail(&agent.log, 100);
    assert!(log.contains("is this a Medusa v2 database?"), "{log}");

    let output = Command::new(bin("headroom-agent"))
        .args(["check", "--config"])
        .arg(&agent.config)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains(
            "FAIL tables missing from schema public: order, order_summary, cart, product, \
             product_variant, inventory_level; is this a Medusa v2 database?"
        ),
        "{report}"
    );
    assert!(
        report.contains("ok   connected to the Medusa database"),
        "{report}"
    );
    agent.stop();
}
