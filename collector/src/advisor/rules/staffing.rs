//! Rule `staffing`: who should own what, by real order volume and revenue at
//! risk.
//!
//! Symptom: a store staffed for a volume it no longer has (or not yet).
//! Why it matters: 3,000 orders a month are well served by one full-stack
//! owner; 30,000 need the storefront and the backend owned apart, with a
//! staging environment and a rollback path; beyond 50,000 the
//! infrastructure needs its own owner and an on-call rotation. Separately,
//! when a minute of failed checkout costs enough, paying someone to answer
//! pages pays for itself.
//!
//! Volume comes from `medusa_orders_per_minute` (the Medusa source's
//! per-minute gauge): its time-weighted mean over the look-back when the
//! history covers at least [`Config::full_history_days`], else over the
//! history there is, × 43,200 minutes (30 days). Revenue at risk per minute
//! of checkout failure is orders per minute × average order value, which is
//! the order value per minute of each currency
//! (`medusa_order_value_per_minute{currency}`, in the currency's main unit):
//! currencies are never added together.
//!
//! The tier finding also states the alert pages of the last week (firing
//! notifications the alerts sent, by the kind of recommendation they were
//! about), as evidence of the load an owner would carry; they do not move
//! the tier.

use std::collections::BTreeMap;

use headroom_proto::signals::medusa::{MEDUSA_ORDER_VALUE_PER_MINUTE, MEDUSA_ORDERS_PER_MINUTE};

use serde::{Deserialize, Serialize};

use super::helpers::{labels, weighted_mean};
use crate::advisor::needs::{Need, lookback};
use crate::advisor::{Context, Evidence, Finding, RecKind, Severity, Snapshot};
use crate::analysis::{DAY_MS, HOUR_MS};

/// The confidence floor: findings of this rule below it are not emitted
/// (enforced in `rules::evaluate_all`). 0.3: an hour of order history scores just above 0.3; a month 0.9.
/// The series this rule reads (order volume over the look-back).
pub const NEEDS: &[Need] = &[
    lookback(&MEDUSA_ORDERS_PER_MINUTE),
    lookback(&MEDUSA_ORDER_VALUE_PER_MINUTE),
];

pub const MIN_CONFIDENCE: f64 = 0.3;

/// Minutes in the 30-day month the tiers are counted in.
pub(crate) const MINUTES_PER_MONTH: f64 = 43_200.0;

/// Thresholds of the `staffing` rule (`[advisor.staffing]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Orders per 30 days from which the storefront and the backend should
    /// be owned apart, with staging and a rollback path. Default 5,000.
    pub split_ownership_orders_per_month: f64,
    /// Orders per 30 days from which the infrastructure needs a dedicated
    /// owner and an on-call rotation. Default 50,000.
    pub dedicated_ops_orders_per_month: f64,
    /// Revenue at risk per hour of checkout failure (in each currency's main
    /// unit, as stored) from which an on-call rotation pays for itself.
    /// Default 1,000.
    pub on_call_revenue_per_hour: f64,
    /// Less history than this (hours) says nothing. Default 1.
    pub min_history_hours: f64,
    /// With at least this much history (days), the volume is the mean over
    /// the whole look-back (a full weekly cycle); below, the mean over the
    /// history there is, with a lower confidence. Default 7.
    pub full_history_days: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            split_ownership_orders_per_month: 5_000.0,
            dedicated_ops_orders_per_month: 50_000.0,
            on_call_revenue_per_hour: 1_000.0,
            min_history_hours: 1.0,
            full_history_days: 7.0,
        }
    }
}

/// The volume tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tier {
    Small,
    Medium,
    Large,
}

impl Tier {
    fn name(self) -> &'static str {
        match self {
            Tier::Small => "small",
            Tier::Medium => "medium",
            Tier::Large => "large",
        }
    }
}

/// Findings of this pass.
pub fn evaluate(ctx: &Context) -> Vec<Finding> {
    let config = &ctx.config.staffing;
    let snapshot = ctx.snapshot;
    let now = snapshot.now_ms;
    let since = now - ctx.config.lookback.0.as_millis() as i64;
    let mut out = Vec::new();
    for orders in snapshot.named(MEDUSA_ORDERS_PER_MINUTE.name) {
        let agent = orders.label("agent");
        if orders.fresh(now, ctx.config.stale_ms()).is_none() {
            continue;
        }
        let points = orders.since(since);
        let (Some(&(first, _)), Some(&(last, _))) = (points.first(), points.last()) else {
            continue;
        };
        let history_ms = last - first;
        if (history_ms as f64) < config.min_history_hours * HOUR_MS as f64 {
            continue;
        }
        let Some(per_minute) = weighted_mean(points) else {
            continue;
        };
        let full = history_ms as f64 >= config.full_history_days * DAY_MS as f64;
        // Whole orders: also keeps float noise off the tier boundaries.
        let per_month = (per_minute * MINUTES_PER_MONTH).round();
        let revenue = revenue_per_minute(snapshot, agent, first, last);
        out.push(tier_finding(
            ctx, agent, per_minute, per_month, history_ms, full, &revenue,
        ));
        if let Some(finding) = on_call_finding(
            ctx, agent, per_minute, per_month, history_ms, full, &revenue,
        ) {
            out.push(finding);
        }
    }
    out
}

/// Order value per minute by currency over `[first, last]`: what a minute of
/// failed checkout costs in each currency.
fn revenue_per_minute(
    snapshot: &Snapshot,
    agent: &str,
    first: i64,
    last: i64,
) -> BTreeMap<String, f64> {
    snapshot
        .matching(MEDUSA_ORDER_VALUE_PER_MINUTE.name, &[("agent", agent)])
        .filter_map(|s| {
            let start = s.points.partition_point(|&(t, _)| t < first);
            let end = s.points.partition_point(|&(t, _)| t <= last);
            let value = weighted_mean(&s.points[start..end])?;
            Some((s.label("currency").to_owned(), value))
        })
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

/// 0..1: a full 30 days of history is worth 0.9, a week about 0.65, an
/// hour 0.3.
fn confidence(history_ms: i64) -> f64 {
    let days = history_ms as f64 / DAY_MS as f64;
    (0.3 + 0.6 * (days / 30.0).min(1.0).sqrt()).min(0.9)
}

fn window_note(history_ms: i64, full: bool) -> String {
    let hours = history_ms as f64 / HOUR_MS as f64;
    if full {
        format!(
            "Volume is the time-weighted mean of medusa_orders_per_minute over {:.1} days of history, × 43,200 minutes.",
            hours / 24.0
        )
    } else {
        format!(
            "Only {hours:.1} hours of history: the monthly figure extrapolates them (× 43,200 minutes) and will move once a full week, with its weekend, is in."
        )
    }
}

fn add_revenue(
    mut evidence: Evidence,
    agent: &str,
    revenue: &BTreeMap<String, f64>,
    threshold: Option<f64>,
) -> Evidence {
    for (currency, per_minute) in revenue {
        let name = format!("revenue at risk per hour of checkout failure ({currency})");
        evidence = match threshold {
            Some(t) => evidence.against(&name, per_minute * 60.0, currency, t),
            None => evidence.fact(&name, per_minute * 60.0, currency),
        };
        evidence = evidence.series(
            MEDUSA_ORDER_VALUE_PER_MINUTE.name,
            &labels(&[("agent", agent), ("currency", currency)]),
            None,
        );
    }
    evidence
}

fn tier_finding(
    ctx: &Context,
    agent: &str,
    per_minute: f64,
    per_month: f64,
    history_ms: i64,
    full: bool,
    revenue: &BTreeMap<String, f64>,
) -> Finding {
    let config = &ctx.config.staffing;
    let tier = if per_month >= config.dedicated_ops_orders_per_month {
        Tier::Large
    } else if per_month >= config.split_ownership_orders_per_month {
        Tier::Medium
    } else {
        Tier::Small
    };
    let split = config.split_ownership_orders_per_month;
    let dedicated = config.dedicated_ops_orders_per_month;
    let (severity, title, summary, action) = match tier {
        Tier::Small => (
            Severity::Info,
            "One full-stack owner is enough at this volume".to_owned(),
            format!(
                "The store takes about {per_month:.0} orders a month, below {split:.0}: one full-stack owner of storefront, backend and hosting is fine. Nothing needs to change; splitting ownership now would add coordination without removing a risk."
            ),
            format!(
                "No staffing change needed. Revisit when orders approach {split:.0} a month; this recommendation changes when they do."
            ),
        ),
        Tier::Medium => (
            Severity::Info,
            "Split storefront and backend ownership".to_owned(),
            format!(
                "The store takes about {per_month:.0} orders a month ({split:.0}–{dedicated:.0}): one person owning storefront, backend and hosting becomes the bottleneck, and a bad deploy without staging or rollback costs real orders."
            ),
            "Give the storefront and the Medusa backend separate owners; deploy through a staging environment that mirrors production, and keep a tested one-step rollback (previous image or release) for both.".to_owned(),
        ),
        Tier::Large => (
            Severity::Warning,
            "Dedicate an owner to infrastructure and run on-call".to_owned(),
            format!(
                "The store takes about {per_month:.0} orders a month, at or above {dedicated:.0}: database, Redis, workers and deploys need an owner of their own, and outages outside working hours go unanswered without an on-call rotation."
            ),
            "Assign a dedicated infrastructure owner (database, Redis, workers, deploys) and set up an on-call rotation with paging on checkout failures and latency, in addition to split storefront/backend ownership with staging and rollback.".to_owned(),
        ),
    };
    // The threshold shown is the tier boundary that matters next.
    let boundary = if tier == Tier::Small {
        split
    } else {
        dedicated
    };
    let mut evidence = Evidence::default()
        .fact("orders per minute (mean)", per_minute, "orders/min")
        .against("orders per 30 days", per_month, "orders", boundary)
        .fact("history", history_ms as f64 / DAY_MS as f64, "days")
        .series(
            MEDUSA_ORDERS_PER_MINUTE.name,
            &labels(&[("agent", agent)]),
            None,
        )
        .note(window_note(history_ms, full))
        .note(format!("volume tier: {}", tier.name()));
    evidence = add_revenue(evidence, agent, revenue, None);
    evidence = add_pages(evidence, ctx.snapshot.alert_pages.as_deref());
    Finding {
        kind: RecKind::Staffing,
        key: format!("{agent}/tier:{}", tier.name()),
        severity,
        title,
        summary,
        action,
        evidence,
        confidence: confidence(history_ms),
    }
}

/// The last week's alert pages as a fact, and the kinds they were about.
fn add_pages(evidence: Evidence, pages: Option<&[(String, i64)]>) -> Evidence {
    let Some(pages) = pages else {
        return evidence.note("Alert pages were not counted.");
    };
    let total: i64 = pages.iter().map(|(_, n)| n).sum();
    let evidence = evidence.fact("alert pages in the last 7 days", total as f64, "pages");
    if total == 0 {
        return evidence.note(
            "No alert paged anyone in the last 7 days (no receiver configured, or nothing to send).",
        );
    }
    let by_kind: Vec<String> = pages
        .iter()
        .map(|(group, n)| format!("{} {n}", group.trim_start_matches("kind=")))
        .collect();
    evidence.note(format!("alert pages by kind: {}", by_kind.join(", ")))
}

fn on_call_finding(
    ctx: &Context,
    agent: &str,
    per_minute: f64,
    per_month: f64,
    history_ms: i64,
    full: bool,
    revenue: &BTreeMap<String, f64>,
) -> Option<Finding> {
    let config = &ctx.config.staffing;
    // The large tier's advice already includes on-call.
    if per_month >= config.dedicated_ops_orders_per_month {
        return None;
    }
    let threshold = config.on_call_revenue_per_hour;
    let (currency, top) = revenue
        .iter()
        .map(|(c, v)| (c.as_str(), v * 60.0))
        .filter(|(_, hourly)| *hourly >= threshold)
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let mut evidence =
        Evidence::default().fact("orders per minute (mean)", per_minute, "orders/min");
    if revenue.len() == 1 && per_minute > 0.0 {
        evidence = evidence.fact(
            &format!("average order value ({currency})"),
            revenue[currency] / per_minute,
            currency,
        );
    }
    evidence = add_revenue(evidence, agent, revenue, Some(threshold))
        .series(
            MEDUSA_ORDERS_PER_MINUTE.name,
            &labels(&[("agent", agent)]),
            None,
        )
        .note(window_note(history_ms, full))
        .note("Revenue at risk is the average hour's; peak hours cost more.");
    Some(Finding {
        kind: RecKind::Staffing,
        key: format!("{agent}/on_call"),
        severity: Severity::Warning,
        title: "A checkout outage costs enough to pay for on-call".to_owned(),
        summary: format!(
            "An hour of failed checkout costs about {top:.0} {currency} in orders (threshold {threshold:.0}), yet at about {per_month:.0} orders a month the store may have no one paged when it breaks: an outage at night lasts until someone happens to notice."
        ),
        action: "Set up an on-call rotation (even two people alternating weekly) paged by checkout failure and checkout latency alerts, with a written runbook for restarting the server, worker, Redis and rolling back a deploy.".to_owned(),
        evidence,
        confidence: confidence(history_ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::Series;
    use crate::advisor::rules::testing::{keys, run_rule};
    use crate::analysis::MINUTE_MS;
    use crate::store::model::Kind;

    const NOW: i64 = 40 * DAY_MS;

    /// `hours` of hourly points ending now, each `per_minute`.
    fn store(hours: i64, per_minute: f64, value_per_minute: &[(&str, f64)]) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        let points = |v: f64| {
            (0..=hours)
                .map(|h| (NOW - (hours - h) * HOUR_MS, v))
                .collect::<Vec<_>>()
        };
        snap.push(Series::new(
            "medusa_orders_per_minute",
            &[("agent", "shop")],
            Kind::Gauge,
            points(per_minute),
        ));
        for &(currency, v) in value_per_minute {
            snap.push(Series::new(
                "medusa_order_value_per_minute",
                &[("agent", "shop"), ("currency", currency)],
                Kind::Gauge,
                points(v),
            ));
        }
        snap
    }

    fn run(snap: &Snapshot) -> Vec<Finding> {
        run_rule(evaluate, snap, &[])
    }

    /// Orders per minute that make `per_month` orders in 30 days.
    fn per_minute(per_month: f64) -> f64 {
        per_month / MINUTES_PER_MONTH
    }

    #[test]
    fn a_small_store_is_told_one_owner_is_fine() {
        let findings = run(&store(10 * 24, per_minute(3_000.0), &[("eur", 1.0)]));
        assert_eq!(keys(&findings), ["shop/tier:small"]);
        let f = &findings[0];
        assert_eq!(f.severity, Severity::Info);
        assert!(f.summary.contains("3000 orders a month"), "{}", f.summary);
        assert!(f.action.starts_with("No staffing change needed"));
    }

    #[test]
    fn just_below_the_split_threshold_stays_small() {
        let findings = run(&store(10 * 24, per_minute(4_999.0), &[]));
        assert_eq!(keys(&findings), ["shop/tier:small"]);
    }

    #[test]
    fn at_the_split_threshold_ownership_is_split() {
        let findings = run(&store(10 * 24, per_minute(5_000.0), &[]));
        assert_eq!(keys(&findings), ["shop/tier:medium"]);
        assert!(findings[0].action.contains("staging"));
        assert!(findings[0].action.contains("rollback"));
        // The dashboard reads the tier from this note.
        assert!(
            findings[0]
                .evidence
                .notes
                .contains(&"volume tier: medium".to_owned()),
            "{:?}",
            findings[0].evidence.notes
        );
    }

    #[test]
    fn above_the_split_threshold_ownership_is_split() {
        let findings = run(&store(10 * 24, per_minute(20_000.0), &[]));
        assert_eq!(keys(&findings), ["shop/tier:medium"]);
    }

    #[test]
    fn below_at_and_above_the_dedicated_threshold() {
        assert_eq!(
            keys(&run(&store(10 * 24, per_minute(49_999.0), &[]))),
            ["shop/tier:medium"]
        );
        let at = run(&store(10 * 24, per_minute(50_000.0), &[]));
        assert_eq!(keys(&at), ["shop/tier:large"]);
        assert_eq!(at[0].severity, Severity::Warning);
        assert_eq!(
            keys(&run(&store(10 * 24, per_minute(90_000.0), &[]))),
            ["shop/tier:large"]
        );
    }

    #[test]
    fn less_than_an_hour_of_orders_says_nothing() {
        let mut snap = Snapshot::at(NOW);
        snap.push(Series::new(
            "medusa_orders_per_minute",
            &[("agent", "shop")],
            Kind::Gauge,
            (0..59).map(|m| (NOW - (58 - m) * MINUTE_MS, 5.0)).collect(),
        ));
        assert!(run(&snap).is_empty());
    }

    #[test]
    fn exactly_an_hour_of_orders_is_enough_with_low_confidence() {
        let mut snap = Snapshot::at(NOW);
        snap.push(Series::new(
            "medusa_orders_per_minute",
            &[("agent", "shop")],
            Kind::Gauge,
            (0..=60)
                .map(|m| (NOW - (60 - m) * MINUTE_MS, 0.05))
                .collect(),
        ));
        let findings = run(&snap);
        assert_eq!(keys(&findings), ["shop/tier:small"]);
        assert!(findings[0].confidence < 0.4, "{}", findings[0].confidence);
        assert!(findings[0].evidence.notes[0].starts_with("Only 1.0 hours"));
    }

    #[test]
    fn a_stale_orders_series_says_nothing() {
        let mut snap = store(10 * 24, per_minute(20_000.0), &[]);
        snap.now_ms = NOW + 2 * HOUR_MS;
        assert!(run(&snap).is_empty());
    }

    #[test]
    fn a_long_history_averages_the_whole_lookback_with_more_confidence() {
        let mut snap = Snapshot::at(NOW);
        // 20 quiet days then 10 busy ones: the month is their mix.
        let points = (0..=30 * 24)
            .map(|h| {
                let t = NOW - (30 * 24 - h) * HOUR_MS;
                (
                    t,
                    if h < 20 * 24 {
                        per_minute(3_000.0)
                    } else {
                        per_minute(12_000.0)
                    },
                )
            })
            .collect();
        snap.push(Series::new(
            "medusa_orders_per_minute",
            &[("agent", "shop")],
            Kind::Gauge,
            points,
        ));
        let findings = run(&snap);
        assert_eq!(keys(&findings), ["shop/tier:medium"]);
        let month = findings[0].evidence.facts[1].value;
        assert!((5_900.0..6_100.0).contains(&month), "{month}");
        assert!(findings[0].confidence > 0.85);
    }

    #[test]
    fn on_call_is_recommended_at_and_above_the_revenue_threshold_only() {
        // 3,000 orders a month at 1,000/h revenue: exactly the threshold.
        let at = run(&store(
            10 * 24,
            per_minute(3_000.0),
            &[("usd", 1_000.0 / 60.0)],
        ));
        assert_eq!(keys(&at), ["shop/tier:small", "shop/on_call"]);
        assert!(at[1].summary.contains("1000 usd"), "{}", at[1].summary);
        let below = run(&store(
            10 * 24,
            per_minute(3_000.0),
            &[("usd", 999.0 / 60.0)],
        ));
        assert_eq!(keys(&below), ["shop/tier:small"]);
        let above = run(&store(
            10 * 24,
            per_minute(20_000.0),
            &[("usd", 5_000.0 / 60.0)],
        ));
        assert_eq!(keys(&above), ["shop/tier:medium", "shop/on_call"]);
    }

    #[test]
    fn currencies_are_never_added_together() {
        let findings = run(&store(
            10 * 24,
            per_minute(3_000.0),
            &[("usd", 600.0 / 60.0), ("eur", 600.0 / 60.0)],
        ));
        assert_eq!(keys(&findings), ["shop/tier:small"]);
    }

    #[test]
    fn the_large_tier_carries_on_call_without_a_second_finding() {
        let findings = run(&store(
            10 * 24,
            per_minute(60_000.0),
            &[("usd", 50_000.0 / 60.0)],
        ));
        assert_eq!(keys(&findings), ["shop/tier:large"]);
        assert!(findings[0].action.contains("on-call"));
    }

    #[test]
    fn average_order_value_is_shown_for_a_single_currency() {
        let findings = run(&store(
            10 * 24,
            per_minute(10_000.0),
            &[("usd", 100.0 * per_minute(10_000.0) * 10.0)],
        ));
        let on_call = findings.iter().find(|f| f.key == "shop/on_call");
        // 10,000/month ≈ 0.23 orders/min × 1,000 usd × 60 ≈ 13,900 usd/h.
        let on_call = on_call.expect("on-call finding");
        let aov = on_call
            .evidence
            .facts
            .iter()
            .find(|f| f.name == "average order value (usd)")
            .expect("aov");
        assert!((aov.value - 1_000.0).abs() < 1e-6);
    }

    #[test]
    fn the_tier_states_last_weeks_alert_pages_by_kind() {
        let mut snap = store(48, per_minute(3_000.0), &[]);
        let tier = |snap: &Snapshot| run(snap).remove(0).evidence;
        assert!(
            tier(&snap)
                .notes
                .iter()
                .any(|n| n == "Alert pages were not counted.")
        );
        snap.alert_pages = Some(Vec::new());
        let none = tier(&snap);
        let fact = |e: &Evidence| {
            e.facts
                .iter()
                .find(|f| f.name == "alert pages in the last 7 days")
                .map(|f| f.value)
        };
        assert_eq!(fact(&none), Some(0.0));
        assert!(
            none.notes
                .iter()
                .any(|n| n.starts_with("No alert paged anyone"))
        );
        snap.alert_pages = Some(vec![("kind=database".into(), 4), ("kind=index".into(), 2)]);
        let some = tier(&snap);
        assert_eq!(fact(&some), Some(6.0));
        assert!(
            some.notes
                .iter()
                .any(|n| n == "alert pages by kind: database 4, index 2"),
            "{:?}",
            some.notes
        );
    }
}
