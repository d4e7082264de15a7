//! The rules: one per file, each a pure function of the pass's context
//! returning its findings, each with the confidence floor it declares
//! (`MIN_CONFIDENCE` in its file). [`evaluate_all`] runs them, drops every
//! finding below its rule's floor, folds symptoms into the causes already
//! advised (`rules::fold`), and runs `none` last over what is left.

pub mod app;
pub mod big_scans;
pub mod cache;
pub mod cdn;
pub mod database;
pub mod drop_index;
pub mod fold;
pub mod helpers;
pub mod index;
pub mod integrity;
pub mod none;
pub mod staffing;
#[cfg(test)]
mod testing;

use super::needs::Need;
use super::{Context, Finding};

/// A rule: the context in, findings out.
pub type Rule = fn(&Context) -> Vec<Finding>;

/// A rule with its name, confidence floor and the series it reads.
#[derive(Debug, Clone, Copy)]
pub struct RuleSpec {
    pub name: &'static str,
    pub evaluate: Rule,
    /// Findings below this confidence are not emitted.
    pub min_confidence: f64,
    /// The series it reads and how far back (`NEEDS` in its file): the
    /// loader reads exactly what the readers declare (`advisor::plan`).
    pub needs: &'static [Need],
}

/// Every rule but `none`, causes first (the fold reads them as such).
pub const RULES: &[RuleSpec] = &[
    RuleSpec {
        name: "index",
        evaluate: index::evaluate,
        min_confidence: index::MIN_CONFIDENCE,
        needs: index::NEEDS,
    },
    RuleSpec {
        name: "big_scans",
        evaluate: big_scans::evaluate,
        min_confidence: big_scans::MIN_CONFIDENCE,
        needs: big_scans::NEEDS,
    },
    RuleSpec {
        name: "drop_index",
        evaluate: drop_index::evaluate,
        min_confidence: drop_index::MIN_CONFIDENCE,
        needs: drop_index::NEEDS,
    },
    RuleSpec {
        name: "cache",
        evaluate: cache::evaluate,
        min_confidence: cache::MIN_CONFIDENCE,
        needs: cache::NEEDS,
    },
    RuleSpec {
        name: "cdn",
        evaluate: cdn::evaluate,
        min_confidence: cdn::MIN_CONFIDENCE,
        needs: cdn::NEEDS,
    },
    RuleSpec {
        name: "database",
        evaluate: database::evaluate,
        min_confidence: database::MIN_CONFIDENCE,
        needs: database::NEEDS,
    },
    RuleSpec {
        name: "app",
        evaluate: app::evaluate,
        min_confidence: app::MIN_CONFIDENCE,
        needs: app::NEEDS,
    },
    RuleSpec {
        name: "staffing",
        evaluate: staffing::evaluate,
        min_confidence: staffing::MIN_CONFIDENCE,
        needs: staffing::NEEDS,
    },
    RuleSpec {
        name: "integrity",
        evaluate: integrity::evaluate,
        min_confidence: integrity::MIN_CONFIDENCE,
        needs: integrity::NEEDS,
    },
];

/// Runs every rule, then `none` over their findings.
pub fn evaluate_all(ctx: &Context) -> Vec<Finding> {
    evaluate_rules(ctx, RULES, &mut Vec::new())
}

/// One rule's run in a pass: when it started, how long it took, what it
/// found (before the fold). The engine turns these into the pass's child
/// spans; the rules stay free of I/O.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRun {
    pub name: &'static str,
    pub started: std::time::SystemTime,
    pub elapsed: std::time::Duration,
    pub findings: usize,
}

/// [`evaluate_all`], also saying how each rule's run went (`none` last).
pub fn evaluate_all_timed(ctx: &Context) -> (Vec<Finding>, Vec<RuleRun>) {
    let mut runs = Vec::with_capacity(RULES.len() + 1);
    let findings = evaluate_rules(ctx, RULES, &mut runs);
    (findings, runs)
}

/// Runs `evaluate`, recording its run as `name` in `runs`.
fn timed(
    name: &'static str,
    runs: &mut Vec<RuleRun>,
    evaluate: impl FnOnce() -> Vec<Finding>,
) -> Vec<Finding> {
    let started = std::time::SystemTime::now();
    let clock = std::time::Instant::now();
    let findings = evaluate();
    runs.push(RuleRun {
        name,
        started,
        elapsed: clock.elapsed(),
        findings: findings.len(),
    });
    findings
}

/// Whether `finding` clears `floor` (a NaN confidence never does).
fn clears(finding: &Finding, floor: f64) -> bool {
    finding.confidence >= floor
}

/// [`evaluate_all`] over `rules`: gate, fold, then `none`; each rule's run
/// goes to `runs`.
fn evaluate_rules(ctx: &Context, rules: &[RuleSpec], runs: &mut Vec<RuleRun>) -> Vec<Finding> {
    let mut gated = Vec::new();
    for rule in rules {
        let found = timed(rule.name, runs, || (rule.evaluate)(ctx));
        gated.extend(found.into_iter().filter(|f| clears(f, rule.min_confidence)));
    }
    let mut findings = fold::fold(ctx, gated);
    let none = timed("none", runs, || none::evaluate(ctx, &findings));
    findings.extend(none.into_iter().filter(|f| clears(f, none::MIN_CONFIDENCE)));
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::{AdvisorConfig, Evidence, RecKind, Severity, Snapshot};

    fn finding(key: &str, confidence: f64) -> Finding {
        Finding {
            kind: RecKind::App,
            key: key.to_owned(),
            severity: Severity::Warning,
            title: key.to_owned(),
            summary: String::new(),
            action: String::new(),
            evidence: Evidence::default(),
            confidence,
        }
    }

    fn unsure(_: &Context) -> Vec<Finding> {
        vec![
            finding("zero", 0.0),
            finding("nan", f64::NAN),
            finding("just below", 0.299),
            finding("at", 0.3),
            finding("above", 0.9),
        ]
    }

    #[test]
    fn no_finding_below_its_rules_floor_is_emitted() {
        let config = AdvisorConfig::default();
        let snapshot = Snapshot::at(0);
        let ctx = Context {
            snapshot: &snapshot,
            headroom: &[],
            config: &config,
        };
        let rules = [RuleSpec {
            name: "unsure",
            evaluate: unsure,
            min_confidence: 0.3,
            needs: &[],
        }];
        let mut runs = Vec::new();
        let keys: Vec<String> = evaluate_rules(&ctx, &rules, &mut runs)
            .into_iter()
            .filter(|f| f.kind != RecKind::None)
            .map(|f| f.key)
            .collect();
        assert_eq!(keys, ["at", "above"]);
        let names: Vec<&str> = runs.iter().map(|r| r.name).collect();
        assert_eq!(names, ["unsure", "none"], "each rule's run is recorded");
        assert_eq!(runs[0].findings, 5, "what it found before the gate");
    }

    #[test]
    fn every_rule_declares_a_floor_in_0_1_and_the_readme_lists_it() {
        let readme = include_str!("../../../../README.md");
        let mut all: Vec<(&str, f64)> = RULES.iter().map(|r| (r.name, r.min_confidence)).collect();
        all.push(("none", none::MIN_CONFIDENCE));
        for (name, floor) in all {
            assert!(
                (0.0..=1.0).contains(&floor) && floor > 0.0,
                "{name}: {floor}"
            );
            let row = format!("| `{name}` |");
            let line = readme
                .lines()
                .find(|l| l.starts_with(&row))
                .unwrap_or_else(|| panic!("README's advice table has no row {row}"));
            assert!(
                line.contains(&format!("| {floor:.2} |")),
                "README's row for {name} does not state its floor {floor:.2}: {line}"
            );
        }
    }
}
