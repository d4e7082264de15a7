//! Compaction, rollups and retention (docs/adr/001-storage-layout.md).
//!
//! Ingest writes one small raw block per series, hour window and batch. The
//! compactor merges every window that received new blocks into one block,
//! and from the merged raw points recomputes that hour's 1-minute rollup
//! (one block per series and hour) and its row in the 1-hour rollup (one
//! block per series and day). Late points (a spool replayed after an outage)
//! simply make their window dirty again. Retention then deletes blocks of
//! each resolution past its age.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::codec::{self, Decoded};
use super::model::NewBlock;
use super::{
    Context, HOUR, INSERT_CHUNK, MINUTE, RAW, RAW_WINDOW, Store, StoreError, insert_blocks,
    on_pool, window_of,
};

/// Dirty windows compacted per pass (the next pass continues).
const WINDOWS_PER_PASS: i64 = 20_000;
/// Windows compacted in one transaction.
const WINDOWS_PER_TRANSACTION: usize = 500;

/// How long each resolution is kept, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub raw_ms: i64,
    pub minute_ms: i64,
    pub hour_ms: i64,
}

/// What one maintenance pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MaintenanceReport {
    pub windows_compacted: u64,
    pub blocks_merged: u64,
    pub blocks_expired: u64,
}

/// Storage figures per resolution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ResolutionStats {
    pub resolution_ms: i64,
    pub blocks: i64,
    pub points: i64,
    pub data_bytes: i64,
}

impl Store {
    /// One pass: compact dirty windows (with their rollups), then expire.
    pub async fn maintain(
        &self,
        retention: &Retention,
        now_ms: i64,
    ) -> Result<MaintenanceReport, StoreError> {
        let mut report = MaintenanceReport::default();
        let dirty: Vec<(i64, i64)> = on_pool!(&self.write, pool => {
            sqlx::query_as(
                "SELECT DISTINCT series_id, window_ms FROM blocks WHERE compacted = 0 \
                 ORDER BY window_ms, series_id LIMIT $1",
            )
            .bind(WINDOWS_PER_PASS)
            .fetch_all(pool)
            .await
            .context("finding windows to compact")?
        });
        for windows in dirty.chunks(WINDOWS_PER_TRANSACTION) {
            report.blocks_merged += self.compact_windows(windows).await?;
            report.windows_compacted += windows.len() as u64;
        }
        for (resolution, keep) in [
            (RAW, retention.raw_ms),
            (MINUTE, retention.minute_ms),
            (HOUR, retention.hour_ms),
        ] {
            let deleted = on_pool!(&self.write, pool => {
                sqlx::query("DELETE FROM blocks WHERE resolution_ms = $1 AND end_ms < $2")
                    .bind(resolution)
                    .bind(now_ms - keep)
                    .execute(pool)
                    .await
                    .context("expiring blocks")?
                    .rows_affected()
            });
            report.blocks_expired += deleted;
        }
        Ok(report)
    }

    /// Merges the raw blocks of each (series, hour window) in `windows` and
    /// rewrites their rollups, in one transaction; returns how many blocks
    /// were merged.
    async fn compact_windows(&self, windows: &[(i64, i64)]) -> Result<u64, StoreError> {
        let days: BTreeSet<(i64, i64)> = windows
            .iter()
            .map(|&(series, window)| (series, window_of(HOUR, window)))
            .collect();
        on_pool!(&self.write, pool => {
            let mut tx = pool.begin().await.context("compacting")?;
            let mut select = sqlx::QueryBuilder::new(
                "SELECT id, series_id, window_ms, data FROM blocks WHERE resolution_ms = 0 AND (series_id, window_ms) IN ",
            );
            push_pairs(&mut select, windows.iter().copied());
            select.push(" ORDER BY id");
            let rows: Vec<(i64, i64, i64, Vec<u8>)> =
                select.build_query_as().fetch_all(&mut *tx).await.context("reading blocks to compact")?;
            let mut select = sqlx::QueryBuilder::new(
                "SELECT series_id, window_ms, data FROM blocks WHERE resolution_ms = 3600000 AND (series_id, window_ms) IN ",
            );
            push_pairs(&mut select, days.iter().copied());
            let hour_rows: Vec<(i64, i64, Vec<u8>)> =
                select.build_query_as().fetch_all(&mut *tx).await.context("reading hourly rollups")?;

            let plan = plan_compaction(windows, &rows, hour_rows)?;
            for ids in plan.merged_ids.chunks(INSERT_CHUNK * 4) {
                let mut delete = sqlx::QueryBuilder::new("DELETE FROM blocks WHERE id IN (");
                let mut separated = delete.separated(", ");
                for id in ids {
                    separated.push_bind(*id);
                }
                separated.push_unseparated(")");
                delete.build().execute(&mut *tx).await.context("replacing compacted blocks")?;
            }
            for (resolution, pairs) in [(MINUTE, windows.to_vec()), (HOUR, days.into_iter().collect())] {
                let mut delete = sqlx::QueryBuilder::new("DELETE FROM blocks WHERE resolution_ms = ");
                delete.push_bind(resolution).push(" AND (series_id, window_ms) IN ");
                push_pairs(&mut delete, pairs.into_iter());
                delete.build().execute(&mut *tx).await.context("replacing rollups")?;
            }
            insert_blocks!(tx, plan.blocks.iter());
            tx.commit().await.context("compacting")?;
            Ok(plan.merged_ids.len() as u64)
        })
    }

    /// Raw blocks written by ingest and not yet compacted: the compactor's lag.
    pub async fn uncompacted_blocks(&self) -> Result<i64, StoreError> {
        on_pool!(&self.read, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM blocks WHERE compacted = 0")
                .fetch_one(pool)
                .await
                .context("counting uncompacted blocks")
        })
    }

    /// Blocks, points and encoded bytes per resolution.
    pub async fn stats(&self) -> Result<Vec<ResolutionStats>, StoreError> {
        let rows: Vec<(i64, i64, i64, i64)> = on_pool!(&self.read, pool => {
            sqlx::query_as(
                "SELECT resolution_ms, CAST(COUNT(*) AS BIGINT), CAST(SUM(points) AS BIGINT), \
                 CAST(SUM(LENGTH(data)) AS BIGINT) FROM blocks GROUP BY resolution_ms ORDER BY resolution_ms",
            )
            .fetch_all(pool)
            .await
            .context("measuring blocks")?
        });
        Ok(rows
            .into_iter()
            .map(
                |(resolution_ms, blocks, points, data_bytes)| ResolutionStats {
                    resolution_ms,
                    blocks,
                    points,
                    data_bytes,
                },
            )
            .collect())
    }
}

/// Appends `(VALUES ($1, $2), ($3, $4), …)`: a row-value list both SQLite
/// and PostgreSQL accept on the right of `(a, b) IN`.
fn push_pairs<DB: sqlx::Database>(
    builder: &mut sqlx::QueryBuilder<DB>,
    pairs: impl Iterator<Item = (i64, i64)>,
) where
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    builder.push("(VALUES ");
    let mut first = true;
    for (a, b) in pairs {
        if !first {
            builder.push(", ");
        }
        first = false;
        builder
            .push("(")
            .push_bind(a)
            .push(", ")
            .push_bind(b)
            .push(")");
    }
    builder.push(")");
}

/// What one compaction transaction deletes and writes.
#[derive(Debug, Default)]
struct CompactionPlan {
    merged_ids: Vec<i64>,
    blocks: Vec<NewBlock>,
}

/// Pure part of compaction: from the raw blocks of `windows` (rows of id,
/// series, window, data, in id order) and the existing hourly rollup blocks
/// of their days, the merged raw blocks, their minute rollups and the
/// updated hourly rollups.
fn plan_compaction(
    windows: &[(i64, i64)],
    rows: &[(i64, i64, i64, Vec<u8>)],
    hour_rows: Vec<(i64, i64, Vec<u8>)>,
) -> Result<CompactionPlan, StoreError> {
    let mut plan = CompactionPlan::default();
    let mut raw: BTreeMap<(i64, i64), Vec<Decoded>> = BTreeMap::new();
    for (id, series_id, window, data) in rows {
        let block = codec::decode(data).map_err(|source| StoreError::Corrupt {
            series_id: *series_id,
            source,
        })?;
        plan.merged_ids.push(*id);
        raw.entry((*series_id, *window)).or_default().push(block);
    }
    let mut days: BTreeMap<(i64, i64), Decoded> = BTreeMap::new();
    for (series_id, day, data) in hour_rows {
        let block =
            codec::decode(&data).map_err(|source| StoreError::Corrupt { series_id, source })?;
        days.insert((series_id, day), block);
    }
    for &(series_id, window) in windows {
        let Some(blocks) = raw.get(&(series_id, window)) else {
            continue;
        };
        let merged =
            codec::merge(blocks).map_err(|source| StoreError::Corrupt { series_id, source })?;
        let day = days
            .entry((series_id, window_of(HOUR, window)))
            .or_insert_with(|| empty(4));
        *day = replace_row(day, window, &rollup(&merged, RAW_WINDOW));
        plan.blocks
            .extend(new_block(series_id, RAW, window, &merged));
        plan.blocks.extend(new_block(
            series_id,
            MINUTE,
            window,
            &rollup(&merged, MINUTE),
        ));
    }
    for ((series_id, day), block) in &days {
        plan.blocks.extend(new_block(*series_id, HOUR, *day, block));
    }
    Ok(plan)
}

fn empty(columns: usize) -> Decoded {
    Decoded {
        timestamps: Vec::new(),
        values: Vec::new(),
        columns,
    }
}

/// A compacted block of `block`'s rows, or nothing when it has none.
fn new_block(
    series_id: i64,
    resolution_ms: i64,
    window_ms: i64,
    block: &Decoded,
) -> Option<NewBlock> {
    NewBlock::encode(
        series_id,
        resolution_ms,
        window_ms,
        &block.timestamps,
        &block.values,
        block.columns,
        true,
    )
}

/// Count, sum, min and max of raw points per bucket of `width` ms: a
/// 4-column block stamped with each bucket's start. NaN values are skipped.
pub(crate) fn rollup(raw: &Decoded, width: i64) -> Decoded {
    let mut out = Decoded {
        timestamps: Vec::new(),
        values: Vec::new(),
        columns: 4,
    };
    for (&t, &value) in raw.timestamps.iter().zip(&raw.values) {
        if value.is_nan() {
            continue;
        }
        let start = t.div_euclid(width) * width;
        if out.timestamps.last() == Some(&start) {
            let row = out.values.len() - 4;
            out.values[row] += 1.0;
            out.values[row + 1] += value;
            out.values[row + 2] = out.values[row + 2].min(value);
            out.values[row + 3] = out.values[row + 3].max(value);
        } else {
            out.timestamps.push(start);
            out.values.extend([1.0, value, value, value]);
        }
    }
    out
}

/// `existing` with its row at `t` replaced by `row`'s only row (or removed
/// when `row` is empty), kept sorted.
fn replace_row(existing: &Decoded, t: i64, row: &Decoded) -> Decoded {
    let mut out = Decoded {
        timestamps: Vec::new(),
        values: Vec::new(),
        columns: 4,
    };
    let mut inserted = false;
    let push_new = |out: &mut Decoded| {
        if let Some(values) = row.values.get(0..4) {
            out.timestamps.push(t);
            out.values.extend_from_slice(values);
        }
    };
    for (index, &existing_t) in existing.timestamps.iter().enumerate() {
        if !inserted && existing_t >= t {
            push_new(&mut out);
            inserted = true;
        }
        if existing_t != t {
            out.timestamps.push(existing_t);
            out.values
                .extend_from_slice(&existing.values[index * 4..index * 4 + 4]);
        }
    }
    if !inserted {
        push_new(&mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(points: &[(i64, f64)]) -> Decoded {
        Decoded {
            timestamps: points.iter().map(|p| p.0).collect(),
            values: points.iter().map(|p| p.1).collect(),
            columns: 1,
        }
    }

    #[test]
    fn minute_rollup_counts_sums_and_bounds_each_minute() {
        let block = raw(&[
            (0, 1.0),
            (59_999, 3.0),
            (60_000, 10.0),
            (61_000, f64::NAN),
            (125_000, 4.0),
        ]);
        let minute = rollup(&block, MINUTE);
        assert_eq!(minute.timestamps, vec![0, 60_000, 120_000]);
        assert_eq!(&minute.values[0..4], &[2.0, 4.0, 1.0, 3.0]);
        assert_eq!(&minute.values[4..8], &[1.0, 10.0, 10.0, 10.0]);
        assert_eq!(&minute.values[8..12], &[1.0, 4.0, 4.0, 4.0]);
    }

    #[test]
    fn hour_rows_are_replaced_in_place_and_kept_sorted() {
        let day = Decoded {
            timestamps: vec![0, 2 * HOUR],
            values: vec![1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0],
            columns: 4,
        };
        let new_row = Decoded {
            timestamps: vec![HOUR],
            values: vec![5.0, 5.0, 5.0, 5.0],
            columns: 4,
        };
        let inserted = replace_row(&day, HOUR, &new_row);
        assert_eq!(inserted.timestamps, vec![0, HOUR, 2 * HOUR]);
        let replaced = replace_row(
            &inserted,
            HOUR,
            &Decoded {
                values: vec![7.0; 4],
                ..new_row.clone()
            },
        );
        assert_eq!(replaced.timestamps, vec![0, HOUR, 2 * HOUR]);
        assert_eq!(&replaced.values[4..8], &[7.0; 4]);
        let appended = replace_row(&day, 3 * HOUR, &new_row);
        assert_eq!(appended.timestamps, vec![0, 2 * HOUR, 3 * HOUR]);
    }
}
