//! Rule `integrity`: inventory reserved beyond stock.
//!
//! Symptom: Medusa inventory levels whose `reserved_quantity` exceeds their
//! `stocked_quantity` (the agent's `medusa_inventory_oversold_levels` and
//! `medusa_inventory_oversold_units`). Why it matters: those items are sold
//! to customers who will not get them, and availability shown on the store
//! is wrong until someone fixes the numbers. The fix: find the levels with a
//! read-only query, correct stock or reservations in the admin, and remove
//! the cause (concurrent cart completions on the same item, manual edits,
//! an import that overwrote stock).

use headroom_proto::signals::medusa::{
    MEDUSA_INVENTORY_OVERSOLD_LEVELS, MEDUSA_INVENTORY_OVERSOLD_UNITS,
};

use serde::{Deserialize, Serialize};

use crate::advisor::needs::{Need, recent};
use crate::advisor::{Context, Evidence, Finding, RecKind, Severity};

/// The confidence floor: findings of this rule below it are not emitted
/// (enforced in `rules::evaluate_all`). 0.5: one reading of oversold levels scores 0.6; a count of zero never fires.
/// The series this rule reads.
pub const NEEDS: &[Need] = &[
    recent(&MEDUSA_INVENTORY_OVERSOLD_LEVELS),
    recent(&MEDUSA_INVENTORY_OVERSOLD_UNITS),
];

pub const MIN_CONFIDENCE: f64 = 0.5;

/// Thresholds of the `integrity` rule (`[advisor.integrity]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Units reserved beyond stock, summed over the oversold levels, above
    /// which the finding is critical rather than a warning. Default 10.
    pub critical_units: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            critical_units: 10.0,
        }
    }
}

/// The read-only query that lists the oversold levels.
const FIND_SQL: &str = "SELECT inventory_item_id, location_id, stocked_quantity, reserved_quantity \
     FROM inventory_level WHERE deleted_at IS NULL AND reserved_quantity > stocked_quantity \
     ORDER BY reserved_quantity - stocked_quantity DESC";

/// Findings of this pass: one per agent whose latest fresh reading counts
/// oversold inventory levels.
pub fn evaluate(ctx: &Context) -> Vec<Finding> {
    let config = &ctx.config.integrity;
    let now = ctx.snapshot.now_ms;
    let stale = ctx.config.stale_ms();
    let mut out = Vec::new();
    for levels in ctx.snapshot.named(MEDUSA_INVENTORY_OVERSOLD_LEVELS.name) {
        let Some(count) = levels.fresh(now, stale) else {
            continue;
        };
        if count <= 0.0 {
            continue;
        }
        let agent = levels.label("agent");
        let units_series = ctx
            .snapshot
            .find(MEDUSA_INVENTORY_OVERSOLD_UNITS.name, &[("agent", agent)]);
        let units = units_series.and_then(|s| s.fresh(now, stale));
        let severity = if units.is_some_and(|u| u > config.critical_units) {
            Severity::Critical
        } else {
            Severity::Warning
        };
        // How many consecutive latest readings saw oversold levels: one
        // reading may be a completion caught mid-way, several are a state.
        let streak = levels
            .points
            .iter()
            .rev()
            .take_while(|&&(_, v)| v > 0.0)
            .count();
        let confidence = (0.5 + 0.1 * streak as f64).min(0.95);
        let units_text = units.map_or_else(String::new, |u| format!(" ({u:.0} units)"));
        let mut evidence = Evidence::default()
            .fact("inventory levels reserved beyond stock", count, "levels")
            .fact(
                "consecutive readings with oversold levels",
                streak as f64,
                "readings",
            )
            .series(
                MEDUSA_INVENTORY_OVERSOLD_LEVELS.name,
                &levels.labels,
                Some(0.0),
            );
        if let Some(u) = units {
            evidence = evidence.against(
                "units reserved beyond stock",
                u,
                "units",
                config.critical_units,
            );
        }
        if let Some(s) = units_series {
            evidence = evidence.series(
                MEDUSA_INVENTORY_OVERSOLD_UNITS.name,
                &s.labels,
                Some(config.critical_units),
            );
        }
        out.push(Finding {
            kind: RecKind::Integrity,
            key: format!("oversold/{agent}"),
            severity,
            title: "Inventory reserved beyond stock".to_owned(),
            summary: format!(
                "{count:.0} inventory levels{units_text} have more units reserved than stocked: \
                 customers can buy items the store does not have, and the storefront may show \
                 them as available. If nothing is done, those orders cannot be fulfilled and \
                 further orders keep reserving stock that does not exist."
            ),
            action: format!(
                "List the levels with a read-only query: `{FIND_SQL}`. Correct stocked or \
                 reserved quantities in the admin (Inventory), and look for the cause: \
                 concurrent completions of carts holding the same item (cart-completion \
                 races), manual edits or imports that lowered stock below existing \
                 reservations, or reservations left behind by cancelled orders."
            ),
            evidence,
            confidence,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::rules::testing::run_rule;
    use crate::advisor::{AdvisorConfig, Series, Snapshot};
    use crate::store::model::Kind;

    const MIN: i64 = 60_000;
    const NOW: i64 = 1_000 * MIN;

    fn snapshot(levels: &[f64], units: Option<f64>, last_ms: i64) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        let n = levels.len() as i64;
        let points = levels
            .iter()
            .enumerate()
            .map(|(i, &v)| (last_ms - (n - 1 - i as i64) * MIN, v))
            .collect();
        snap.push(Series::new(
            "medusa_inventory_oversold_levels",
            &[("agent", "shop")],
            Kind::Gauge,
            points,
        ));
        if let Some(u) = units {
            snap.push(Series::new(
                "medusa_inventory_oversold_units",
                &[("agent", "shop")],
                Kind::Gauge,
                vec![(last_ms, u)],
            ));
        }
        snap
    }

    fn run(snap: &Snapshot) -> Vec<Finding> {
        run_rule(evaluate, snap, &[])
    }

    #[test]
    fn no_oversold_levels_give_no_finding() {
        assert!(run(&snapshot(&[0.0, 0.0], Some(0.0), NOW)).is_empty());
    }

    #[test]
    fn units_at_the_threshold_are_a_warning() {
        let found = run(&snapshot(&[2.0, 2.0], Some(10.0), NOW));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Warning);
        assert_eq!(found[0].key, "oversold/shop");
        assert!(
            found[0]
                .action
                .contains("reserved_quantity > stocked_quantity")
        );
    }

    #[test]
    fn units_below_the_threshold_are_a_warning() {
        let found = run(&snapshot(&[1.0], Some(3.0), NOW));
        assert_eq!(found[0].severity, Severity::Warning);
    }

    #[test]
    fn units_above_the_threshold_are_critical() {
        let found = run(&snapshot(&[3.0], Some(11.0), NOW));
        assert_eq!(found[0].severity, Severity::Critical);
        assert!(found[0].summary.contains("11 units"));
    }

    #[test]
    fn a_stale_reading_is_too_little_data() {
        let old = NOW - AdvisorConfig::default().stale_ms() - MIN;
        assert!(run(&snapshot(&[5.0], Some(50.0), old)).is_empty());
        assert!(run(&Snapshot::at(NOW)).is_empty());
    }

    #[test]
    fn only_the_latest_reading_counts() {
        assert!(run(&snapshot(&[4.0, 4.0, 0.0], Some(0.0), NOW)).is_empty());
    }

    #[test]
    fn confidence_grows_with_consecutive_oversold_readings() {
        let one = run(&snapshot(&[0.0, 1.0], None, NOW));
        let many = run(&snapshot(&[1.0, 1.0, 1.0, 1.0], None, NOW));
        assert!(many[0].confidence > one[0].confidence);
        assert_eq!(one[0].severity, Severity::Warning, "no units: a warning");
    }
}
