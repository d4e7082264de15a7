//! OpenTelemetry in, Headroom series out, shared by the agent's `otlp`
//! source and the collector's gRPC port: a TraceService and a
//! MetricsService that fold every export into aggregators, and a `drain`
//! that turns what they derived since the previous drain into a batch.
//!
//! From spans (`traces.rs`): per-route request latency histograms (a request
//! is a root span with `http.route`, whatever its kind: Medusa's HTTP roots
//! are INTERNAL), database statements and time per request, workflow step
//! durations and the export pattern, and, given a fingerprint function,
//! each route's statements by fingerprint (`statements.rs`). From metrics
//! (`metrics.rs`): `http.server.request.duration` and
//! `http.server.active_requests` only.
//! Headroom's own spans (a collector's or agent's `[telemetry]` pointed
//! here) are counted apart by service and span name (`own.rs`).
//! Privacy: only allowlisted attributes are ever read (`attributes.rs`);
//! headers, URLs and SQL text are neither kept nor logged. `db.statement`
//! is lent to the fingerprint function and dropped: a 64-bit hash of the
//! parse tree without values is all that is kept.
//!
//! Durability: an export is answered once it is folded into memory; what it
//! yields is stored at the next drain, so a crash loses at most one drain
//! interval of derived figures (OpenTelemetry exporters are best-effort too).

pub mod attributes;
pub mod histogram;
pub mod metrics;
pub mod own;
pub mod statements;
pub mod traces;

use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};

use crate::v1;
use metrics::MetricsAggregator;
use traces::{Fingerprinter, Limits, TraceAggregator};

/// Largest OTLP export accepted.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// What the services have taken in since the last drain.
#[derive(Debug)]
struct Aggregators {
    traces: TraceAggregator,
    metrics: MetricsAggregator,
}

/// The OTLP services and their shared state; cheap to clone.
#[derive(Debug, Clone)]
pub struct Receiver {
    state: Arc<Mutex<Aggregators>>,
}

/// The receiver's state was poisoned by a panic while folding an export.
#[derive(Debug, thiserror::Error)]
#[error("the OTLP receiver's state is poisoned")]
pub struct Poisoned;

impl Receiver {
    /// A receiver buffering traces within `limits`, remembering at most
    /// `max_streams` cumulative metric streams and `max_routes` routes,
    /// breaking statements out per route with `fingerprinter` when given.
    pub fn new(
        limits: Limits,
        max_streams: usize,
        max_routes: usize,
        fingerprinter: Option<Fingerprinter>,
    ) -> Self {
        Self {
            state: Arc::new(Mutex::new(Aggregators {
                traces: TraceAggregator::new(limits, fingerprinter),
                metrics: MetricsAggregator::new(max_streams, max_routes),
            })),
        }
    }

    /// Exports (traces and metrics) received since start: nothing to report
    /// while it is 0.
    pub fn exports(&self) -> Result<u64, Poisoned> {
        let state = self.state.lock().map_err(|_| Poisoned)?;
        Ok(state.traces.exports() + state.metrics.exports())
    }

    /// Everything derived over `[start_ms, now_ms]`, as one batch (no
    /// sequence, no drops).
    pub fn drain(&self, start_ms: i64, now_ms: i64) -> Result<v1::Batch, Poisoned> {
        let mut state = self.state.lock().map_err(|_| Poisoned)?;
        let mut batch = state.traces.drain(start_ms, now_ms);
        batch.extend(state.metrics.drain(start_ms, now_ms));
        Ok(batch)
    }

    /// The TraceService, with the message size limit.
    pub fn trace_service(&self) -> TraceServiceServer<Receiver> {
        TraceServiceServer::new(self.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES)
    }

    /// The MetricsService, with the message size limit.
    pub fn metrics_service(&self) -> MetricsServiceServer<Receiver> {
        MetricsServiceServer::new(self.clone()).max_decoding_message_size(MAX_MESSAGE_BYTES)
    }
}

/// Unix time in milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}

#[tonic::async_trait]
impl TraceService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let Ok(mut state) = self.state.lock() else {
            return Err(tonic::Status::internal("the OTLP receiver is unavailable"));
        };
        state.traces.ingest(request.get_ref(), now_ms());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Receiver {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let Ok(mut state) = self.state.lock() else {
            return Err(tonic::Status::internal("the OTLP receiver is unavailable"));
        };
        state.metrics.ingest(request.get_ref());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}
