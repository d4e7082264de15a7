//! What the rules' tests share: running one rule over a snapshot and
//! picking findings by key.

use super::Finding;
use crate::advisor::{AdvisorConfig, Context, Snapshot};
use crate::analysis::headroom::Headroom;

/// Runs `rule` over `snapshot` and `headroom` with `config`.
pub(crate) fn run_rule_with<T>(
    rule: impl FnOnce(&Context) -> T,
    snapshot: &Snapshot,
    headroom: &[Headroom],
    config: &AdvisorConfig,
) -> T {
    rule(&Context {
        snapshot,
        headroom,
        config,
    })
}

/// Runs `rule` over `snapshot` and `headroom` with the default config.
pub(crate) fn run_rule<T>(
    rule: impl FnOnce(&Context) -> T,
    snapshot: &Snapshot,
    headroom: &[Headroom],
) -> T {
    run_rule_with(rule, snapshot, headroom, &AdvisorConfig::default())
}

/// The findings' keys, in order.
pub(crate) fn keys(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.key.as_str()).collect()
}

/// The findings whose key starts with `prefix`.
pub(crate) fn keyed<'a>(found: &'a [Finding], prefix: &str) -> Vec<&'a Finding> {
    found.iter().filter(|f| f.key.starts_with(prefix)).collect()
}
