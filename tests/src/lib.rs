//! End-to-end harness: starts the real `headroom-collector` and
//! `headroom-agent` binaries (built by `cargo build --workspace --bins`),
//! creates fresh PostgreSQL databases on the machine's server, reads the
//! JSON API and polls with deadlines instead of sleeping.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fixtures;
pub mod load;
pub mod openapi;
pub mod otlp_sdk;
pub mod pgcluster;
pub mod receiver;
pub mod synthetic;
pub mod webdriver;

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The machine's PostgreSQL (trust auth), as STACK.md describes it.
pub const PG_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Path of a workspace binary next to the test executable.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // A test runs from target/<profile>/deps/, the bench from target/<profile>/.
    let dir = exe.parent().expect("exe dir");
    let dir = if dir.ends_with("deps") {
        dir.parent().expect("target dir")
    } else {
        dir
    };
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` before the tests (the README's test command does)",
        path.display()
    );
    path
}

/// An HTTP client. reqwest is built with `rustls-no-provider` for the
/// collector's alerts, so a provider must be installed before any client is
/// built (`reqwest::Client::new()` alone panics): build clients here.
pub fn http_client() -> reqwest::Client {
    headroom_collector::alerts::deliver::install_crypto_provider();
    reqwest::Client::new()
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Two distinct free ports, held together while chosen so they differ.
fn two_free_ports() -> (SocketAddr, SocketAddr) {
    let a = TcpListener::bind("127.0.0.1:0").expect("bind");
    let b = TcpListener::bind("127.0.0.1:0").expect("bind");
    (a.local_addr().expect("addr"), b.local_addr().expect("addr"))
}

/// The collector.toml for `collector`'s dir and ports and `options`.
fn collector_toml(collector: &Collector, options: &CollectorOptions) -> String {
    let tokens: Vec<String> = options
        .agent_tokens
        .iter()
        .map(|t| format!("{t:?}"))
        .collect();
    format!(
        "data_dir = {:?}\ngrpc_listen = \"{}\"\nhttp_listen = \"{}\"\ndatabase_url = {:?}\nanalysis_interval = {:?}\n[auth]\nagent_tokens = [{}]\n{}{}",
        collector.dir.path().join("data").display().to_string(),
        collector.grpc,
        collector.http,
        options.database_url.clone().unwrap_or_default(),
        options
            .analysis_interval
            .clone()
            .unwrap_or_else(|| "60s".to_owned()),
        tokens.join(", "),
        web_tokens(options),
        options.extra_toml,
    )
}

/// The `[auth]` lines of the dashboard and admin tokens that are set.
fn web_tokens(options: &CollectorOptions) -> String {
    [
        ("dashboard_token", &options.dashboard_token),
        ("admin_token", &options.admin_token),
    ]
    .iter()
    .filter(|(_, token)| !token.is_empty())
    .map(|(key, token)| format!("{key} = {token:?}\n"))
    .collect()
}

/// Polls `probe` until it returns `Some`, or panics after `timeout` with `what`.
pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The last `lines` lines of a log file (for assertion messages).
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn spawn(binary: &str, args: &[String], env: &[(String, String)], log: &Path) -> Child {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("log file");
    let err = out.try_clone().expect("log file");
    Command::new(bin(binary))
        .args(args)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(key, value)| (key, value)))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {binary}: {error}"))
}

/// One of our binaries, running or not; killed when dropped.
#[derive(Debug)]
pub struct Process {
    binary: &'static str,
    args: Vec<String>,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

impl Process {
    fn new(binary: &'static str, args: Vec<String>, log: PathBuf) -> Self {
        Self {
            binary,
            args,
            env: Vec::new(),
            log,
            child: None,
        }
    }

    /// Starts it (again), appending to the same log.
    fn start(&mut self) {
        assert!(self.child.is_none(), "{} is already running", self.binary);
        self.child = Some(spawn(self.binary, &self.args, &self.env, &self.log));
    }

    /// SIGKILL: no chance to flush anything.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait.
    fn stop(&mut self) -> Option<ExitStatus> {
        self.child.take().map(|mut child| terminate(&mut child))
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| child.try_wait().ok().flatten().is_none())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends SIGTERM to `child` and waits for it to exit.
pub fn terminate(child: &mut Child) -> ExitStatus {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            return child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How to start a collector.
#[derive(Debug, Clone, Default)]
pub struct CollectorOptions {
    /// `postgres://…`; default: SQLite in the data dir.
    pub database_url: Option<String>,
    pub agent_tokens: Vec<String>,
    /// Extra TOML appended to the config file.
    pub extra_toml: String,
    /// `analysis_interval` (top-level key), e.g. "5s".
    pub analysis_interval: Option<String>,
    /// `[auth] dashboard_token`; empty: none.
    pub dashboard_token: String,
    /// `[auth] admin_token`; empty: none.
    pub admin_token: String,
    /// Run `headroom-collector demo` (the simulated store) instead of `serve`.
    pub demo: bool,
    /// Extra environment variables for the process.
    pub env: Vec<(String, String)>,
}

/// A running (or stopped) collector with its own data dir and ports.
pub struct Collector {
    process: Process,
    pub dir: tempfile::TempDir,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    pub log: PathBuf,
    client: reqwest::Client,
}

impl Collector {
    /// Starts a collector and waits until `/healthz` answers. Ports come from
    /// `free_port`, which another test may take before the collector binds
    /// them: a start that fails on an address in use is retried on new ports.
    pub async fn start(options: CollectorOptions) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("collector.log");
        let config_path = dir.path().join("collector.toml");
        let mut args: Vec<String> = if options.demo {
            vec!["demo".into()]
        } else {
            Vec::new()
        };
        args.extend(["--config".into(), config_path.display().to_string()]);
        let mut process = Process::new("headroom-collector", args, log.clone());
        process.env = options.env.clone();
        let mut collector = Self {
            process,
            grpc: SocketAddr::from(([127, 0, 0, 1], 0)),
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
            dir,
            log,
            client: http_client(),
        };
        for attempt in 1..=5 {
            let (grpc, http) = two_free_ports();
            collector.grpc = grpc;
            collector.http = http;
            std::fs::write(&config_path, collector_toml(&collector, &options)).expect("config");
            match collector.try_start().await {
                Ok(()) => return collector,
                Err(log) if attempt < 5 && log.contains("in use") => continue,
                Err(log) => panic!("the collector did not start:\n{log}"),
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// The gRPC endpoint for agents.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// Starts the process again (same config, data and ports) and waits for health.
    pub async fn restart(&mut self) {
        if let Err(log) = self.try_start().await {
            panic!("the collector did not restart:\n{log}");
        }
    }

    /// Starts the process and waits for `/healthz`; on an early exit or a
    /// timeout, stops it and returns the log's tail.
    async fn try_start(&mut self) -> Result<(), String> {
        self.process.start();
        let url = format!("http://{}/healthz", self.http);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let healthy = self
                .client
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if healthy {
                return Ok(());
            }
            if !self.process.is_running() || Instant::now() > deadline {
                self.process.kill();
                return Err(tail(&self.log, 30));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// SIGTERM and wait.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        self.process.stop()
    }

    /// The process id while it runs (for /proc figures in the benchmark).
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// GET `path` on the HTTP API and parse the JSON body (any status).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("http://{}{path}", self.http))
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path}: {error}\n{}", tail(&self.log, 30)));
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// The recommendations `GET /api/v1/recommendations?{query}` lists
    /// (asserting a 200).
    pub async fn recommendations(&self, query: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/api/v1/recommendations?{query}")).await;
        assert_eq!(status, 200, "{body}");
        body["recommendations"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// POSTs `body` as JSON to `path` on the HTTP API.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("http://{}{path}", self.http))
            .json(body)
            .send()
            .await
            .unwrap_or_else(|error| panic!("POST {path}: {error}\n{}", tail(&self.log, 30)));
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Sends `method` to `path` with `headers` (and `body` as JSON); returns
    /// the status, the response headers and the body as text.
    pub async fn request(
        &self,
        method: http::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&Value>,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let mut request = self
            .client
            .request(method.clone(), format!("http://{}{path}", self.http));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("{method} {path}: {error}\n{}", tail(&self.log, 30)));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        (status, headers, text)
    }

    /// GET `path` with `Authorization: Bearer <token>`; the JSON body (any status).
    pub async fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
        let bearer = format!("Bearer {token}");
        let (status, _, text) = self
            .request(
                http::Method::GET,
                path,
                &[("authorization", bearer.as_str())],
                None,
            )
            .await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// The agent `id` from `/api/v1/agents`, if it exists yet.
    pub async fn agent(&self, id: &str) -> Option<Value> {
        let (_, body) = self.get("/api/v1/agents").await;
        body["agents"]
            .as_array()?
            .iter()
            .find(|agent| agent["id"] == id)
            .cloned()
    }

    /// Every point of series `name` matching `labels` over all time, as
    /// (timestamp, value), per series.
    pub async fn points(&self, name: &str, labels: &[(&str, &str)]) -> Vec<Vec<(i64, f64)>> {
        let mut path = format!("/api/v1/series?name={name}&from=0&to=9999999999999");
        for (key, value) in labels {
            path.push_str(&format!("&{key}={value}"));
        }
        let (status, body) = self.get(&path).await;
        assert_eq!(status, 200, "{body}");
        body["series"]
            .as_array()
            .expect("series")
            .iter()
            .map(|series| {
                series["points"]
                    .as_array()
                    .expect("points")
                    .iter()
                    .map(|p| (p[0].as_i64().expect("t"), p[1].as_f64().expect("v")))
                    .collect()
            })
            .collect()
    }
}

/// A running (or stopped) agent with its own config and spool.
pub struct Agent {
    process: Process,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
    pub log: PathBuf,
}

impl Agent {
    /// Writes `agent.toml` (`{spool}` in `toml` becomes the spool dir) and starts the agent.
    pub fn start(toml: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("agent.toml");
        let spool = dir.path().join("spool");
        std::fs::write(
            &config,
            toml.replace("{spool}", &spool.display().to_string()),
        )
        .expect("config");
        let log = dir.path().join("agent.log");
        let args = vec![
            "run".to_owned(),
            "--config".to_owned(),
            config.display().to_string(),
        ];
        let mut agent = Self {
            process: Process::new("headroom-agent", args, log.clone()),
            dir,
            config,
            log,
        };
        agent.restart();
        agent
    }

    /// Starts the process again with the same config and spool.
    pub fn restart(&mut self) {
        self.process.start();
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// SIGTERM (graceful: seals and flushes) and wait.
    pub fn stop(&mut self) -> Option<ExitStatus> {
        self.process.stop()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }
}

/// An agent.toml with one postgres source scraping the machine's server.
pub fn postgres_agent_toml(id: &str, endpoint: &str, interval: &str, extra: &str) -> String {
    format!(
        "[agent]\nid = \"{id}\"\nflush_interval = \"200ms\"\n[collector]\nendpoint = \"{endpoint}\"\n\
         min_backoff = \"100ms\"\nmax_backoff = \"1s\"\n{extra}\n[spool]\ndir = \"{{spool}}\"\n\
         [[sources]]\ntype = \"postgres\"\nurl = \"{PG_ADMIN_URL}\"\ninterval = \"{interval}\"\n"
    )
}

/// A fresh database on the machine's PostgreSQL, dropped at the end.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    /// Creates `headroom_test_<random>`.
    pub fn create() -> Self {
        let name = format!("headroom_test_{:016x}", rand::random::<u64>());
        psql(&format!("CREATE DATABASE {name}"));
        Self {
            url: format!("postgres://postgres@127.0.0.1:5432/{name}"),
            name,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        psql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

fn psql(sql: &str) {
    let status = Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-qc",
            sql,
        ])
        .status()
        .expect("psql runs");
    assert!(status.success(), "psql failed: {sql}");
}

/// Asserts that `ordinals` (values of `agent_scrapes_total` in time order)
/// are 1, 2, … n: every scrape stored once, in order, none missing.
pub fn assert_each_scrape_once(ordinals: &[u64], what: &str) {
    let expected: Vec<u64> = (1..=ordinals.len() as u64).collect();
    assert_eq!(ordinals, expected.as_slice(), "{what}");
}

/// Values of `agent_scrapes_total` in time order (one series expected).
pub fn scrape_ordinals(series: &[Vec<(i64, f64)>]) -> Vec<u64> {
    assert_eq!(series.len(), 1, "expected one agent_scrapes_total series");
    series[0].iter().map(|(_, v)| *v as u64).collect()
}
