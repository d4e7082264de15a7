//! Database statements per route, by fingerprint: which statements each
//! route's requests run, how often and for how long. The trace aggregator
//! tallies a trace's `pg.query` spans by their statement's fingerprint as
//! they arrive ([`TraceStatements`]) and, once the trace's root is known,
//! adds them to its route ([`RouteStatements`]); each drain emits the
//! interval's figures and starts again.
//!
//! Series (delta gauges: the interval's figures, summed over a window like
//! `pg_statement_calls`), labels `method`, `route` (as the route's latency
//! histogram) and `fingerprint` (16 hex digits, see
//! `crate::fingerprint`, or `other`):
//! - [`CALLS`]: statements run by the route's requests finished in the
//!   interval;
//! - [`MS`]: their summed duration as the spans measured it.
//!
//! The route's own requests and time are its latency histogram's `_count`
//! and `_sum` (`http_route_latency_ms`, `origin = otlp`), drained from the
//! same traces at the same moment, so shares and calls per request divide
//! figures of the same requests.
//!
//! Limits: per route and interval the [`TOP_PER_ROUTE`] fingerprints with
//! the most time get their own label; the others, statements without a
//! fingerprint (none given, or the text did not parse) and fingerprints
//! beyond the caps below are summed as `other`. A trace holds at most
//! [`MAX_PER_TRACE`] distinct fingerprints (32 bytes each, so a buffered
//! trace grows by at most 2 KiB: 20 MiB at the default 10,000 buffered
//! traces in the worst case, about 2 KiB per trace for Medusa's
//! complete-cart), a route at most [`MAX_PER_ROUTE`] in an interval (about
//! 40 bytes each with the map's overhead: with 200 routes, at most 2 MiB).
//! Emitted per interval: at most `(TOP_PER_ROUTE + 1) × 2` samples per route.

use std::collections::HashMap;

use crate::samples::gauge;
use crate::signals::{self, Signal};
use crate::v1;

use super::attributes::OTHER;

/// Statements run by a route's requests, per fingerprint, in the interval.
pub const CALLS: &Signal = &signals::otlp::OTLP_ROUTE_STATEMENT_CALLS;
/// Their summed duration in milliseconds.
pub const MS: &Signal = &signals::otlp::OTLP_ROUTE_STATEMENT_MS;

/// Fingerprints labelled per route and interval; the rest are `other`.
pub const TOP_PER_ROUTE: usize = 10;
/// Distinct fingerprints tallied per trace; the rest are `other`.
pub const MAX_PER_TRACE: usize = 64;
/// Distinct fingerprints tallied per route in an interval; the rest are
/// `other`.
pub const MAX_PER_ROUTE: usize = 256;

/// A fingerprint as sent and stored: 16 lower-case hex digits, as pg_query
/// prints it.
pub fn hex(fingerprint: u64) -> String {
    format!("{fingerprint:016x}")
}

/// Calls and milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Tally {
    calls: u64,
    ms: f64,
}

impl Tally {
    fn add(&mut self, calls: u64, ms: f64) {
        self.calls += calls;
        self.ms += ms;
    }
}

/// One trace's statements by fingerprint (`None`: not broken out).
#[derive(Debug, Default)]
pub struct TraceStatements {
    tallies: Vec<(Option<u64>, Tally)>,
}

impl TraceStatements {
    /// Adds one statement of `ms`.
    pub fn add(&mut self, fingerprint: Option<u64>, ms: f64) {
        let key = match fingerprint {
            Some(f)
                if self.tallies.iter().any(|(k, _)| *k == Some(f))
                    || self.tallies.len() < MAX_PER_TRACE =>
            {
                Some(f)
            }
            _ => None,
        };
        match self.tallies.iter_mut().find(|(k, _)| *k == key) {
            Some((_, tally)) => tally.add(1, ms),
            None => self.tallies.push((key, Tally { calls: 1, ms })),
        }
    }
}

/// Every route's statements in the interval, by `(method, route)`.
#[derive(Debug, Default)]
pub struct RouteStatements {
    routes: HashMap<(String, String), HashMap<Option<u64>, Tally>>,
}

impl RouteStatements {
    /// Adds a finished trace's statements to its route.
    pub fn add(&mut self, method: &str, route: &str, trace: TraceStatements) {
        if trace.tallies.is_empty() {
            return;
        }
        let tallies = self
            .routes
            .entry((method.to_owned(), route.to_owned()))
            .or_default();
        for (fingerprint, tally) in trace.tallies {
            let key = match fingerprint {
                Some(f) if tallies.contains_key(&Some(f)) || tallies.len() < MAX_PER_ROUTE => {
                    Some(f)
                }
                _ => None,
            };
            tallies.entry(key).or_default().add(tally.calls, tally.ms);
        }
    }

    /// The interval's samples at `now_ms`; starts a new interval. A route
    /// none of whose statements has a fingerprint gives none.
    pub fn drain(&mut self, now_ms: i64, samples: &mut Vec<v1::Sample>) {
        let mut routes: Vec<_> = self.routes.drain().collect();
        routes.sort_by(|a, b| a.0.cmp(&b.0));
        for ((method, route), tallies) in routes {
            let mut other = tallies.get(&None).copied();
            let mut known: Vec<(u64, Tally)> = tallies
                .into_iter()
                .filter_map(|(fingerprint, tally)| Some((fingerprint?, tally)))
                .collect();
            if known.is_empty() {
                continue;
            }
            known.sort_by(|a, b| b.1.ms.total_cmp(&a.1.ms).then(a.0.cmp(&b.0)));
            for (_, tally) in known.iter().skip(TOP_PER_ROUTE) {
                other
                    .get_or_insert_with(Tally::default)
                    .add(tally.calls, tally.ms);
            }
            known.truncate(TOP_PER_ROUTE);
            let labelled = known
                .into_iter()
                .map(|(fingerprint, tally)| (hex(fingerprint), tally))
                .chain(other.map(|tally| (OTHER.to_owned(), tally)));
            for (fingerprint, tally) in labelled {
                let labels = [
                    ("method", method.as_str()),
                    ("route", route.as_str()),
                    ("fingerprint", fingerprint.as_str()),
                ];
                samples.push(gauge(CALLS, &labels, now_ms, tally.calls as f64));
                samples.push(gauge(MS, &labels, now_ms, tally.ms));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(samples: &[v1::Sample], name: &str, route: &str, fingerprint: &str) -> Option<f64> {
        samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels
                        .iter()
                        .any(|l| l.key == "route" && l.value == route)
                    && s.labels
                        .iter()
                        .any(|l| l.key == "fingerprint" && l.value == fingerprint)
            })
            .map(|s| s.value)
    }

    #[test]
    fn the_slowest_fingerprints_are_labelled_and_the_rest_summed_as_other() {
        let mut routes = RouteStatements::default();
        let mut trace = TraceStatements::default();
        for fingerprint in 1..=(TOP_PER_ROUTE as u64 + 2) {
            trace.add(Some(fingerprint), fingerprint as f64);
        }
        trace.add(None, 0.5);
        routes.add("POST", "/store/carts", trace);
        let mut samples = Vec::new();
        routes.drain(7, &mut samples);
        // Fingerprints 3..=12 are the ten slowest; 1, 2 and the unknown one are other.
        assert_eq!(
            value(&samples, MS.name, "/store/carts", "000000000000000c"),
            Some(12.0)
        );
        assert_eq!(
            value(&samples, MS.name, "/store/carts", "0000000000000003"),
            Some(3.0)
        );
        assert_eq!(
            value(&samples, MS.name, "/store/carts", "0000000000000002"),
            None
        );
        assert_eq!(value(&samples, MS.name, "/store/carts", OTHER), Some(3.5));
        assert_eq!(
            value(&samples, CALLS.name, "/store/carts", OTHER),
            Some(3.0)
        );
        assert_eq!(samples.len(), (TOP_PER_ROUTE + 1) * 2);
        let mut again = Vec::new();
        routes.drain(8, &mut again);
        assert!(again.is_empty(), "each interval starts again");
    }

    #[test]
    fn a_trace_beyond_its_cap_counts_new_fingerprints_as_other() {
        let mut trace = TraceStatements::default();
        for fingerprint in 0..(MAX_PER_TRACE as u64 + 5) {
            trace.add(Some(fingerprint), 1.0);
        }
        trace.add(Some(0), 1.0);
        assert_eq!(trace.tallies.len(), MAX_PER_TRACE + 1);
        let other = trace.tallies.iter().find(|(k, _)| k.is_none());
        assert_eq!(other.map(|(_, t)| t.calls), Some(5));
    }

    #[test]
    fn a_route_without_fingerprints_gives_no_samples() {
        let mut routes = RouteStatements::default();
        let mut trace = TraceStatements::default();
        trace.add(None, 2.0);
        routes.add("GET", "/health", trace);
        let mut samples = Vec::new();
        routes.drain(1, &mut samples);
        assert!(samples.is_empty());
    }
}
