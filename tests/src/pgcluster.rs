//! A private PostgreSQL cluster for tests that need `pg_stat_statements`
//! preloaded (the machine's server may not have it): `initdb` in a temp dir
//! with trust auth, started by `pg_ctl` on a free port on 127.0.0.1 with
//! `shared_preload_libraries = pg_stat_statements` and
//! `pg_stat_statements.track = all` (or without them, to test their
//! absence); stopped (`-m immediate`) and removed when dropped. PostgreSQL refuses to run as root, so when the tests run
//! as root its binaries run as the `postgres` OS user (`runuser`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tokio_postgres::{Client, NoTls};

use crate::free_port;

/// Where Debian puts PostgreSQL 15's server binaries.
pub const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// The role an agent logs in as in the advisor's tests: statistics
/// (`pg_monitor`) and read access to every table (so that it may EXPLAIN
/// their statements), no writes.
pub const AGENT_ROLE: &str =
    "CREATE ROLE headroom LOGIN; GRANT pg_monitor TO headroom; GRANT pg_read_all_data TO headroom;";

/// The OS user that owns the cluster when the tests run as root.
const PG_OS_USER: &str = "postgres";

/// A running private cluster; its superuser is `postgres`.
pub struct PgCluster {
    dir: tempfile::TempDir,
    data: PathBuf,
    pub port: u16,
}

impl PgCluster {
    /// Creates and starts a cluster with `pg_stat_statements` preloaded.
    pub fn start() -> Self {
        Self::start_with(true)
    }

    /// Creates and starts a cluster (a few seconds), retrying on another
    /// port if the chosen one was taken meanwhile.
    pub fn start_with(preload_pg_stat_statements: bool) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let sockets = dir.path().join("sockets");
        std::fs::create_dir(&sockets).expect("socket dir");
        if as_root() {
            let status = Command::new("chown")
                .args(["-R", &format!("{PG_OS_USER}:{PG_OS_USER}")])
                .arg(dir.path())
                .status()
                .expect("chown runs");
            assert!(status.success(), "chown of {} failed", dir.path().display());
        }
        let init = pg_command(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "--auth=trust",
                "--username=postgres",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        assert!(init.status.success(), "initdb failed: {}", text(&init));
        let log = dir.path().join("postgres.log");
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
                sockets.display()
            );
            if preload_pg_stat_statements {
                options.push_str(
                    " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all",
                );
            }
            let started = pg_command(
                "pg_ctl",
                &[
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    &data.display().to_string(),
                    "-l",
                    &log.display().to_string(),
                    "-o",
                    &options,
                    "start",
                ],
            );
            if started.status.success() {
                return Self { dir, data, port };
            }
            last_error = format!(
                "{}\n{}",
                text(&started),
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        panic!("pg_ctl start failed three times: {last_error}");
    }

    /// `postgres://user@127.0.0.1:PORT/db` (trust auth: no password).
    pub fn url(&self, db: &str, user: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
    }

    /// A connection to `db` as `user`.
    pub async fn connect(&self, db: &str, user: &str) -> Client {
        let (client, connection) = tokio_postgres::connect(&self.url(db, user), NoTls)
            .await
            .unwrap_or_else(|error| panic!("connect to {db} as {user}: {error}"));
        tokio::spawn(connection);
        client
    }

    /// Runs `sql` (one or more statements in one implicit transaction, so
    /// no CREATE DATABASE among several; simple protocol: literals stay
    /// literals) in `db` as the superuser.
    pub async fn execute(&self, db: &str, sql: &str) {
        self.connect(db, "postgres")
            .await
            .batch_execute(sql)
            .await
            .unwrap_or_else(|error| {
                let detail = error
                    .as_db_error()
                    .map_or_else(|| error.to_string(), |db| db.message().to_owned());
                panic!("{sql}: {detail}")
            });
    }

    /// Starts a cluster with `pg_stat_statements` preloaded, the agent's
    /// role ([`AGENT_ROLE`]) and a database `shop` holding `schema`.
    pub async fn start_shop(schema: &str) -> Self {
        let cluster = Self::start();
        cluster.execute("postgres", AGENT_ROLE).await;
        cluster.execute("postgres", "CREATE DATABASE shop").await;
        cluster.execute("shop", schema).await;
        cluster
    }

    /// Runs `sql` through `psql` in `db` as the superuser, as an engineer
    /// runs advice (`CREATE INDEX CONCURRENTLY` needs to be outside a
    /// transaction block); panics with psql's error when it fails.
    pub fn psql(&self, db: &str, sql: &str) {
        let output = Command::new(format!("{PG_BIN}/psql"))
            .args([
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                &self.url(db, "postgres"),
                "-c",
                sql,
            ])
            .output()
            .expect("psql runs");
        assert!(
            output.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// The server's log so far (for assertion messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = pg_command(
            "pg_ctl",
            &[
                "-D",
                &self.data.display().to_string(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

/// Whether this process runs as root (PostgreSQL's binaries refuse it).
fn as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL binary, as the `postgres` OS user when we are root.
fn pg_command(binary: &str, args: &[&str]) -> Output {
    let path = Path::new(PG_BIN).join(binary);
    let mut command = if as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", PG_OS_USER, "--"]).arg(&path);
        command
    } else {
        Command::new(&path)
    };
    command
        .args(args)
        .current_dir("/")
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", path.display()))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
