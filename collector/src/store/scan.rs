//! Whole-store reads for the advisor: every series with its points over a
//! range, two queries per resolution instead of one per series.

use std::collections::{BTreeMap, HashMap};

use sqlx::Row;

use super::model::Kind;
use super::query::{Agg, block_aggs, bucket};
use super::{Context, HOUR, RAW, Store, StoreError, codec, on_pool, window_of};

/// One series and its buckets.
#[derive(Debug, Clone, PartialEq)]
pub struct ScannedSeries {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub kind: Kind,
    /// `(bucket start, value, sum)`: value is the mean of a gauge or the
    /// last value of a counter; sum adds the raw values up.
    pub points: Vec<(i64, f64, f64)>,
}

impl Store {
    /// Every series whose name starts with one of `prefixes` (all when
    /// empty), with hourly points from the 1-hour rollups over
    /// `[from, split)` and raw points bucketed by `recent_step` over
    /// `[split, to]`.
    pub async fn scan(
        &self,
        prefixes: &[&str],
        from: i64,
        split: i64,
        to: i64,
        recent_step: i64,
    ) -> Result<Vec<ScannedSeries>, StoreError> {
        let rows: Vec<(i64, String, String, i64)> = on_pool!(&self.read, pool => {
            sqlx::query_as("SELECT id, name, labels, kind FROM series")
                .fetch_all(pool)
                .await
                .context("listing series for the advisor")?
        });
        let wanted: HashMap<i64, (String, String, i64)> = rows
            .into_iter()
            .filter(|(_, name, _, _)| {
                prefixes.is_empty() || prefixes.iter().any(|p| name.starts_with(p))
            })
            .map(|(id, name, labels, kind)| (id, (name, labels, kind)))
            .collect();
        let mut aggs: HashMap<i64, Vec<Agg>> = HashMap::new();
        if from < split {
            self.scan_resolution(HOUR, from, split - 1, &wanted, &mut aggs)
                .await?;
        }
        let mut recent: HashMap<i64, Vec<Agg>> = HashMap::new();
        self.scan_resolution(RAW, split, to, &wanted, &mut recent)
            .await?;
        let mut out = Vec::with_capacity(wanted.len());
        for (id, (name, labels, kind)) in wanted {
            let kind = Kind::from_i64(kind);
            let mut series = aggs.remove(&id).unwrap_or_default();
            series.sort_by_key(|a| a.t);
            let mut tail = recent.remove(&id).unwrap_or_default();
            tail.sort_by_key(|a| a.t);
            series.extend(bucket(&tail, recent_step.max(1)));
            if series.is_empty() {
                continue;
            }
            out.push(ScannedSeries {
                name,
                labels: serde_json::from_str(&labels).unwrap_or_default(),
                kind,
                points: series.iter().map(|a| (a.t, a.value(kind), a.sum)).collect(),
            });
        }
        out.sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
        Ok(out)
    }

    async fn scan_resolution(
        &self,
        resolution: i64,
        from: i64,
        to: i64,
        wanted: &HashMap<i64, (String, String, i64)>,
        out: &mut HashMap<i64, Vec<Agg>>,
    ) -> Result<(), StoreError> {
        let rows = on_pool!(&self.read, pool => {
            sqlx::query(
                "SELECT series_id, data FROM blocks WHERE resolution_ms = $1 \
                 AND window_ms >= $2 AND window_ms <= $3 AND end_ms >= $4 AND start_ms <= $5",
            )
            .bind(resolution)
            .bind(window_of(resolution, from))
            .bind(window_of(resolution, to))
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
            .context("reading blocks for the advisor")?
            .into_iter()
            .map(|row| -> Result<(i64, Vec<u8>), sqlx::Error> {
                Ok((row.try_get("series_id")?, row.try_get("data")?))
            })
            .collect::<Result<Vec<_>, _>>()
            .context("reading blocks for the advisor")?
        });
        for (series_id, blob) in rows {
            if !wanted.contains_key(&series_id) {
                continue;
            }
            let block =
                codec::decode(&blob).map_err(|source| StoreError::Corrupt { series_id, source })?;
            out.entry(series_id)
                .or_default()
                .extend(block_aggs(&block).filter(|a| a.t >= from && a.t <= to));
        }
        Ok(())
    }
}
