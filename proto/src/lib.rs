//! The `headroom.v1` wire protocol: generated messages and the `Ingest` service.
//!
//! The schema lives in `headroom/v1/agent.proto`; its comments are the
//! protocol's documentation. Conversions to domain types live at the edges
//! (the agent's shipper, the collector's `ingest/`), not here.
#![forbid(unsafe_code)]

/// Generated code for package `headroom.v1`.
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("headroom.v1");
}

/// The gRPC metadata key that carries an agent's bearer token.
pub const AUTHORIZATION: &str = "authorization";

/// `message` as a gRPC request carrying `authorization: Bearer <token>`
/// when `token` is not empty; `None` when the token cannot be metadata
/// (it must be printable ASCII).
pub fn bearer_request<T>(message: T, token: &str) -> Option<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    if !token.is_empty() {
        let value = format!("Bearer {token}").parse().ok()?;
        request.metadata_mut().insert(AUTHORIZATION, value);
    }
    Some(request)
}

/// Default maximum size of one encoded message on the wire (16 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

impl v1::Label {
    /// A label from a key and a value.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

impl v1::Batch {
    /// Number of individual points this batch carries, counting every
    /// histogram bucket, count and sum, and every numeric field of a typed
    /// record, and each index candidate (stored as one text), as one point:
    /// the number of values the collector stores.
    pub fn point_count(&self) -> u64 {
        let histograms: usize = self
            .histograms
            .iter()
            .map(|h| h.bucket_counts.len() + 2)
            .sum();
        (self.samples.len()
            + histograms
            + self.pg_statements.len() * v1::PgStatement::FIELDS
            + self.pg_tables.len() * v1::PgTable::FIELDS
            + self.pg_indexes.len() * v1::PgIndex::FIELDS
            + self.redis.len() * v1::RedisStats::FIELDS
            + self.index_candidates.len() * v1::IndexCandidate::FIELDS
            + self.index_verdicts.len() * v1::IndexVerdict::FIELDS) as u64
            + self
                .http_routes
                .iter()
                .map(|r| {
                    r.latency
                        .as_ref()
                        .map_or(0, |h| h.bucket_counts.len() as u64 + 2)
                        + 1
                })
                .sum::<u64>()
    }
}

impl v1::Batch {
    /// Appends everything `other` carries (not its sequence or drops).
    pub fn extend(&mut self, other: v1::Batch) {
        self.samples.extend(other.samples);
        self.histograms.extend(other.histograms);
        self.pg_statements.extend(other.pg_statements);
        self.pg_tables.extend(other.pg_tables);
        self.pg_indexes.extend(other.pg_indexes);
        self.redis.extend(other.redis);
        self.http_routes.extend(other.http_routes);
        self.index_candidates.extend(other.index_candidates);
        self.index_verdicts.extend(other.index_verdicts);
    }
}

impl v1::PgStatement {
    /// Numeric fields stored per record.
    pub const FIELDS: usize = 7;
}
impl v1::PgTable {
    /// Numeric fields stored per record.
    pub const FIELDS: usize = 9;
}
impl v1::PgIndex {
    /// Numeric fields stored per record.
    pub const FIELDS: usize = 3;
}
impl v1::RedisStats {
    /// Numeric fields stored per record.
    pub const FIELDS: usize = 11;
}
impl v1::IndexCandidate {
    /// Values stored per record: one text row (costs travel inside it).
    pub const FIELDS: usize = 1;
}
impl v1::IndexVerdict {
    /// Values stored per record: one text row.
    pub const FIELDS: usize = 1;
}

/// `text` followed by each of `source`'s causes (`: cause`), skipping a
/// cause already said: transport errors keep the useful part (refused,
/// certificate unknown) in their sources.
pub fn with_sources(mut text: String, mut source: Option<&dyn std::error::Error>) -> String {
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

pub mod config;
pub mod duration;
#[cfg(feature = "fingerprint")]
pub mod fingerprint;
pub mod latency;
pub mod otlp;
pub mod process;
pub mod samples;
pub mod signals;
pub mod telemetry;
pub mod throttle;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bearer_request_carries_the_token_only_when_there_is_one() {
        let with = bearer_request((), "s3cret").expect("printable");
        assert_eq!(
            with.metadata()
                .get(AUTHORIZATION)
                .and_then(|v| v.to_str().ok()),
            Some("Bearer s3cret")
        );
        let without = bearer_request((), "").expect("empty");
        assert!(without.metadata().get(AUTHORIZATION).is_none());
        assert!(bearer_request((), "bad\ntoken").is_none());
    }
}
