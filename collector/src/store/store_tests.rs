//! In-process store tests on SQLite in a temp dir: de-duplication, group
//! commit, compaction with rollups, stitched reads and retention.

use std::collections::BTreeMap;

use super::model::{AgentHello, Drops, Kind, PreparedBatch, SeriesKey, Text};
use super::query::PointsQuery;
use super::{HOUR, MINUTE, Outcome, RAW, Retention, Store, Writer, now_ms, window_of};
use crate::ingest::convert::Point;
use crate::ingest::prepare::encode_blocks;

const RETENTION: Retention = Retention {
    raw_ms: 7 * 86_400_000,
    minute_ms: 35 * 86_400_000,
    hour_ms: 400 * 86_400_000,
};

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("h.db").display());
    let store = Store::open(&url).await.expect("opens");
    store
        .upsert_agent(&AgentHello {
            agent_id: "a".into(),
            hostname: "h".into(),
            version: "v".into(),
            epoch: 1,
            sources_json: "[]".into(),
        })
        .await
        .expect("agent");
    (dir, store)
}

async fn batch(store: &Store, sequence: i64, points: &[(i64, f64)]) -> PreparedBatch {
    let key = SeriesKey::new("g", [("agent", "a")]);
    let ids = store
        .series_ids(&[(key.clone(), Kind::Gauge)])
        .await
        .expect("series");
    let points: Vec<Point> = points
        .iter()
        .map(|&(timestamp_ms, value)| Point {
            series: 0,
            timestamp_ms,
            value,
        })
        .collect();
    PreparedBatch {
        agent_id: "a".into(),
        epoch: 1,
        sequence,
        received_ms: now_ms(),
        points: points.len() as i64,
        blocks: encode_blocks(&points, &ids),
        texts: vec![],
        drops: Drops {
            spool_full_batches: 2,
            ..Drops::default()
        },
    }
}

async fn read(store: &Store, from: i64, to: i64, step: Option<i64>) -> Vec<(i64, f64)> {
    let query = PointsQuery {
        name: "g".into(),
        labels: BTreeMap::new(),
        from_ms: from,
        to_ms: to,
        step_ms: step,
    };
    let series = store.points(&query, &RETENTION).await.expect("reads");
    series.into_iter().flat_map(|s| s.points).collect()
}

#[tokio::test]
async fn a_resent_batch_is_acked_as_duplicate_and_stored_once() {
    let (_dir, store) = store().await;
    let writer = Writer::spawn(store.clone(), 8);
    let now = now_ms();
    let first = batch(&store, 1, &[(now - 2_000, 1.0), (now - 1_000, 2.0)]).await;
    assert_eq!(
        writer.commit(first.clone()).await.expect("stored"),
        Outcome::Stored
    );
    assert_eq!(
        writer.commit(first).await.expect("acked"),
        Outcome::Duplicate
    );
    // An older sequence of the same epoch is a re-send too.
    let second = batch(&store, 2, &[(now, 3.0)]).await;
    let (a, b) = tokio::join!(writer.commit(second.clone()), writer.commit(second));
    let outcomes = [a.expect("ok"), b.expect("ok")];
    assert!(
        outcomes.contains(&Outcome::Stored) && outcomes.contains(&Outcome::Duplicate),
        "{outcomes:?}"
    );
    assert_eq!(
        read(&store, now - 10_000, now + 1, None).await,
        vec![(now - 2_000, 1.0), (now - 1_000, 2.0), (now, 3.0)]
    );
    let agents = store.agents().await.expect("agents");
    assert_eq!(
        (agents[0].batches, agents[0].points, agents[0].duplicates),
        (2, 3, 2)
    );
    assert_eq!(
        agents[0].dropped.spool_full_batches, 4,
        "drops are summed over stored batches only"
    );
}

#[tokio::test]
async fn compaction_merges_blocks_keeps_every_point_and_writes_rollups() {
    let (_dir, store) = store().await;
    let writer = Writer::spawn(store.clone(), 8);
    let hour_start = window_of(RAW, now_ms() - 2 * HOUR);
    // Two hours of 15 s points, delivered in 40 batches, out of order.
    let points: Vec<(i64, f64)> = (0..480)
        .map(|i| (hour_start + i * 15_000, (i % 7) as f64))
        .collect();
    for (index, chunk) in points.chunks(12).enumerate().rev() {
        let prepared = batch(&store, 40 - index as i64, chunk).await;
        writer.commit(prepared).await.expect("stored");
    }
    let before = store.stats().await.expect("stats");
    assert_eq!(before[0].blocks, 40);
    let report = store
        .maintain(&RETENTION, now_ms())
        .await
        .expect("maintains");
    assert_eq!(report.windows_compacted, 2);
    assert_eq!(report.blocks_merged, 40);
    let after = store.stats().await.expect("stats");
    let by_resolution: BTreeMap<i64, (i64, i64)> = after
        .iter()
        .map(|s| (s.resolution_ms, (s.blocks, s.points)))
        .collect();
    assert_eq!(
        by_resolution[&RAW],
        (2, 480),
        "one raw block per hour, every point kept"
    );
    assert_eq!(
        by_resolution[&MINUTE],
        (2, 120),
        "one minute rollup block per hour, 60 rows each"
    );
    assert_eq!(
        by_resolution[&HOUR],
        (1, 2),
        "one hour rollup block per day, a row per hour"
    );
    assert_eq!(
        read(&store, hour_start, hour_start + 2 * HOUR, None).await,
        points
    );
    // A second pass finds nothing to do.
    assert_eq!(
        store
            .maintain(&RETENTION, now_ms())
            .await
            .expect("maintains")
            .windows_compacted,
        0
    );
    // Stepped reads average gauges per bucket.
    let per_hour = read(&store, hour_start, hour_start + 2 * HOUR - 1, Some(HOUR)).await;
    let mean: f64 = points[..240].iter().map(|p| p.1).sum::<f64>() / 240.0;
    assert_eq!(per_hour.len(), 2);
    assert!((per_hour[0].1 - mean).abs() < 1e-9);
}

#[tokio::test]
async fn old_ranges_are_read_from_rollups_and_expired_raw_blocks_go() {
    let (_dir, store) = store().await;
    let writer = Writer::spawn(store.clone(), 8);
    let now = now_ms();
    let old_hour = window_of(RAW, now - 10 * 86_400_000);
    let old: Vec<(i64, f64)> = (0..240)
        .map(|i| (old_hour + i * 15_000, 10.0 + (i % 2) as f64))
        .collect();
    writer
        .commit(batch(&store, 1, &old).await)
        .await
        .expect("stored");
    let report = store.maintain(&RETENTION, now).await.expect("maintains");
    assert_eq!(
        report.blocks_expired, 1,
        "the compacted raw block is past raw retention"
    );
    let stats = store.stats().await.expect("stats");
    assert!(stats.iter().all(|s| s.resolution_ms != RAW), "{stats:?}");
    // The range is now served by the 1-minute rollup: 60 minutes, mean 10.5.
    let minutes = read(&store, old_hour, old_hour + HOUR - 1, None).await;
    assert_eq!(minutes.len(), 60);
    assert!(
        minutes.iter().all(|(_, v)| (*v - 10.5).abs() < 1e-9),
        "{minutes:?}"
    );
}

#[tokio::test]
async fn texts_are_listed_by_kind_with_the_latest_text_per_key() {
    let (_dir, store) = store().await;
    let writer = Writer::spawn(store.clone(), 8);
    let text = |kind: &'static str, key: &str, text: &str| Text {
        kind,
        key: key.into(),
        text: text.into(),
    };
    let mut first = batch(&store, 1, &[(now_ms(), 1.0)]).await;
    first.texts = vec![
        text("pg_query", "shop/2", "SELECT $1"),
        text("pg_query", "shop/1", "SELECT old"),
        text(
            "pg_index",
            "shop/public.t_pkey",
            "CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)",
        ),
    ];
    writer.commit(first).await.expect("stored");
    let mut second = batch(&store, 2, &[(now_ms(), 2.0)]).await;
    second.texts = vec![text("pg_query", "shop/1", "SELECT new")];
    writer.commit(second).await.expect("stored");

    let queries = store.texts("pg_query").await.expect("texts");
    let listed: Vec<(&str, &str, &str)> = queries
        .iter()
        .map(|t| (t.kind.as_str(), t.key.as_str(), t.text.as_str()))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("pg_query", "shop/1", "SELECT new"),
            ("pg_query", "shop/2", "SELECT $1")
        ]
    );
    assert!(queries.iter().all(|t| t.last_seen > 0));
    assert_eq!(store.texts("pg_index").await.expect("texts").len(), 1);
    assert!(store.texts("nothing").await.expect("texts").is_empty());
}

#[tokio::test]
async fn the_first_point_is_the_oldest_raw_one_even_after_rollups_round_it_down() {
    let (_dir, store) = store().await;
    let writer = Writer::spawn(store.clone(), 8);
    // 20 minutes of points, starting 7 minutes past an hour.
    let start = window_of(RAW, now_ms()) - HOUR + 7 * MINUTE;
    let points: Vec<(i64, f64)> = (0..20).map(|i| (start + i * MINUTE, 1.0)).collect();
    writer
        .commit(batch(&store, 1, &points).await)
        .await
        .expect("stored");
    let any = BTreeMap::new();
    assert_eq!(
        store.first_point_ms("g", &any).await.expect("reads"),
        Some(start)
    );
    store
        .maintain(&RETENTION, now_ms())
        .await
        .expect("maintains");
    assert_eq!(
        store.first_point_ms("g", &any).await.expect("reads"),
        Some(start),
        "the hourly rollup's bucket (the hour's start) is not the first point"
    );
    let other = BTreeMap::from([("agent".to_owned(), "b".to_owned())]);
    assert_eq!(
        store.first_point_ms("g", &other).await.expect("reads"),
        None
    );
    assert_eq!(
        store.first_point_ms("none", &any).await.expect("reads"),
        None
    );
}

#[tokio::test]
async fn a_series_of_an_unknown_kind_or_with_broken_labels_is_skipped_not_read_as_a_gauge() {
    let (_dir, store) = store().await;
    store
        .execute_raw(
            "INSERT INTO series (id, name, labels, kind) VALUES \
             (901, 'strict_g', '{\"agent\":\"a\"}', 2), \
             (902, 'strict_g', '{\"agent\":\"b\"}', 7), \
             (903, 'strict_g', '{', 1)",
        )
        .await;
    let meta: Vec<(i64, Kind)> = store
        .series_meta()
        .await
        .expect("reads")
        .into_iter()
        .filter(|m| m.name == "strict_g")
        .map(|m| (m.id, m.kind))
        .collect();
    assert_eq!(meta, vec![(901, Kind::Counter)]);
    let listed: Vec<Kind> = store
        .series_list("strict_")
        .await
        .expect("lists")
        .into_iter()
        .map(|s| s.kind)
        .collect();
    assert_eq!(listed, vec![Kind::Counter]);
    let query = PointsQuery {
        name: "strict_g".into(),
        labels: BTreeMap::new(),
        from_ms: 0,
        to_ms: now_ms(),
        step_ms: None,
    };
    let points = store.points(&query, &RETENTION).await.expect("reads");
    assert_eq!(points.len(), 1, "only the series that decodes");
    assert_eq!(Kind::from_i64(7), None);
}
