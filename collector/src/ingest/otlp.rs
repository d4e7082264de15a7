//! OTLP/gRPC on the collector's own port: the store's OpenTelemetry can be
//! sent straight here instead of through an agent's `otlp` source. The
//! shared receiver (`headroom_proto::otlp`) derives the same figures; every
//! `ingest.otlp_flush_interval` they are stored as a batch of the built-in
//! agent `collector-otlp` (its own spool epoch per process, sequence numbers
//! from 1), through the same validation and writer as any agent's batch.
//!
//! Statements are fingerprinted here as in the agent, with the same
//! function (`headroom_proto::fingerprint`, PostgreSQL's parser through
//! pg_query): a store that sends its spans straight here gets the same
//! per-route statement figures, and they meet the fingerprints the agent's
//! postgres source sends. That is why the collector links pg_query too: a
//! second, lighter normaliser here would not reliably meet the agent's.

use std::time::Duration;

use headroom_proto::otlp::Receiver;
use headroom_proto::otlp::traces::Limits;

use super::IngestService;
use crate::store::model::AgentHello;
use crate::store::{Store, now_ms};

/// The agent id OTLP data received by the collector is stored under.
pub const AGENT_ID: &str = "collector-otlp";

/// Traces buffered at once, and routes kept as labels (the rest `other`).
const MAX_TRACES: usize = 10_000;
const MAX_ROUTES: usize = 200;

/// A receiver with the same limits and fingerprints as the agent's `otlp`
/// source defaults.
pub fn receiver() -> Receiver {
    let limits = Limits {
        grace_ms: 5_000,
        max_age_ms: 60_000,
        max_traces: MAX_TRACES,
        max_labels: MAX_ROUTES,
    };
    Receiver::new(
        limits,
        MAX_TRACES,
        MAX_ROUTES,
        Some(headroom_proto::fingerprint::statement),
    )
}

/// Stores what `receiver` derived every `interval`, forever, from the first
/// export on (a collector nobody sends OTLP to records nothing).
pub async fn flush(receiver: Receiver, service: IngestService, store: Store, interval: Duration) {
    let agent = AgentHello {
        agent_id: AGENT_ID.to_owned(),
        hostname: "collector".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        epoch: (rand::random::<u64>() | 1) as i64,
        sources_json: serde_json::json!([{"name": "otlp", "type": "otlp", "interval_ms": interval.as_millis() as u64}])
            .to_string(),
    };
    let mut registered = false;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut start_ms = now_ms();
    let mut sequence = 0u64;
    loop {
        ticker.tick().await;
        let now = now_ms();
        let mut batch = match receiver.drain(start_ms, now) {
            Ok(batch) => batch,
            Err(error) => {
                tracing::error!(agent_id = AGENT_ID, error = %error, "OTLP figures can no longer be stored");
                return;
            }
        };
        start_ms = now;
        if batch.point_count() == 0 || receiver.exports().unwrap_or(0) == 0 {
            continue;
        }
        if !registered {
            if let Err(error) = store.upsert_agent(&agent).await {
                tracing::warn!(agent_id = AGENT_ID, error = %error, "cannot record the collector's OTLP agent; retrying at the next interval");
                continue;
            }
            registered = true;
        }
        sequence += 1;
        batch.sequence = sequence;
        let points = batch.point_count();
        if let Err(error) = service.batch(&agent, batch).await {
            tracing::warn!(agent_id = AGENT_ID, points, error = %error, "OTLP figures of one interval were not stored");
        }
    }
}
