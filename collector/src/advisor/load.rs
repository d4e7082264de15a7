//! Fills a pass's snapshot from the store: hourly rollups over the
//! look-back window, finer buckets over the recent window, and the texts
//! the rules read.

use super::AdvisorConfig;
use super::snapshot::{Series, Snapshot, Text};
use crate::store::{HOUR, Store, StoreError};

/// Text kinds the rules read.
pub const TEXT_KINDS: [&str; 3] = ["pg_query", "pg_index", "pg_index_candidate"];

/// Buckets the recent window is cut into (10 s for the default hour).
pub const RECENT_BUCKETS: i64 = 360;

/// Loads what one pass at `now` reasons on.
pub async fn snapshot(
    store: &Store,
    config: &AdvisorConfig,
    now: i64,
) -> Result<Snapshot, StoreError> {
    let lookback = config.lookback.0.as_millis() as i64;
    let recent = config.recent_ms().max(HOUR / 60);
    // Hourly rollups up to the hour the recent window starts in, so no
    // bucket is counted twice.
    let split = (now - recent).div_euclid(HOUR) * HOUR;
    let step = (recent / RECENT_BUCKETS).max(1_000);
    let scanned = store.scan(&[], now - lookback, split, now, step).await?;
    let mut snapshot = Snapshot::at(now);
    snapshot.series = scanned
        .into_iter()
        .map(|s| Series {
            name: s.name,
            labels: s.labels,
            kind: s.kind,
            sums: s.points.iter().map(|p| p.2).collect(),
            points: s.points.iter().map(|p| (p.0, p.1)).collect(),
        })
        .collect();
    for kind in TEXT_KINDS {
        snapshot
            .texts
            .extend(store.texts(kind).await?.into_iter().map(|row| Text {
                kind: row.kind,
                key: row.key,
                text: row.text,
                last_seen_ms: row.last_seen,
            }));
    }
    Ok(snapshot)
}
