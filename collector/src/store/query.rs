//! Reads for the API: agents, the series list, points of matching series
//! over a time range (stitched from rollups and raw blocks and optionally
//! aggregated per step), and stored texts (query texts, index definitions).

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::Row;

use super::maintenance::Retention;
use super::model::{AgentHello, Drops, Kind};
use super::{Context, HOUR, MINUTE, RAW, Store, StoreError, codec, now_ms, on_pool, window_of};

/// Most points returned per series; the response says when it was cut.
pub const MAX_POINTS_PER_SERIES: usize = 100_000;

/// An agent as `/api/v1/agents` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Agent)]
pub struct AgentRow {
    pub id: String,
    pub hostname: String,
    pub version: String,
    /// The agent's configured sources, as it reported them.
    pub sources: serde_json::Value,
    pub first_seen: i64,
    pub last_seen: i64,
    pub spool_epoch: String,
    pub last_sequence: i64,
    pub batches: i64,
    pub points: i64,
    pub duplicates: i64,
    pub dropped: Drops,
}

/// One stored series as the list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = SeriesSummary)]
pub struct SeriesRow {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub kind: Kind,
    pub first_timestamp: Option<i64>,
    pub last_timestamp: Option<i64>,
    /// Raw points stored.
    pub points: i64,
}

/// Which points to read.
#[derive(Debug, Clone)]
pub struct PointsQuery {
    pub name: String,
    /// Every label here must match exactly; others may have any value.
    pub labels: BTreeMap<String, String>,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Aggregate into buckets of this width (aligned to multiples of it).
    pub step_ms: Option<i64>,
}

/// Points of one series: `[timestamp_ms, value]` pairs, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SeriesPoints {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub kind: Kind,
    /// `[timestamp_ms, value]` pairs, oldest first.
    pub points: Vec<(i64, f64)>,
    /// True when more than [`MAX_POINTS_PER_SERIES`] points matched.
    pub truncated: bool,
}

/// A stored text as `/api/v1/texts` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = Text)]
pub struct TextRow {
    pub kind: String,
    pub key: String,
    pub text: String,
    /// When a batch last carried it (unix ms, at the collector).
    pub last_seen: i64,
}

/// Count, sum, min, max and last of some points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Agg {
    pub(crate) t: i64,
    pub(crate) count: f64,
    pub(crate) sum: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) last: f64,
}

impl Agg {
    fn merge(&mut self, other: &Agg) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.last = other.last;
    }

    pub(crate) fn value(&self, kind: Kind) -> f64 {
        match kind {
            Kind::Gauge if self.count > 0.0 => self.sum / self.count,
            Kind::Gauge => self.last,
            Kind::Counter => self.last,
        }
    }
}

impl Store {
    /// Every agent that ever said Hello.
    pub async fn agents(&self) -> Result<Vec<AgentRow>, StoreError> {
        let rows = on_pool!(&self.read, pool => {
            sqlx::query("SELECT * FROM agents ORDER BY agent_id").fetch_all(pool).await.context("listing agents")?
                .iter()
                .map(|row| -> Result<AgentRow, sqlx::Error> {
                    let sources: String = row.try_get("sources")?;
                    Ok(AgentRow {
                        id: row.try_get("agent_id")?,
                        hostname: row.try_get("hostname")?,
                        version: row.try_get("version")?,
                        sources: serde_json::from_str(&sources).unwrap_or_default(),
                        first_seen: row.try_get("first_seen_ms")?,
                        last_seen: row.try_get("last_seen_ms")?,
                        spool_epoch: format!("{:016x}", row.try_get::<i64, _>("spool_epoch")?),
                        last_sequence: row.try_get("last_sequence")?,
                        batches: row.try_get("batches")?,
                        points: row.try_get("points")?,
                        duplicates: row.try_get("duplicates")?,
                        dropped: Drops {
                            spool_full_batches: row.try_get("dropped_spool_full_batches")?,
                            spool_full_points: row.try_get("dropped_spool_full_points")?,
                            corrupt_batches: row.try_get("dropped_corrupt_batches")?,
                            queue_full_samples: row.try_get("dropped_queue_full_samples")?,
                            rejected_batches: row.try_get("dropped_rejected_batches")?,
                        },
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .context("reading agents")?
        });
        Ok(rows)
    }

    /// Records an agent's Hello (creating the agent on first sight).
    pub async fn upsert_agent(&self, hello: &AgentHello) -> Result<(), StoreError> {
        let now = now_ms();
        on_pool!(&self.write, pool => sqlx::query(
            "INSERT INTO agents (agent_id, hostname, version, sources, first_seen_ms, last_seen_ms, spool_epoch) \
             VALUES ($1, $2, $3, $4, $5, $5, $6) \
             ON CONFLICT (agent_id) DO UPDATE SET hostname = excluded.hostname, version = excluded.version, \
             sources = excluded.sources, last_seen_ms = excluded.last_seen_ms, \
             spool_epoch = CASE WHEN excluded.spool_epoch <> 0 THEN excluded.spool_epoch ELSE agents.spool_epoch END",
        )
        .bind(&hello.agent_id)
        .bind(&hello.hostname)
        .bind(&hello.version)
        .bind(&hello.sources_json)
        .bind(now)
        .bind(hello.epoch)
        .execute(pool)
        .await
        .map(|_| ())
        .context("recording an agent"))
    }

    /// Every stored text of `kind` (`pg_query`, `pg_index`), by key.
    pub async fn texts(&self, kind: &str) -> Result<Vec<TextRow>, StoreError> {
        let rows = on_pool!(&self.read, pool => {
            sqlx::query("SELECT kind, key, text, last_seen_ms FROM texts WHERE kind = $1 ORDER BY key")
                .bind(kind)
                .fetch_all(pool)
                .await
                .context("listing texts")?
                .iter()
                .map(|row| -> Result<TextRow, sqlx::Error> {
                    Ok(TextRow {
                        kind: row.try_get("kind")?,
                        key: row.try_get("key")?,
                        text: row.try_get("text")?,
                        last_seen: row.try_get("last_seen_ms")?,
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .context("reading texts")?
        });
        Ok(rows)
    }

    /// Every stored series whose name starts with `prefix`, with the span and
    /// count of its raw points.
    pub async fn series_list(&self, prefix: &str) -> Result<Vec<SeriesRow>, StoreError> {
        let pattern = format!(
            "{}%",
            prefix
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let rows = on_pool!(&self.read, pool => {
            sqlx::query(
                "SELECT s.name, s.labels, s.kind, MIN(b.start_ms) AS first_ms, MAX(b.end_ms) AS last_ms, \
                 CAST(COALESCE(SUM(b.points), 0) AS BIGINT) AS points \
                 FROM series s LEFT JOIN blocks b ON b.series_id = s.id AND b.resolution_ms = 0 \
                 WHERE s.name LIKE $1 ESCAPE '\\' \
                 GROUP BY s.id, s.name, s.labels, s.kind ORDER BY s.name, s.labels",
            )
            .bind(&pattern)
            .fetch_all(pool)
            .await
            .context("listing series")?
            .iter()
            .map(|row| -> Result<SeriesRow, sqlx::Error> {
                let labels: String = row.try_get("labels")?;
                Ok(SeriesRow {
                    name: row.try_get("name")?,
                    labels: serde_json::from_str(&labels).unwrap_or_default(),
                    kind: Kind::from_i64(row.try_get("kind")?),
                    first_timestamp: row.try_get("first_ms")?,
                    last_timestamp: row.try_get("last_ms")?,
                    points: row.try_get("points")?,
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .context("reading series")?
        });
        Ok(rows)
    }

    /// The oldest stored point of every series named `name` whose labels
    /// include `labels` (None when none has a point). Read from the finest
    /// resolution that holds it: a rollup's first bucket is aligned to its
    /// step, so an hourly rollup counts only when it reaches back beyond the
    /// raw and 1-minute blocks by more than its step.
    pub async fn first_point_ms(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<Option<i64>, StoreError> {
        let rows: Vec<(String, i64, i64)> = on_pool!(&self.read, pool => {
            sqlx::query_as(
                "SELECT s.labels, b.resolution_ms, MIN(b.start_ms) FROM series s \
                 JOIN blocks b ON b.series_id = s.id WHERE s.name = $1 \
                 GROUP BY s.id, s.labels, b.resolution_ms",
            )
            .bind(name)
            .fetch_all(pool)
            .await
            .context("finding the first point of series")?
        });
        let (mut fine, mut hourly): (Option<i64>, Option<i64>) = (None, None);
        for (labels_json, resolution, first) in rows {
            let stored: BTreeMap<String, String> =
                serde_json::from_str(&labels_json).unwrap_or_default();
            if !labels.iter().all(|(k, v)| stored.get(k) == Some(v)) {
                continue;
            }
            let slot = if resolution == HOUR {
                &mut hourly
            } else {
                &mut fine
            };
            *slot = Some(slot.map_or(first, |known| known.min(first)));
        }
        Ok(match (fine, hourly) {
            (Some(fine), Some(hourly)) if hourly < fine - HOUR => Some(hourly),
            (Some(fine), _) => Some(fine),
            (None, hourly) => hourly,
        })
    }

    /// Points of every series named `query.name` whose labels include
    /// `query.labels`. Each part of the range is read from the finest
    /// resolution its retention still holds.
    pub async fn points(
        &self,
        query: &PointsQuery,
        retention: &Retention,
    ) -> Result<Vec<SeriesPoints>, StoreError> {
        let candidates: Vec<(i64, String, i64)> = on_pool!(&self.read, pool => {
            sqlx::query_as("SELECT id, labels, kind FROM series WHERE name = $1 ORDER BY labels")
                .bind(&query.name)
                .fetch_all(pool)
                .await
                .context("finding series")?
        });
        let now = now_ms();
        let segments = [
            (
                HOUR,
                query.from_ms,
                query.to_ms.min(now - retention.minute_ms),
            ),
            (
                MINUTE,
                query.from_ms.max(now - retention.minute_ms),
                query.to_ms.min(now - retention.raw_ms),
            ),
            (RAW, query.from_ms.max(now - retention.raw_ms), query.to_ms),
        ];
        let mut result = Vec::new();
        for (series_id, labels_json, kind) in candidates {
            let labels: BTreeMap<String, String> =
                serde_json::from_str(&labels_json).unwrap_or_default();
            if !query.labels.iter().all(|(k, v)| labels.get(k) == Some(v)) {
                continue;
            }
            let kind = Kind::from_i64(kind);
            let mut aggs = Vec::new();
            for (resolution, from, to) in segments {
                if from <= to {
                    aggs.extend(self.read_aggs(series_id, resolution, from, to).await?);
                }
            }
            let aggs = match query.step_ms {
                Some(step) => bucket(&aggs, step),
                None => aggs,
            };
            let truncated = aggs.len() > MAX_POINTS_PER_SERIES;
            let points = aggs
                .iter()
                .take(MAX_POINTS_PER_SERIES)
                .map(|agg| (agg.t, agg.value(kind)))
                .collect();
            result.push(SeriesPoints {
                name: query.name.clone(),
                labels,
                kind,
                points,
                truncated,
            });
        }
        Ok(result)
    }

    /// Points of one series and resolution with `from <= t <= to`, sorted.
    async fn read_aggs(
        &self,
        series_id: i64,
        resolution: i64,
        from: i64,
        to: i64,
    ) -> Result<Vec<Agg>, StoreError> {
        let blobs: Vec<Vec<u8>> = on_pool!(&self.read, pool => {
            sqlx::query_scalar(
                "SELECT data FROM blocks WHERE series_id = $1 AND resolution_ms = $2 \
                 AND window_ms >= $3 AND window_ms <= $4 AND end_ms >= $5 AND start_ms <= $6",
            )
            .bind(series_id)
            .bind(resolution)
            .bind(window_of(resolution, from))
            .bind(window_of(resolution, to))
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await
            .context("reading blocks")?
        });
        let mut aggs = Vec::new();
        for blob in blobs {
            let block =
                codec::decode(&blob).map_err(|source| StoreError::Corrupt { series_id, source })?;
            aggs.extend(block_aggs(&block).filter(|agg| agg.t >= from && agg.t <= to));
        }
        aggs.sort_by_key(|agg| agg.t);
        Ok(aggs)
    }
}

/// The rows of a decoded block as aggregates: raw blocks have one column
/// (the value), rollups four (count, sum, min, max).
pub(crate) fn block_aggs(block: &codec::Decoded) -> impl Iterator<Item = Agg> + '_ {
    let columns = block.columns.max(1);
    block
        .timestamps
        .iter()
        .zip(block.values.chunks(columns))
        .map(move |(&t, row)| {
            if let [count, sum, min, max] = row {
                Agg {
                    t,
                    count: *count,
                    sum: *sum,
                    min: *min,
                    max: *max,
                    last: *max,
                }
            } else {
                let value = row.first().copied().unwrap_or(f64::NAN);
                Agg {
                    t,
                    count: 1.0,
                    sum: value,
                    min: value,
                    max: value,
                    last: value,
                }
            }
        })
}

/// Merges sorted aggregates into buckets `[k*step, (k+1)*step)`, each
/// stamped with its start.
pub(crate) fn bucket(aggs: &[Agg], step: i64) -> Vec<Agg> {
    let mut out: Vec<Agg> = Vec::new();
    for agg in aggs {
        let start = agg.t.div_euclid(step) * step;
        match out.last_mut() {
            Some(last) if last.t == start => last.merge(agg),
            _ => out.push(Agg { t: start, ..*agg }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(t: i64, v: f64) -> Agg {
        Agg {
            t,
            count: 1.0,
            sum: v,
            min: v,
            max: v,
            last: v,
        }
    }

    #[test]
    fn buckets_average_gauges_and_keep_the_last_counter_value() {
        let points = [
            raw(0, 1.0),
            raw(500, 3.0),
            raw(1000, 10.0),
            raw(1999, 20.0),
            raw(2000, 7.0),
        ];
        let buckets = bucket(&points, 1000);
        assert_eq!(buckets.len(), 3);
        assert_eq!(buckets[0].value(Kind::Gauge), 2.0);
        assert_eq!(buckets[1].value(Kind::Gauge), 15.0);
        assert_eq!(buckets[1].value(Kind::Counter), 20.0);
        assert_eq!(
            (buckets[1].min, buckets[1].max, buckets[1].count),
            (10.0, 20.0, 2.0)
        );
        assert_eq!(buckets[2].t, 2000);
    }

    #[test]
    fn rollup_rows_read_as_count_sum_min_max() {
        let block = codec::Decoded {
            timestamps: vec![60_000],
            values: vec![3.0, 30.0, 5.0, 15.0],
            columns: 4,
        };
        let aggs: Vec<_> = block_aggs(&block).collect();
        assert_eq!(aggs[0].value(Kind::Gauge), 10.0);
        assert_eq!(aggs[0].value(Kind::Counter), 15.0);
    }
}
