//! What the loader reads, joined from every reader's declarations
//! (`needs.rs`): every needed series over the recent window, and those
//! needed over the look-back as hourly history too. A series no reader
//! declares is not loaded.

use std::collections::BTreeMap;

use super::needs::{Need, Span};
use super::rules::{self, fold};
#[cfg(test)]
use super::snapshot::Snapshot;
use super::{resources, routes, statements};
#[cfg(test)]
use crate::store::model::Kind;

/// Every need of every reader: the rules, the headroom table, the fold,
/// and the helpers rules share (`statements`, `routes`).
pub fn all() -> impl Iterator<Item = &'static Need> {
    rules::RULES
        .iter()
        .flat_map(|rule| rule.needs)
        .chain(rules::none::NEEDS)
        .chain(resources::NEEDS)
        .chain(fold::NEEDS)
        .chain(statements::NEEDS)
        .chain(routes::NEEDS)
}

/// What to load: each needed series name and the longest span any reader
/// needs it over.
pub fn plan() -> BTreeMap<&'static str, Span> {
    let mut out = BTreeMap::new();
    for need in all() {
        for name in need.signal.series {
            let span = out.entry(*name).or_insert(need.span);
            *span = (*span).max(need.span);
        }
    }
    out
}

/// `snapshot` as the loader would have read it: only the needed series,
/// and of those needed over the recent window only the points from
/// `recent_from` on. For tests that prove the declarations complete.
#[cfg(test)]
pub fn restrict(snapshot: &Snapshot, recent_from: i64) -> Snapshot {
    let plan = plan();
    let mut out = snapshot.clone();
    out.series.retain(|s| plan.contains_key(s.name.as_str()));
    for series in &mut out.series {
        if plan[series.name.as_str()] == Span::Recent {
            let keep = series.points.partition_point(|p| p.0 < recent_from);
            series.points.drain(..keep);
            series.sums.drain(..keep);
        }
    }
    out.series.retain(|s| !s.points.is_empty());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::snapshot::Series;
    use crate::advisor::{AdvisorConfig, load};
    use crate::demo::sim::{self, Sim};
    use crate::ingest::convert::convert;
    use crate::store::SeriesKey;
    use headroom_proto::signals::{self, Kept};
    use std::collections::HashMap;

    /// The demo's store over its 60 days, every series the agents send,
    /// as raw points: hourly, then every 5 minutes over the last day.
    fn demo_snapshot(now: i64) -> Snapshot {
        let mut sim = Sim::new(2026, now);
        let mut points: HashMap<SeriesKey, (Kind, Vec<(i64, f64)>)> = HashMap::new();
        let mut snapshot = Snapshot::at(now);
        let recent_from = now - sim::DAY_MS;
        let mut t = sim.shape().start_ms();
        while t < now {
            let step = if t < recent_from { 60 } else { 5 } * sim::MINUTE_MS;
            let to = (t + step).min(now);
            let tick = sim.step(t, to, true, to > recent_from);
            for (agent, batch) in [("db", &tick.db), ("redis", &tick.redis), ("web", &tick.web)] {
                let converted = convert(agent, batch);
                for point in &converted.points {
                    let (key, kind) = &converted.series[point.series];
                    let entry = points
                        .entry(key.clone())
                        .or_insert_with(|| (*kind, Vec::new()));
                    entry.1.push((point.timestamp_ms, point.value));
                }
                for text in converted.texts {
                    snapshot
                        .texts
                        .retain(|x| (x.kind.as_str(), &x.key) != (text.kind, &text.key));
                    snapshot.push_text(text.kind, &text.key, &text.text, to);
                }
            }
            t = to;
        }
        for (key, (kind, mut values)) in points {
            values.sort_by_key(|p| p.0);
            let labels: Vec<(&str, &str)> = key
                .labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            snapshot.push(Series::new(&key.name, &labels, kind, values));
        }
        snapshot
            .series
            .sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
        snapshot
    }

    #[test]
    fn the_demo_store_gets_the_same_advice_from_only_what_the_readers_declare() {
        let now = 1_780_000_000_000;
        let full = demo_snapshot(now);
        let config = AdvisorConfig::default();
        let advise = |snapshot: &Snapshot| crate::advisor::advise(snapshot, &config);
        let (table, findings) = advise(&full);
        assert!(table.len() >= 4, "{table:#?}");
        assert!(findings.len() >= 3, "{findings:#?}");
        let loaded = restrict(&full, load::recent_start(&config, now));
        assert!(loaded.series.len() < full.series.len());
        assert_eq!(advise(&loaded), (table, findings));
    }

    #[test]
    fn every_need_is_a_stored_catalog_signal() {
        for need in all() {
            assert_eq!(
                signals::lookup(need.signal.series[0]),
                Some(need.signal),
                "{}",
                need.signal.name
            );
            assert_eq!(need.signal.kept, Kept::Stored, "{}", need.signal.name);
        }
    }

    #[test]
    fn the_longest_span_wins_and_a_histogram_brings_its_parts() {
        let plan = plan();
        // The database rule reads connections recently, the headroom table
        // over the look-back.
        assert_eq!(plan["pg_connections_total"], Span::Lookback);
        assert_eq!(plan["pg_max_connections"], Span::Recent);
        for part in ["_bucket", "_count", "_sum"] {
            assert_eq!(
                plan[format!("http_route_latency_ms{part}").as_str()],
                Span::Lookback
            );
        }
        assert!(
            !plan.contains_key("host_load1"),
            "no reader needs the load average"
        );
    }
}
