//! PostgreSQL: connections by state against `max_connections`, lock waits,
//! database size and `pg_stat_database` counters (transactions, blocks
//! hit/read for the cache hit ratio, temp bytes, deadlocks) here;
//! per-query deltas from `pg_stat_statements` read in `statements`,
//! computed in `deltas` (the `statements_top` slowest per interval, the
//! rest as one `other` record), their texts made safe in `text`;
//! the `tables_top` largest tables of the connected database and their
//! indexes in `tables`; index candidates for its slowest SELECTs, verified
//! with EXPLAIN (and hypopg when installed), and a verdict for each, in
//! `advisor`.
//!
//! Privileges: any role that can log in sees its own sessions; grant
//! `pg_monitor` (`GRANT pg_monitor TO headroom;`) so that every session's
//! state and every statement's text are visible. No superuser needed.
//! `pg_stat_statements` must be preloaded and created in the connected
//! database; without it the source collects everything else, logs one WARN
//! and reports `pg_stat_statements_available` = 0. The connection is opened
//! on the first scrape and dropped after any error, to be re-opened at the
//! next (per-query deltas then restart from a new baseline).

use std::time::Duration;

use headroom_proto::config::HumanDuration;
use headroom_proto::v1;
use serde::Deserialize;
use tokio_postgres::{Client, NoTls, Row};

use super::{Finding, ScrapeError, Source, gauge, sample};
use own::{APPLICATION_NAME, own_sql};
use statements::Statements;

mod advisor;
mod catalog;
mod deltas;
pub mod own;
mod statements;
mod tables;
mod text;

/// Default scrape interval.
pub const DEFAULT_INTERVAL: HumanDuration = HumanDuration::secs(15);
/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: HumanDuration = HumanDuration::secs(5);
/// Default number of statements sent per interval; the rest are `other`.
pub const DEFAULT_STATEMENTS_TOP: usize = 50;
/// Upper bound of `statements_top`, to keep cardinality bounded.
pub const MAX_STATEMENTS_TOP: usize = 1_000;
/// Default number of tables (largest first) sent with their indexes.
pub const DEFAULT_TABLES_TOP: usize = 200;
/// Upper bound of `tables_top`.
pub const MAX_TABLES_TOP: usize = 10_000;
/// Default of `catalog_interval`: tables, indexes and the database's size
/// are read at most this often (`catalog`), and at once on a new relation.
pub const DEFAULT_CATALOG_INTERVAL: HumanDuration = HumanDuration::secs(300);
/// Shortest `catalog_interval`.
pub const MIN_CATALOG_INTERVAL: Duration = Duration::from_secs(1);
/// Default of `index_advice`: index candidates are looked for.
pub const DEFAULT_INDEX_ADVICE: bool = true;
/// Default of `index_advice_interval`: how often a statement is re-examined.
pub const DEFAULT_INDEX_ADVICE_INTERVAL: HumanDuration = HumanDuration::secs(300);
/// Shortest `index_advice_interval`.
pub const MIN_INDEX_ADVICE_INTERVAL: Duration = Duration::from_secs(1);
/// Default of `index_advice_min_rows`: smaller tables are not examined.
pub const DEFAULT_INDEX_ADVICE_MIN_ROWS: u64 = 1_000;
/// Default of `index_advice_max_statements`: statements examined per pass.
pub const DEFAULT_INDEX_ADVICE_MAX_STATEMENTS: usize = 10;
/// Upper bound of `index_advice_max_statements`.
pub const MAX_INDEX_ADVICE_STATEMENTS: usize = 100;

/// `[[sources]] type = "postgres"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub name: Option<String>,
    /// `postgres://user[:password]@host:port/database`
    pub url: String,
    pub interval: HumanDuration,
    pub connect_timeout: HumanDuration,
    /// Statements sent per interval, by execution time in it; the rest are
    /// summed into one record with `other = true`.
    pub statements_top: usize,
    /// Tables sent (largest by table + index size), with their indexes.
    pub tables_top: usize,
    /// Tables, indexes and the database's size are read at most this often
    /// (and at once when a table or an index is created or dropped).
    pub catalog_interval: HumanDuration,
    /// Look for index candidates among the slowest SELECTs.
    pub index_advice: bool,
    /// How often one statement is re-examined.
    pub index_advice_interval: HumanDuration,
    /// Tables with fewer rows (the planner's estimate or n_live_tup,
    /// whichever is larger) are not examined.
    pub index_advice_min_rows: u64,
    /// Statements examined per pass (slowest first).
    pub index_advice_max_statements: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: None,
            url: String::new(),
            interval: DEFAULT_INTERVAL,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            statements_top: DEFAULT_STATEMENTS_TOP,
            tables_top: DEFAULT_TABLES_TOP,
            catalog_interval: DEFAULT_CATALOG_INTERVAL,
            index_advice: DEFAULT_INDEX_ADVICE,
            index_advice_interval: DEFAULT_INDEX_ADVICE_INTERVAL,
            index_advice_min_rows: DEFAULT_INDEX_ADVICE_MIN_ROWS,
            index_advice_max_statements: DEFAULT_INDEX_ADVICE_MAX_STATEMENTS,
        }
    }
}

impl Config {
    /// `url` must parse; `interval` must be at least 100ms;
    /// `statements_top` at most [`MAX_STATEMENTS_TOP`]; `tables_top` from 1
    /// to [`MAX_TABLES_TOP`]; `index_advice_interval` at least 1s;
    /// `index_advice_max_statements` at most [`MAX_INDEX_ADVICE_STATEMENTS`].
    pub fn validate(&self) -> Result<(), String> {
        check_url(&self.url, "postgres://headroom@127.0.0.1:5432/postgres")?;
        if self.interval.0 < Duration::from_millis(100) {
            return Err("`interval` must be at least 100ms".into());
        }
        if self.statements_top > MAX_STATEMENTS_TOP {
            return Err(format!(
                "`statements_top` must be at most {MAX_STATEMENTS_TOP}, not {}",
                self.statements_top
            ));
        }
        if !(1..=MAX_TABLES_TOP).contains(&self.tables_top) {
            return Err(format!(
                "`tables_top` must be from 1 to {MAX_TABLES_TOP}, not {}",
                self.tables_top
            ));
        }
        if self.catalog_interval.0 < MIN_CATALOG_INTERVAL {
            return Err("`catalog_interval` must be at least 1s".into());
        }
        if self.index_advice_interval.0 < MIN_INDEX_ADVICE_INTERVAL {
            return Err("`index_advice_interval` must be at least 1s".into());
        }
        if self.index_advice_max_statements > MAX_INDEX_ADVICE_STATEMENTS {
            return Err(format!(
                "`index_advice_max_statements` must be at most {MAX_INDEX_ADVICE_STATEMENTS}, not {}",
                self.index_advice_max_statements
            ));
        }
        Ok(())
    }
}

/// Settings, the database's name and `pg_class`'s churn (rows inserted
/// and deleted: any CREATE or DROP moves it; see `catalog`).
const Q_SETTINGS: &str = own_sql!(
    "SELECT current_setting('max_connections')::float8, \
     current_setting('superuser_reserved_connections')::float8, \
     (pg_stat_get_tuples_inserted('pg_catalog.pg_class'::regclass) \
       + pg_stat_get_tuples_deleted('pg_catalog.pg_class'::regclass))::int8, \
     current_database()"
);

const Q_CONNECTIONS: &str = own_sql!(
    "SELECT coalesce(state, 'unknown'), count(*)::float8 FROM pg_stat_activity \
     WHERE backend_type = 'client backend' GROUP BY 1"
);

const Q_LOCK_WAITS: &str =
    own_sql!("SELECT count(*)::float8 FROM pg_stat_activity WHERE wait_event_type = 'Lock'");

const Q_DATABASES: &str = own_sql!(
    "SELECT datname, numbackends::float8, xact_commit::float8, xact_rollback::float8, \
     blks_read::float8, blks_hit::float8, tup_returned::float8, tup_fetched::float8, tup_inserted::float8, \
     tup_updated::float8, tup_deleted::float8, temp_files::float8, temp_bytes::float8, deadlocks::float8 \
     FROM pg_stat_database WHERE datname IS NOT NULL AND datname NOT LIKE 'template%'"
);

/// Counters of `Q_DATABASES`, in column order after `datname` and `numbackends`.
const DATABASE_COUNTERS: [&str; 12] = [
    "pg_database_xact_commit",
    "pg_database_xact_rollback",
    "pg_database_blks_read",
    "pg_database_blks_hit",
    "pg_database_tup_returned",
    "pg_database_tup_fetched",
    "pg_database_tup_inserted",
    "pg_database_tup_updated",
    "pg_database_tup_deleted",
    "pg_database_temp_files",
    "pg_database_temp_bytes",
    "pg_database_deadlocks",
];

/// The source: its configuration, once connected a client, the
/// previous reading of pg_stat_statements and the examined statements.
pub struct PostgresSource {
    name: String,
    config: Config,
    client: Option<Client>,
    statements: Statements,
    catalog: catalog::Catalog,
    advisor: advisor::Advisor,
}

impl PostgresSource {
    /// A source that connects on its first scrape.
    pub fn new(name: String, config: Config) -> Self {
        Self {
            statements: Statements::new(name.clone(), config.statements_top),
            catalog: catalog::Catalog::new(
                i64::try_from(config.catalog_interval.0.as_millis()).unwrap_or(i64::MAX),
            ),
            advisor: advisor::Advisor::new(
                name.clone(),
                advisor::Settings {
                    enabled: config.index_advice,
                    interval: config.index_advice_interval.0,
                    min_rows: config.index_advice_min_rows,
                    max_statements: config.index_advice_max_statements,
                    tables_top: config.tables_top,
                },
            ),
            name,
            config,
            client: None,
        }
    }

    /// `host:port/database` of the URL, without user or password.
    pub fn endpoint(&self) -> String {
        endpoint(&self.config.url)
    }

    /// The open client (taken out of `self`: put it back when done), or a
    /// new one.
    async fn connect(&mut self) -> Result<Client, tokio_postgres::Error> {
        let client = match self.client.take() {
            Some(client) if !client.is_closed() => client,
            _ => {
                // A new session may be a new server (a failover): per-query
                // deltas restart from a baseline.
                self.statements.forget();
                self.catalog.forget();
                connect(&self.config.url, self.config.connect_timeout.0, &self.name).await?
            }
        };
        Ok(client)
    }

    /// One scrape; the client is kept only when it succeeds.
    async fn read(&mut self, now_ms: i64) -> Result<v1::Batch, tokio_postgres::Error> {
        let client = self.connect().await?;
        let batch = self.read_with(&client, now_ms).await?;
        self.client = Some(client);
        Ok(batch)
    }

    async fn read_with(
        &mut self,
        client: &Client,
        now_ms: i64,
    ) -> Result<v1::Batch, tokio_postgres::Error> {
        let settings = client.query_one(Q_SETTINGS, &[]).await?;
        let connections = client.query(Q_CONNECTIONS, &[]).await?;
        let lock_waits = client.query_one(Q_LOCK_WAITS, &[]).await?;
        let databases = client.query(Q_DATABASES, &[]).await?;
        let database: String = settings.get(3);
        // The catalog-wide reads, only when due (`catalog`).
        let version = if self.catalog.churned(settings.get(2)) {
            let row = client.query_one(catalog::Q_VERSION, &[]).await?;
            Some(catalog::Version {
                relations: row.get(0),
                oid_sum: row.get(1),
            })
        } else {
            None
        };
        let fresh = if self.catalog.due(version, now_ms) {
            let bytes: f64 = client
                .query_one(catalog::Q_DATABASE_SIZE, &[])
                .await?
                .get(0);
            let reading = tables::read(client, &database, self.config.tables_top, now_ms).await?;
            let sent = (
                bytes,
                reading.tables.clone(),
                reading.indexes.clone(),
                reading.total_tables,
            );
            self.catalog.store(now_ms, version, reading);
            Some(sent)
        } else {
            None
        };
        let mut samples = samples(
            now_ms,
            &settings,
            &connections,
            &lock_waits,
            &databases,
            fresh.as_ref().map(|(bytes, ..)| *bytes),
        );
        let statements = self.statements.read(client, &database, now_ms).await?;
        let (tables, indexes) = self.catalog.held();
        let advice = self
            .advisor
            .read(
                client,
                &database,
                &statements.records,
                tables,
                indexes,
                now_ms,
            )
            .await?;
        // The agent's own cost: samples, never statement records.
        samples.extend(statements.own);
        let labels = [("database", database.as_str())];
        samples.push(gauge(
            "pg_stat_statements_available",
            &labels,
            now_ms,
            if statements.available { 1.0 } else { 0.0 },
        ));
        let (pg_tables, pg_indexes) = match fresh {
            Some((_, tables, indexes, total_tables)) => {
                samples.push(gauge(
                    "pg_user_tables",
                    &labels,
                    now_ms,
                    total_tables as f64,
                ));
                (tables, indexes)
            }
            None => (Vec::new(), Vec::new()),
        };
        Ok(v1::Batch {
            samples,
            pg_statements: statements.records,
            pg_tables,
            pg_indexes,
            index_candidates: advice.candidates,
            index_verdicts: advice.verdicts,
            ..v1::Batch::default()
        })
    }
}

/// Opens a session to `url` as `headroom-agent`, its connection driven by a
/// task of its own (for the postgres and medusa sources).
pub async fn connect(
    url: &str,
    timeout: Duration,
    source: &str,
) -> Result<Client, tokio_postgres::Error> {
    let mut pg = url.parse::<tokio_postgres::Config>()?;
    pg.connect_timeout(timeout);
    pg.application_name(APPLICATION_NAME);
    let (client, connection) = pg.connect(NoTls).await?;
    let source = source.to_owned();
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(source = %source, error = %error, "PostgreSQL connection closed");
        }
    });
    Ok(client)
}

/// A source's `url`: present and a PostgreSQL URL (`example` shows one).
pub fn check_url(url: &str, example: &str) -> Result<(), String> {
    if url.is_empty() {
        return Err(format!("`url` is required, e.g. {example}"));
    }
    url.parse::<tokio_postgres::Config>()
        .map(|_| ())
        .map_err(|error| format!("`url` is not a PostgreSQL URL: {error}"))
}

/// `host:port/database` of a PostgreSQL URL, never its credentials.
pub fn endpoint(url: &str) -> String {
    let Ok(config) = url.parse::<tokio_postgres::Config>() else {
        return "<invalid url>".into();
    };
    let host = config
        .get_hosts()
        .first()
        .map(|host| match host {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}/{}", config.get_dbname().unwrap_or(""))
}

/// Rows → samples (pure).
fn samples(
    now_ms: i64,
    settings: &Row,
    connections: &[Row],
    lock_waits: &Row,
    databases: &[Row],
    database_bytes: Option<f64>,
) -> Vec<v1::Sample> {
    let database: String = settings.get(3);
    let mut out = vec![
        gauge("pg_max_connections", &[], now_ms, settings.get(0)),
        gauge(
            "pg_superuser_reserved_connections",
            &[],
            now_ms,
            settings.get(1),
        ),
        gauge("pg_lock_waits", &[], now_ms, lock_waits.get(0)),
    ];
    if let Some(bytes) = database_bytes {
        out.push(gauge(
            "pg_database_size_bytes",
            &[("database", &database)],
            now_ms,
            bytes,
        ));
    }
    let mut total = 0.0;
    for row in connections {
        let state: String = row.get(0);
        let count: f64 = row.get(1);
        total += count;
        out.push(gauge("pg_connections", &[("state", &state)], now_ms, count));
    }
    out.push(gauge("pg_connections_total", &[], now_ms, total));
    for row in databases {
        let name: String = row.get(0);
        let labels = [("database", name.as_str())];
        out.push(gauge("pg_database_backends", &labels, now_ms, row.get(1)));
        for (index, metric) in DATABASE_COUNTERS.iter().enumerate() {
            out.push(sample(
                metric,
                &labels,
                v1::MetricKind::Counter,
                now_ms,
                row.get(index + 2),
            ));
        }
    }
    out
}

/// What a connection error means and how to fix it.
pub(crate) fn diagnose(error: &tokio_postgres::Error, endpoint: &str) -> String {
    let text = error.to_string();
    if let Some(db) = error.as_db_error() {
        return match db.code().code() {
            "28P01" | "28000" => format!(
                "PostgreSQL at {endpoint} refused the login ({}): check the user and password in `url`, and pg_hba.conf",
                db.message()
            ),
            "3D000" => format!(
                "the database in `url` does not exist at {endpoint}: {}",
                db.message()
            ),
            "53300" => format!(
                "PostgreSQL at {endpoint} has no free connection slots: {}",
                db.message()
            ),
            _ => format!(
                "PostgreSQL at {endpoint} answered with an error: {}",
                db.message()
            ),
        };
    }
    let source = std::error::Error::source(error)
        .map(ToString::to_string)
        .unwrap_or_default();
    if source.contains("refused") || text.contains("refused") {
        format!(
            "nothing accepts connections at {endpoint}: is PostgreSQL running there, and is `url` right?"
        )
    } else if text.contains("timed out") || text.contains("timeout") {
        format!("connecting to {endpoint} timed out: check the host, the port and any firewall")
    } else {
        format!("cannot reach PostgreSQL at {endpoint}: {text} {source}")
    }
}

#[async_trait::async_trait]
impl Source for PostgresSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn scrape(&mut self, now_ms: i64) -> Result<v1::Batch, ScrapeError> {
        match self.read(now_ms).await {
            Ok(batch) => Ok(batch),
            Err(error) => {
                self.client = None;
                self.statements.forget();
                self.catalog.forget();
                Err(ScrapeError(diagnose(&error, &self.endpoint())))
            }
        }
    }

    async fn check(&mut self) -> Vec<Finding> {
        let endpoint = self.endpoint();
        let mut findings = Vec::new();
        let client = match self.connect().await {
            Ok(client) => client,
            Err(error) => {
                let problem = diagnose(&error, &endpoint);
                return vec![Finding::problem(
                    format!("cannot connect to PostgreSQL at {endpoint}"),
                    problem,
                )];
            }
        };
        match client
            .query_one(own_sql!("SELECT version(), current_user"), &[])
            .await
        {
            Ok(row) => {
                let version: String = row.get(0);
                let user: String = row.get(1);
                let short = version.split(" on ").next().unwrap_or(&version).to_owned();
                findings.push(Finding::ok(format!(
                    "connected to {endpoint} as {user} ({short})"
                )));
                let monitor = client
                    .query_one(
                        own_sql!("SELECT rolsuper OR pg_has_role(current_user, 'pg_monitor', 'member') FROM pg_roles WHERE rolname = current_user"),
                        &[],
                    )
                    .await
                    .map(|row| row.get::<_, bool>(0))
                    .unwrap_or(false);
                if monitor {
                    findings.push(Finding::ok(
                        "the role can read every session's statistics (pg_monitor)",
                    ));
                } else {
                    findings.push(Finding::problem(
                        format!(
                            "{user} lacks pg_monitor: other sessions' states and queries are hidden"
                        ),
                        format!("as a superuser: GRANT pg_monitor TO {user};"),
                    ));
                }
            }
            Err(error) => findings.push(Finding::problem(
                "cannot query PostgreSQL",
                diagnose(&error, &endpoint),
            )),
        }
        let statements = client
            .query_one(
                own_sql!("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'), \
                 current_setting('shared_preload_libraries') LIKE '%pg_stat_statements%'"),
                &[],
            )
            .await
            .map(|row| (row.get::<_, bool>(0), row.get::<_, bool>(1)));
        match statements {
            Ok((true, true)) => findings.push(Finding::ok("pg_stat_statements is installed and loaded")),
            Ok((installed, preloaded)) => findings.push(Finding::problem(
                "pg_stat_statements is not available: per-query advice (indexes, hot queries) needs it",
                match (installed, preloaded) {
                    (_, false) => "add pg_stat_statements to shared_preload_libraries in postgresql.conf, restart \
                                   PostgreSQL, then run CREATE EXTENSION pg_stat_statements; in this database"
                        .to_owned(),
                    _ => "run CREATE EXTENSION pg_stat_statements; in this database".to_owned(),
                },
            )),
            Err(error) => findings.push(Finding::problem("cannot look for pg_stat_statements", diagnose(&error, &endpoint))),
        }
        if self.config.index_advice {
            findings.push(hypopg_finding(&client, &endpoint).await);
            findings.push(table_access_finding(&client, &endpoint).await);
        }
        self.client = Some(client);
        findings
    }
}

/// Whether the role may read the tables index candidates are explained on
/// (EXPLAIN needs SELECT); without it candidates are skipped.
async fn table_access_finding(client: &Client, endpoint: &str) -> Finding {
    let access = client
        .query_one(
            own_sql!("SELECT count(*), count(*) FILTER (WHERE NOT has_table_privilege(c.oid, 'SELECT')) \
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"),
            &[],
        )
        .await
        .map(|row| (row.get::<_, i64>(0), row.get::<_, i64>(1)));
    match access {
        Ok((_, 0)) => Finding::ok("index advice can read every table it may explain"),
        Ok((tables, denied)) => Finding::problem(
            format!(
                "index advice cannot EXPLAIN statements on {denied} of {tables} tables: this role may not SELECT them"
            ),
            "GRANT pg_read_all_data TO <this role>; (or GRANT SELECT on the application's tables), \
             or set index_advice = false on this source"
                .to_owned(),
        ),
        Err(error) => Finding::problem("cannot check table access", diagnose(&error, endpoint)),
    }
}

/// Whether index candidates can be verified with hypopg in this database.
async fn hypopg_finding(client: &Client, endpoint: &str) -> Finding {
    let found = client
        .query_one(
            own_sql!(
                "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'hypopg'), \
             EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg')"
            ),
            &[],
        )
        .await
        .map(|row| (row.get::<_, bool>(0), row.get::<_, bool>(1)));
    match found {
        Ok((true, _)) => Finding::ok(
            "hypopg is installed: index candidates are verified with hypothetical indexes",
        ),
        // Optional: its absence is reported, not a failed check.
        Ok((false, true)) => Finding::ok(
            "hypopg is not installed: index candidates carry the plan's cost without the index \
             only (to verify them, as a superuser in this database: CREATE EXTENSION hypopg;)",
        ),
        Ok((false, false)) => Finding::ok(
            "hypopg is not installed: index candidates carry the plan's cost without the index \
             only (to verify them, install the hypopg package for this PostgreSQL, e.g. \
             postgresql-15-hypopg, then CREATE EXTENSION hypopg;)",
        ),
        Err(error) => Finding::problem("cannot look for hypopg", diagnose(&error, endpoint)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_never_shows_credentials() {
        assert_eq!(
            endpoint("postgres://u:secret@db.example:6543/shop"),
            "db.example:6543/shop"
        );
        assert_eq!(endpoint("not a url at all ::"), "<invalid url>");
    }

    #[test]
    fn config_requires_a_parsable_url_and_a_sane_interval() {
        assert!(
            Config::default()
                .validate()
                .expect_err("no url")
                .contains("`url` is required")
        );
        let bad_interval = Config {
            url: "postgres://u@h/db".into(),
            interval: HumanDuration(Duration::from_millis(1)),
            ..Config::default()
        };
        assert!(
            bad_interval
                .validate()
                .expect_err("too fast")
                .contains("interval")
        );
    }

    #[test]
    fn index_advice_is_on_by_default_and_its_keys_are_bounded() {
        let config: Config = toml::from_str("url = \"postgres://u@h/db\"").expect("parses");
        assert!(config.index_advice);
        assert_eq!(config.index_advice_interval, DEFAULT_INDEX_ADVICE_INTERVAL);
        assert_eq!(
            (
                config.index_advice_min_rows,
                config.index_advice_max_statements
            ),
            (1_000, 10)
        );
        let fast: Config = toml::from_str(
            "url = \"postgres://u@h/db\"\nindex_advice_interval = \"1s\"\nindex_advice = false",
        )
        .expect("parses");
        assert!(fast.validate().is_ok());
        let too_fast = Config {
            index_advice_interval: HumanDuration(Duration::from_millis(500)),
            ..fast.clone()
        };
        assert!(too_fast.validate().is_err());
        let too_many = Config {
            index_advice_max_statements: MAX_INDEX_ADVICE_STATEMENTS + 1,
            ..fast
        };
        assert!(too_many.validate().is_err());
    }

    #[test]
    fn caps_are_bounded() {
        let base = Config {
            url: "postgres://u@h/db".into(),
            ..Config::default()
        };
        for (statements_top, tables_top, ok) in [
            (0, 1, true),
            (DEFAULT_STATEMENTS_TOP, DEFAULT_TABLES_TOP, true),
            (MAX_STATEMENTS_TOP, MAX_TABLES_TOP, true),
            (MAX_STATEMENTS_TOP + 1, DEFAULT_TABLES_TOP, false),
            (DEFAULT_STATEMENTS_TOP, 0, false),
            (DEFAULT_STATEMENTS_TOP, MAX_TABLES_TOP + 1, false),
        ] {
            let config = Config {
                statements_top,
                tables_top,
                ..base.clone()
            };
            assert_eq!(
                config.validate().is_ok(),
                ok,
                "{statements_top} {tables_top}"
            );
        }
    }
}
