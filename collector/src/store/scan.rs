//! Whole-store reads for the advisor: every series' identity, then the
//! points of many series over a range in one query per resolution (rows
//! streamed and decoded as they come), instead of one query per series.

use std::collections::HashMap;

use futures::TryStreamExt;
use sqlx::Row;

use super::model::{Kind, SeriesMeta, series_meta};
use super::query::{Agg, block_aggs, bucket};
use super::rows::Decoded;
use super::{Context, Store, StoreError, codec, on_pool, window_of};

/// `(bucket start, value, sum)`: value is the mean of a gauge or the last
/// value of a counter; sum adds the raw values up.
pub type ScanPoint = (i64, f64, f64);

impl Store {
    /// Every stored series' identity.
    pub async fn series_meta(&self) -> Result<Vec<SeriesMeta>, StoreError> {
        let rows: Vec<(i64, String, String, i64)> = on_pool!(&self.read, pool => {
            sqlx::query_as("SELECT id, name, labels, kind FROM series")
                .fetch_all(pool)
                .await
                .context("listing series for the advisor")?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name, labels, kind)| series_meta(id, name, &labels, kind))
            .collect::<Decoded<_>>()
            .kept())
    }

    /// How many series are stored.
    pub async fn series_count(&self) -> Result<i64, StoreError> {
        on_pool!(&self.read, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM series")
                .fetch_one(pool)
                .await
                .context("counting series")
        })
    }

    /// Points with `from <= t <= to` of the series in `wanted` (id → kind)
    /// at `resolution`, sorted, bucketed by `step` when given.
    pub async fn scan_points(
        &self,
        resolution: i64,
        from: i64,
        to: i64,
        wanted: &HashMap<i64, Kind>,
        step: Option<i64>,
    ) -> Result<HashMap<i64, Vec<ScanPoint>>, StoreError> {
        let mut aggs: HashMap<i64, Vec<Agg>> = HashMap::new();
        if wanted.is_empty() || from > to {
            return Ok(HashMap::new());
        }
        on_pool!(&self.read, pool => {
            let mut rows = sqlx::query(
                "SELECT series_id, data FROM blocks WHERE resolution_ms = $1 \
                 AND window_ms >= $2 AND window_ms <= $3 AND end_ms >= $4 AND start_ms <= $5",
            )
            .bind(resolution)
            .bind(window_of(resolution, from))
            .bind(window_of(resolution, to))
            .bind(from)
            .bind(to)
            .fetch(pool);
            while let Some(row) = rows.try_next().await.context("reading blocks for the advisor")? {
                let series_id: i64 = row.try_get("series_id").context("reading blocks for the advisor")?;
                if !wanted.contains_key(&series_id) {
                    continue;
                }
                let blob: &[u8] = row.try_get("data").context("reading blocks for the advisor")?;
                let block = codec::decode(blob)
                    .map_err(|source| StoreError::Corrupt { series_id, source })?;
                aggs.entry(series_id)
                    .or_default()
                    .extend(block_aggs(&block).filter(|a| a.t >= from && a.t <= to));
            }
        });
        Ok(aggs
            .into_iter()
            .map(|(id, mut series)| {
                let kind = wanted.get(&id).copied().unwrap_or(Kind::Gauge);
                series.sort_by_key(|a| a.t);
                if let Some(step) = step {
                    series = bucket(&series, step.max(1));
                }
                let points = series.iter().map(|a| (a.t, a.value(kind), a.sum)).collect();
                (id, points)
            })
            .collect())
    }
}
