//! Medusa v2: business volume read from the store's own PostgreSQL, so that
//! advice can be tiered by real traffic. Orders per minute and their value
//! per currency, carts created and completed per minute, catalog and order
//! table sizes, and inventory levels whose reserved quantity exceeds the
//! stocked one (the "inventory mismatch" symptom).
//!
//! Privileges: a read-only role with `USAGE` on the schema and `SELECT` on
//! `order`, `order_summary`, `cart`, `product`, `product_variant` and
//! `inventory_level` (`check` prints the GRANT). Every session sets
//! `default_transaction_read_only = on` and a 5 s `statement_timeout`.
//!
//! Bounded on any table size and id scheme: every statement costs a
//! catalog lookup, an index range over the rows of one window, or a fixed
//! chunk. Table sizes are the planner's estimates (`pg_class.reltuples`);
//! a table never analysed (`reltuples` = -1, as small stores' tables stay)
//! is counted up to [`UNANALYSED_COUNT_CAP`] rows instead. Rates come from
//! incremental windows `(previous scrape, now - 10 s]` on the database's
//! clock (the lag lets rows that Medusa stamped with the app's clock
//! commit first); how each window is bounded (an index on the time column,
//! time-sortable ULID ids, or the catalog's insert counter, with what each
//! loses) is chosen per table in `plan`. The first scrape only sets the
//! window's start: no giant first window. The window survives reconnects,
//! so counts stay exact across errors. A row that commits more than 10 s
//! after its `created_at` (or whose app clock lags the database's by more)
//! is not counted. Oversold inventory is read by a rolling scan of a fixed
//! number of blocks per scrape (`oversold`). Every statement carries the
//! agent's marker (`postgres::own`), so the postgres source reports it as
//! the agent's own cost, never as the store's.
//!
//! Samples: counters `medusa_orders_total{currency}`,
//! `medusa_order_value_total{currency}` (from the latest
//! `order_summary.totals->>'current_order_total'`, in the currency's main
//! unit), `medusa_carts_created_total`, `medusa_carts_completed_total`
//! (cumulative since the agent started), and per-minute gauges over the
//! last window: `medusa_orders_per_minute` (all currencies),
//! `medusa_order_value_per_minute{currency}`,
//! `medusa_carts_created_per_minute`, `medusa_carts_completed_per_minute`;
//! gauges `medusa_{products,variants,orders,carts}_estimate`,
//! `medusa_inventory_oversold_levels` and `medusa_inventory_oversold_units`
//! (as of the last complete pass); `medusa_count_exact{count}` (1 when
//! `orders`, `carts_created`, `carts_completed` are counted exactly per
//! window, 0 when estimated from inserts or, for completed carts, not sent).
//! At most `MAX_CURRENCIES` (50) currencies are labels; the rest are `other`.

use std::collections::HashMap;
use std::time::Duration;

use headroom_proto::config::HumanDuration;
use headroom_proto::signals::Signal;
use headroom_proto::signals::medusa::{
    MEDUSA_CARTS_ESTIMATE, MEDUSA_COUNT_EXACT, MEDUSA_INVENTORY_OVERSOLD_LEVELS,
    MEDUSA_INVENTORY_OVERSOLD_UNITS, MEDUSA_ORDERS_ESTIMATE, MEDUSA_PRODUCTS_ESTIMATE,
    MEDUSA_VARIANTS_ESTIMATE,
};
use headroom_proto::v1;
use serde::Deserialize;
use tokio_postgres::Client;

use super::postgres::endpoint;
use super::postgres::own::{mark, own_sql};
use super::{Finding, ScrapeError, Source, gauge};
use diagnose::{diagnose, table_findings};
use oversold::Rolling;
use plan::{Method, Plan};
use window::{Reading, Window, id_lower_bound};

mod diagnose;
mod oversold;
mod plan;
mod window;

/// Default scrape interval.
pub const DEFAULT_INTERVAL: HumanDuration = HumanDuration::secs(60);
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: HumanDuration = HumanDuration::secs(5);
/// Default schema of Medusa's tables.
pub const DEFAULT_SCHEMA: &str = "public";
/// Every statement is cancelled after this long.
pub const STATEMENT_TIMEOUT_MS: u64 = 5_000;
/// How far before the window's start the id bound reaches, for clock skew
/// between the app (which makes ids) and the database (`created_at`).
pub const ID_SLACK_MS: i64 = 10 * 60 * 1_000;
/// Windows end this far behind the database's clock: Medusa sets
/// `created_at` from the app's clock when it builds the row, and commits it
/// up to a few seconds later (completing a cart runs a whole workflow).
pub const SETTLE_SECONDS: u32 = 10;
/// Rows counted, at most, in a table never analysed (`reltuples` = -1).
pub const UNANALYSED_COUNT_CAP: u32 = 10_000;

/// The tables read, as Medusa v2 names them.
pub const TABLES: [&str; 6] = [
    "order",
    "order_summary",
    "cart",
    "product",
    "product_variant",
    "inventory_level",
];

/// `[[sources]] type = "medusa"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub name: Option<String>,
    /// The store's database, e.g. `postgres://headroom_ro@127.0.0.1:5432/medusa`.
    pub url: String,
    pub interval: HumanDuration,
    pub connect_timeout: HumanDuration,
    /// The schema holding Medusa's tables.
    pub schema: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: None,
            url: String::new(),
            interval: DEFAULT_INTERVAL,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            schema: DEFAULT_SCHEMA.into(),
        }
    }
}

impl Config {
    /// `url` must parse; `interval` at least 1s; `schema` not empty.
    pub fn validate(&self) -> Result<(), String> {
        super::postgres::check_url(&self.url, "postgres://headroom_ro@127.0.0.1:5432/medusa")?;
        if self.interval.0 < Duration::from_secs(1) {
            return Err("`interval` must be at least 1s".into());
        }
        if self.schema.is_empty() {
            return Err("`schema` must not be empty".into());
        }
        Ok(())
    }
}

/// The window's end: the database's clock minus [`SETTLE_SECONDS`]; and
/// the server's version.
const Q_NOW: &str = own_sql!(
    "SELECT (now() - make_interval(secs => $1::float8))::text, \
     (extract(epoch FROM now() - make_interval(secs => $1::float8)) * 1000)::float8, \
     current_setting('server_version_num')::int4"
);

/// Per table: the planner's row estimate, its size in blocks (a `stat` of
/// its file) and rows inserted since statistics were reset.
const Q_ESTIMATES: &str = own_sql!(
    "SELECT c.relname::text, c.reltuples::float8, \
     (pg_relation_size(c.oid) / current_setting('block_size')::int8)::int8, \
     coalesce(pg_stat_get_tuples_inserted(c.oid), 0)::float8 FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') \
     AND c.relname IN ('product', 'product_variant', 'order', 'cart', 'inventory_level')"
);

/// Orders in the window `($1, $2]` by currency, with the value of their
/// latest summary; `ORDERS_BY_ID` adds the id bound `$3`.
macro_rules! orders_sql {
    ($bound:literal) => {
        own_sql!(concat!(
            "SELECT o.currency_code, count(*)::float8, \
             coalesce(sum((s.totals ->> 'current_order_total')::numeric), 0)::float8 \
             FROM \"order\" o LEFT JOIN LATERAL (SELECT totals FROM order_summary \
             WHERE order_id = o.id AND deleted_at IS NULL ORDER BY version DESC LIMIT 1) s ON true \
             WHERE o.created_at > $1::text::timestamptz AND o.created_at <= $2::text::timestamptz \
             AND o.deleted_at IS NULL",
            $bound,
            " GROUP BY 1"
        ))
    };
}
const Q_ORDERS_BY_TIME: &str = orders_sql!("");
const Q_ORDERS_BY_ID: &str = orders_sql!(" AND o.id >= $3");

/// Carts whose `created_at` or `completed_at` falls in `($1, $2]`; the
/// `_BY_ID` forms add the id bound `$3`.
const Q_CARTS_CREATED_BY_TIME: &str = own_sql!(
    "SELECT count(*)::float8 FROM cart WHERE created_at > $1::text::timestamptz \
     AND created_at <= $2::text::timestamptz AND deleted_at IS NULL"
);
const Q_CARTS_CREATED_BY_ID: &str = own_sql!(
    "SELECT count(*)::float8 FROM cart WHERE created_at > $1::text::timestamptz \
     AND created_at <= $2::text::timestamptz AND deleted_at IS NULL AND id >= $3"
);
const Q_CARTS_COMPLETED_BY_TIME: &str = own_sql!(
    "SELECT count(*)::float8 FROM cart WHERE completed_at > $1::text::timestamptz \
     AND completed_at <= $2::text::timestamptz AND deleted_at IS NULL"
);
/// Completed carts among the newest `$4` carts with ids from `$3`, and
/// how many were examined (the cap reached: the count may miss some).
const Q_CARTS_COMPLETED_BY_ID: &str = own_sql!(
    "SELECT (count(*) FILTER (WHERE completed_at > $1::text::timestamptz \
     AND completed_at <= $2::text::timestamptz))::float8, count(*)::int8 \
     FROM (SELECT completed_at FROM cart WHERE id >= $3 AND deleted_at IS NULL \
     ORDER BY id DESC LIMIT $4) c"
);

const Q_PRIVILEGES: &str = own_sql!(
    "SELECT t.name, c.oid IS NOT NULL, \
     c.oid IS NOT NULL AND has_table_privilege(c.oid, 'SELECT') \
     FROM unnest($2::text[]) WITH ORDINALITY AS t(name, position) \
     LEFT JOIN pg_namespace n ON n.nspname = $1 \
     LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.name \
     ORDER BY t.position"
);

/// One table's row of `Q_ESTIMATES`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Catalog {
    rows: f64,
    blocks: i64,
    inserted: f64,
}

/// The source: its configuration, once connected a client, and the window.
pub struct MedusaSource {
    name: String,
    config: Config,
    client: Option<Client>,
    window: Window,
    /// How each count is bounded, chosen on connecting and every
    /// `DETECT_EVERY_SCRAPES` scrapes.
    plan: Option<Plan>,
    scrapes: u64,
    /// `n_tup_ins` of `order` and `cart` at the previous scrape.
    inserted: Option<(f64, f64)>,
    oversold: Rolling,
}

impl MedusaSource {
    /// A source that connects on its first scrape.
    pub fn new(name: String, config: Config) -> Self {
        Self {
            name,
            config,
            client: None,
            window: Window::default(),
            plan: None,
            scrapes: 0,
            inserted: None,
            oversold: Rolling::default(),
        }
    }

    /// `host:port/database` of the URL, without user or password.
    pub fn endpoint(&self) -> String {
        endpoint(&self.config.url)
    }

    /// The open client (taken out of `self`: put it back when done), or a
    /// new read-only one with a statement timeout and Medusa's schema first
    /// on its search path.
    async fn connect(&mut self) -> Result<Client, tokio_postgres::Error> {
        if let Some(client) = self.client.take()
            && !client.is_closed()
        {
            return Ok(client);
        }
        let client =
            super::postgres::connect(&self.config.url, self.config.connect_timeout.0, &self.name)
                .await?;
        // One statement per call: the marker must lead each.
        client
            .batch_execute(own_sql!("SET default_transaction_read_only = on"))
            .await?;
        client
            .batch_execute(&mark(&format!(
                "SET statement_timeout = {STATEMENT_TIMEOUT_MS}"
            )))
            .await?;
        client
            .batch_execute(&mark(&format!(
                "SET search_path TO {}",
                quote_ident(&self.config.schema)
            )))
            .await?;
        self.plan = None;
        Ok(client)
    }

    /// One scrape; the client is kept only when it succeeds.
    async fn read(&mut self, now_ms: i64) -> Result<v1::Batch, tokio_postgres::Error> {
        let client = self.connect().await?;
        let samples = self.read_with(&client, now_ms).await?;
        self.client = Some(client);
        Ok(v1::Batch {
            samples,
            ..v1::Batch::default()
        })
    }

    async fn read_with(
        &mut self,
        client: &Client,
        now_ms: i64,
    ) -> Result<Vec<v1::Sample>, tokio_postgres::Error> {
        self.scrapes += 1;
        let plan = match self.plan {
            Some(plan) if !self.scrapes.is_multiple_of(plan::DETECT_EVERY_SCRAPES) => plan,
            _ => {
                let plan = plan::detect(client, &self.config.schema).await?;
                if self.plan != Some(plan) {
                    tracing::info!(source = %self.name, plan = ?plan, "medusa counts bounded by");
                }
                self.plan = Some(plan);
                plan
            }
        };
        let mut samples = Vec::new();
        let mut catalog: HashMap<String, Catalog> = HashMap::new();
        for row in client.query(Q_ESTIMATES, &[&self.config.schema]).await? {
            let table: String = row.get(0);
            let mut entry = Catalog {
                rows: row.get(1),
                blocks: row.get(2),
                inserted: row.get(3),
            };
            if entry.rows < 0.0 && estimate_name(&table).is_some() {
                // Never analysed: a small table (autovacuum analyses after
                // 50 changed rows), so a capped count is cheap.
                let capped = mark(&format!(
                    "SELECT count(*)::float8 FROM (SELECT 1 FROM {} LIMIT {UNANALYSED_COUNT_CAP}) t",
                    quote_ident(&table)
                ));
                entry.rows = client.query_one(&capped, &[]).await?.get(0);
            }
            if let Some(name) = estimate_name(&table) {
                samples.push(gauge(name, &[], now_ms, entry.rows));
            }
            catalog.insert(table, entry);
        }
        let now = client
            .query_one(Q_NOW, &[&f64::from(SETTLE_SECONDS)])
            .await?;
        let (end, end_ms, version): (String, f64, i32) = (now.get(0), now.get(1), now.get(2));
        self.read_oversold(client, &catalog, version, now_ms, &mut samples)
            .await?;
        let inserted = (
            catalog.get("order").map_or(0.0, |c| c.inserted),
            catalog.get("cart").map_or(0.0, |c| c.inserted),
        );
        let previous = self.inserted.replace(inserted);
        let mut completed_capped = false;
        if let Some((start, start_ms)) = self.window.start().cloned() {
            let since = start_ms as i64 - ID_SLACK_MS;
            let grown = |now: f64, before: Option<f64>| match before {
                // A statistics reset restarts the counter: nothing counted.
                Some(before) if now >= before => now - before,
                _ => 0.0,
            };
            let mut reading = Reading::default();
            match plan.orders {
                Method::TimeIndex | Method::UlidIds => {
                    let rows = if plan.orders == Method::UlidIds {
                        let bound = id_lower_bound("order", since);
                        client
                            .query(Q_ORDERS_BY_ID, &[&start, &end, &bound])
                            .await?
                    } else {
                        client.query(Q_ORDERS_BY_TIME, &[&start, &end]).await?
                    };
                    reading.orders = rows
                        .iter()
                        .map(|row| {
                            let currency: Option<String> = row.get(0);
                            (currency.unwrap_or_default(), row.get(1), row.get(2))
                        })
                        .collect();
                }
                Method::Inserts | Method::None => {
                    reading.orders_only = Some(grown(inserted.0, previous.map(|p| p.0)));
                }
            }
            reading.carts_created = match plan.carts_created {
                Method::TimeIndex => {
                    count(client, Q_CARTS_CREATED_BY_TIME, &start, &end, None).await?
                }
                Method::UlidIds => {
                    let bound = id_lower_bound("cart", since);
                    count(client, Q_CARTS_CREATED_BY_ID, &start, &end, Some(&bound)).await?
                }
                Method::Inserts | Method::None => grown(inserted.1, previous.map(|p| p.1)),
            };
            reading.carts_completed = match plan.carts_completed {
                Method::TimeIndex => {
                    Some(count(client, Q_CARTS_COMPLETED_BY_TIME, &start, &end, None).await?)
                }
                Method::UlidIds => {
                    let bound = id_lower_bound("cart", since - plan::COMPLETED_LOOKBACK_MS);
                    let row = client
                        .query_one(
                            Q_CARTS_COMPLETED_BY_ID,
                            &[&start, &end, &bound, &plan::COMPLETED_SCAN_CAP],
                        )
                        .await?;
                    completed_capped = row.get::<_, i64>(1) >= plan::COMPLETED_SCAN_CAP;
                    Some(row.get(0))
                }
                Method::Inserts | Method::None => None,
            };
            let minutes = (end_ms - start_ms) / 60_000.0;
            samples.extend(self.window.record(&reading, minutes, now_ms));
        }
        for (count, exact) in [
            ("orders", plan.orders.exact()),
            ("carts_created", plan.carts_created.exact()),
            (
                "carts_completed",
                plan.carts_completed.exact() && !completed_capped,
            ),
        ] {
            samples.push(gauge(
                &MEDUSA_COUNT_EXACT,
                &[("count", count)],
                now_ms,
                if exact { 1.0 } else { 0.0 },
            ));
        }
        self.window.advance(end, end_ms);
        Ok(samples)
    }

    /// Reads the next chunk of `inventory_level` and sends the last
    /// complete pass's totals.
    async fn read_oversold(
        &mut self,
        client: &Client,
        catalog: &HashMap<String, Catalog>,
        version: i32,
        now_ms: i64,
        samples: &mut Vec<v1::Sample>,
    ) -> Result<(), tokio_postgres::Error> {
        let Some(levels) = catalog.get("inventory_level") else {
            return Ok(());
        };
        if let Some((from, to)) = self.oversold.next_range(levels.blocks, version) {
            let row = client
                .query_one(
                    oversold::Q_CHUNK,
                    &[&oversold::tid(from), &oversold::tid(to)],
                )
                .await?;
            self.oversold.add(to, levels.blocks, row.get(0), row.get(1));
        }
        if let Some((levels, units)) = self.oversold.last() {
            samples.push(gauge(
                &MEDUSA_INVENTORY_OVERSOLD_LEVELS,
                &[],
                now_ms,
                levels,
            ));
            samples.push(gauge(&MEDUSA_INVENTORY_OVERSOLD_UNITS, &[], now_ms, units));
        }
        Ok(())
    }
}

/// The count of one cart query over `(start, end]`, with the id bound `$3`
/// when given.
async fn count(
    client: &Client,
    sql: &str,
    start: &str,
    end: &str,
    bound: Option<&str>,
) -> Result<f64, tokio_postgres::Error> {
    let row = match bound {
        Some(bound) => client.query_one(sql, &[&start, &end, &bound]).await?,
        None => client.query_one(sql, &[&start, &end]).await?,
    };
    Ok(row.get(0))
}

/// The estimate's metric name for a table.
fn estimate_name(table: &str) -> Option<&'static Signal> {
    match table {
        "product" => Some(&MEDUSA_PRODUCTS_ESTIMATE),
        "product_variant" => Some(&MEDUSA_VARIANTS_ESTIMATE),
        "order" => Some(&MEDUSA_ORDERS_ESTIMATE),
        "cart" => Some(&MEDUSA_CARTS_ESTIMATE),
        _ => None,
    }
}

/// `name` as a quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[async_trait::async_trait]
impl Source for MedusaSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn scrape(&mut self, now_ms: i64) -> Result<v1::Batch, ScrapeError> {
        match self.read(now_ms).await {
            Ok(batch) => Ok(batch),
            Err(error) => {
                self.client = None;
                Err(ScrapeError(diagnose(
                    &error,
                    &self.endpoint(),
                    &self.config.schema,
                )))
            }
        }
    }

    async fn check(&mut self) -> Vec<Finding> {
        let endpoint = self.endpoint();
        let client = match self.connect().await {
            Ok(client) => client,
            Err(error) => {
                return vec![Finding::problem(
                    format!("cannot connect to the Medusa database at {endpoint}"),
                    diagnose(&error, &endpoint, &self.config.schema),
                )];
            }
        };
        let tables: Vec<String> = TABLES.iter().map(|t| (*t).to_owned()).collect();
        let user = client
            .query_one(own_sql!("SELECT current_user::text"), &[])
            .await
            .map(|row| row.get::<_, String>(0));
        let rows = client
            .query(Q_PRIVILEGES, &[&self.config.schema, &tables])
            .await;
        let findings = match (user, rows) {
            (Ok(user), Ok(rows)) => {
                let rows: Vec<(String, bool, bool)> = rows
                    .iter()
                    .map(|row| (row.get(0), row.get(1), row.get(2)))
                    .collect();
                let mut findings = vec![Finding::ok(format!(
                    "connected to the Medusa database at {endpoint} as {user}"
                ))];
                findings.extend(table_findings(&self.config.schema, &user, &rows));
                findings
            }
            (Err(error), _) | (_, Err(error)) => vec![Finding::problem(
                format!("cannot query the Medusa database at {endpoint}"),
                diagnose(&error, &endpoint, &self.config.schema),
            )],
        };
        self.client = Some(client);
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_are_named_by_table() {
        let name = |table| estimate_name(table).map(|s| s.name);
        assert_eq!(name("product"), Some("medusa_products_estimate"));
        assert_eq!(name("product_variant"), Some("medusa_variants_estimate"));
        assert_eq!(name("order"), Some("medusa_orders_estimate"));
        assert_eq!(name("cart"), Some("medusa_carts_estimate"));
        assert_eq!(estimate_name("customer"), None);
    }

    #[test]
    fn config_requires_a_url_and_a_schema() {
        assert!(Config::default().validate().is_err());
        let config = Config {
            url: "postgres://ro@h/medusa".into(),
            ..Config::default()
        };
        assert!(config.validate().is_ok());
        let no_schema = Config {
            schema: String::new(),
            ..config
        };
        assert!(no_schema.validate().is_err());
    }
}
