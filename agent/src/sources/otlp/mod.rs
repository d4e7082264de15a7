//! OpenTelemetry traces and metrics pushed to the agent over OTLP/gRPC
//! (`type = "otlp"`): a TraceService and a MetricsService on `listen` (plain
//! gRPC, meant for the loopback or a private network). From spans it
//! derives, without forwarding any, per-route request latency histograms,
//! database statements and time per request, each route's statements by
//! fingerprint (so the postgres source's `pg_stat_statements` rows, which
//! carry the same fingerprint, meet the routes that run them), workflow
//! step durations and the export pattern (`traces.rs`); from metrics it keeps only
//! `http.server.request.duration` and `http.server.active_requests`
//! (`metrics.rs`).
//!
//! A request is a root span (no parent) with `http.route`, whatever its kind:
//! Medusa's HTTP root spans are INTERNAL. Its trace's `pg.query:*` spans
//! (or `db.system = postgresql`) are its database statements; they may come
//! in other exports than their root (a SimpleSpanProcessor exports one span
//! per call), so a trace is buffered until its root has arrived and `grace`
//! has passed. Each scrape drains what was derived since the previous one.
//!
//! Privileges: none; it only listens. The server starts on the first scrape
//! and, if it cannot bind or dies, the scrape fails (`up = 0`) and the next
//! one tries again. Privacy: only allowlisted attributes are ever read (see
//! `attributes::ALLOWED_ATTRIBUTES`); headers, URLs and SQL text are neither
//! kept nor logged. A span's `db.statement` (SQL with literal values) is
//! fingerprinted with PostgreSQL's parser on arrival and dropped: what is
//! kept and sent is a 64-bit hash of its parse tree without values
//! (`headroom_proto::fingerprint`).

use std::net::SocketAddr;
use std::time::Duration;

use headroom_proto::config::HumanDuration;
use headroom_proto::otlp::Receiver;
use headroom_proto::otlp::traces::Limits;
use headroom_proto::v1;
use serde::Deserialize;
use tokio::task::JoinHandle;

use super::{Finding, ScrapeError, Source};

/// Default scrape interval: how often derived figures are emitted.
pub const DEFAULT_INTERVAL: HumanDuration = HumanDuration::secs(15);
/// Default OTLP/gRPC address (the standard port 4317 plus 10000, so it does
/// not clash with an OpenTelemetry Collector on the same host).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:14317";
/// Default wait for late children after a trace's root arrives.
pub const DEFAULT_GRACE: HumanDuration = HumanDuration::secs(5);
/// Default wait for the root of a trace before its spans are dropped.
pub const DEFAULT_MAX_TRACE_AGE: HumanDuration = HumanDuration::secs(60);
/// Default number of traces buffered at once.
pub const DEFAULT_MAX_TRACES: usize = 10_000;
/// Default number of distinct routes (and steps) kept as labels.
pub const DEFAULT_MAX_ROUTES: usize = 200;

/// `[[sources]] type = "otlp"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub name: Option<String>,
    pub interval: HumanDuration,
    /// Address of the OTLP/gRPC server (no TLS, no authentication).
    pub listen: String,
    /// Wait for late child spans after a trace's root arrives.
    pub grace: HumanDuration,
    /// Wait for a trace's root before its spans are dropped.
    pub max_trace_age: HumanDuration,
    /// Traces buffered at once; also the number of metric streams
    /// remembered (to turn cumulative points into deltas).
    pub max_traces: usize,
    /// Distinct routes (and workflow steps) kept as labels.
    pub max_routes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: None,
            interval: DEFAULT_INTERVAL,
            listen: DEFAULT_LISTEN.into(),
            grace: DEFAULT_GRACE,
            max_trace_age: DEFAULT_MAX_TRACE_AGE,
            max_traces: DEFAULT_MAX_TRACES,
            max_routes: DEFAULT_MAX_ROUTES,
        }
    }
}

impl Config {
    /// `interval` at least 100ms, `listen` a socket address, `grace` below
    /// `max_trace_age`, caps above zero.
    pub fn validate(&self) -> Result<(), String> {
        if self.interval.0 < Duration::from_millis(100) {
            return Err("`interval` must be at least 100ms".into());
        }
        if self.listen.parse::<SocketAddr>().is_err() {
            return Err(format!(
                "`listen`: `{}` is not an address such as 127.0.0.1:14317",
                self.listen
            ));
        }
        if self.grace.0 >= self.max_trace_age.0 {
            return Err("`grace` must be shorter than `max_trace_age`".into());
        }
        if self.max_traces == 0 || self.max_routes == 0 {
            return Err("`max_traces` and `max_routes` must be at least 1".into());
        }
        Ok(())
    }

    fn limits(&self) -> Limits {
        Limits {
            grace_ms: self.grace.0.as_millis() as i64,
            max_age_ms: self.max_trace_age.0.as_millis() as i64,
            max_traces: self.max_traces,
            max_labels: self.max_routes,
        }
    }
}

/// The otlp source: its server task and what it has derived.
pub struct OtlpSource {
    name: String,
    config: Config,
    receiver: Receiver,
    server: Option<JoinHandle<Result<(), tonic::transport::Error>>>,
    last_scrape_ms: Option<i64>,
}

impl OtlpSource {
    pub fn new(name: String, config: Config) -> Self {
        let receiver = Receiver::new(
            config.limits(),
            config.max_traces,
            config.max_routes,
            Some(headroom_proto::fingerprint::statement),
        );
        Self {
            name,
            config,
            receiver,
            server: None,
            last_scrape_ms: None,
        }
    }

    /// Starts the server unless it runs; reports why it cannot.
    async fn ensure_server(&mut self) -> Result<(), ScrapeError> {
        if let Some(server) = &self.server {
            if !server.is_finished() {
                return Ok(());
            }
            if let Some(server) = self.server.take() {
                match server.await {
                    Ok(Err(error)) => {
                        tracing::warn!(source = %self.name, error = %error, "the OTLP server stopped; restarting it")
                    }
                    Err(error) => {
                        tracing::warn!(source = %self.name, error = %error, "the OTLP server stopped; restarting it")
                    }
                    Ok(Ok(())) => {}
                }
            }
        }
        let listener = tokio::net::TcpListener::bind(&self.config.listen)
            .await
            .map_err(|error| {
                ScrapeError(format!(
                    "cannot listen for OTLP on {}: {error}",
                    self.config.listen
                ))
            })?;
        tracing::info!(source = %self.name, endpoint = %self.config.listen, "OTLP/gRPC traces and metrics accepted");
        let traces = self.receiver.trace_service();
        let metrics = self.receiver.metrics_service();
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        self.server = Some(tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(traces)
                .add_service(metrics)
                .serve_with_incoming(incoming),
        ));
        Ok(())
    }
}

impl Drop for OtlpSource {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}

#[async_trait::async_trait]
impl Source for OtlpSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn scrape(&mut self, now_ms: i64) -> Result<v1::Batch, ScrapeError> {
        self.ensure_server().await?;
        let start_ms = self.last_scrape_ms.replace(now_ms).unwrap_or(now_ms);
        self.receiver
            .drain(start_ms, now_ms)
            .map_err(|error| ScrapeError(error.to_string()))
    }

    async fn check(&mut self) -> Vec<Finding> {
        match tokio::net::TcpListener::bind(&self.config.listen).await {
            Ok(_) => vec![Finding::ok(format!(
                "can listen for OTLP/gRPC traces and metrics on {}",
                self.config.listen
            ))],
            Err(error) => vec![Finding::problem(
                format!("cannot listen on {}: {error}", self.config.listen),
                "choose a free `listen` address, or stop what already uses it",
            )],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_are_refused() {
        assert_eq!(Config::default().validate(), Ok(()));
        let bad_listen = Config {
            listen: "localhost".into(),
            ..Config::default()
        };
        assert!(bad_listen.validate().is_err());
        let long_grace = Config {
            grace: HumanDuration::secs(60),
            ..Config::default()
        };
        assert!(long_grace.validate().is_err());
    }

    #[tokio::test]
    async fn the_server_starts_on_the_first_scrape_and_reports_a_busy_port() {
        let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = busy.local_addr().expect("addr").to_string();
        let mut source = OtlpSource::new(
            "otlp".into(),
            Config {
                listen: address,
                ..Config::default()
            },
        );
        assert!(source.scrape(0).await.is_err());
        drop(busy);
        let batch = source.scrape(1).await.expect("scrape");
        assert!(batch.samples.iter().any(|s| s.name == "otlp_exports_total"));
    }
}
