//! From the spool to the collector: one `headroom.v1` stream, a Hello, then
//! every unacked batch in sequence order with up to `max_in_flight` ahead of
//! their acks. An ack deletes from the spool; any failure reconnects after a
//! capped, jittered exponential backoff and re-sends from the oldest unacked
//! batch (the collector de-duplicates).
//!
//! Own telemetry (`headroom_proto::telemetry`, no-ops unless `[telemetry]`
//! is set): a `headroom.agent.batch` span per batch from its send to its ack
//! (an error when it is rejected or the stream ends first), batches sent
//! and acked, and the send-to-ack time.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use headroom_proto::telemetry::{self, attribute, metric, span};
use headroom_proto::v1::{self, agent_message, collector_message, ingest_client::IngestClient};
use opentelemetry::KeyValue;
use opentelemetry::global::BoxedSpan;
use opentelemetry::metrics::{Counter, Histogram};
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _};
use prost::Message;
use rand::Rng;
use tokio::sync::{Notify, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::collect::{OtherDrops, SharedSpool};
use crate::config::CollectorSection;
use crate::spool::{DropCounts, SpoolError};

/// Why a stream ended.
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    #[error("cannot connect to the collector at {endpoint}: {detail}")]
    Connect { endpoint: String, detail: String },
    #[error("the collector refused the stream: {} ({})", .0.message(), .0.code())]
    Refused(tonic::Status),
    #[error("the stream failed: {} ({})", .0.message(), .0.code())]
    Stream(tonic::Status),
    #[error("the collector closed the stream")]
    Closed,
    #[error("the collector sent an error: {0}")]
    CollectorError(String),
    #[error(transparent)]
    Spool(#[from] SpoolError),
    #[error("the spool's lock is poisoned")]
    Poisoned,
    #[error("cannot read the CA file {path}: {source}")]
    CaFile {
        path: String,
        source: std::io::Error,
    },
    #[error("the token cannot be sent as gRPC metadata (it must be printable ASCII)")]
    BadToken,
}

/// Capped exponential backoff with jitter: each wait is uniform in
/// `[current/2, current]`, and `current` doubles up to `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    /// Starts at `min`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            current: min,
        }
    }

    /// The next wait.
    pub fn next_delay(&mut self) -> Duration {
        let upper = self.current;
        self.current = (self.current * 2).min(self.max);
        let lower = upper / 2;
        lower + (upper - lower).mul_f64(rand::rng().random::<f64>())
    }

    /// After a success: back to `min`.
    pub fn reset(&mut self) {
        self.current = self.min;
    }
}

/// An error and its sources, joined: transport errors keep the useful part
/// (refused, certificate unknown) in their sources.
fn error_chain(error: &dyn std::error::Error) -> String {
    headroom_proto::with_sources(error.to_string(), error.source())
}

/// Opens a gRPC channel to the collector.
pub async fn connect(config: &CollectorSection) -> Result<Channel, ShipError> {
    let connect_error = |error: tonic::transport::Error| ShipError::Connect {
        endpoint: config.endpoint.clone(),
        detail: error_chain(&error),
    };
    let mut endpoint = Endpoint::from_shared(config.endpoint.clone()).map_err(connect_error)?;
    if config.endpoint.starts_with("https://") {
        let mut tls = ClientTlsConfig::new().with_native_roots();
        if let Some(path) = &config.ca_file {
            let pem = std::fs::read(path).map_err(|source| ShipError::CaFile {
                path: path.display().to_string(),
                source,
            })?;
            tls = tls.ca_certificate(Certificate::from_pem(pem));
        }
        endpoint = endpoint.tls_config(tls).map_err(connect_error)?;
    }
    endpoint
        .connect_timeout(config.connect_timeout.0)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(10))
        .keep_alive_while_idle(true)
        .connect()
        .await
        .map_err(connect_error)
}

/// Opens the stream (Hello first) and returns its sender and the inbound side.
pub async fn open_stream(
    channel: Channel,
    token: &str,
    hello: v1::Hello,
    capacity: usize,
) -> Result<
    (
        mpsc::Sender<v1::AgentMessage>,
        tonic::Streaming<v1::CollectorMessage>,
    ),
    ShipError,
> {
    let mut client = IngestClient::new(channel)
        .max_decoding_message_size(headroom_proto::DEFAULT_MAX_MESSAGE_BYTES)
        .max_encoding_message_size(headroom_proto::DEFAULT_MAX_MESSAGE_BYTES);
    let (sender, receiver) = mpsc::channel(capacity);
    let hello = v1::AgentMessage {
        kind: Some(agent_message::Kind::Hello(hello)),
    };
    sender.send(hello).await.map_err(|_| ShipError::Closed)?;
    let request = headroom_proto::bearer_request(ReceiverStream::new(receiver), token)
        .ok_or(ShipError::BadToken)?;
    let inbound = client
        .stream(request)
        .await
        .map_err(ShipError::Refused)?
        .into_inner();
    Ok((sender, inbound))
}

/// The shipper's instruments.
struct Instruments {
    sent: Counter<u64>,
    acked: Counter<u64>,
    ack_seconds: Histogram<f64>,
}

impl Instruments {
    fn new() -> Self {
        let meter = telemetry::meter();
        Self {
            sent: meter.u64_counter(metric::AGENT_BATCHES_SENT).build(),
            acked: meter.u64_counter(metric::AGENT_BATCHES_ACKED).build(),
            ack_seconds: meter
                .f64_histogram(metric::AGENT_ACK_DURATION)
                .with_unit("s")
                .build(),
        }
    }
}

/// The batches of one stream awaiting their ack, each with its span; those
/// left when the stream ends close as errors.
struct InFlight<'a> {
    instruments: &'a Instruments,
    batches: HashMap<u64, (BoxedSpan, Instant)>,
}

impl<'a> InFlight<'a> {
    fn new(instruments: &'a Instruments) -> Self {
        Self {
            instruments,
            batches: HashMap::new(),
        }
    }

    fn sent(&mut self, sequence: u64, points: u64) {
        let tracer = telemetry::tracer();
        let span = tracer
            .span_builder(span::AGENT_BATCH)
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new(attribute::SEQUENCE, sequence as i64),
                KeyValue::new(attribute::POINTS, points as i64),
            ])
            .start(&tracer);
        self.instruments.sent.add(1, &[]);
        self.batches.insert(sequence, (span, Instant::now()));
    }

    fn acked(&mut self, sequence: u64, duplicate: bool) {
        let Some((mut span, sent)) = self.batches.remove(&sequence) else {
            return;
        };
        let outcome = [KeyValue::new(attribute::DUPLICATE, duplicate)];
        self.instruments.acked.add(1, &outcome);
        self.instruments
            .ack_seconds
            .record(sent.elapsed().as_secs_f64(), &[]);
        span.set_attributes(outcome);
        span.end();
    }

    fn rejected(&mut self, sequence: u64, code: &str) {
        if let Some((mut span, _)) = self.batches.remove(&sequence) {
            span.set_attribute(KeyValue::new(attribute::OUTCOME, "invalid"));
            span.set_status(Status::error(format!("rejected by the collector: {code}")));
            span.end();
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        for (_, (mut span, _)) in self.batches.drain() {
            span.set_status(Status::error("the stream ended before the ack"));
            span.end();
        }
    }
}

/// The shipper's state.
pub struct Shipper {
    pub config: CollectorSection,
    pub hello: v1::Hello,
    pub spool: SharedSpool,
    pub sealed: Arc<Notify>,
    pub drops: Arc<OtherDrops>,
}

impl Shipper {
    /// Ships forever, reconnecting as needed (the caller aborts the task).
    pub async fn run(self) {
        let mut backoff = Backoff::new(self.config.min_backoff.0, self.config.max_backoff.0);
        let mut failures = 0u32;
        let instruments = Instruments::new();
        loop {
            let Err(error) = self.session(&mut backoff, &instruments).await;
            failures += 1;
            let delay = backoff.next_delay();
            match &error {
                ShipError::Refused(status) if status.code() == Code::Unauthenticated => {
                    tracing::error!(endpoint = %self.config.endpoint, error = %error, "the collector refused this agent's token: set [collector] token to one of its [auth] agent_tokens");
                }
                _ if failures == 1 || failures.is_power_of_two() => {
                    tracing::warn!(endpoint = %self.config.endpoint, error = %error, retry_in_ms = delay.as_millis() as u64, failures, "collector unreachable; batches stay in the spool");
                }
                _ => {
                    tracing::debug!(endpoint = %self.config.endpoint, error = %error, "reconnecting")
                }
            }
            tokio::time::sleep(delay).await;
        }
    }

    fn with_spool<T>(
        &self,
        f: impl FnOnce(&mut crate::spool::Spool) -> Result<T, SpoolError>,
    ) -> Result<T, ShipError> {
        let mut spool = self.spool.lock().map_err(|_| ShipError::Poisoned)?;
        Ok(f(&mut spool)?)
    }

    /// One stream, until it fails.
    async fn session(
        &self,
        backoff: &mut Backoff,
        instruments: &Instruments,
    ) -> Result<std::convert::Infallible, ShipError> {
        let max_in_flight = self.config.max_in_flight;
        let channel = connect(&self.config).await?;
        let (outbound, mut inbound) = open_stream(
            channel,
            &self.config.token,
            self.hello.clone(),
            max_in_flight + 1,
        )
        .await?;
        tracing::info!(endpoint = %self.config.endpoint, "connected to the collector");
        let mut cursor = self.with_spool(|spool| Ok(spool.acked() + 1))?;
        let mut in_flight = 0usize;
        let mut spans = InFlight::new(instruments);
        loop {
            while in_flight < max_in_flight {
                let Some(record) = self.with_spool(|spool| spool.read_from(cursor))? else {
                    break;
                };
                cursor = record.seq + 1;
                let batch = match v1::Batch::decode(record.payload.as_slice()) {
                    Ok(batch) => batch,
                    Err(error) => {
                        tracing::error!(sequence = record.seq, error = %error, "a spooled batch does not decode; dropped and counted");
                        self.with_spool(|spool| {
                            spool.add_drops(DropCounts {
                                corrupt_batches: 1,
                                ..DropCounts::default()
                            });
                            Ok(())
                        })?;
                        continue;
                    }
                };
                let points = batch.point_count();
                let message = v1::AgentMessage {
                    kind: Some(agent_message::Kind::Batch(batch)),
                };
                outbound
                    .send(message)
                    .await
                    .map_err(|_| ShipError::Closed)?;
                spans.sent(record.seq, points);
                in_flight += 1;
            }
            tokio::select! {
                message = inbound.message() => {
                    let message = message.map_err(ShipError::Stream)?.ok_or(ShipError::Closed)?;
                    match message.kind {
                        Some(collector_message::Kind::Ack(ack)) => {
                            self.with_spool(|spool| spool.ack(ack.sequence))?;
                            spans.acked(ack.sequence, ack.duplicate);
                            in_flight = in_flight.saturating_sub(1);
                            backoff.reset();
                        }
                        Some(collector_message::Kind::Error(error)) if error.sequence > 0 => {
                            tracing::error!(sequence = error.sequence, code = %error.code, error = %error.message, "the collector rejected a batch; it is dropped and counted");
                            self.with_spool(|spool| spool.ack(error.sequence))?;
                            spans.rejected(error.sequence, &error.code);
                            self.drops.rejected_batches.fetch_add(1, Ordering::Relaxed);
                            in_flight = in_flight.saturating_sub(1);
                        }
                        Some(collector_message::Kind::Error(error)) => {
                            return Err(ShipError::CollectorError(format!("{}: {}", error.code, error.message)));
                        }
                        None => {}
                    }
                }
                _ = self.sealed.notified(), if in_flight < max_in_flight => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_cap_with_jitter_and_resets() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let delays: Vec<Duration> = (0..8).map(|_| backoff.next_delay()).collect();
        assert!(delays[0] >= Duration::from_millis(50) && delays[0] <= Duration::from_millis(100));
        assert!(delays.iter().all(|d| *d <= Duration::from_secs(1)));
        assert!(
            delays[7] >= Duration::from_millis(500),
            "capped at max, jittered down at most by half"
        );
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }
}
