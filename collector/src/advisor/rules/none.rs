//! Rule `none`: when no resource needs scaling, say so, with each
//! resource's headroom and ETA; with too little history, say that instead.
//! Not scaling early is advice too. Fixes that are not about capacity
//! (an index, a setting) do not silence it; a resource near its limit, or
//! on course to reach it within the horizon, or a critical finding does.

use crate::advisor::needs::Need;
use crate::advisor::{Context, Evidence, Finding, RecKind, Severity, describe_eta};

/// Below this confidence a headroom figure is "not enough data yet".
/// `none` reads the other rules' findings and the headroom table, no series.
pub const NEEDS: &[Need] = &[];

pub const MIN_CONFIDENCE: f64 = crate::analysis::headroom::MIN_FORECAST_CONFIDENCE;
/// At or above this utilization a resource needs attention.
pub const BUSY_UTILIZATION: f64 = 0.8;
/// A resource reaching its limit within this many days needs attention.
pub const HORIZON_DAYS: i64 = 30;

/// The `none` finding, given what the other rules found this pass.
pub fn evaluate(ctx: &Context, others: &[Finding]) -> Vec<Finding> {
    let now = ctx.snapshot.now_ms;
    let at_risk = ctx
        .headroom
        .iter()
        .filter(|h| h.confidence >= MIN_CONFIDENCE)
        .any(|h| {
            h.utilization >= BUSY_UTILIZATION
                || h.eta_ms
                    .is_some_and(|eta| eta - now <= HORIZON_DAYS * 86_400_000)
        });
    if at_risk || others.iter().any(|f| f.severity == Severity::Critical) {
        return Vec::new();
    }
    let known: Vec<_> = ctx
        .headroom
        .iter()
        .filter(|h| h.confidence >= MIN_CONFIDENCE)
        .collect();
    if known.is_empty() {
        return vec![Finding {
            kind: RecKind::None,
            key: "not-enough-data".to_owned(),
            severity: Severity::Info,
            title: "Not enough data yet".to_owned(),
            summary: format!(
                "{} resource(s) are measured, none with enough history to forecast. Advice firms up as history accumulates: trends need hours, seasonality two full days or weeks.",
                ctx.headroom.len()
            ),
            action: "No action: keep the agents running.".to_owned(),
            evidence: ctx.headroom.iter().fold(Evidence::default(), |e, h| {
                e.fact(
                    &format!("{} history", h.resource),
                    h.history_ms as f64 / 3_600_000.0,
                    "hours",
                )
            }),
            confidence: 1.0,
        }];
    }
    let soonest = known.iter().filter_map(|h| h.eta_ms).min();
    let horizon = match soonest {
        Some(eta) => format!(
            "No action needed for {} days: the first resource to reach its limit at today's trend does so {}.",
            ((eta - now) / 86_400_000).max(0),
            describe_eta(now, eta)
        ),
        None => {
            "No action needed: no resource is on a course to its limit at today's trend.".to_owned()
        }
    };
    let mut evidence = Evidence::default();
    let mut lines = Vec::new();
    for h in &known {
        evidence = evidence.against(
            &format!("{} utilization", h.resource),
            h.utilization,
            "ratio",
            1.0,
        );
        lines.push(format!(
            "{}: {:.0}% used, {}",
            h.resource,
            h.utilization * 100.0,
            h.eta_ms
                .map_or("no ETA at the current trend".to_owned(), |eta| format!(
                    "limit {}",
                    describe_eta(now, eta)
                ))
        ));
    }
    let confidence = known.iter().map(|h| h.confidence).sum::<f64>() / known.len() as f64;
    vec![Finding {
        kind: RecKind::None,
        key: "no-action-needed".to_owned(),
        severity: Severity::Info,
        title: "No action needed".to_owned(),
        summary: format!("{horizon} {}.", lines.join("; ")),
        action: "No action: scaling now would be early. Headroom re-checks every analysis pass."
            .to_owned(),
        evidence: lines.into_iter().fold(evidence, |e, l| e.note(l)),
        confidence,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::Snapshot;
    use crate::advisor::rules::testing::run_rule;
    use crate::analysis::headroom::Headroom;

    const DAY: i64 = 86_400_000;

    fn headroom(resource: &str, eta_days: Option<i64>, confidence: f64) -> Headroom {
        Headroom {
            resource: resource.to_owned(),
            current: 50.0,
            limit: 100.0,
            utilization: 0.5,
            trend_per_day: eta_days.map(|d| 50.0 / d as f64),
            eta_ms: eta_days.map(|d| 1_000 * DAY + d * DAY),
            eta_earliest_ms: None,
            eta_latest_ms: None,
            confidence,
            samples: 500,
            history_ms: 20 * DAY,
        }
    }

    fn finding(severity: Severity) -> Finding {
        Finding {
            kind: RecKind::Cache,
            key: "k".into(),
            severity,
            title: String::new(),
            summary: String::new(),
            action: String::new(),
            evidence: Evidence::default(),
            confidence: 1.0,
        }
    }

    fn run(table: &[Headroom], others: &[Finding]) -> Vec<Finding> {
        let snapshot = Snapshot::at(1_000 * DAY);
        run_rule(|ctx| evaluate(ctx, others), &snapshot, table)
    }

    #[test]
    fn quiet_resources_get_no_action_needed_with_the_soonest_eta() {
        let table = [headroom("a", Some(140), 0.8), headroom("b", None, 0.9)];
        let out = run(&table, &[finding(Severity::Info)]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].key, "no-action-needed");
        assert!(
            out[0].summary.contains("No action needed for 140 days"),
            "{}",
            out[0].summary
        );
        assert!(
            out[0].summary.contains("b: 50% used, no ETA"),
            "{}",
            out[0].summary
        );
    }

    #[test]
    fn a_critical_finding_or_a_resource_at_risk_silences_no_action_needed() {
        let table = [headroom("a", None, 0.8)];
        assert_eq!(
            run(&table, &[finding(Severity::Warning)]).len(),
            1,
            "a fix is not scaling"
        );
        assert!(run(&table, &[finding(Severity::Critical)]).is_empty());
        assert_eq!(
            run(&[headroom("a", Some(HORIZON_DAYS + 1), 0.8)], &[]).len(),
            1
        );
        assert!(run(&[headroom("a", Some(HORIZON_DAYS), 0.8)], &[]).is_empty());
        let mut busy = headroom("a", None, 0.8);
        busy.utilization = BUSY_UTILIZATION;
        assert!(run(&[busy.clone()], &[]).is_empty());
        busy.utilization = BUSY_UTILIZATION - 0.01;
        assert_eq!(run(&[busy], &[]).len(), 1);
    }

    #[test]
    fn too_little_history_says_not_enough_data_yet() {
        let out = run(&[headroom("a", Some(3), 0.1)], &[]);
        assert_eq!(out[0].key, "not-enough-data");
        let out = run(&[], &[]);
        assert_eq!(out[0].title, "Not enough data yet");
    }
}
