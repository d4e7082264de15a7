//! The whole advisor (headroom table, every rule, `none`) on synthetic
//! 30-day histories with known truth: flat, daily and weekly cycles, a
//! one-off sale spike and a level shift must not produce advice to scale;
//! linear growth and growth with a daily cycle get an ETA close to the
//! true crossing time; fast growth gets a warning.

use headroom_proto::signals::postgres::{
    PG_CONNECTIONS_TOTAL, PG_MAX_CONNECTIONS, PG_SUPERUSER_RESERVED_CONNECTIONS,
};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{AdvisorConfig, Finding, RecKind, Series, Severity, Snapshot, load, plan};
use crate::analysis::headroom::Headroom;
use crate::analysis::{DAY_MS, HOUR_MS};
use crate::store::model::Kind;

const DAYS: i64 = 30;
/// `max_connections` 103 with 3 reserved: a limit of 100.
const MAX: f64 = 103.0;
const RESERVED: f64 = 3.0;

/// Hourly connections over 30 days from `level(day as f64)`, with noise.
fn snapshot(seed: u64, level: impl Fn(f64) -> f64) -> Snapshot {
    let now = DAYS * DAY_MS;
    let mut rng = StdRng::seed_from_u64(seed);
    let points: Vec<(i64, f64)> = (0..=DAYS * 24)
        .map(|h| {
            let t = h * HOUR_MS;
            let noise: f64 = rng.random_range(-1.5..1.5);
            (t, (level(t as f64 / DAY_MS as f64) + noise).max(0.0))
        })
        .collect();
    let mut snap = Snapshot::at(now);
    let agent = [("agent", "db")];
    snap.push(Series::new(
        PG_CONNECTIONS_TOTAL.name,
        &agent,
        Kind::Gauge,
        points,
    ));
    snap.push(Series::new(
        PG_MAX_CONNECTIONS.name,
        &agent,
        Kind::Gauge,
        vec![(now, MAX)],
    ));
    snap.push(Series::new(
        PG_SUPERUSER_RESERVED_CONNECTIONS.name,
        &agent,
        Kind::Gauge,
        vec![(now, RESERVED)],
    ));
    snap
}

fn advise(snap: &Snapshot) -> (Vec<Headroom>, Vec<Finding>) {
    let config = AdvisorConfig::default();
    let run = |snapshot: &Snapshot| super::advise(snapshot, &config);
    let advice = run(snap);
    // What the loader would have read gives the same advice.
    let loaded = plan::restrict(snap, load::recent_start(&config, snap.now_ms));
    assert_eq!(run(&loaded), advice, "the advisor reads undeclared series");
    advice
}

fn daily(day: f64) -> f64 {
    (day * std::f64::consts::TAU).sin()
}

/// No advice to scale: only `none`, saying no action is needed.
fn assert_no_scaling(name: &str, snap: &Snapshot) {
    let (table, findings) = advise(snap);
    assert_eq!(table.len(), 1, "{name}: {table:#?}");
    assert!(
        table[0].eta_ms.is_none(),
        "{name}: an ETA on a history without growth: {:#?}",
        table[0]
    );
    let others: Vec<_> = findings
        .iter()
        .filter(|f| f.kind != RecKind::None)
        .collect();
    assert!(others.is_empty(), "{name}: {others:#?}");
    let none: Vec<_> = findings
        .iter()
        .filter(|f| f.kind == RecKind::None)
        .collect();
    assert_eq!(none.len(), 1, "{name}: {findings:#?}");
    assert_eq!(none[0].key, "no-action-needed", "{name}: {:#?}", none[0]);
}

fn eta_days(table: &[Headroom]) -> f64 {
    let eta = table[0].eta_ms.expect("an ETA");
    (eta - DAYS * DAY_MS) as f64 / DAY_MS as f64
}

#[test]
fn a_flat_history_needs_no_scaling() {
    assert_no_scaling("flat", &snapshot(1, |_| 40.0));
}

#[test]
fn a_daily_cycle_without_growth_needs_no_scaling() {
    assert_no_scaling("daily", &snapshot(2, |d| 40.0 + 16.0 * daily(d)));
}

#[test]
fn a_weekly_cycle_without_growth_needs_no_scaling() {
    assert_no_scaling(
        "weekly",
        &snapshot(3, |d| if d.rem_euclid(7.0) >= 5.0 { 25.0 } else { 45.0 }),
    );
}

#[test]
fn a_one_off_sale_spike_needs_no_scaling() {
    assert_no_scaling(
        "spike",
        &snapshot(4, |d| {
            if (20.0..20.25).contains(&d) {
                90.0
            } else {
                40.0
            }
        }),
    );
}

#[test]
fn a_level_shift_after_a_deploy_is_not_growth() {
    assert_no_scaling(
        "shift",
        &snapshot(5, |d| if d >= 18.0 { 48.0 } else { 30.0 }),
    );
}

#[test]
fn linear_growth_gets_an_eta_within_15_percent_and_no_action_yet() {
    // 20 + 1/day: 50 now, the limit of 100 in 50 days.
    let (table, findings) = advise(&snapshot(6, |d| 20.0 + d));
    let days = eta_days(&table);
    assert!(
        (days - 50.0).abs() <= 0.15 * 50.0,
        "ETA {days:.1} days, truth 50"
    );
    let none = findings
        .iter()
        .find(|f| f.kind == RecKind::None)
        .expect("none");
    assert!(
        none.summary.contains("No action needed for"),
        "{}",
        none.summary
    );
}

#[test]
fn growth_with_a_daily_cycle_gets_an_eta_within_25_percent() {
    // 20 + 1/day + 10 at the daily peak: the peak reaches 100 at day 70,
    // 40 days from now.
    let (table, _) = advise(&snapshot(7, |d| 20.0 + d + 10.0 * daily(d)));
    let days = eta_days(&table);
    assert!(
        (days - 40.0).abs() <= 0.25 * 40.0,
        "ETA {days:.1} days, truth 40"
    );
}

#[test]
fn fast_growth_toward_the_limit_is_a_warning_not_no_action() {
    // 2.5/day from 5: 80 now, the limit in 8 days.
    let (table, findings) = advise(&snapshot(8, |d| 5.0 + 2.5 * d));
    let days = eta_days(&table);
    assert!(
        (days - 8.0).abs() <= 0.15 * 8.0 + 0.5,
        "ETA {days:.1} days, truth 8"
    );
    assert!(
        findings.iter().all(|f| f.kind != RecKind::None),
        "{findings:#?}"
    );
    assert!(
        findings
            .iter()
            .any(|f| f.kind == RecKind::Database && f.severity >= Severity::Warning),
        "{findings:#?}"
    );
}
