//! The `headroom.v1.Ingest` gRPC service: one stream per agent, a Hello
//! first, then batches, each acked only once the store has committed it.
//! Each batch is a `headroom.collector.commit` span of the collector's own
//! telemetry (agent id, sequence, points, outcome).

pub mod auth;
pub mod convert;
pub mod otlp;
pub mod prepare;

use headroom_proto::telemetry::{self, attribute, span};
use headroom_proto::v1::{self, agent_message, collector_message, ingest_server};
use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, SpanKind, Status as SpanStatus, Tracer as _};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status, Streaming};

use crate::advisor::engine::Wake;
use crate::metrics::IngestCounters;
use crate::store::model::{AgentHello, Drops, PreparedBatch};
use crate::store::{Outcome, Store, StoreError, Writer, now_ms};

/// Longest accepted agent id, metric name, label key or value.
pub const MAX_NAME_LEN: usize = 256;
/// Most labels on one sample.
pub const MAX_LABELS: usize = 32;

/// The service state shared by every stream.
#[derive(Debug, Clone)]
pub struct IngestService {
    store: Store,
    writer: Writer,
    counters: IngestCounters,
    /// Told of every stored index candidate (new ones wake the advisor).
    wake: Wake,
    /// Turns true when the collector stops: every agent stream then ends.
    stop: watch::Receiver<bool>,
}

impl IngestService {
    /// A service storing into `store` through `writer`, until `stop` turns
    /// true.
    pub fn new(
        store: Store,
        writer: Writer,
        counters: IngestCounters,
        wake: Wake,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Self {
            store,
            writer,
            counters,
            wake,
            stop,
        }
    }

    async fn hello(&self, hello: v1::Hello) -> Result<AgentHello, Status> {
        check_name("hello.agent_id", &hello.agent_id)?;
        let sources: Vec<serde_json::Value> = hello
            .sources
            .iter()
            .map(|s| serde_json::json!({"name": s.name, "type": s.r#type, "interval_ms": s.interval_ms}))
            .collect();
        let agent = AgentHello {
            agent_id: hello.agent_id,
            hostname: hello.hostname,
            version: hello.version,
            epoch: hello.spool_epoch as i64,
            sources_json: serde_json::Value::Array(sources).to_string(),
        };
        self.store.upsert_agent(&agent).await.map_err(unavailable)?;
        tracing::info!(agent_id = %agent.agent_id, hostname = %agent.hostname, version = %agent.version, "agent connected");
        Ok(agent)
    }

    /// Validates, converts, encodes and commits one batch.
    /// Validates, converts and commits one batch, in a
    /// `headroom.collector.commit` span.
    pub(crate) async fn batch(
        &self,
        agent: &AgentHello,
        batch: v1::Batch,
    ) -> Result<Outcome, BatchError> {
        let tracer = telemetry::tracer();
        let mut span = tracer
            .span_builder(span::COLLECTOR_COMMIT)
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new(attribute::AGENT_ID, agent.agent_id.clone()),
                KeyValue::new(attribute::SEQUENCE, batch.sequence as i64),
            ])
            .start(&tracer);
        let started = std::time::Instant::now();
        let result = self.commit(agent, batch).await;
        let outcome = match &result {
            Ok((Outcome::Stored, _)) => "stored",
            Ok((Outcome::Duplicate, _)) => "duplicate",
            Err(BatchError::Invalid(_)) => "invalid",
            Err(BatchError::Store(_)) => "failed",
        };
        let instruments = crate::telemetry::instruments();
        let outcome_attribute = [KeyValue::new(attribute::OUTCOME, outcome)];
        instruments.batches.add(1, &outcome_attribute);
        instruments
            .commit_seconds
            .record(started.elapsed().as_secs_f64(), &outcome_attribute);
        span.set_attributes(outcome_attribute);
        match &result {
            Ok((outcome, points)) => {
                span.set_attribute(KeyValue::new(attribute::POINTS, *points));
                if *outcome == Outcome::Stored {
                    instruments.points.add(*points as u64, &[]);
                }
            }
            Err(error) => span.set_status(SpanStatus::error(error.to_string())),
        }
        span.end();
        result.map(|(outcome, _)| outcome)
    }

    /// [`Self::batch`]'s work: the outcome and the points converted.
    async fn commit(
        &self,
        agent: &AgentHello,
        batch: v1::Batch,
    ) -> Result<(Outcome, i64), BatchError> {
        if agent.epoch == 0 {
            return Err(BatchError::Invalid(
                "this stream's Hello has spool_epoch 0, which only a stream without batches may have".into(),
            ));
        }
        validate(&batch).map_err(BatchError::Invalid)?;
        let converted = convert::convert(&agent.agent_id, &batch);

        let ids = self
            .store
            .series_ids(&converted.series)
            .await
            .map_err(BatchError::Store)?;
        let blocks = prepare::encode_blocks(&converted.points, &ids);
        let drops = batch.drops.unwrap_or_default();
        let points = converted.points.len() as i64;
        let prepared = PreparedBatch {
            agent_id: agent.agent_id.clone(),
            epoch: agent.epoch,
            sequence: batch.sequence as i64,
            received_ms: now_ms(),
            points,
            blocks,
            texts: converted.texts,
            drops: Drops {
                spool_full_batches: drops.spool_full_batches as i64,
                spool_full_points: drops.spool_full_points as i64,
                corrupt_batches: drops.corrupt_batches as i64,
                queue_full_samples: drops.queue_full_samples as i64,
                rejected_batches: drops.rejected_batches as i64,
            },
        };
        let outcome = self
            .writer
            .commit(prepared)
            .await
            .map_err(BatchError::Store)?;
        self.counters.record(outcome, points as u64);
        self.wake.candidates(batch.index_candidates.iter().map(|c| {
            format!(
                "{}/{}/{}/{}",
                agent.agent_id, c.database, c.queryid, c.definition
            )
        }));
        Ok((outcome, points))
    }
}

/// Why a batch was not stored.
#[derive(Debug)]
pub(crate) enum BatchError {
    Invalid(String),
    Store(StoreError),
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Invalid(message) => write!(f, "invalid batch: {message}"),
            BatchError::Store(error) => write!(f, "{error}"),
        }
    }
}

#[tonic::async_trait]
impl ingest_server::Ingest for IngestService {
    type StreamStream = ReceiverStream<Result<v1::CollectorMessage, Status>>;

    async fn stream(
        &self,
        request: Request<Streaming<v1::AgentMessage>>,
    ) -> Result<Response<Self::StreamStream>, Status> {
        let mut inbound = request.into_inner();
        let first = inbound
            .message()
            .await
            .map_err(describe_inbound)?
            .ok_or_else(|| Status::invalid_argument("the stream ended before its Hello"))?;
        let Some(agent_message::Kind::Hello(hello)) = first.kind else {
            return Err(Status::invalid_argument(
                "the first message on a stream must be a Hello",
            ));
        };
        let agent = self.hello(hello).await?;
        let (replies, receiver) = mpsc::channel(256);
        let service = self.clone();
        tokio::spawn(async move {
            service.serve_stream(agent, inbound, replies).await;
        });
        Ok(Response::new(ReceiverStream::new(receiver)))
    }
}

type Replies = mpsc::Sender<Result<v1::CollectorMessage, Status>>;

impl IngestService {
    async fn serve_stream(
        &self,
        agent: AgentHello,
        mut inbound: Streaming<v1::AgentMessage>,
        replies: Replies,
    ) {
        let agent_id = agent.agent_id.as_str();
        let mut stop = self.stop.clone();
        loop {
            // A stop ends the stream between batches, never while one is
            // being committed: the gRPC server's graceful shutdown waits for
            // every stream, and an agent's never ends by itself. The agent
            // reconnects and re-sends whatever was not acked.
            let received = tokio::select! {
                biased;
                () = stopping(&mut stop) => {
                    tracing::info!(agent_id, "the collector is stopping; the agent's stream ends");
                    let _ = replies
                        .send(Err(Status::unavailable("the collector is shutting down")))
                        .await;
                    break;
                }
                received = inbound.message() => received,
            };
            let message = match received {
                Ok(Some(message)) => message,
                Ok(None) => break,
                Err(status) => {
                    let status = describe_inbound(status);
                    match status.code() {
                        Code::InvalidArgument | Code::ResourceExhausted => {
                            tracing::warn!(agent_id, error = %status.message(), "refused a message; the stream ends");
                        }
                        _ => {
                            tracing::info!(agent_id, error = %status.message(), "agent disconnected")
                        }
                    }
                    let _ = replies.send(Err(status)).await;
                    break;
                }
            };
            let reply = match message.kind {
                Some(agent_message::Kind::Batch(batch)) => {
                    let sequence = batch.sequence;
                    match self.batch(&agent, batch).await {
                        Ok(outcome) => Ok(collector_message::Kind::Ack(v1::Ack {
                            sequence,
                            duplicate: outcome == Outcome::Duplicate,
                        })),
                        Err(BatchError::Invalid(message)) => {
                            tracing::warn!(agent_id, sequence, error = %message, "refused an invalid batch");
                            Ok(collector_message::Kind::Error(v1::Error {
                                sequence,
                                code: "INVALID_ARGUMENT".into(),
                                message,
                            }))
                        }
                        Err(BatchError::Store(error)) => {
                            tracing::warn!(agent_id, sequence, error = %error, "could not store a batch; the agent will re-send it");
                            Err(unavailable(error))
                        }
                    }
                }
                Some(agent_message::Kind::Hello(_)) => Err(Status::invalid_argument(
                    "a stream carries one Hello, first; got a second one",
                )),
                None => Err(Status::invalid_argument(
                    "an empty AgentMessage (neither Hello nor Batch)",
                )),
            };
            let stop = reply.is_err();
            let reply = reply.map(|kind| v1::CollectorMessage { kind: Some(kind) });
            if replies.send(reply).await.is_err() || stop {
                break;
            }
        }
        tracing::info!(agent_id, "agent stream closed");
    }
}

/// Completes once `stop` turns true; never if its sender goes without.
async fn stopping(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

fn unavailable(error: StoreError) -> Status {
    Status::unavailable(format!(
        "the collector could not store the data ({error}); retry later"
    ))
}

/// Turns tonic's decoding failures into statuses that say what was wrong.
fn describe_inbound(status: Status) -> Status {
    let message = status.message();
    match status.code() {
        Code::Internal if message.contains("decode") => {
            Status::invalid_argument(format!("malformed headroom.v1 message: {message}"))
        }
        Code::OutOfRange | Code::ResourceExhausted => {
            Status::resource_exhausted(format!("message too large: {message}"))
        }
        _ => status,
    }
}

fn check_name(what: &str, value: &str) -> Result<(), Status> {
    check(what, value).map_err(Status::invalid_argument)
}

fn check(what: &str, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err(format!("{what} is empty"));
    }
    if value.len() > MAX_NAME_LEN {
        return Err(format!(
            "{what} is {} bytes long; the limit is {MAX_NAME_LEN}",
            value.len()
        ));
    }
    Ok(())
}

/// What makes a batch unstorable: no sequence, nameless or oversized series,
/// too many labels, malformed histograms.
fn validate(batch: &v1::Batch) -> Result<(), String> {
    if batch.sequence == 0 {
        return Err("batch.sequence must be 1 or more".into());
    }
    for sample in &batch.samples {
        check("sample name", &sample.name)?;
        check_labels(&sample.name, &sample.labels)?;
    }
    for histogram in &batch.histograms {
        check("histogram name", &histogram.name)?;
        check_histogram(&histogram.name, histogram)?;
    }
    for route in &batch.http_routes {
        check("http route", &route.route)?;
        if let Some(latency) = &route.latency {
            check_histogram(&route.route, latency)?;
        }
    }
    Ok(())
}

fn check_histogram(name: &str, histogram: &v1::Histogram) -> Result<(), String> {
    check_labels(name, &histogram.labels)?;
    if histogram.bucket_counts.len() != histogram.bounds.len() + 1 {
        return Err(format!(
            "histogram `{name}` has {} bounds and {} bucket counts; counts must be bounds + 1",
            histogram.bounds.len(),
            histogram.bucket_counts.len()
        ));
    }
    Ok(())
}

fn check_labels(name: &str, labels: &[v1::Label]) -> Result<(), String> {
    if labels.len() > MAX_LABELS {
        return Err(format!(
            "`{name}` has {} labels; the limit is {MAX_LABELS}",
            labels.len()
        ));
    }
    for label in labels {
        check("label key", &label.key)?;
        if label.value.len() > MAX_NAME_LEN {
            return Err(format!(
                "label `{}` of `{name}` is longer than {MAX_NAME_LEN} bytes",
                label.key
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> v1::Sample {
        v1::Sample {
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn batches_without_sequence_or_names_are_refused_with_the_reason() {
        let no_sequence = v1::Batch::default();
        assert!(
            validate(&no_sequence)
                .expect_err("refused")
                .contains("sequence")
        );
        let nameless = v1::Batch {
            sequence: 1,
            samples: vec![sample("")],
            ..Default::default()
        };
        assert!(
            validate(&nameless)
                .expect_err("refused")
                .contains("sample name is empty")
        );
        let ok = v1::Batch {
            sequence: 1,
            samples: vec![sample("pg_connections_total")],
            ..Default::default()
        };
        assert!(validate(&ok).is_ok());
    }

    #[test]
    fn histograms_need_one_more_count_than_bounds() {
        let batch = v1::Batch {
            sequence: 1,
            histograms: vec![v1::Histogram {
                name: "h".into(),
                bounds: vec![1.0],
                bucket_counts: vec![1],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert!(
            validate(&batch)
                .expect_err("refused")
                .contains("bounds + 1")
        );
    }

    #[test]
    fn decode_failures_become_invalid_argument() {
        let status = describe_inbound(Status::internal(
            "failed to decode Protobuf message: buffer underflow",
        ));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("malformed"));
    }
}
