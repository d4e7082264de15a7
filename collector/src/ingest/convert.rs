//! Wire → domain: a `headroom.v1.Batch` becomes points of named, labelled
//! series (every series gets the sending agent's id as the `agent` label)
//! and texts that must not become labels (query text, its fingerprint,
//! index definitions). Samples, the OTLP receivers' per-route statement
//! figures among them, keep their labels as sent.

use std::collections::HashMap;

use headroom_proto::signals::http::{HTTP_ROUTE_LATENCY_MS, HTTP_ROUTE_RESPONSE_BYTES};
use headroom_proto::signals::postgres::{
    PG_INDEX_BYTES, PG_INDEX_SCANS, PG_INDEX_TUP_READ, PG_STATEMENT_CALLS, PG_STATEMENT_EXEC_MS,
    PG_STATEMENT_MEAN_EXEC_MS, PG_STATEMENT_ROWS, PG_STATEMENT_SHARED_BLKS_HIT,
    PG_STATEMENT_SHARED_BLKS_READ, PG_STATEMENT_TEMP_BLKS_WRITTEN, PG_TABLE_BYTES,
    PG_TABLE_DEAD_TUPLES, PG_TABLE_IDX_SCAN, PG_TABLE_INDEX_BYTES, PG_TABLE_LIVE_TUPLES,
    PG_TABLE_N_TUP_INS, PG_TABLE_ROWS, PG_TABLE_SEQ_SCAN, PG_TABLE_SEQ_TUP_READ,
};
use headroom_proto::signals::redis::{
    REDIS_CONNECTED_CLIENTS, REDIS_EVICTED_KEYS, REDIS_EXPIRED_KEYS, REDIS_KEYSPACE_HITS,
    REDIS_KEYSPACE_MISSES, REDIS_LATENCY_MS, REDIS_MAXMEMORY_BYTES, REDIS_MEM_FRAGMENTATION_RATIO,
    REDIS_OPS_PER_SEC, REDIS_REJECTED_CONNECTIONS, REDIS_USED_MEMORY_BYTES,
};
use headroom_proto::signals::{self, Signal};
use headroom_proto::v1;

use crate::advisor::routes::FINGERPRINT_TEXT;
use crate::store::model::{IndexText, Kind, SeriesKey, Text};

/// One value of one series (an index into [`Converted::series`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub series: usize,
    pub timestamp_ms: i64,
    pub value: f64,
}

/// Everything a batch holds, flattened: each distinct series once, and the
/// points that refer to them.
#[derive(Debug, Default)]
pub struct Converted {
    pub series: Vec<(SeriesKey, Kind)>,
    pub points: Vec<Point>,
    pub texts: Vec<Text>,
}

impl Converted {
    /// The series of `point`.
    pub fn key(&self, point: &Point) -> &SeriesKey {
        &self.series[point.series].0
    }
}

struct Builder<'a> {
    agent_id: &'a str,
    /// Series already seen in this batch, by their key.
    known: HashMap<SeriesKey, usize>,
    /// Samples' series by their wire identity, so the common case (many
    /// samples, few series) builds each key once.
    known_samples: HashMap<(&'a str, &'a [v1::Label]), usize>,
    out: Converted,
}

impl<'a> Builder<'a> {
    fn series(&mut self, name: &str, labels: &[(&str, &str)], kind: Kind) -> usize {
        let mut key = SeriesKey::new(name, labels.iter().copied());
        key.labels
            .insert("agent".to_owned(), self.agent_id.to_owned());
        let next = self.out.series.len();
        let index = *self.known.entry(key.clone()).or_insert(next);
        if index == next {
            self.out.series.push((key, kind));
        }
        index
    }

    fn push(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        kind: Kind,
        timestamp_ms: i64,
        value: f64,
    ) {
        let series = self.series(name, labels, kind);
        self.out.points.push(Point {
            series,
            timestamp_ms,
            value,
        });
    }

    /// A point of a typed record's series: its name and kind are the
    /// catalog's.
    fn record(&mut self, signal: &Signal, labels: &[(&str, &str)], timestamp_ms: i64, value: f64) {
        let kind = match signal.kind {
            signals::Kind::Counter => Kind::Counter,
            signals::Kind::Gauge | signals::Kind::Histogram => Kind::Gauge,
        };
        self.push(signal.name, labels, kind, timestamp_ms, value);
    }

    fn sample(&mut self, sample: &'a v1::Sample) {
        let series = match self
            .known_samples
            .get(&(sample.name.as_str(), sample.labels.as_slice()))
        {
            Some(series) => *series,
            None => {
                let labels: Vec<(&str, &str)> = sample
                    .labels
                    .iter()
                    .filter(|label| label.key != "agent")
                    .map(|label| (label.key.as_str(), label.value.as_str()))
                    .collect();
                let kind = if sample.kind == v1::MetricKind::Counter as i32 {
                    Kind::Counter
                } else {
                    Kind::Gauge
                };
                let series = self.series(&sample.name, &labels, kind);
                self.known_samples
                    .insert((sample.name.as_str(), sample.labels.as_slice()), series);
                series
            }
        };
        self.out.points.push(Point {
            series,
            timestamp_ms: sample.timestamp_ms,
            value: sample.value,
        });
    }

    /// A histogram's series, named `[bucket, count, sum]`.
    fn histogram(&mut self, names: [&str; 3], labels: &[(&str, &str)], histogram: &v1::Histogram) {
        let [bucket, count, sum] = names;
        let t = histogram.timestamp_ms;
        let mut cumulative = 0u64;
        for (index, count) in histogram.bucket_counts.iter().enumerate() {
            cumulative += count;
            let le = histogram
                .bounds
                .get(index)
                .map_or_else(|| "+Inf".to_owned(), |bound| bound.to_string());
            let mut with_le = labels.to_vec();
            with_le.push(("le", &le));
            self.push(bucket, &with_le, Kind::Gauge, t, cumulative as f64);
        }
        self.push(count, labels, Kind::Gauge, t, histogram.count as f64);
        self.push(sum, labels, Kind::Gauge, t, histogram.sum);
    }
}

/// Flattens `batch`, labelling every series with `agent_id`.
pub fn convert<'a>(agent_id: &'a str, batch: &'a v1::Batch) -> Converted {
    let mut b = Builder {
        agent_id,
        known: HashMap::new(),
        known_samples: HashMap::new(),
        out: Converted::default(),
    };
    for sample in &batch.samples {
        b.sample(sample);
    }
    for histogram in &batch.histograms {
        let labels: Vec<(&str, &str)> = histogram
            .labels
            .iter()
            .filter(|label| label.key != "agent" && label.key != "le")
            .map(|label| (label.key.as_str(), label.value.as_str()))
            .collect();
        let name = &histogram.name;
        let names = [
            format!("{name}_bucket"),
            format!("{name}_count"),
            format!("{name}_sum"),
        ];
        b.histogram(names.each_ref().map(String::as_str), &labels, histogram);
    }
    for s in &batch.pg_statements {
        let queryid = if s.other { "other" } else { s.queryid.as_str() };
        let labels = [("database", s.database.as_str()), ("queryid", queryid)];
        let t = s.timestamp_ms;
        for (signal, value) in [
            (&PG_STATEMENT_CALLS, s.calls as f64),
            (&PG_STATEMENT_EXEC_MS, s.total_exec_ms),
            (&PG_STATEMENT_MEAN_EXEC_MS, s.mean_exec_ms),
            (&PG_STATEMENT_ROWS, s.rows as f64),
            (&PG_STATEMENT_SHARED_BLKS_HIT, s.shared_blks_hit as f64),
            (&PG_STATEMENT_SHARED_BLKS_READ, s.shared_blks_read as f64),
            (&PG_STATEMENT_TEMP_BLKS_WRITTEN, s.temp_blks_written as f64),
        ] {
            b.record(signal, &labels, t, value);
        }
        if !s.other && !s.query.is_empty() {
            b.out.texts.push(Text {
                kind: "pg_query",
                key: format!("{}/{}", s.database, s.queryid),
                text: s.query.clone(),
            });
        }
        if !s.other && !s.fingerprint.is_empty() {
            b.out.texts.push(Text {
                kind: FINGERPRINT_TEXT,
                key: format!("{}/{}", s.database, s.queryid),
                text: s.fingerprint.clone(),
            });
        }
    }
    for t in &batch.pg_tables {
        let labels = [
            ("database", t.database.as_str()),
            ("schema", t.schema.as_str()),
            ("table", t.table.as_str()),
        ];
        let ts = t.timestamp_ms;
        for (signal, value) in [
            (&PG_TABLE_SEQ_SCAN, t.seq_scan),
            (&PG_TABLE_SEQ_TUP_READ, t.seq_tup_read),
            (&PG_TABLE_IDX_SCAN, t.idx_scan),
            (&PG_TABLE_N_TUP_INS, t.n_tup_ins),
            (&PG_TABLE_LIVE_TUPLES, t.n_live_tup),
            // An agent older than `estimated_rows` sends 0: n_live_tup then.
            (&PG_TABLE_ROWS, t.estimated_rows.max(t.n_live_tup)),
            (&PG_TABLE_DEAD_TUPLES, t.n_dead_tup),
            (&PG_TABLE_BYTES, t.table_bytes),
            (&PG_TABLE_INDEX_BYTES, t.index_bytes),
        ] {
            b.record(signal, &labels, ts, value as f64);
        }
    }
    for i in &batch.pg_indexes {
        let labels = [
            ("database", i.database.as_str()),
            ("schema", i.schema.as_str()),
            ("table", i.table.as_str()),
            ("index", i.index.as_str()),
        ];
        let ts = i.timestamp_ms;
        b.record(&PG_INDEX_SCANS, &labels, ts, i.idx_scan as f64);
        b.record(&PG_INDEX_TUP_READ, &labels, ts, i.idx_tup_read as f64);
        b.record(&PG_INDEX_BYTES, &labels, ts, i.size_bytes as f64);
        b.out.texts.push(Text {
            kind: IndexText::KIND,
            key: format!("{}/{}.{}", i.database, i.schema, i.index),
            text: IndexText {
                definition: i.definition.clone(),
                keys: i.keys.clone(),
                include: i.include.clone(),
                predicate: i.predicate.clone(),
                method: i.method.clone(),
                unique: i.is_unique,
            }
            .to_json(),
        });
    }
    for c in &batch.index_candidates {
        b.out.texts.push(candidate_text(c));
    }
    for v in &batch.index_verdicts {
        b.out.texts.push(verdict_text(v));
    }
    for r in &batch.redis {
        let labels = [("instance", r.instance.as_str())];
        let ts = r.timestamp_ms;
        for (signal, value) in [
            (&REDIS_KEYSPACE_HITS, r.keyspace_hits as f64),
            (&REDIS_KEYSPACE_MISSES, r.keyspace_misses as f64),
            (&REDIS_EVICTED_KEYS, r.evicted_keys as f64),
            (&REDIS_EXPIRED_KEYS, r.expired_keys as f64),
            (&REDIS_REJECTED_CONNECTIONS, r.rejected_connections as f64),
            (&REDIS_USED_MEMORY_BYTES, r.used_memory as f64),
            (&REDIS_MAXMEMORY_BYTES, r.maxmemory as f64),
            (&REDIS_MEM_FRAGMENTATION_RATIO, r.mem_fragmentation_ratio),
            (&REDIS_CONNECTED_CLIENTS, r.connected_clients as f64),
            (&REDIS_OPS_PER_SEC, r.instantaneous_ops_per_sec),
            (&REDIS_LATENCY_MS, r.latency_ms),
        ] {
            b.record(signal, &labels, ts, value);
        }
    }
    for route in &batch.http_routes {
        let labels = [
            ("origin", route.origin.as_str()),
            ("method", route.method.as_str()),
            ("route", route.route.as_str()),
            ("status_class", route.status_class.as_str()),
        ];
        if let Some(latency) = &route.latency {
            let names = [
                HTTP_ROUTE_LATENCY_MS.bucket(),
                HTTP_ROUTE_LATENCY_MS.count(),
                HTTP_ROUTE_LATENCY_MS.sum(),
            ];
            b.histogram(names, &labels, latency);
        }
        b.record(
            &HTTP_ROUTE_RESPONSE_BYTES,
            &labels,
            route.timestamp_ms,
            route.response_bytes as f64,
        );
    }
    b.out
}

/// An index candidate as a text row keyed `database/queryid`, its text a
/// JSON object of every field.
fn candidate_text(c: &v1::IndexCandidate) -> Text {
    let text = serde_json::json!({
        "database": c.database,
        "queryid": c.queryid,
        "schema": c.schema,
        "table": c.table,
        "columns": c.columns,
        "predicate": c.predicate,
        "definition": c.definition,
        "method": c.method,
        "cost_before": c.cost_before,
        "cost_after": c.cost_after,
        "uses_index": c.uses_index,
        "table_rows": c.table_rows,
        "timestamp_ms": c.timestamp_ms,
    });
    Text {
        kind: "pg_index_candidate",
        key: format!("{}/{}", c.database, c.queryid),
        text: text.to_string(),
    }
}

/// Text kind of an index verdict.
pub const VERDICT_KIND: &str = "pg_index_verdict";

/// An index verdict as a text row keyed `database/queryid`, its text a JSON
/// object of exactly `database, queryid, verdict, reason, schema, table,
/// table_rows` (a number or null), `definition` ("" when none) and
/// `timestamp_ms`.
fn verdict_text(v: &v1::IndexVerdict) -> Text {
    let text = serde_json::json!({
        "database": v.database,
        "queryid": v.queryid,
        "verdict": v.verdict,
        "reason": v.reason,
        "schema": v.schema,
        "table": v.table,
        "table_rows": v.table_rows,
        "definition": v.definition,
        "timestamp_ms": v.timestamp_ms,
    });
    Text {
        kind: VERDICT_KIND,
        key: format!("{}/{}", v.database, v.queryid),
        text: text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram() -> v1::Histogram {
        v1::Histogram {
            name: "latency".into(),
            labels: vec![v1::Label::new("route", "/a")],
            start_ms: 0,
            timestamp_ms: 1_000,
            bounds: vec![10.0, 100.0],
            bucket_counts: vec![1, 2, 3],
            count: 6,
            sum: 321.0,
        }
    }

    fn full_batch() -> v1::Batch {
        v1::Batch {
            sequence: 1,
            samples: vec![v1::Sample {
                name: "pg_database_backends".into(),
                labels: vec![
                    v1::Label::new("agent", "spoofed"),
                    v1::Label::new("database", "shop"),
                ],
                kind: v1::MetricKind::Gauge as i32,
                timestamp_ms: 1_000,
                value: 1.0,
            }],
            histograms: vec![histogram()],
            pg_statements: vec![v1::PgStatement {
                queryid: "42".into(),
                query: "SELECT $1".into(),
                ..Default::default()
            }],
            pg_tables: vec![v1::PgTable::default()],
            pg_indexes: vec![v1::PgIndex::default()],
            redis: vec![v1::RedisStats::default()],
            http_routes: vec![v1::HttpRoute {
                latency: Some(histogram()),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn an_index_is_stored_as_its_parsed_fields_in_json() {
        let index = v1::PgIndex {
            database: "shop".into(),
            schema: "public".into(),
            index: "IDX_cart_email".into(),
            definition: "CREATE UNIQUE INDEX \"IDX_cart_email\" ON public.cart USING btree (lower(email)) WHERE (deleted_at IS NULL)".into(),
            keys: vec!["lower(email)".into()],
            predicate: "deleted_at IS NULL".into(),
            method: "btree".into(),
            is_unique: true,
            ..Default::default()
        };
        let converted = convert(
            "db-1",
            &v1::Batch {
                pg_indexes: vec![index.clone()],
                ..Default::default()
            },
        );
        let text = converted
            .texts
            .iter()
            .find(|t| t.kind == IndexText::KIND)
            .expect("an index text");
        assert_eq!(text.key, "shop/public.IDX_cart_email");
        let stored: IndexText = serde_json::from_str(&text.text).expect("decodes");
        assert_eq!(
            stored,
            IndexText {
                definition: index.definition,
                keys: vec!["lower(email)".into()],
                include: vec![],
                predicate: "deleted_at IS NULL".into(),
                method: "btree".into(),
                unique: true,
            }
        );
        assert!(stored.parsed());
    }

    #[test]
    fn every_series_a_record_makes_is_the_catalogs_with_its_kind() {
        let batch = v1::Batch {
            histograms: Vec::new(),
            samples: Vec::new(),
            ..full_batch()
        };
        let converted = convert("db-1", &batch);
        assert!(converted.series.len() > 30, "{}", converted.series.len());
        for (key, kind) in &converted.series {
            let signal = signals::lookup(&key.name)
                .unwrap_or_else(|| panic!("{} is not in the catalog", key.name));
            let expected = match signal.kind {
                signals::Kind::Counter => Kind::Counter,
                _ => Kind::Gauge,
            };
            assert_eq!(*kind, expected, "{}", key.name);
            for label in key.labels.keys() {
                assert!(
                    label == "agent" || label == "le" || signal.has_label(label),
                    "{}: label {label} is not in the catalog",
                    key.name
                );
            }
        }
    }

    #[test]
    fn every_point_the_wire_counts_is_converted() {
        let batch = full_batch();
        let converted = convert("db-1", &batch);
        assert_eq!(converted.points.len() as u64, batch.point_count());
    }

    #[test]
    fn the_agent_label_comes_from_the_stream_not_the_sample() {
        let converted = convert("db-1", &full_batch());
        assert!(
            converted.points.iter().all(|p| converted
                .key(p)
                .labels
                .get("agent")
                .map(String::as_str)
                == Some("db-1"))
        );
    }

    #[test]
    fn histograms_become_cumulative_buckets_with_count_and_sum() {
        let converted = convert(
            "a",
            &v1::Batch {
                histograms: vec![histogram()],
                ..Default::default()
            },
        );
        let buckets: Vec<(String, f64)> = converted
            .points
            .iter()
            .filter(|p| converted.key(p).name == "latency_bucket")
            .map(|p| (converted.key(p).labels["le"].clone(), p.value))
            .collect();
        assert_eq!(
            buckets,
            vec![
                ("10".into(), 1.0),
                ("100".into(), 3.0),
                ("+Inf".into(), 6.0)
            ]
        );
        assert!(
            converted
                .points
                .iter()
                .any(|p| converted.key(p).name == "latency_sum" && p.value == 321.0)
        );
    }

    #[test]
    fn repeated_samples_of_a_series_share_one_key() {
        let sample = |t: i64, value: f64| v1::Sample {
            name: "g".into(),
            labels: vec![v1::Label::new("db", "x")],
            kind: v1::MetricKind::Counter as i32,
            timestamp_ms: t,
            value,
        };
        let batch = v1::Batch {
            samples: vec![
                sample(1, 1.0),
                sample(2, 2.0),
                v1::Sample {
                    name: "h".into(),
                    ..sample(3, 3.0)
                },
            ],
            ..Default::default()
        };
        let converted = convert("a", &batch);
        assert_eq!(converted.series.len(), 2);
        assert_eq!(converted.series[0].1, Kind::Counter);
        let series: Vec<usize> = converted.points.iter().map(|p| p.series).collect();
        assert_eq!(series, vec![0, 0, 1]);
    }

    #[test]
    fn a_statements_fingerprint_is_a_text_keyed_like_its_query_and_absent_when_empty() {
        let statement = |queryid: &str, fingerprint: &str| v1::PgStatement {
            database: "shop".into(),
            queryid: queryid.into(),
            fingerprint: fingerprint.into(),
            ..Default::default()
        };
        let batch = v1::Batch {
            pg_statements: vec![statement("42", "5d3c1a09e2b7f4c8"), statement("43", "")],
            ..Default::default()
        };
        let converted = convert("a", &batch);
        let texts: Vec<(&str, &str, &str)> = converted
            .texts
            .iter()
            .map(|t| (t.kind, t.key.as_str(), t.text.as_str()))
            .collect();
        assert_eq!(texts, [(FINGERPRINT_TEXT, "shop/42", "5d3c1a09e2b7f4c8")]);
    }

    #[test]
    fn query_text_is_a_text_not_a_label() {
        let converted = convert("a", &full_batch());
        assert!(
            converted
                .texts
                .iter()
                .any(|t| t.kind == "pg_query" && t.text == "SELECT $1")
        );
        assert!(
            converted.points.iter().all(|p| converted
                .key(p)
                .labels
                .values()
                .all(|v| v != "SELECT $1"))
        );
    }

    #[test]
    fn an_index_candidate_is_a_json_text_keyed_by_statement() {
        let candidate = v1::IndexCandidate {
            timestamp_ms: 5_000,
            database: "shop".into(),
            queryid: "-42".into(),
            schema: "public".into(),
            table: "orders".into(),
            columns: vec!["email".into(), "created_at".into()],
            predicate: "deleted_at IS NULL".into(),
            definition:
                "CREATE INDEX CONCURRENTLY IF NOT EXISTS headroom_orders_email_created_at_idx \
                         ON public.orders (email, created_at) WHERE deleted_at IS NULL"
                    .into(),
            method: "hypopg".into(),
            cost_before: 1_093.5,
            cost_after: Some(8.25),
            uses_index: Some(true),
            table_rows: 50_000,
        };
        let converted = convert(
            "a",
            &v1::Batch {
                index_candidates: vec![
                    candidate.clone(),
                    v1::IndexCandidate {
                        queryid: "7".into(),
                        method: "explain".into(),
                        cost_after: None,
                        uses_index: None,
                        predicate: String::new(),
                        ..candidate.clone()
                    },
                ],
                ..Default::default()
            },
        );
        assert!(converted.points.is_empty(), "a candidate is no series");
        assert_eq!(converted.texts.len(), 2);
        let text = &converted.texts[0];
        assert_eq!(
            (text.kind, text.key.as_str()),
            ("pg_index_candidate", "shop/-42")
        );
        let json: serde_json::Value = serde_json::from_str(&text.text).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "database": "shop",
                "queryid": "-42",
                "schema": "public",
                "table": "orders",
                "columns": ["email", "created_at"],
                "predicate": "deleted_at IS NULL",
                "definition": candidate.definition,
                "method": "hypopg",
                "cost_before": 1093.5,
                "cost_after": 8.25,
                "uses_index": true,
                "table_rows": 50000,
                "timestamp_ms": 5000,
            })
        );
        let explain: serde_json::Value =
            serde_json::from_str(&converted.texts[1].text).expect("json");
        assert_eq!(converted.texts[1].key, "shop/7");
        assert_eq!(
            (
                &explain["method"],
                &explain["cost_after"],
                &explain["uses_index"],
                &explain["predicate"]
            ),
            (
                &serde_json::json!("explain"),
                &serde_json::Value::Null,
                &serde_json::Value::Null,
                &serde_json::json!("")
            )
        );
    }

    #[test]
    fn an_index_verdict_is_a_json_text_with_exactly_the_contract_fields() {
        let verdict = v1::IndexVerdict {
            timestamp_ms: 9_000,
            database: "shop".into(),
            queryid: "-7".into(),
            verdict: "table_too_small".into(),
            reason: "public.cart has about 800 rows (planner estimate; n_live_tup 0)".into(),
            schema: "public".into(),
            table: "cart".into(),
            table_rows: Some(800),
            definition: String::new(),
        };
        let converted = convert(
            "a",
            &v1::Batch {
                index_verdicts: vec![
                    verdict.clone(),
                    v1::IndexVerdict {
                        queryid: "8".into(),
                        verdict: "not_select".into(),
                        schema: String::new(),
                        table: String::new(),
                        table_rows: None,
                        ..verdict.clone()
                    },
                ],
                ..Default::default()
            },
        );
        assert!(converted.points.is_empty(), "a verdict is no series");
        let text = &converted.texts[0];
        assert_eq!((text.kind, text.key.as_str()), (VERDICT_KIND, "shop/-7"));
        assert_eq!(VERDICT_KIND, "pg_index_verdict");
        let json: serde_json::Value = serde_json::from_str(&text.text).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "database": "shop",
                "queryid": "-7",
                "verdict": "table_too_small",
                "reason": verdict.reason,
                "schema": "public",
                "table": "cart",
                "table_rows": 800,
                "definition": "",
                "timestamp_ms": 9000,
            })
        );
        let none: serde_json::Value = serde_json::from_str(&converted.texts[1].text).expect("json");
        assert_eq!(converted.texts[1].key, "shop/8");
        assert_eq!(none["table_rows"], serde_json::Value::Null);
    }

    #[test]
    fn table_rows_are_the_planner_estimate_or_live_tuples_whichever_is_larger() {
        let rows = |estimated_rows: u64, n_live_tup: u64| {
            let batch = v1::Batch {
                pg_tables: vec![v1::PgTable {
                    database: "shop".into(),
                    schema: "public".into(),
                    table: "cart".into(),
                    estimated_rows,
                    n_live_tup,
                    ..Default::default()
                }],
                ..Default::default()
            };
            let converted = convert("a", &batch);
            let value = |name: &str| {
                converted
                    .points
                    .iter()
                    .find(|p| converted.key(p).name == name)
                    .map(|p| p.value)
            };
            (value("pg_table_rows"), value("pg_table_live_tuples"))
        };
        assert_eq!(
            rows(600_000, 0),
            (Some(600_000.0), Some(0.0)),
            "after a stats reset"
        );
        assert_eq!(rows(900, 1_000), (Some(1_000.0), Some(1_000.0)));
        assert_eq!(rows(0, 50), (Some(50.0), Some(50.0)), "an older agent");
    }
}
