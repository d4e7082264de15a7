//! The signal catalog: every series Headroom emits, stores, reads or
//! exposes, defined once. Each [`Signal`] says its name, its kind, its unit,
//! the labels its emitter sets, what it means and what keeps it. Emitters
//! (the agent's sources, the OTLP aggregators, the collector's wire →
//! series conversion, the demo) and readers (the advisor's rules, the
//! headroom table, `/metrics`) name a series only through these constants;
//! a test scans the workspace for series names spelled as strings
//! (`scan_tests.rs`). Why: docs/adr/006-signal-catalog.md.
//!
//! One file per family of emitters; [`ALL`] lists every family's signals.

pub mod access_log;
pub mod agent;
pub mod collector;
pub mod host;
pub mod http;
pub mod medusa;
pub mod otlp;
pub mod postgres;
pub mod redis;

#[cfg(test)]
mod scan_tests;

/// How a series' values behave over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A level that goes up and down (also a per-interval amount: the
    /// statement deltas, the per-minute rates).
    Gauge,
    /// A cumulative total since the emitter's reset; it only goes up.
    Counter,
    /// A latency distribution: stored as `<name>_bucket{le}` (cumulative
    /// per bucket), `<name>_count` and `<name>_sum`, each a per-interval
    /// amount (a gauge).
    Histogram,
}

impl Kind {
    /// The Prometheus `# TYPE` word.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        }
    }
}

/// What one value counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    /// A number of things (connections, rows, requests, keys).
    Count,
    Bytes,
    Seconds,
    Milliseconds,
    Microseconds,
    /// A share: 0..1, or a ratio such as fragmentation.
    Ratio,
    /// 1 or 0.
    Bool,
    /// Seconds since the Unix epoch.
    UnixSeconds,
    /// Things per minute.
    PerMinute,
    /// Things per second.
    PerSecond,
    /// An amount of money in the label `currency`'s smallest unit as the
    /// store keeps it.
    Money,
    /// An HTTP status code.
    StatusCode,
    /// The unit of what a label names (a resource's own unit).
    Varies,
}

impl Unit {
    /// The unit as the docs spell it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "count",
            Unit::Bytes => "bytes",
            Unit::Seconds => "seconds",
            Unit::Milliseconds => "milliseconds",
            Unit::Microseconds => "microseconds",
            Unit::Ratio => "ratio",
            Unit::Bool => "bool",
            Unit::UnixSeconds => "unix seconds",
            Unit::PerMinute => "per minute",
            Unit::PerSecond => "per second",
            Unit::Money => "money",
            Unit::StatusCode => "status code",
            Unit::Varies => "varies",
        }
    }
}

/// Who emits a signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// The agent's `postgres` source (samples and typed records).
    Postgres,
    /// The agent's `redis` source.
    Redis,
    /// The agent's `host` source.
    Host,
    /// The agent's `http` probes, and the route records of `access_log`
    /// and `otlp`.
    Http,
    /// The agent's `access_log` source.
    AccessLog,
    /// The OTLP aggregators (the agent's `otlp` source, the collector's
    /// OTLP port).
    Otlp,
    /// The agent's `medusa` source.
    Medusa,
    /// The agent itself (every source's `up`, its scrapes, its own cost).
    Agent,
    /// The collector's own `/metrics`.
    Collector,
}

/// What keeps a signal's values.
///
/// The collector has one retention for every stored series (raw blocks,
/// then 1-minute and 1-hour rollups, each expired after its
/// `[retention]` age: docs/adr/001-storage-layout.md), so there is no
/// per-signal retention class. How far back the advisor reads a series is
/// declared by the rules that read it (`advisor/rules/mod.rs`), not here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kept {
    /// Sent by an agent (or the collector's OTLP port) and stored by the
    /// collector as a series, labelled `agent` with the sender's id.
    Stored,
    /// Computed by the collector when `/metrics` is scraped; not stored.
    Exposed,
}

/// One series (or, for a histogram, one family of series).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal {
    /// The series name: lowercase ASCII, digits and `_`.
    pub name: &'static str,
    pub kind: Kind,
    pub unit: Unit,
    /// The labels its emitter sets (the collector adds `agent` to every
    /// stored series, and `le` to a histogram's buckets).
    pub labels: &'static [&'static str],
    /// What it measures, as `/metrics` HELP would say it.
    pub help: &'static str,
    pub origin: Origin,
    pub kept: Kept,
    /// The names of the series it makes: its own, or a histogram's
    /// `_bucket`, `_count` and `_sum`.
    pub series: &'static [&'static str],
}

impl Signal {
    /// A gauge.
    pub const fn gauge(name: &'static str, unit: Unit, help: &'static str) -> Self {
        Self::new(name, Kind::Gauge, unit, help)
    }

    /// A counter.
    pub const fn counter(name: &'static str, unit: Unit, help: &'static str) -> Self {
        Self::new(name, Kind::Counter, unit, help)
    }

    const fn new(name: &'static str, kind: Kind, unit: Unit, help: &'static str) -> Self {
        Self {
            name,
            kind,
            unit,
            labels: &[],
            help,
            origin: Origin::Agent,
            kept: Kept::Stored,
            series: &[],
        }
    }

    /// With the labels its emitter sets.
    pub const fn labels(self, labels: &'static [&'static str]) -> Self {
        Self { labels, ..self }
    }

    /// Emitted by `origin`.
    pub const fn origin(self, origin: Origin) -> Self {
        Self { origin, ..self }
    }

    /// Kept by `kept`.
    pub const fn kept(self, kept: Kept) -> Self {
        Self { kept, ..self }
    }

    /// Makes the series `series` (see `signal!`).
    pub const fn series(self, series: &'static [&'static str]) -> Self {
        Self { series, ..self }
    }

    /// The stored series of a histogram's buckets (its name otherwise).
    pub const fn bucket(&self) -> &'static str {
        self.part(0)
    }

    /// The stored series of a histogram's observation counts.
    pub const fn count(&self) -> &'static str {
        self.part(1)
    }

    /// The stored series of a histogram's summed observations.
    pub const fn sum(&self) -> &'static str {
        self.part(2)
    }

    const fn part(&self, index: usize) -> &'static str {
        if self.series.len() == 3 {
            self.series[index]
        } else {
            self.name
        }
    }

    /// Whether `name` is one of the series it makes.
    pub fn makes(&self, name: &str) -> bool {
        self.series.contains(&name)
    }

    /// Whether its emitter may set label `key`.
    pub fn has_label(&self, key: &str) -> bool {
        self.labels.contains(&key)
    }
}

/// A catalog entry: `signal!(Origin, gauge|counter|histogram "name",
/// Unit, [labels], "help")`. A histogram makes `_bucket`, `_count` and
/// `_sum` series; a gauge or counter its own name.
macro_rules! signal {
    ($origin:ident, gauge $name:literal, $unit:ident, [$($label:literal),*], $help:expr) => {
        $crate::signals::Signal::gauge($name, $crate::signals::Unit::$unit, $help)
            .labels(&[$($label),*])
            .origin($crate::signals::Origin::$origin)
            .series(&[$name])
    };
    ($origin:ident, counter $name:literal, $unit:ident, [$($label:literal),*], $help:expr) => {
        $crate::signals::Signal::counter($name, $crate::signals::Unit::$unit, $help)
            .labels(&[$($label),*])
            .origin($crate::signals::Origin::$origin)
            .series(&[$name])
    };
    ($origin:ident, histogram $name:literal, $unit:ident, [$($label:literal),*], $help:expr) => {
        $crate::signals::Signal {
            kind: $crate::signals::Kind::Histogram,
            ..$crate::signals::Signal::gauge($name, $crate::signals::Unit::$unit, $help)
                .labels(&[$($label),*])
                .origin($crate::signals::Origin::$origin)
                .series(&[
                    concat!($name, "_bucket"),
                    concat!($name, "_count"),
                    concat!($name, "_sum"),
                ])
        }
    };
}
pub(crate) use signal;

/// Every family's signals.
pub const FAMILIES: [&[Signal]; 9] = [
    postgres::ALL,
    redis::ALL,
    host::ALL,
    http::ALL,
    access_log::ALL,
    otlp::ALL,
    medusa::ALL,
    agent::ALL,
    collector::ALL,
];

/// Every signal in the catalog.
pub fn all() -> impl Iterator<Item = &'static Signal> {
    FAMILIES.into_iter().flatten()
}

/// The signal that makes series `name` (a histogram's `_bucket`, `_count`
/// and `_sum` resolve to the histogram).
pub fn lookup(name: &str) -> Option<&'static Signal> {
    all().find(|signal| signal.makes(name))
}

/// The prefixes series names start with (`pg_`, `redis_`, …; a name
/// without `_`, such as `up`, is its own prefix), sorted.
pub fn prefixes() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = all()
        .map(|signal| match signal.name.find('_') {
            Some(at) => &signal.name[..=at],
            None => signal.name,
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether `name` is well-formed: starts with a lowercase letter, then
/// lowercase letters, digits and single `_`, not ending in `_`.
pub fn well_formed(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_lowercase)
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
        && !name.ends_with('_')
        && !name.contains("__")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_stored_name_is_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for signal in all() {
            assert!(well_formed(signal.name), "{}", signal.name);
            for name in signal.series {
                assert!(well_formed(name), "{name}");
                assert!(seen.insert(*name), "{name} is in the catalog twice");
            }
        }
        assert!(seen.len() > 100, "{} names", seen.len());
    }

    #[test]
    fn every_signal_makes_its_own_series_or_its_histogram_parts() {
        for signal in all() {
            match signal.kind {
                Kind::Histogram => {
                    let parts =
                        ["_bucket", "_count", "_sum"].map(|s| format!("{}{s}", signal.name));
                    assert_eq!(signal.series, parts, "{}", signal.name);
                }
                _ => assert_eq!(signal.series, [signal.name], "{}", signal.name),
            }
        }
    }

    #[test]
    fn every_signal_says_what_it_measures_and_labels_are_unique_and_well_formed() {
        for signal in all() {
            assert!(
                signal.help.len() > 10 && signal.help.ends_with('.'),
                "{}: HELP should be a sentence: {:?}",
                signal.name,
                signal.help
            );
            let labels: HashSet<_> = signal.labels.iter().collect();
            assert_eq!(labels.len(), signal.labels.len(), "{}", signal.name);
            for label in signal.labels {
                assert!(well_formed(label), "{}: label {label}", signal.name);
                assert!(
                    *label != "agent" || signal.kept == Kept::Exposed,
                    "{}: the collector sets `agent` on stored series",
                    signal.name
                );
            }
        }
    }

    #[test]
    fn counters_end_in_total_and_exposed_signals_are_the_collectors() {
        for signal in all() {
            // Prometheus' convention, which `/metrics` already follows;
            // stored counters named before the catalog keep their names.
            if signal.kept == Kept::Exposed {
                assert_eq!(signal.origin, Origin::Collector, "{}", signal.name);
                assert_eq!(
                    signal.kind == Kind::Counter,
                    signal.name.ends_with("_total"),
                    "{}",
                    signal.name
                );
            }
        }
    }

    #[test]
    fn a_histograms_parts_resolve_to_the_histogram() {
        let latency = &http::HTTP_ROUTE_LATENCY_MS;
        assert_eq!(latency.bucket(), "http_route_latency_ms_bucket");
        assert_eq!(latency.count(), "http_route_latency_ms_count");
        assert_eq!(latency.sum(), "http_route_latency_ms_sum");
        assert_eq!(lookup(latency.count()), Some(latency));
        assert_eq!(
            lookup("pg_connections_total"),
            Some(&postgres::PG_CONNECTIONS_TOTAL)
        );
        assert_eq!(
            lookup("http_route_latency_ms"),
            None,
            "no series of its own"
        );
        assert_eq!(
            postgres::PG_CONNECTIONS_TOTAL.count(),
            "pg_connections_total"
        );
    }

    #[test]
    fn prefixes_come_from_the_catalog() {
        let prefixes = prefixes();
        for expected in ["pg_", "redis_", "host_", "http_", "otlp_", "medusa_", "up"] {
            assert!(prefixes.contains(&expected), "{expected}: {prefixes:?}");
        }
    }

    #[test]
    fn names_are_checked_for_form() {
        assert!(well_formed("ab_cd2"));
        for bad in ["", "Ab_cd", "ab__cd", "ab_cd_", "_ab", "ab-cd", "2ab"] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
