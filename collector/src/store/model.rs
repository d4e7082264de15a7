//! Plain data the store reads and writes: series keys, prepared batches,
//! blocks and agent rows. No I/O here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A series' identity: metric name plus labels (sorted, so one canonical form).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

impl SeriesKey {
    /// A key from a name and label pairs.
    pub fn new<'a>(
        name: impl Into<String>,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        Self {
            name: name.into(),
            labels: labels
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        }
    }

    /// The canonical JSON object of the labels, as stored.
    pub fn labels_json(&self) -> String {
        serde_json::to_string(&self.labels).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// How a series' values behave (stored as its number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Gauge = 1,
    Counter = 2,
}

impl Kind {
    /// From the stored number; unknown numbers read as gauges.
    pub fn from_i64(value: i64) -> Self {
        if value == Kind::Counter as i64 {
            Kind::Counter
        } else {
            Kind::Gauge
        }
    }
}

/// One encoded block of points of one series, ready to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBlock {
    pub series_id: i64,
    pub resolution_ms: i64,
    pub window_ms: i64,
    pub start_ms: i64,
    pub end_ms: i64,
    pub points: i64,
    pub compacted: bool,
    pub data: Vec<u8>,
}

impl NewBlock {
    /// Encodes sorted rows (`columns` values each) into a block of one
    /// series' window, or nothing when there are no rows.
    pub fn encode(
        series_id: i64,
        resolution_ms: i64,
        window_ms: i64,
        timestamps: &[i64],
        values: &[f64],
        columns: usize,
        compacted: bool,
    ) -> Option<Self> {
        let (first, last) = (*timestamps.first()?, *timestamps.last()?);
        Some(Self {
            series_id,
            resolution_ms,
            window_ms,
            start_ms: first,
            end_ms: last,
            points: timestamps.len() as i64,
            compacted,
            data: super::codec::encode(timestamps, values, columns),
        })
    }
}

/// A short text kept beside the series (normalized query text, index
/// definitions) that must not become a label.
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub kind: &'static str,
    pub key: String,
    pub text: String,
}

/// The stored text of kind [`IndexText::KIND`], keyed
/// `database/schema.index`: a JSON object holding the index's definition
/// (`pg_get_indexdef`) and its fields as the agent parsed them with
/// PostgreSQL's parser (`keys`, `include`: key elements rendered as CREATE
/// INDEX takes them; `predicate`: deparsed, "" for none; `method`; `unique`).
/// An agent too old to parse sends no keys and an empty method: readers
/// then know the definition only.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexText {
    pub definition: String,
    pub keys: Vec<String>,
    pub include: Vec<String>,
    pub predicate: String,
    pub method: String,
    pub unique: bool,
}

impl IndexText {
    pub const KIND: &'static str = "pg_index";

    /// The stored JSON.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "definition": self.definition,
            "keys": self.keys,
            "include": self.include,
            "predicate": self.predicate,
            "method": self.method,
            "unique": self.unique,
        })
        .to_string()
    }

    /// Whether the agent sent the parsed fields.
    pub fn parsed(&self) -> bool {
        !self.keys.is_empty() && !self.method.is_empty()
    }
}

/// What an agent lost, by cause, as reported in one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Drops {
    pub spool_full_batches: i64,
    pub spool_full_points: i64,
    pub corrupt_batches: i64,
    pub queue_full_samples: i64,
    pub rejected_batches: i64,
}

/// One batch, converted and encoded, waiting for its transaction.
#[derive(Debug, Clone)]
pub struct PreparedBatch {
    pub agent_id: String,
    pub epoch: i64,
    pub sequence: i64,
    pub received_ms: i64,
    pub points: i64,
    pub blocks: Vec<NewBlock>,
    pub texts: Vec<Text>,
    pub drops: Drops,
}

/// The outcome of committing a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now.
    Stored,
    /// Already stored earlier (a re-send): acked, not stored again.
    Duplicate,
}

/// An agent as its Hello described it.
#[derive(Debug, Clone)]
pub struct AgentHello {
    pub agent_id: String,
    pub hostname: String,
    pub version: String,
    pub epoch: i64,
    /// JSON array of `{name, type, interval_ms}`.
    pub sources_json: String,
}
