//! What one analysis pass sees: every series over the look-back window (as
//! buckets) and the stored texts. Pure data with the helpers rules share;
//! `load.rs` fills it from the store, tests build it by hand.

use std::collections::BTreeMap;

use crate::store::model::Kind;

/// One series as the advisor sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub kind: Kind,
    /// `(bucket start in unix ms, value)`: the mean of a gauge, the last
    /// value of a counter, sorted by time.
    pub points: Vec<(i64, f64)>,
    /// The sum of the raw values in each bucket, parallel to `points`: what
    /// adds up for delta gauges (statement calls, histogram counts).
    pub sums: Vec<f64>,
}

impl Series {
    /// A series whose buckets each hold one raw value.
    pub fn new(name: &str, labels: &[(&str, &str)], kind: Kind, points: Vec<(i64, f64)>) -> Self {
        let sums = points.iter().map(|&(_, v)| v).collect();
        Self {
            name: name.to_owned(),
            labels: labels
                .iter()
                .map(|&(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            kind,
            points,
            sums,
        }
    }

    /// The value of label `key`, or "".
    pub fn label(&self, key: &str) -> &str {
        self.labels.get(key).map_or("", String::as_str)
    }

    /// The latest point.
    pub fn last(&self) -> Option<(i64, f64)> {
        self.points.last().copied()
    }

    /// The latest value, if it is no older than `max_age_ms` at `now_ms`.
    pub fn fresh(&self, now_ms: i64, max_age_ms: i64) -> Option<f64> {
        self.last()
            .filter(|&(t, _)| now_ms - t <= max_age_ms)
            .map(|(_, v)| v)
    }

    /// Sum of the raw values since `since_ms` (delta gauges).
    pub fn sum_since(&self, since_ms: i64) -> f64 {
        self.points
            .iter()
            .zip(&self.sums)
            .filter(|((t, _), _)| *t >= since_ms)
            .map(|(_, s)| s)
            .sum()
    }

    /// Points since `since_ms`.
    pub fn since(&self, since_ms: i64) -> &[(i64, f64)] {
        let start = self.points.partition_point(|&(t, _)| t < since_ms);
        &self.points[start..]
    }

    /// How much a counter grew since `since_ms`, counting through resets
    /// (a drop is a restart from zero).
    pub fn increase_since(&self, since_ms: i64) -> f64 {
        let start = self.points.partition_point(|&(t, _)| t < since_ms);
        // The point just before the window is the baseline, when there is one.
        let from = start.saturating_sub(1);
        let window = &self.points[from..];
        window
            .windows(2)
            .map(|pair| {
                let (before, after) = (pair[0].1, pair[1].1);
                if after >= before {
                    after - before
                } else {
                    after
                }
            })
            .sum()
    }

    /// Per-second rate of a counter between consecutive points, through resets.
    pub fn rate(&self) -> Vec<(i64, f64)> {
        self.points
            .windows(2)
            .filter(|pair| pair[1].0 > pair[0].0)
            .map(|pair| {
                let ((t0, v0), (t1, v1)) = (pair[0], pair[1]);
                let delta = if v1 >= v0 { v1 - v0 } else { v1 };
                (t1, delta * 1000.0 / (t1 - t0) as f64)
            })
            .collect()
    }
}

/// A stored text (normalized statement, index definition, index candidate).
#[derive(Debug, Clone, PartialEq)]
pub struct Text {
    pub kind: String,
    pub key: String,
    pub text: String,
    pub last_seen_ms: i64,
}

/// Everything one pass reasons on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// When the pass runs.
    pub now_ms: i64,
    pub series: Vec<Series>,
    pub texts: Vec<Text>,
    /// Firing alert notifications sent in the last
    /// [`ALERT_PAGES_WINDOW_MS`], per group (`kind=index`); `None` when not
    /// loaded.
    pub alert_pages: Option<Vec<(String, i64)>>,
}

/// The window alert pages are counted over: a week.
pub const ALERT_PAGES_WINDOW_MS: i64 = 7 * 86_400_000;

impl Snapshot {
    /// An empty snapshot at `now_ms`.
    pub fn at(now_ms: i64) -> Self {
        Self {
            now_ms,
            ..Self::default()
        }
    }

    /// Adds a series (for tests and the loader).
    pub fn push(&mut self, series: Series) -> &mut Self {
        self.series.push(series);
        self
    }

    /// Adds a text (for tests and the loader).
    pub fn push_text(&mut self, kind: &str, key: &str, text: &str, last_seen_ms: i64) -> &mut Self {
        self.texts.push(Text {
            kind: kind.to_owned(),
            key: key.to_owned(),
            text: text.to_owned(),
            last_seen_ms,
        });
        self
    }

    /// Every series named `name`.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Series> + 'a {
        self.series.iter().filter(move |s| s.name == name)
    }

    /// The series named `name` whose labels include every pair of `labels`.
    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Series> + 'a {
        self.named(name)
            .filter(move |s| labels.iter().all(|(k, v)| s.label(k) == *v))
    }

    /// The first series named `name` with `labels`.
    pub fn find(&self, name: &str, labels: &[(&str, &str)]) -> Option<&Series> {
        self.series
            .iter()
            .find(|s| s.name == name && labels.iter().all(|(k, v)| s.label(k) == *v))
    }

    /// Texts of `kind`.
    pub fn texts<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a Text> + 'a {
        self.texts.iter().filter(move |t| t.kind == kind)
    }

    /// The text of `kind` under `key`.
    pub fn text(&self, kind: &str, key: &str) -> Option<&Text> {
        self.texts.iter().find(|t| t.kind == kind && t.key == key)
    }

    /// The normalized text of statement `queryid` in `database`
    /// (`pg_stat_statements`, stored by the agent as text `pg_query`).
    pub fn statement_text(&self, database: &str, queryid: &str) -> Option<&str> {
        self.text("pg_query", &format!("{database}/{queryid}"))
            .map(|t| t.text.as_str())
    }

    /// Quantile `q` (0..1) of the delta histogram `name` (stored as
    /// `<name>_bucket{le}` series) over the buckets since `since_ms`, for the
    /// series whose labels include `labels`; with the number of
    /// observations. Linear interpolation inside a bucket, as Prometheus'
    /// `histogram_quantile`. None without observations.
    pub fn histogram_quantile(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        since_ms: i64,
        q: f64,
    ) -> Option<(f64, f64)> {
        let bucket_name = format!("{name}_bucket");
        let mut by_le: BTreeMap<OrderedBound, f64> = BTreeMap::new();
        for s in self.matching(&bucket_name, labels) {
            let le = match s.label("le") {
                "+Inf" => f64::INFINITY,
                text => match text.parse::<f64>() {
                    Ok(v) => v,
                    Err(_) => continue,
                },
            };
            *by_le.entry(OrderedBound(le)).or_default() += s.sum_since(since_ms);
        }
        quantile_of_buckets(
            &by_le.into_iter().map(|(b, c)| (b.0, c)).collect::<Vec<_>>(),
            q,
        )
    }
}

/// Quantile `q` of cumulative buckets `(upper bound, cumulative count)`
/// sorted by bound, with the total count.
pub fn quantile_of_buckets(buckets: &[(f64, f64)], q: f64) -> Option<(f64, f64)> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let mut lower_bound = 0.0;
    let mut lower_count = 0.0;
    for &(bound, count) in buckets {
        if count >= rank {
            if bound.is_infinite() {
                return Some((lower_bound, total));
            }
            let width = count - lower_count;
            let fraction = if width > 0.0 {
                (rank - lower_count) / width
            } else {
                1.0
            };
            return Some((lower_bound + (bound - lower_bound) * fraction, total));
        }
        lower_bound = bound;
        lower_count = count;
    }
    Some((lower_bound, total))
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct OrderedBound(f64);
impl Eq for OrderedBound {}
impl PartialOrd for OrderedBound {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for OrderedBound {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_increase_and_rate_count_through_a_reset() {
        let s = Series::new(
            "c",
            &[],
            Kind::Counter,
            vec![(0, 10.0), (1000, 20.0), (2000, 5.0), (3000, 15.0)],
        );
        assert_eq!(s.increase_since(0), 10.0 + 5.0 + 10.0);
        assert_eq!(s.increase_since(2500), 10.0);
        assert_eq!(s.rate(), vec![(1000, 10.0), (2000, 5.0), (3000, 10.0)]);
    }

    #[test]
    fn histogram_quantile_interpolates_within_the_bucket() {
        let mut snap = Snapshot::at(10_000);
        for (le, count) in [("100", 50.0), ("200", 90.0), ("+Inf", 100.0)] {
            snap.push(Series::new(
                "lat_bucket",
                &[("route", "/a"), ("le", le)],
                Kind::Gauge,
                vec![(5_000, count)],
            ));
        }
        let (p50, n) = snap
            .histogram_quantile("lat", &[("route", "/a")], 0, 0.5)
            .unwrap();
        assert_eq!((p50, n), (100.0, 100.0));
        let (p70, _) = snap
            .histogram_quantile("lat", &[("route", "/a")], 0, 0.7)
            .unwrap();
        assert!((p70 - 150.0).abs() < 1e-9);
        assert!(
            snap.histogram_quantile("lat", &[("route", "/b")], 0, 0.5)
                .is_none()
        );
        assert!(
            snap.histogram_quantile("lat", &[("route", "/a")], 6_000, 0.5)
                .is_none()
        );
    }
}
