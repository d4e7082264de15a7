//! Fills a pass's snapshot from the store: hourly rollups over the
//! look-back window for the series whose history the rules read, finer
//! buckets over the recent window for every series, and the texts.
//!
//! Hourly history is kept between passes (`History`): a pass reads only the
//! hours completed since the previous one plus the recent window, and the
//! whole look-back again every `FULL_RELOAD_MS` (late data, new series).

use std::collections::HashMap;

use super::AdvisorConfig;
use super::snapshot::{Series, Snapshot, Text};
use crate::store::model::Kind;
use crate::store::{HOUR, RAW, ScanPoint, Store, StoreError};

/// Text kinds the rules read (and the agent's index verdicts, so that a
/// pass can say why a statement has no index advice).
pub const TEXT_KINDS: [&str; 5] = [
    "pg_query",
    super::routes::FINGERPRINT_TEXT,
    "pg_index",
    "pg_index_candidate",
    "pg_index_verdict",
];

/// Buckets the recent window is cut into (10 s for the default hour).
pub const RECENT_BUCKETS: i64 = 360;

/// Series whose history over the whole look-back the rules or the headroom
/// table read (by name prefix). Every other series is read over the recent
/// window only: a rule that needs a longer history of another series must
/// add its name here.
pub const HISTORY_PREFIXES: &[&str] = &[
    "pg_connections_total",
    "pg_table_live_tuples",
    "pg_table_rows",
    "pg_table_n_tup_ins",
    "pg_index_scans",
    "redis_used_memory_bytes",
    "redis_keyspace_",
    "host_memory_used_bytes",
    "host_filesystem_used_bytes",
    "host_cpu_seconds_total",
    "http_route_latency_ms_bucket",
    "medusa_orders_per_minute",
    "medusa_order_value_per_minute",
];

/// The whole look-back is re-read this often.
pub const FULL_RELOAD_MS: i64 = 3_600_000;

/// Whether the history of series `name` is read over the look-back.
pub fn keeps_history(name: &str) -> bool {
    HISTORY_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Hourly history kept from one pass to the next.
#[derive(Debug, Default)]
pub struct History {
    /// Hours before this (unix ms, hour-aligned) are loaded.
    until: i64,
    /// When the whole look-back was last read.
    full_at: i64,
    points: HashMap<i64, Vec<ScanPoint>>,
}

impl History {
    /// Points held, for reports.
    pub fn points(&self) -> usize {
        self.points.values().map(Vec::len).sum()
    }
}

/// Loads what one pass at `now` reasons on, updating `history`.
pub async fn snapshot(
    store: &Store,
    config: &AdvisorConfig,
    history: &mut History,
    now: i64,
) -> Result<Snapshot, StoreError> {
    let lookback = config.lookback.0.as_millis() as i64;
    let recent = config.recent_ms().max(HOUR / 60);
    let from = now - lookback;
    // Hourly rollups up to the hour the recent window starts in, so no
    // bucket is counted twice.
    let split = (now - recent).div_euclid(HOUR) * HOUR;
    let step = (recent / RECENT_BUCKETS).max(1_000);
    let metas = store.series_meta().await?;
    let all: HashMap<i64, Kind> = metas.iter().map(|m| (m.id, m.kind)).collect();
    let with_history: HashMap<i64, Kind> = metas
        .iter()
        .filter(|m| keeps_history(&m.name))
        .map(|m| (m.id, m.kind))
        .collect();

    let full =
        history.until == 0 || now - history.full_at >= FULL_RELOAD_MS || history.until < from;
    if full {
        history.points = store
            .scan_points(HOUR, from, split - 1, &with_history, None)
            .await?;
        history.full_at = now;
    } else if split > history.until {
        let new = store
            .scan_points(HOUR, history.until, split - 1, &with_history, None)
            .await?;
        for (id, points) in new {
            history.points.entry(id).or_default().extend(points);
        }
        for points in history.points.values_mut() {
            let keep = points.partition_point(|p| p.0 < from);
            points.drain(..keep);
        }
    }
    history.until = split;
    let recent_points = store.scan_points(RAW, split, now, &all, Some(step)).await?;

    let mut snapshot = Snapshot::at(now);
    snapshot.series = metas
        .into_iter()
        .filter_map(|meta| {
            let older = history.points.get(&meta.id).map_or(&[][..], Vec::as_slice);
            let newer = recent_points.get(&meta.id).map_or(&[][..], Vec::as_slice);
            if older.is_empty() && newer.is_empty() {
                return None;
            }
            let joined = older.iter().chain(newer);
            Some(Series {
                name: meta.name,
                labels: meta.labels,
                kind: meta.kind,
                points: joined.clone().map(|p| (p.0, p.1)).collect(),
                sums: joined.map(|p| p.2).collect(),
            })
        })
        .collect();
    snapshot
        .series
        .sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
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
    snapshot.alert_pages = Some(
        store
            .pages_by_group_since(now - super::snapshot::ALERT_PAGES_WINDOW_MS)
            .await?,
    );
    Ok(snapshot)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SeriesKey;

    const DAY: i64 = 86_400_000;

    fn hourly(from_hour: i64, to_hour: i64, value: f64) -> Vec<(i64, [f64; 4])> {
        (from_hour..to_hour)
            .map(|h| (h * HOUR, [60.0, 60.0 * value, value, value]))
            .collect()
    }

    #[tokio::test]
    async fn history_is_read_once_then_only_new_hours_and_only_for_history_series() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("h.db").display());
        let store = Store::open(&url).await.expect("opens");
        let connections = SeriesKey::new("pg_connections_total", [("agent", "db")]);
        let calls = SeriesKey::new("pg_statement_calls", [("agent", "db"), ("queryid", "1")]);
        // 10 days of hours, then the last half hour raw.
        let now = 10 * DAY + 30 * 60_000;
        let split_hour = (now - HOUR).div_euclid(HOUR);
        for key in [&connections, &calls] {
            store
                .import_series_blocks(
                    key,
                    Kind::Gauge,
                    &[(now - 60_000, 7.0)],
                    &hourly(0, split_hour, 5.0),
                )
                .await
                .expect("import");
        }
        let config = AdvisorConfig::default();
        let mut history = History::default();
        let first = snapshot(&store, &config, &mut history, now)
            .await
            .expect("pass 1");
        let find = |snap: &Snapshot, name: &str| snap.named(name).next().cloned().expect("series");
        let kept = find(&first, "pg_connections_total");
        assert_eq!(
            kept.points.len() as i64,
            split_hour + 1,
            "every hour plus the raw point"
        );
        assert_eq!(kept.points.last(), Some(&(now - 60_000, 7.0)));
        assert_eq!(kept.sums[0], 300.0, "an hour's sum of its 60 values");
        assert_eq!(
            find(&first, "pg_statement_calls").points.len(),
            1,
            "recent window only"
        );
        assert_eq!(history.points(), split_hour as usize);

        // An hour later one more hour is complete: only it is read.
        store
            .import_series_blocks(
                &connections,
                Kind::Gauge,
                &[(now + HOUR - 60_000, 9.0)],
                &hourly(split_hour, split_hour + 1, 6.0),
            )
            .await
            .expect("import");
        let second = snapshot(&store, &config, &mut history, now + HOUR)
            .await
            .expect("pass 2");
        let kept = find(&second, "pg_connections_total");
        // Hours 0..=split_hour, then both raw points (both in the new recent window).
        assert_eq!(kept.points.len() as i64, split_hour + 1 + 2);
        assert_eq!(kept.points[split_hour as usize], (split_hour * HOUR, 6.0));
        assert_eq!(history.points(), split_hour as usize + 1);
    }
}
