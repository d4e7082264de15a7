//! PostgreSQL on this host: the Medusa project's `DATABASE_URL`, the
//! `PGHOST`/`PGPORT`/`PGUSER`/`PGDATABASE`/`PGPASSWORD` environment, the
//! server on 127.0.0.1:5432 and the unix socket in `/var/run/postgresql`,
//! each tried once; the ones that reach the same server (same start time
//! and port) become one `postgres` source, the first in that order.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use super::plan::Statements;
use crate::sources::postgres::{connect, diagnose, endpoint, own::own_sql};

/// The directory of the local server's unix socket.
pub const SOCKET_DIR: &str = "/var/run/postgresql";
/// PostgreSQL's default port.
const DEFAULT_PORT: u16 = 5432;

/// One way to reach a server.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub url: String,
    /// How it was found, e.g. "DATABASE_URL in /srv/shop/.env".
    pub how: String,
    /// Configured somewhere (a failure is worth telling), not merely a
    /// default address tried.
    pub configured: bool,
}

/// What a server said when a candidate connected.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Same for every session to the same server.
    pub server: String,
    /// `PostgreSQL 15.8`.
    pub version: String,
    pub user: String,
    pub statements: Statements,
    /// Medusa's `order` table is in `public`.
    pub medusa_tables: bool,
}

/// Why a candidate did not connect (never with its credentials).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The server answered (it refused the login or the database).
    pub answered: bool,
    pub reason: String,
}

/// The candidates, most specific first. `database_url` is the Medusa
/// project's; `environment` is init's own.
pub fn candidates(
    database_url: Option<(&str, &str)>,
    environment: &BTreeMap<String, String>,
    socket_dir: &Path,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    if let Some((url, how)) = database_url {
        out.push(Candidate {
            url: url.to_owned(),
            how: how.to_owned(),
            configured: true,
        });
    }
    let env = |key: &str| environment.get(key).filter(|v| !v.is_empty()).cloned();
    let user = env("PGUSER");
    let database = env("PGDATABASE").unwrap_or_else(|| "postgres".into());
    let port = env("PGPORT")
        .and_then(|port| port.parse().ok())
        .unwrap_or(DEFAULT_PORT);
    if ["PGHOST", "PGPORT", "PGUSER", "PGDATABASE"]
        .iter()
        .any(|key| env(key).is_some())
    {
        let host = env("PGHOST").unwrap_or_else(|| "127.0.0.1".into());
        out.push(Candidate {
            url: url(
                &host,
                port,
                user.as_deref().unwrap_or("postgres"),
                env("PGPASSWORD").as_deref(),
                &database,
            ),
            how: "PGHOST/PGPORT/PGUSER/PGDATABASE in the environment".into(),
            configured: true,
        });
    }
    // Default addresses: as PGUSER, else postgres, else the login user.
    let mut users = vec![user.unwrap_or_else(|| "postgres".into())];
    if let Some(login) = env("USER").filter(|login| !users.contains(login)) {
        users.push(login);
    }
    for user in &users {
        out.push(Candidate {
            url: url("127.0.0.1", DEFAULT_PORT, user, None, &database),
            how: format!("a server answered on 127.0.0.1:{DEFAULT_PORT} (as {user})"),
            configured: false,
        });
    }
    if socket_dir.join(format!(".s.PGSQL.{port}")).exists() {
        for user in &users {
            out.push(Candidate {
                url: url(&socket_dir.to_string_lossy(), port, user, None, &database),
                how: format!(
                    "a server answered on the unix socket in {} (as {user})",
                    socket_dir.display()
                ),
                configured: false,
            });
        }
    }
    out
}

/// `postgres://user[:password]@host:port/database`, percent-encoded (a
/// host that is a socket directory included).
fn url(host: &str, port: u16, user: &str, password: Option<&str>, database: &str) -> String {
    let encode = |text: &str| utf8_percent_encode(text, NON_ALPHANUMERIC).to_string();
    let host = if host.starts_with('/') {
        encode(host)
    } else {
        host.to_owned()
    };
    let password = password
        .map(|password| format!(":{}", encode(password)))
        .unwrap_or_default();
    format!(
        "postgres://{}{password}@{host}:{port}/{}",
        encode(user),
        encode(database)
    )
}

/// Connects once and asks the server what init needs to know.
pub async fn probe(url: &str, timeout: Duration) -> Result<Answer, Failure> {
    let failure = |error: tokio_postgres::Error| Failure {
        answered: error.as_db_error().is_some(),
        reason: diagnose(&error, &endpoint(url)),
    };
    let client = connect(url, timeout, "init").await.map_err(failure)?;
    let row = client
        .query_one(
            own_sql!(
                "SELECT version(), current_user::text, \
                 pg_postmaster_start_time()::text || ' ' || current_setting('port'), \
                 EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'), \
                 current_setting('shared_preload_libraries') LIKE '%pg_stat_statements%', \
                 to_regclass('public.\"order\"') IS NOT NULL"
            ),
            &[],
        )
        .await
        .map_err(failure)?;
    let version: String = row.get(0);
    let statements = match (row.get::<_, bool>(3), row.get::<_, bool>(4)) {
        (true, true) => Statements::Ready,
        (_, true) => Statements::NotCreated,
        (_, false) => Statements::NotPreloaded,
    };
    Ok(Answer {
        server: row.get(2),
        // `PostgreSQL 15.8 (Debian …) on x86_64…` → `PostgreSQL 15.8`.
        version: version.split(' ').take(2).collect::<Vec<_>>().join(" "),
        user: row.get(1),
        statements,
        medusa_tables: row.get(5),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_and_the_default_addresses_become_urls() {
        let environment = BTreeMap::from([
            ("PGHOST".to_owned(), "/run/pg".to_owned()),
            ("PGUSER".to_owned(), "shop".to_owned()),
            ("PGPASSWORD".to_owned(), "p@ss word".to_owned()),
            ("USER".to_owned(), "deploy".to_owned()),
        ]);
        let urls: Vec<String> = candidates(
            Some(("postgres://m@db/medusa", "DATABASE_URL in .env")),
            &environment,
            Path::new("/nonexistent"),
        )
        .into_iter()
        .map(|c| c.url)
        .collect();
        assert_eq!(
            urls,
            [
                "postgres://m@db/medusa",
                "postgres://shop:p%40ss%20word@%2Frun%2Fpg:5432/postgres",
                "postgres://shop@127.0.0.1:5432/postgres",
                "postgres://deploy@127.0.0.1:5432/postgres",
            ]
        );
        for url in &urls {
            url.parse::<tokio_postgres::Config>()
                .unwrap_or_else(|error| panic!("{url}: {error}"));
        }
    }

    #[test]
    fn without_environment_only_the_default_address_is_tried() {
        let found = candidates(None, &BTreeMap::new(), Path::new("/nonexistent"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].url, "postgres://postgres@127.0.0.1:5432/postgres");
        assert!(!found[0].configured);
    }
}
