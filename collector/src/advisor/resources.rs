//! Headroom per resource: which series measure a resource, what its limit
//! is, and the analysis of the one against the other. Pure.

use std::borrow::Cow;
use std::collections::BTreeMap;

use headroom_proto::signals::host::{
    HOST_CPU_SECONDS_TOTAL, HOST_CPUS, HOST_FILESYSTEM_SIZE_BYTES, HOST_FILESYSTEM_USED_BYTES,
    HOST_MEMORY_TOTAL_BYTES, HOST_MEMORY_USED_BYTES,
};
use headroom_proto::signals::http::HTTP_ROUTE_LATENCY_MS;
use headroom_proto::signals::postgres::{
    PG_CONNECTIONS_TOTAL, PG_MAX_CONNECTIONS, PG_SUPERUSER_RESERVED_CONNECTIONS,
};
use headroom_proto::signals::redis::{REDIS_MAXMEMORY_BYTES, REDIS_USED_MEMORY_BYTES};

use serde::{Deserialize, Serialize};

use super::needs::{Need, lookback, recent};
use super::snapshot::{Series, Snapshot, quantile_of_buckets};
use crate::analysis::{self, headroom::Headroom};

/// The series the headroom table reads: each resource over the look-back, its limit recently.
pub const NEEDS: &[Need] = &[
    lookback(&PG_CONNECTIONS_TOTAL),
    recent(&PG_MAX_CONNECTIONS),
    recent(&PG_SUPERUSER_RESERVED_CONNECTIONS),
    lookback(&REDIS_USED_MEMORY_BYTES),
    recent(&REDIS_MAXMEMORY_BYTES),
    lookback(&HOST_MEMORY_USED_BYTES),
    recent(&HOST_MEMORY_TOTAL_BYTES),
    lookback(&HOST_FILESYSTEM_USED_BYTES),
    recent(&HOST_FILESYSTEM_SIZE_BYTES),
    recent(&HOST_CPUS),
    lookback(&HOST_CPU_SECONDS_TOTAL),
    lookback(&HTTP_ROUTE_LATENCY_MS),
];

/// `[advisor.resources]`: limits that are not read from the store.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The checkout route, as its spans name it.
    pub checkout_route: String,
    /// The checkout latency objective: p95 in milliseconds.
    pub checkout_p95_slo_ms: f64,
    /// Fewer observations than this in a bucket do not make a p95 point.
    pub min_requests_per_point: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            checkout_route: "/store/carts/:id/complete".to_owned(),
            checkout_p95_slo_ms: 2_000.0,
            min_requests_per_point: 5.0,
        }
    }
}

/// A resource to analyse: its name, its points, its limit.
type Job<'s> = (String, Cow<'s, [(i64, f64)]>, f64);

/// Headroom of every resource the snapshot measures and knows a limit of,
/// most urgent first (soonest ETA, then highest utilization).
pub fn compute<'s>(snapshot: &'s Snapshot, config: &Config, stale_ms: i64) -> Vec<Headroom> {
    let now = snapshot.now_ms;
    // (resource, points, limit) of every measured resource, analysed below.
    let mut jobs: Vec<Job<'s>> = Vec::new();
    let mut measure = |resource: String, points: Cow<'s, [(i64, f64)]>, limit: Option<f64>| {
        let Some(limit) = limit.filter(|l| *l > 0.0 && l.is_finite()) else {
            return;
        };
        if points.last().is_none_or(|&(t, _)| now - t > stale_ms) {
            return;
        }
        jobs.push((resource, points, limit));
    };
    let latest = |name: &str, labels: &[(&str, &str)]| {
        snapshot
            .find(name, labels)
            .and_then(|s| s.fresh(now, stale_ms))
    };

    for used in snapshot.named(PG_CONNECTIONS_TOTAL.name) {
        let agent = used.label("agent");
        let max = latest(PG_MAX_CONNECTIONS.name, &[("agent", agent)]);
        let reserved =
            latest(PG_SUPERUSER_RESERVED_CONNECTIONS.name, &[("agent", agent)]).unwrap_or(0.0);
        measure(
            format!("postgres connections ({agent})"),
            (&used.points[..]).into(),
            max.map(|m| m - reserved),
        );
    }
    for used in snapshot.named(REDIS_USED_MEMORY_BYTES.name) {
        let (agent, instance) = (used.label("agent"), used.label("instance"));
        let max = latest(
            REDIS_MAXMEMORY_BYTES.name,
            &[("agent", agent), ("instance", instance)],
        );
        measure(
            format!("redis memory ({instance})"),
            (&used.points[..]).into(),
            max,
        );
    }
    for used in snapshot.named(HOST_MEMORY_USED_BYTES.name) {
        let agent = used.label("agent");
        let total = latest(HOST_MEMORY_TOTAL_BYTES.name, &[("agent", agent)]);
        measure(
            format!("host memory ({agent})"),
            (&used.points[..]).into(),
            total,
        );
    }
    for used in snapshot.named(HOST_FILESYSTEM_USED_BYTES.name) {
        let (agent, mount) = (used.label("agent"), used.label("mount"));
        let size = latest(
            HOST_FILESYSTEM_SIZE_BYTES.name,
            &[("agent", agent), ("mount", mount)],
        );
        measure(
            format!("disk {mount} ({agent})"),
            (&used.points[..]).into(),
            size,
        );
    }
    let agents: std::collections::BTreeSet<&str> = snapshot
        .named(HOST_CPUS.name)
        .map(|s| s.label("agent"))
        .collect();
    for agent in agents {
        let busy = cpu_busy(snapshot, agent);
        measure(
            format!("host cpu ({agent})"),
            busy.into(),
            latest(HOST_CPUS.name, &[("agent", agent)]),
        );
    }
    let p95 = route_quantile_series(
        snapshot,
        HTTP_ROUTE_LATENCY_MS.name,
        &config.checkout_route,
        0.95,
        config.min_requests_per_point,
    );
    if !p95.is_empty() {
        measure(
            format!("checkout p95 latency ({})", config.checkout_route),
            p95.into(),
            Some(config.checkout_p95_slo_ms),
        );
    }
    let mut out = analyse_in_parallel(&jobs);
    out.sort_by(|a, b| {
        let eta = |h: &Headroom| h.eta_ms.unwrap_or(i64::MAX);
        eta(a)
            .cmp(&eta(b))
            .then(b.utilization.total_cmp(&a.utilization))
            .then(a.resource.cmp(&b.resource))
    });
    out
}

/// Analyses every job on all cores (the analysis is pure CPU work).
fn analyse_in_parallel(jobs: &[Job<'_>]) -> Vec<Headroom> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = jobs.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|(resource, points, limit)| {
                            analysis::headroom::headroom(
                                resource,
                                &analysis::analyze(points),
                                *limit,
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    })
}

/// CPUs busy (all modes but idle and iowait) over time, from the per-mode
/// second counters of one agent.
pub fn cpu_busy(snapshot: &Snapshot, agent: &str) -> Vec<(i64, f64)> {
    let mut busy: BTreeMap<i64, f64> = BTreeMap::new();
    for s in snapshot.matching(HOST_CPU_SECONDS_TOTAL.name, &[("agent", agent)]) {
        if matches!(s.label("mode"), "idle" | "iowait") {
            continue;
        }
        for (t, rate) in s.rate() {
            *busy.entry(t).or_default() += rate;
        }
    }
    busy.into_iter().collect()
}

/// Quantile `q` of a route's latency per stored bucket (all status classes
/// and origins merged), skipping buckets with fewer than `min_count`
/// observations.
pub fn route_quantile_series(
    snapshot: &Snapshot,
    histogram: &str,
    route: &str,
    q: f64,
    min_count: f64,
) -> Vec<(i64, f64)> {
    let bucket_name = format!("{histogram}_bucket");
    let mut by_time: BTreeMap<i64, BTreeMap<u64, (f64, f64)>> = BTreeMap::new();
    for s in snapshot.matching(&bucket_name, &[("route", route)]) {
        let le = match s.label("le") {
            "+Inf" => f64::INFINITY,
            text => match text.parse::<f64>() {
                Ok(v) => v,
                Err(_) => continue,
            },
        };
        add_bucket_counts(&mut by_time, s, le);
    }
    by_time
        .into_iter()
        .filter_map(|(t, buckets)| {
            let buckets: Vec<(f64, f64)> = buckets.into_values().collect();
            quantile_of_buckets(&buckets, q)
                .filter(|&(_, n)| n >= min_count)
                .map(|(value, _)| (t, value))
        })
        .collect()
}

fn add_bucket_counts(by_time: &mut BTreeMap<i64, BTreeMap<u64, (f64, f64)>>, s: &Series, le: f64) {
    // Keyed by the bound's bit pattern made order-preserving for positives.
    let key = le.to_bits();
    for (&(t, _), &sum) in s.points.iter().zip(&s.sums) {
        let entry = by_time
            .entry(t)
            .or_default()
            .entry(key)
            .or_insert((le, 0.0));
        entry.1 += sum;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::model::Kind;

    const HOUR: i64 = 3_600_000;

    #[test]
    fn growing_connections_get_an_eta_and_steady_memory_does_not() {
        let now = 20 * 24 * HOUR;
        let mut snap = Snapshot::at(now);
        let hours: Vec<i64> = (0..=20 * 24).map(|h| h * HOUR).collect();
        snap.push(Series::new(
            "pg_connections_total",
            &[("agent", "db")],
            Kind::Gauge,
            hours
                .iter()
                .map(|&t| {
                    (
                        t,
                        20.0 + t as f64 / (24.0 * HOUR as f64) * 2.0 + ((t / HOUR) % 3) as f64,
                    )
                })
                .collect(),
        ));
        snap.push(Series::new(
            "pg_max_connections",
            &[("agent", "db")],
            Kind::Gauge,
            vec![(now, 103.0)],
        ));
        snap.push(Series::new(
            "pg_superuser_reserved_connections",
            &[("agent", "db")],
            Kind::Gauge,
            vec![(now, 3.0)],
        ));
        snap.push(Series::new(
            "host_memory_used_bytes",
            &[("agent", "db")],
            Kind::Gauge,
            hours
                .iter()
                .map(|&t| (t, 4e9 + ((t / HOUR) % 5) as f64 * 1e7))
                .collect(),
        ));
        snap.push(Series::new(
            "host_memory_total_bytes",
            &[("agent", "db")],
            Kind::Gauge,
            vec![(now, 16e9)],
        ));
        let table = compute(&snap, &Config::default(), 600_000);
        assert_eq!(table.len(), 2, "{table:#?}");
        let connections = &table[0];
        assert_eq!(connections.resource, "postgres connections (db)");
        assert_eq!(connections.limit, 100.0);
        let eta = connections.eta_ms.expect("an ETA for a growing resource");
        // 2 a day from ~61 towards 100: about 19-20 days away.
        let days = (eta - now) as f64 / (24.0 * HOUR as f64);
        assert!((15.0..25.0).contains(&days), "{days}");
        assert!(table[1].eta_ms.is_none(), "{:#?}", table[1]);
    }

    #[test]
    fn a_resource_without_a_known_limit_or_fresh_data_is_left_out() {
        let now = 10 * HOUR;
        let mut snap = Snapshot::at(now);
        snap.push(Series::new(
            "redis_used_memory_bytes",
            &[("agent", "r"), ("instance", "i")],
            Kind::Gauge,
            vec![(now, 1e6)],
        ));
        snap.push(Series::new(
            "redis_maxmemory_bytes",
            &[("agent", "r"), ("instance", "i")],
            Kind::Gauge,
            vec![(now, 0.0)],
        ));
        snap.push(Series::new(
            "host_memory_used_bytes",
            &[("agent", "h")],
            Kind::Gauge,
            vec![(HOUR, 1e9)],
        ));
        snap.push(Series::new(
            "host_memory_total_bytes",
            &[("agent", "h")],
            Kind::Gauge,
            vec![(HOUR, 2e9)],
        ));
        assert!(compute(&snap, &Config::default(), 600_000).is_empty());
    }

    #[test]
    fn checkout_p95_is_read_per_bucket_from_the_route_histogram() {
        let mut snap = Snapshot::at(2 * HOUR);
        for (le, counts) in [
            ("100", [90.0, 10.0]),
            ("500", [99.0, 50.0]),
            ("+Inf", [100.0, 100.0]),
        ] {
            snap.push(Series::new(
                "http_route_latency_ms_bucket",
                &[("route", "/store/carts/:id/complete"), ("le", le)],
                Kind::Gauge,
                vec![(0, counts[0]), (HOUR, counts[1])],
            ));
        }
        let p95 = route_quantile_series(
            &snap,
            "http_route_latency_ms",
            "/store/carts/:id/complete",
            0.95,
            5.0,
        );
        assert_eq!(p95.len(), 2);
        assert!(p95[0].1 > 100.0 && p95[0].1 < 500.0, "{p95:?}");
        assert_eq!(p95[1].1, 500.0, "the top of the bounded buckets");
    }
}
