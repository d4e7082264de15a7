//! Bulk import of a series' history as blocks, bypassing ingest and
//! compaction: raw points and 1-hour rollup rows are cut into the windows
//! `maintenance.rs` uses and written with the store's own codec. Used by the
//! advisor benchmark (tests/src/bin/advisor_bench.rs) to build a 30-day-old
//! store in seconds, and meant for a future backfill.
//!
//! It appends blocks and never merges with blocks already stored: import a
//! range once, into series that hold nothing there yet, or the range's
//! points are counted twice. Raw blocks are written uncompacted, so the next
//! maintenance pass merges them and computes their 1-minute rollups (and
//! rewrites those hours' rows of the 1-hour rollup from the raw points).

use std::collections::BTreeMap;

use super::model::{Kind, NewBlock, SeriesKey};
use super::{Context, HOUR, RAW, Store, StoreError, insert_blocks, on_pool, window_of};

/// Columns of a rollup row: count, sum, min, max.
const ROLLUP_COLUMNS: usize = 4;

/// One series' history to import.
#[derive(Debug, Clone, Copy)]
pub struct ImportSeries<'a> {
    pub key: &'a SeriesKey,
    pub kind: Kind,
    /// Raw points `(unix ms, value)`, in any order.
    pub raw: &'a [(i64, f64)],
    /// 1-hour rollup rows `(hour start in unix ms, [count, sum, min, max])`,
    /// in any order.
    pub hourly: &'a [(i64, [f64; 4])],
}

impl Store {
    /// Imports one series' raw points and 1-hour rollup rows in one
    /// transaction, creating the series if needed; returns the blocks written.
    pub async fn import_series_blocks(
        &self,
        key: &SeriesKey,
        kind: Kind,
        raw: &[(i64, f64)],
        hourly: &[(i64, [f64; 4])],
    ) -> Result<usize, StoreError> {
        self.import_blocks(&[ImportSeries {
            key,
            kind,
            raw,
            hourly,
        }])
        .await
    }

    /// Imports many series in one transaction (one fsync for all of them);
    /// returns the blocks written.
    pub async fn import_blocks(&self, series: &[ImportSeries<'_>]) -> Result<usize, StoreError> {
        let keys: Vec<(SeriesKey, Kind)> = series.iter().map(|s| (s.key.clone(), s.kind)).collect();
        let ids = self.series_ids(&keys).await?;
        let blocks: Vec<NewBlock> = series
            .iter()
            .zip(ids)
            .flat_map(|(s, id)| plan_import(id, s.raw, s.hourly))
            .collect();
        if blocks.is_empty() {
            return Ok(0);
        }
        on_pool!(&self.write, pool => {
            let mut tx = pool.begin().await.context("importing blocks")?;
            insert_blocks!(tx, blocks.iter());
            tx.commit().await.context("importing blocks")?;
        });
        Ok(blocks.len())
    }
}

/// Pure part of an import: the blocks of one series, one per raw hour
/// window (uncompacted) and one per day of 1-hour rollup rows (compacted).
fn plan_import(series_id: i64, raw: &[(i64, f64)], hourly: &[(i64, [f64; 4])]) -> Vec<NewBlock> {
    let mut windows: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
    for &(t, value) in raw {
        windows
            .entry(window_of(RAW, t))
            .or_default()
            .push((t, value));
    }
    let mut blocks = Vec::new();
    for (window, mut points) in windows {
        points.sort_by_key(|p| p.0);
        let timestamps: Vec<i64> = points.iter().map(|p| p.0).collect();
        let values: Vec<f64> = points.iter().map(|p| p.1).collect();
        blocks.extend(NewBlock::encode(
            series_id,
            RAW,
            window,
            &timestamps,
            &values,
            1,
            false,
        ));
    }
    let mut days: BTreeMap<i64, Vec<(i64, [f64; 4])>> = BTreeMap::new();
    for &(t, row) in hourly {
        days.entry(window_of(HOUR, t)).or_default().push((t, row));
    }
    for (day, mut rows) in days {
        rows.sort_by_key(|r| r.0);
        let timestamps: Vec<i64> = rows.iter().map(|r| r.0).collect();
        let values: Vec<f64> = rows.iter().flat_map(|r| r.1).collect();
        blocks.extend(NewBlock::encode(
            series_id,
            HOUR,
            day,
            &timestamps,
            &values,
            ROLLUP_COLUMNS,
            true,
        ));
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::codec;
    use crate::store::{HOUR_WINDOW, RAW_WINDOW};

    #[test]
    fn raw_points_are_cut_per_hour_and_rollups_per_day() {
        let raw: Vec<(i64, f64)> = (0..120).rev().map(|m| (m * 60_000, m as f64)).collect();
        let hourly: Vec<(i64, [f64; 4])> = (0..30)
            .map(|h| (h * HOUR, [60.0, 60.0 * h as f64, 0.0, 2.0 * h as f64]))
            .collect();
        let blocks = plan_import(7, &raw, &hourly);
        let raw_blocks: Vec<&NewBlock> = blocks.iter().filter(|b| b.resolution_ms == RAW).collect();
        assert_eq!(raw_blocks.len(), 2);
        assert_eq!(raw_blocks[1].window_ms, RAW_WINDOW);
        assert_eq!(raw_blocks[1].start_ms, RAW_WINDOW);
        assert!(raw_blocks.iter().all(|b| b.points == 60 && !b.compacted));
        let decoded = codec::decode(&raw_blocks[0].data).unwrap();
        assert_eq!(decoded.timestamps.first(), Some(&0));
        assert_eq!(decoded.values[59], 59.0);

        let days: Vec<&NewBlock> = blocks.iter().filter(|b| b.resolution_ms == HOUR).collect();
        assert_eq!(days.len(), 2);
        assert_eq!((days[0].window_ms, days[0].points), (0, 24));
        assert_eq!((days[1].window_ms, days[1].points), (HOUR_WINDOW, 6));
        let day = codec::decode(&days[1].data).unwrap();
        assert_eq!(day.columns, 4);
        assert_eq!(&day.values[0..4], &[60.0, 60.0 * 24.0, 0.0, 48.0]);
        assert!(days.iter().all(|b| b.compacted && b.series_id == 7));
    }

    #[test]
    fn nothing_to_import_makes_no_block() {
        assert!(plan_import(1, &[], &[]).is_empty());
    }
}
