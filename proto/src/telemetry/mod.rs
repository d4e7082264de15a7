//! Headroom's own telemetry: with `[telemetry] otlp_endpoint` set, the agent
//! and the collector export their own traces and metrics over OTLP/gRPC
//! (service `headroom-agent` / `headroom-collector`); without it nothing is
//! set up and every span and instrument is the API's no-op.
//!
//! Never in the way of the work: spans go through the SDK's batch processor
//! (its own thread, a queue of [`MAX_QUEUE_SPANS`]; a span that finds the
//! queue full is dropped and counted by the SDK as
//! `otel.sdk.processor.span.processed{error.type="queue_full"}`), metrics
//! through a periodic reader (its own thread). One export attempt per batch,
//! no retries, each bounded by [`EXPORT_TIMEOUT`]; a failed export is
//! counted and logged at most once per [`quiet::WARN_EVERY`] (`quiet.rs`),
//! never returned to the SDK, never fatal. [`Telemetry::shutdown`] flushes
//! within [`SHUTDOWN_TIMEOUT`] and then gives up.
//!
//! One definition of every name: the span names ([`span`]), attribute keys
//! ([`attribute`]) and metric names ([`metric`]) live here, and the OTLP
//! receiver (`otlp::own`) counts exactly the spans [`span::ALL`] lists.
//! Attributes carry ids, counts and outcomes, never a token, URL or text.

pub mod quiet;

use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::global;
use opentelemetry_otlp::{
    MetricExporter, RetryPolicy, SpanExporter, WithExportConfig, WithTonicConfig,
};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider};
use serde::{Deserialize, Serialize};

use crate::config::HumanDuration;

/// The agent's `service.name`.
pub const AGENT_SERVICE: &str = "headroom-agent";
/// The collector's `service.name`.
pub const COLLECTOR_SERVICE: &str = "headroom-collector";
/// Every service name Headroom exports under.
pub const SERVICES: [&str; 2] = [AGENT_SERVICE, COLLECTOR_SERVICE];

/// The instrumentation scope of every span and instrument.
pub const SCOPE: &str = "headroom";

/// Spans queued for export at most; more are dropped and counted.
pub const MAX_QUEUE_SPANS: usize = 2048;
/// How long the batch processor gathers spans before an export.
pub const SPAN_DELAY: Duration = Duration::from_secs(2);
/// How long one export may take.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long [`Telemetry::shutdown`] waits for the last exports.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(3);

/// Span names.
pub mod span {
    /// The agent: one batch, from its send to the collector's ack.
    pub const AGENT_BATCH: &str = "headroom.agent.batch";
    /// The collector: one batch validated, converted and committed.
    pub const COLLECTOR_COMMIT: &str = "headroom.collector.commit";
    /// The collector: one advisor pass (load, rules, lifecycle, save).
    pub const ADVISOR_PASS: &str = "headroom.advisor.pass";
    /// A child of the pass: one rule's evaluation.
    pub const ADVISOR_RULE: &str = "headroom.advisor.rule";
    /// The collector: one attempt to deliver an alert notification.
    pub const ALERT_DELIVERY: &str = "headroom.alert.delivery";
    /// Every span Headroom makes.
    pub const ALL: [&str; 5] = [
        AGENT_BATCH,
        COLLECTOR_COMMIT,
        ADVISOR_PASS,
        ADVISOR_RULE,
        ALERT_DELIVERY,
    ];
}

/// Attribute keys (resource and span).
pub mod attribute {
    /// Resource: the agent's id.
    pub const AGENT_ID: &str = "headroom.agent.id";
    /// A batch's sequence number.
    pub const SEQUENCE: &str = "headroom.batch.sequence";
    /// Points a batch carries.
    pub const POINTS: &str = "headroom.batch.points";
    /// Whether the collector already had the batch.
    pub const DUPLICATE: &str = "headroom.batch.duplicate";
    /// How the work ended: `ok`, `duplicate`, `invalid`, `failed`, or a
    /// delivery's status.
    pub const OUTCOME: &str = "headroom.outcome";
    /// The rule a child of the advisor pass ran.
    pub const RULE: &str = "headroom.advisor.rule";
    /// Findings (of a pass, or of one rule).
    pub const FINDINGS: &str = "headroom.advisor.findings";
    /// Series a pass read.
    pub const SERIES: &str = "headroom.advisor.series";
    /// An alert receiver's configured name (never its URL).
    pub const RECEIVER: &str = "headroom.alert.receiver";
    /// An alert receiver's platform (`slack`, `discord`, …).
    pub const PLATFORM: &str = "headroom.alert.platform";
    /// Attempts made so far for a notification.
    pub const ATTEMPTS: &str = "headroom.alert.attempts";
    /// The platform's HTTP status (0: no answer).
    pub const HTTP_STATUS: &str = "http.response.status_code";
}

/// Metric names.
pub mod metric {
    /// Counter: batches the agent sent (re-sends included).
    pub const AGENT_BATCHES_SENT: &str = "headroom.agent.batches.sent";
    /// Counter: batches the collector acknowledged, by `headroom.batch.duplicate`.
    pub const AGENT_BATCHES_ACKED: &str = "headroom.agent.batches.acked";
    /// Histogram (s): from a batch's send to its ack.
    pub const AGENT_ACK_DURATION: &str = "headroom.agent.batch.ack.duration";
    /// Counter: batches the collector handled, by `headroom.outcome`.
    pub const COLLECTOR_BATCHES: &str = "headroom.collector.batches";
    /// Counter: points committed (duplicates not counted).
    pub const COLLECTOR_POINTS_COMMITTED: &str = "headroom.collector.points.committed";
    /// Histogram (s): one batch's validation, conversion and commit.
    pub const COLLECTOR_COMMIT_DURATION: &str = "headroom.collector.commit.duration";
    /// Histogram (s): one advisor pass, by `headroom.outcome`.
    pub const ADVISOR_PASS_DURATION: &str = "headroom.advisor.pass.duration";
    /// Counter: alert delivery attempts, by `headroom.outcome` and platform.
    pub const ALERT_DELIVERIES: &str = "headroom.alert.deliveries";
}

/// The tracer every span comes from (a no-op until [`init`] set one up).
pub fn tracer() -> global::BoxedTracer {
    global::tracer(SCOPE)
}

/// The meter every instrument comes from (a no-op until [`init`] set one up).
pub fn meter() -> opentelemetry::metrics::Meter {
    global::meter(SCOPE)
}

/// `[telemetry]`, the same in agent.toml and collector.toml.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// OTLP/gRPC endpoint (`http://host:4317` or `https://…`); empty: off.
    pub otlp_endpoint: String,
    /// How often metrics are exported.
    pub metrics_interval: HumanDuration,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            otlp_endpoint: String::new(),
            metrics_interval: HumanDuration::secs(60),
        }
    }
}

impl TelemetryConfig {
    /// Adds one sentence per mistake to `errors`.
    pub fn validate(&self, errors: &mut Vec<String>) {
        let endpoint = &self.otlp_endpoint;
        let url = endpoint.starts_with("http://") || endpoint.starts_with("https://");
        if !endpoint.is_empty() && !url {
            errors.push(format!(
                "`telemetry.otlp_endpoint`: `{endpoint}` must start with http:// or https://"
            ));
        }
        if self.metrics_interval.0 < Duration::from_secs(1) {
            errors.push("`telemetry.metrics_interval` must be at least 1s".into());
        }
    }
}

/// Why telemetry could not be set up (the process goes on without it).
#[derive(Debug, thiserror::Error)]
#[error("cannot export Headroom's own telemetry to {endpoint}: {detail}")]
pub struct TelemetryError {
    endpoint: String,
    detail: String,
}

/// The providers set up by [`init`]; keep it until shutdown.
#[derive(Debug, Default)]
pub struct Telemetry {
    providers: Option<(SdkTracerProvider, SdkMeterProvider)>,
}

/// The resource every span and metric carries.
pub fn resource(service: &'static str, agent_id: Option<&str>) -> Resource {
    let host = hostname::get()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "unknown-host".to_owned());
    let mut attributes = vec![
        KeyValue::new("service.version", env!("CARGO_PKG_VERSION")),
        KeyValue::new("host.name", host),
    ];
    if let Some(id) = agent_id {
        attributes.push(KeyValue::new(attribute::AGENT_ID, id.to_owned()));
    }
    Resource::builder_empty()
        .with_service_name(service)
        .with_attributes(attributes)
        .build()
}

/// Sets up export to `config.otlp_endpoint` as `service` (nothing when it is
/// empty). Call inside the tokio runtime the process runs on, before any
/// instrument is made: the exporters' channels live on that runtime, and an
/// instrument made before stays a no-op.
pub fn init(
    config: &TelemetryConfig,
    service: &'static str,
    agent_id: Option<&str>,
) -> Result<Telemetry, TelemetryError> {
    let endpoint = config.otlp_endpoint.as_str();
    if endpoint.is_empty() {
        return Ok(Telemetry::default());
    }
    let error = |detail: String| TelemetryError {
        endpoint: endpoint.to_owned(),
        detail,
    };
    let resource = resource(service, agent_id);
    let mut metrics = MetricExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(EXPORT_TIMEOUT)
        .with_retry_policy(RetryPolicy::disabled());
    let mut spans = SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .with_timeout(EXPORT_TIMEOUT)
        .with_retry_policy(RetryPolicy::disabled());
    if endpoint.starts_with("https://") {
        let tls = || tonic::transport::ClientTlsConfig::new().with_native_roots();
        metrics = metrics.with_tls_config(tls());
        spans = spans.with_tls_config(tls());
    }
    let metrics = metrics.build().map_err(|e| error(e.to_string()))?;
    let spans = spans.build().map_err(|e| error(e.to_string()))?;

    // The meter provider first: the batch span processor makes its
    // dropped-span counter from the global meter provider when it is built.
    let reader = PeriodicReader::builder(quiet::Quiet::new(metrics, "metrics", endpoint))
        .with_interval(config.metrics_interval.0)
        .build();
    let meter_provider = SdkMeterProvider::builder()
        .with_reader(reader)
        .with_resource(resource.clone())
        .build();
    global::set_meter_provider(meter_provider.clone());

    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(MAX_QUEUE_SPANS)
        .with_scheduled_delay(SPAN_DELAY)
        .build();
    let processor = BatchSpanProcessor::builder(quiet::Quiet::new(spans, "traces", endpoint))
        .with_batch_config(batch)
        .build();
    let tracer_provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(resource)
        .build();
    global::set_tracer_provider(tracer_provider.clone());
    tracing::info!(
        endpoint,
        service,
        "exporting Headroom's own traces and metrics over OTLP"
    );
    Ok(Telemetry {
        providers: Some((tracer_provider, meter_provider)),
    })
}

impl Telemetry {
    /// Whether anything is exported.
    pub fn enabled(&self) -> bool {
        self.providers.is_some()
    }

    /// Flushes what is queued and stops, waiting at most
    /// [`SHUTDOWN_TIMEOUT`] (then what is left is lost). Call from outside
    /// the runtime's tasks while the runtime still runs (the exporters'
    /// channels live there).
    pub fn shutdown(self) {
        let Some((tracer_provider, meter_provider)) = self.providers else {
            return;
        };
        let (done, finished) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name("telemetry-shutdown".into())
            .spawn(move || {
                let _ = tracer_provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT);
                let _ = meter_provider.shutdown();
                let _ = done.send(());
            });
        if spawned.is_ok() && finished.recv_timeout(SHUTDOWN_TIMEOUT).is_err() {
            tracing::warn!(
                timeout_ms = SHUTDOWN_TIMEOUT.as_millis() as u64,
                "the last telemetry exports did not finish in time; they are dropped"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_must_be_a_url_and_the_interval_sane() {
        let mut errors = Vec::new();
        TelemetryConfig::default().validate(&mut errors);
        assert!(errors.is_empty(), "the defaults are valid: {errors:?}");
        TelemetryConfig {
            otlp_endpoint: "collector:4317".into(),
            metrics_interval: HumanDuration(Duration::from_millis(10)),
        }
        .validate(&mut errors);
        let joined = errors.join("\n");
        assert!(joined.contains("`telemetry.otlp_endpoint`"), "{joined}");
        assert!(joined.contains("`telemetry.metrics_interval`"), "{joined}");
    }

    /// The commented-out `[telemetry]` block of an example file, uncommented.
    fn example_block(text: &str) -> String {
        text.lines()
            .skip_while(|line| *line != "# [telemetry]")
            .take_while(|line| line.starts_with("# "))
            .map(|line| &line[2..])
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn both_example_files_show_the_real_defaults() {
        for (name, text) in [
            (
                "agent.example.toml",
                include_str!("../../../agent.example.toml"),
            ),
            (
                "collector.example.toml",
                include_str!("../../../collector.example.toml"),
            ),
        ] {
            let block = example_block(text);
            let table: toml::Table = block.parse().expect(name);
            let shown: TelemetryConfig = table
                .get("telemetry")
                .cloned()
                .expect(name)
                .try_into()
                .expect(name);
            assert_eq!(
                shown,
                TelemetryConfig {
                    otlp_endpoint: "http://127.0.0.1:4317".into(),
                    ..TelemetryConfig::default()
                },
                "{name}: {block}"
            );
        }
    }

    #[test]
    fn the_resource_names_the_service_version_host_and_agent() {
        let resource = resource(AGENT_SERVICE, Some("db-1"));
        let value = |key: &str| {
            resource
                .get(&opentelemetry::Key::from(key.to_owned()))
                .map(|v| v.to_string())
        };
        assert_eq!(value("service.name").as_deref(), Some(AGENT_SERVICE));
        assert_eq!(
            value("service.version").as_deref(),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert!(value("host.name").is_some_and(|h| !h.is_empty()));
        assert_eq!(value(attribute::AGENT_ID).as_deref(), Some("db-1"));
    }

    #[test]
    fn without_an_endpoint_nothing_is_set_up() {
        let telemetry = init(&TelemetryConfig::default(), COLLECTOR_SERVICE, None).expect("off");
        assert!(!telemetry.enabled());
        telemetry.shutdown();
    }
}
