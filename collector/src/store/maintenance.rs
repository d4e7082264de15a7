//! Compaction, rollups and retention (docs/adr/001-storage-layout.md).
//!
//! Ingest writes one small raw block per series, hour window and batch. The
//! compactor merges every window that received new blocks into one block,
//! and from the merged raw points recomputes that hour's 1-minute rollup
//! (one block per series and hour) and its row in the 1-hour rollup (one
//! block per series and day). Late points (a spool replayed after an outage)
//! simply make their window dirty again. Retention then deletes blocks of
//! each resolution past its age.

use serde::Serialize;
use sqlx::Row;

use super::codec::{self, Decoded};
use super::{Context, HOUR, MINUTE, RAW, RAW_WINDOW, Store, StoreError, on_pool, window_of};

/// Dirty windows compacted per pass (the next pass continues).
const WINDOWS_PER_PASS: i64 = 5_000;

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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
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
        for (series_id, window) in dirty {
            report.blocks_merged += self.compact_window(series_id, window).await?;
            report.windows_compacted += 1;
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

    /// Merges the raw blocks of one series and hour window and rewrites its
    /// rollups; returns how many blocks were merged.
    async fn compact_window(&self, series_id: i64, window: i64) -> Result<u64, StoreError> {
        let corrupt = |source| StoreError::Corrupt { series_id, source };
        on_pool!(&self.write, pool => {
            let mut tx = pool.begin().await.context("compacting")?;
            let rows = sqlx::query(
                "SELECT id, data FROM blocks WHERE series_id = $1 AND resolution_ms = 0 AND window_ms = $2 ORDER BY id",
            )
            .bind(series_id)
            .bind(window)
            .fetch_all(&mut *tx)
            .await
            .context("reading blocks to compact")?;
            let mut ids = Vec::with_capacity(rows.len());
            let mut blocks = Vec::with_capacity(rows.len());
            for row in &rows {
                ids.push(row.try_get::<i64, _>("id").context("reading blocks to compact")?);
                let data: Vec<u8> = row.try_get("data").context("reading blocks to compact")?;
                blocks.push(codec::decode(&data).map_err(corrupt)?);
            }
            let merged = codec::merge(&blocks).map_err(corrupt)?;
            let minute = rollup(&merged, MINUTE);
            let hour_block = {
                let day = window_of(HOUR, window);
                let existing: Option<Vec<u8>> = sqlx::query_scalar(
                    "SELECT data FROM blocks WHERE series_id = $1 AND resolution_ms = $2 AND window_ms = $3",
                )
                .bind(series_id)
                .bind(HOUR)
                .bind(day)
                .fetch_optional(&mut *tx)
                .await
                .context("reading the hourly rollup")?;
                let existing = match existing {
                    Some(data) => codec::decode(&data).map_err(corrupt)?,
                    None => Decoded { timestamps: Vec::new(), values: Vec::new(), columns: 4 },
                };
                replace_row(&existing, window, &rollup(&merged, RAW_WINDOW))
            };

            let mut delete = sqlx::QueryBuilder::new("DELETE FROM blocks WHERE id IN (");
            let mut separated = delete.separated(", ");
            for id in &ids {
                separated.push_bind(*id);
            }
            separated.push_unseparated(")");
            delete.build().execute(&mut *tx).await.context("replacing compacted blocks")?;
            sqlx::query("DELETE FROM blocks WHERE series_id = $1 AND resolution_ms = $2 AND window_ms = $3")
                .bind(series_id)
                .bind(MINUTE)
                .bind(window)
                .execute(&mut *tx)
                .await
                .context("replacing a minute rollup")?;
            sqlx::query("DELETE FROM blocks WHERE series_id = $1 AND resolution_ms = $2 AND window_ms = $3")
                .bind(series_id)
                .bind(HOUR)
                .bind(window_of(HOUR, window))
                .execute(&mut *tx)
                .await
                .context("replacing an hour rollup")?;
            for (resolution, block_window, block) in [
                (RAW, window, &merged),
                (MINUTE, window, &minute),
                (HOUR, window_of(HOUR, window), &hour_block),
            ] {
                let (Some(first), Some(last)) = (block.timestamps.first(), block.timestamps.last()) else {
                    continue;
                };
                sqlx::query(
                    "INSERT INTO blocks (series_id, resolution_ms, window_ms, start_ms, end_ms, points, compacted, data) \
                     VALUES ($1, $2, $3, $4, $5, $6, 1, $7)",
                )
                .bind(series_id)
                .bind(resolution)
                .bind(block_window)
                .bind(*first)
                .bind(*last)
                .bind(block.timestamps.len() as i64)
                .bind(codec::encode(&block.timestamps, &block.values, block.columns))
                .execute(&mut *tx)
                .await
                .context("writing compacted blocks")?;
            }
            tx.commit().await.context("compacting")?;
            Ok(ids.len() as u64)
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
