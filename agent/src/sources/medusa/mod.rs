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
//! Safe on large tables: never a full `count(*)`. Table sizes are the
//! planner's estimates (`pg_class.reltuples`); a table never analysed
//! (`reltuples` = -1, as small stores' tables stay) is counted up to
//! [`UNANALYSED_COUNT_CAP`] rows instead. Rates come from incremental windows
//! `(previous scrape, now - 10 s]` on the database's clock (the lag lets
//! rows that Medusa stamped with the app's clock commit first): `created_at` is not
//! indexed in Medusa v2, so the scan is bounded by the primary key, whose
//! ids are `<prefix>_<ULID>` and thus sorted by creation time
//! (`id >= 'order_' || ULID of (window start - 10 min)`), then filtered
//! exactly on `created_at`. The first scrape only sets the window's start:
//! no giant first window. The window survives reconnects, so counts stay
//! exact across errors. A row that commits more than 10 s after its
//! `created_at` (or whose app clock lags the database's by more) is not
//! counted.
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
//! `medusa_inventory_oversold_levels` and `medusa_inventory_oversold_units`.
//! At most `MAX_CURRENCIES` (50) currencies are labels; the rest are `other`.

use std::time::Duration;

use headroom_proto::config::HumanDuration;
use headroom_proto::v1;
use serde::Deserialize;
use tokio_postgres::Client;

use super::postgres::endpoint;
use super::{Finding, ScrapeError, Source, gauge};
use window::{Reading, Window, id_lower_bound};

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

/// The window's end: the database's clock minus [`SETTLE_SECONDS`].
const Q_NOW: &str = "SELECT (now() - make_interval(secs => $1::float8))::text, \
     (extract(epoch FROM now() - make_interval(secs => $1::float8)) * 1000)::float8";

const Q_ESTIMATES: &str = "SELECT c.relname::text, c.reltuples::float8 FROM pg_class c \
     JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') \
     AND c.relname IN ('product', 'product_variant', 'order', 'cart')";

/// Orders in the window by currency, with the value of their latest summary.
const Q_ORDERS: &str = "SELECT o.currency_code, count(*)::float8, \
     coalesce(sum((s.totals ->> 'current_order_total')::numeric), 0)::float8 \
     FROM \"order\" o LEFT JOIN LATERAL (SELECT totals FROM order_summary \
     WHERE order_id = o.id AND deleted_at IS NULL ORDER BY version DESC LIMIT 1) s ON true \
     WHERE o.id >= $1 AND o.created_at > $2::text::timestamptz \
     AND o.created_at <= $3::text::timestamptz AND o.deleted_at IS NULL \
     GROUP BY 1";

/// Carts created in the window.
const Q_CARTS_CREATED: &str = "SELECT count(*)::float8 FROM cart \
     WHERE id >= $1 AND created_at > $2::text::timestamptz \
     AND created_at <= $3::text::timestamptz AND deleted_at IS NULL";

/// Carts completed in the window: a cart is completed within days of its
/// creation, so only carts created in the last 30 days are scanned.
const Q_CARTS_COMPLETED: &str = "SELECT count(*)::float8 FROM cart \
     WHERE id >= $1 AND completed_at > $2::text::timestamptz \
     AND completed_at <= $3::text::timestamptz AND deleted_at IS NULL";

/// How far back completed carts are looked for, by id.
const COMPLETED_LOOKBACK_MS: i64 = 30 * 24 * 3_600 * 1_000;

const Q_OVERSOLD: &str = "SELECT count(*)::float8, \
     coalesce(sum(reserved_quantity - stocked_quantity), 0)::float8 \
     FROM inventory_level WHERE deleted_at IS NULL AND reserved_quantity > stocked_quantity";

const Q_PRIVILEGES: &str = "SELECT t.name, c.oid IS NOT NULL, \
     c.oid IS NOT NULL AND has_table_privilege(c.oid, 'SELECT') \
     FROM unnest($2::text[]) WITH ORDINALITY AS t(name, position) \
     LEFT JOIN pg_namespace n ON n.nspname = $1 \
     LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.name \
     ORDER BY t.position";

/// The source: its configuration, once connected a client, and the window.
pub struct MedusaSource {
    name: String,
    config: Config,
    client: Option<Client>,
    window: Window,
}

impl MedusaSource {
    /// A source that connects on its first scrape.
    pub fn new(name: String, config: Config) -> Self {
        Self {
            name,
            config,
            client: None,
            window: Window::default(),
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
        client
            .batch_execute(&format!(
                "SET default_transaction_read_only = on; SET statement_timeout = {STATEMENT_TIMEOUT_MS}; \
                 SET search_path TO {}",
                quote_ident(&self.config.schema)
            ))
            .await?;
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
        let mut samples = Vec::new();
        for row in client.query(Q_ESTIMATES, &[&self.config.schema]).await? {
            let table: String = row.get(0);
            let Some(name) = estimate_name(&table) else {
                continue;
            };
            let mut rows: f64 = row.get(1);
            if rows < 0.0 {
                // Never analysed: a small table (autovacuum analyses after
                // 50 changed rows), so a capped count is cheap.
                let capped = format!(
                    "SELECT count(*)::float8 FROM (SELECT 1 FROM {} LIMIT {UNANALYSED_COUNT_CAP}) t",
                    quote_ident(&table)
                );
                rows = client.query_one(&capped, &[]).await?.get(0);
            }
            samples.push(gauge(name, &[], now_ms, rows));
        }
        let oversold = client.query_one(Q_OVERSOLD, &[]).await?;
        samples.push(gauge(
            "medusa_inventory_oversold_levels",
            &[],
            now_ms,
            oversold.get(0),
        ));
        samples.push(gauge(
            "medusa_inventory_oversold_units",
            &[],
            now_ms,
            oversold.get(1),
        ));
        let now = client
            .query_one(Q_NOW, &[&f64::from(SETTLE_SECONDS)])
            .await?;
        let (end, end_ms): (String, f64) = (now.get(0), now.get(1));
        if let Some((start, start_ms)) = self.window.start().cloned() {
            let since = start_ms as i64 - ID_SLACK_MS;
            let order_bound = id_lower_bound("order", since);
            let cart_bound = id_lower_bound("cart", since);
            let completed_bound = id_lower_bound("cart", since - COMPLETED_LOOKBACK_MS);
            let orders = client
                .query(Q_ORDERS, &[&order_bound, &start, &end])
                .await?
                .iter()
                .map(|row| {
                    let currency: Option<String> = row.get(0);
                    (currency.unwrap_or_default(), row.get(1), row.get(2))
                })
                .collect();
            let created = client
                .query_one(Q_CARTS_CREATED, &[&cart_bound, &start, &end])
                .await?;
            let completed = client
                .query_one(Q_CARTS_COMPLETED, &[&completed_bound, &start, &end])
                .await?;
            let reading = Reading {
                orders,
                carts_created: created.get(0),
                carts_completed: completed.get(0),
            };
            let minutes = (end_ms - start_ms) / 60_000.0;
            samples.extend(self.window.record(&reading, minutes, now_ms));
        }
        self.window.advance(end, end_ms);
        Ok(samples)
    }
}

/// The estimate's metric name for a table.
fn estimate_name(table: &str) -> Option<&'static str> {
    match table {
        "product" => Some("medusa_products_estimate"),
        "product_variant" => Some("medusa_variants_estimate"),
        "order" => Some("medusa_orders_estimate"),
        "cart" => Some("medusa_carts_estimate"),
        _ => None,
    }
}

/// `name` as a quoted SQL identifier.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// What an error means and how to fix it.
fn diagnose(error: &tokio_postgres::Error, endpoint: &str, schema: &str) -> String {
    if let Some(db) = error.as_db_error() {
        match db.code().code() {
            "42P01" => {
                return format!(
                    "{} at {endpoint} (schema {schema}): is this a Medusa v2 database?",
                    db.message()
                );
            }
            "42501" => {
                return format!(
                    "{} at {endpoint}: grant the role SELECT on Medusa's tables (run `headroom-agent check`)",
                    db.message()
                );
            }
            "57014" => {
                return format!(
                    "a query at {endpoint} took longer than {STATEMENT_TIMEOUT_MS} ms and was cancelled: {}",
                    db.message()
                );
            }
            _ => {}
        }
    }
    if let Some(db) = error.as_db_error() {
        return format!(
            "PostgreSQL at {endpoint} answered with an error: {}",
            db.message()
        );
    }
    let source = std::error::Error::source(error)
        .map(ToString::to_string)
        .unwrap_or_default();
    format!("cannot reach PostgreSQL at {endpoint}: {error} {source}")
}

/// Check findings from (table, exists, can select) rows (pure).
fn table_findings(schema: &str, user: &str, rows: &[(String, bool, bool)]) -> Vec<Finding> {
    let missing: Vec<&str> = rows
        .iter()
        .filter(|(_, exists, _)| !exists)
        .map(|(name, _, _)| name.as_str())
        .collect();
    let denied: Vec<&str> = rows
        .iter()
        .filter(|(_, exists, select)| *exists && !select)
        .map(|(name, _, _)| name.as_str())
        .collect();
    let mut findings = Vec::new();
    if !missing.is_empty() {
        findings.push(Finding::problem(
            format!(
                "tables missing from schema {schema}: {}; is this a Medusa v2 database?",
                missing.join(", ")
            ),
            "point `url` at the store's database (the one `medusa db:migrate` ran on) and `schema` at its schema",
        ));
    }
    if !denied.is_empty() {
        let list: Vec<String> = denied
            .iter()
            .map(|table| format!("{}.{}", quote_ident(schema), quote_ident(table)))
            .collect();
        findings.push(Finding::problem(
            format!("{user} cannot SELECT {}", denied.join(", ")),
            format!(
                "GRANT USAGE ON SCHEMA {} TO {user}; GRANT SELECT ON {} TO {user};",
                quote_ident(schema),
                list.join(", ")
            ),
        ));
    }
    if missing.is_empty() && denied.is_empty() {
        findings.push(Finding::ok(format!(
            "{user} can read Medusa's tables in schema {schema}"
        )));
    }
    findings
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
            .query_one("SELECT current_user::text", &[])
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
        assert_eq!(estimate_name("product"), Some("medusa_products_estimate"));
        assert_eq!(
            estimate_name("product_variant"),
            Some("medusa_variants_estimate")
        );
        assert_eq!(estimate_name("order"), Some("medusa_orders_estimate"));
        assert_eq!(estimate_name("cart"), Some("medusa_carts_estimate"));
        assert_eq!(estimate_name("customer"), None);
    }

    #[test]
    fn check_names_missing_tables_and_the_grant() {
        let rows = vec![
            ("order".to_owned(), true, false),
            ("cart".to_owned(), false, false),
            ("product".to_owned(), true, true),
        ];
        let findings = table_findings("public", "ro", &rows);
        assert_eq!(findings.len(), 2);
        assert!(findings[0].what.contains("cart"), "{findings:?}");
        assert!(findings[0].what.contains("Medusa v2"), "{findings:?}");
        assert_eq!(
            findings[1].fix.as_deref(),
            Some(
                "GRANT USAGE ON SCHEMA \"public\" TO ro; GRANT SELECT ON \"public\".\"order\" TO ro;"
            )
        );
        let ok = table_findings("public", "ro", &[("order".to_owned(), true, true)]);
        assert!(ok[0].ok);
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
