//! Fills a pass's snapshot from the store: the series the readers declare
//! (`needs.rs`, joined in `plan.rs`), as hourly rollups over the look-back window for those
//! needed over it, finer buckets over the recent window for every one of
//! them, and the texts.
//!
//! Hourly history is kept between passes (`History`): a pass reads only the
//! hours completed since the previous one plus the recent window, and the
//! whole look-back again every `FULL_RELOAD_MS` (late data, new series).

use std::collections::HashMap;

use super::AdvisorConfig;
use super::needs::Span;
use super::plan;
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

/// The whole look-back is re-read this often.
pub const FULL_RELOAD_MS: i64 = 3_600_000;

/// Where the recent window a pass at `now` reads starts: the hour the
/// configured `recent` window starts in (hourly rollups cover what is
/// before it, so no bucket is counted twice).
pub fn recent_start(config: &AdvisorConfig, now: i64) -> i64 {
    let recent = config.recent_ms().max(HOUR / 60);
    (now - recent).div_euclid(HOUR) * HOUR
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
    // Hourly rollups up to the hour the recent window starts in.
    let split = recent_start(config, now);
    let step = (recent / RECENT_BUCKETS).max(1_000);
    let plan = plan::plan();
    let mut metas = store.series_meta().await?;
    metas.retain(|m| plan.contains_key(m.name.as_str()));
    let all: HashMap<i64, Kind> = metas.iter().map(|m| (m.id, m.kind)).collect();
    let with_history: HashMap<i64, Kind> = metas
        .iter()
        .filter(|m| plan.get(m.name.as_str()) == Some(&Span::Lookback))
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
    use headroom_proto::signals::host::HOST_LOAD1;
    use headroom_proto::signals::postgres::{PG_CONNECTIONS_TOTAL, PG_STATEMENT_CALLS};

    const DAY: i64 = 86_400_000;

    fn hourly(from_hour: i64, to_hour: i64, value: f64) -> Vec<(i64, [f64; 4])> {
        (from_hour..to_hour)
            .map(|h| (h * HOUR, [60.0, 60.0 * value, value, value]))
            .collect()
    }

    #[tokio::test]
    async fn history_is_read_once_then_only_new_hours_and_only_for_series_needed_over_the_lookback()
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("h.db").display());
        let store = Store::open(&url).await.expect("opens");
        let connections = SeriesKey::new(PG_CONNECTIONS_TOTAL.name, [("agent", "db")]);
        let calls = SeriesKey::new(PG_STATEMENT_CALLS.name, [("agent", "db"), ("queryid", "1")]);
        // No reader needs the load average: it is not read at all.
        let load = SeriesKey::new(HOST_LOAD1.name, [("agent", "db")]);
        // 10 days of hours, then the last half hour raw.
        let now = 10 * DAY + 30 * 60_000;
        let split_hour = (now - HOUR).div_euclid(HOUR);
        for key in [&connections, &calls, &load] {
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
        assert!(first.named(HOST_LOAD1.name).next().is_none(), "not needed");

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
