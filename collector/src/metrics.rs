//! In-process counters of the collector's own work (ingest rate), read by
//! `/api/v1/status` and `/metrics` (web/prom.rs).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::store::Outcome;

/// Batches and points acknowledged since start.
#[derive(Debug, Clone, Default)]
pub struct IngestCounters {
    inner: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    batches: AtomicU64,
    duplicates: AtomicU64,
    points: AtomicU64,
}

/// A snapshot of [`IngestCounters`].
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct IngestSnapshot {
    pub batches_stored: u64,
    pub batches_duplicate: u64,
    pub points_stored: u64,
}

impl IngestCounters {
    /// Counts one acknowledged batch.
    pub fn record(&self, outcome: Outcome, points: u64) {
        match outcome {
            Outcome::Stored => {
                self.inner.batches.fetch_add(1, Ordering::Relaxed);
                self.inner.points.fetch_add(points, Ordering::Relaxed);
            }
            Outcome::Duplicate => {
                self.inner.duplicates.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The counts now.
    pub fn snapshot(&self) -> IngestSnapshot {
        IngestSnapshot {
            batches_stored: self.inner.batches.load(Ordering::Relaxed),
            batches_duplicate: self.inner.duplicates.load(Ordering::Relaxed),
            points_stored: self.inner.points.load(Ordering::Relaxed),
        }
    }
}
