//! Data written straight into a running collector's SQLite store with the
//! collector's own store API (series ids, blocks and texts committed
//! through its `Writer`, as ingest writes a batch), for tests of what the
//! API and the dashboard show: a young store (minutes of host, order and
//! statement data) and the agent's index verdicts.

use std::collections::BTreeMap;

use headroom_collector::ingest::convert::Point;
use headroom_collector::ingest::prepare::encode_blocks;
use headroom_collector::store::model::{AgentHello, Drops, Kind, PreparedBatch, SeriesKey, Text};
use headroom_collector::store::{Store, Writer, now_ms};
use serde_json::json;

use crate::Collector;

/// The agent id the fixture's batches carry.
pub const AGENT: &str = "fixture-1";

/// A writer into `collector`'s store.
pub struct StoreFixture {
    store: Store,
    writer: Writer,
    sequence: i64,
}

/// One series to write: name, labels (the `agent` label is added), kind
/// and points.
pub struct SeriesData<'a> {
    pub name: &'a str,
    pub labels: &'a [(&'a str, &'a str)],
    pub kind: Kind,
    pub points: Vec<(i64, f64)>,
}

impl StoreFixture {
    /// Opens the SQLite store of `collector` (started without a
    /// `database_url`) and records the fixture's agent.
    pub async fn open(collector: &Collector) -> Self {
        let path = collector.dir.path().join("data").join("headroom.db");
        let store = Store::open(&format!("sqlite://{}", path.display()))
            .await
            .expect("the collector's store opens");
        store
            .upsert_agent(&AgentHello {
                agent_id: AGENT.into(),
                hostname: "fixture".into(),
                version: "0".into(),
                epoch: 1,
                sources_json: "[]".into(),
            })
            .await
            .expect("agent");
        let writer = Writer::spawn(store.clone(), 8);
        Self {
            store,
            writer,
            sequence: 0,
        }
    }

    /// Commits `series` and `texts` as one batch.
    pub async fn write(&mut self, series: &[SeriesData<'_>], texts: Vec<Text>) {
        let keys: Vec<(SeriesKey, Kind)> = series
            .iter()
            .map(|s| {
                let mut labels: BTreeMap<&str, &str> = s.labels.iter().copied().collect();
                labels.insert("agent", AGENT);
                (SeriesKey::new(s.name, labels), s.kind)
            })
            .collect();
        let ids = self.store.series_ids(&keys).await.expect("series ids");
        let points: Vec<Point> = series
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                s.points.iter().map(move |&(timestamp_ms, value)| Point {
                    series: i,
                    timestamp_ms,
                    value,
                })
            })
            .collect();
        self.sequence += 1;
        self.writer
            .commit(PreparedBatch {
                agent_id: AGENT.into(),
                epoch: 1,
                sequence: self.sequence,
                received_ms: now_ms(),
                points: points.len() as i64,
                blocks: encode_blocks(&points, &ids),
                texts,
                drops: Drops::default(),
            })
            .await
            .expect("the batch is stored");
    }
}

/// A point a minute from `minutes` ago until now, valued `value(i)`.
pub fn last_minutes(minutes: i64, value: impl Fn(i64) -> f64) -> Vec<(i64, f64)> {
    let now = now_ms();
    (0..=minutes)
        .map(|i| (now - (minutes - i) * 60_000, value(i)))
        .collect()
}

/// A `pg_index_verdict` text as the agent sends it, about `public.<table>`.
pub fn verdict_text(
    database: &str,
    queryid: &str,
    (verdict, reason): (&str, &str),
    table: &str,
    table_rows: Option<f64>,
) -> Text {
    Text {
        kind: "pg_index_verdict",
        key: format!("{database}/{queryid}"),
        text: json!({
            "database": database,
            "queryid": queryid,
            "verdict": verdict,
            "reason": reason,
            "schema": "public",
            "table": table,
            "table_rows": table_rows,
            "definition": "",
            "timestamp_ms": now_ms(),
        })
        .to_string(),
    }
}

/// A `pg_query` text (the normalised statement).
pub fn query_text(database: &str, queryid: &str, statement: &str) -> Text {
    Text {
        kind: "pg_query",
        key: format!("{database}/{queryid}"),
        text: statement.into(),
    }
}

/// A young store: 15 minutes of one host's memory and CPU, of orders
/// (0.05 a minute) and of two statements' execution time in `shop`, with
/// the verdicts of three statements (one an unknown code).
pub async fn young_store(collector: &Collector) -> StoreFixture {
    let mut fixture = StoreFixture::open(collector).await;
    let gib = 1024.0 * 1024.0 * 1024.0;
    let series = [
        SeriesData {
            name: "host_memory_used_bytes",
            labels: &[],
            kind: Kind::Gauge,
            // Growing fast: minutes of it would forecast "out of memory in a day".
            points: last_minutes(15, |i| 3.0 * gib + i as f64 * 0.02 * gib),
        },
        SeriesData {
            name: "host_memory_total_bytes",
            labels: &[],
            kind: Kind::Gauge,
            points: last_minutes(15, |_| 8.0 * gib),
        },
        SeriesData {
            name: "medusa_orders_per_minute",
            labels: &[],
            kind: Kind::Gauge,
            points: last_minutes(15, |_| 0.05),
        },
        SeriesData {
            name: "pg_statement_exec_ms",
            labels: &[("database", "shop"), ("queryid", "101")],
            kind: Kind::Gauge,
            points: last_minutes(15, |_| 120.0),
        },
        SeriesData {
            name: "pg_statement_exec_ms",
            labels: &[("database", "shop"), ("queryid", "102")],
            kind: Kind::Gauge,
            points: last_minutes(15, |_| 3.0),
        },
    ];
    let texts = vec![
        query_text(
            "shop",
            "101",
            "SELECT * FROM cart WHERE email = lower($1) AND deleted_at IS NULL",
        ),
        verdict_text(
            "shop",
            "101",
            (
                "planner_would_not_use",
                "the planner keeps its sequential scan of public.cart even with a hypothetical index on (email)",
            ),
            "cart",
            Some(300_026.0),
        ),
        query_text("shop", "102", "SELECT * FROM region WHERE id = $1"),
        verdict_text(
            "shop",
            "102",
            (
                "table_too_small",
                "public.region holds 12 rows by the planner's estimate, under the 10000 rows index advice needs",
            ),
            "region",
            Some(12.0),
        ),
        verdict_text(
            "shop",
            "103",
            (
                "a_verdict_from_a_newer_agent",
                "a reason this collector has no code for",
            ),
            "",
            None,
        ),
        verdict_text(
            "other",
            "7",
            ("not_select", "UPDATE statements are not examined"),
            "",
            None,
        ),
    ];
    fixture.write(&series, texts).await;
    fixture
}
