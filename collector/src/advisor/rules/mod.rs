//! The rules: one per file, each a pure function of the pass's context
//! returning its findings. `none` runs last, over what the others found.

pub mod app;
pub mod big_scans;
pub mod cache;
pub mod cdn;
pub mod database;
pub mod drop_index;
pub mod index;
pub mod integrity;
pub mod none;
pub mod staffing;

use super::{Context, Finding};

/// A rule: the context in, findings out.
pub type Rule = fn(&Context) -> Vec<Finding>;

/// Every rule but `none`, by name.
pub const RULES: &[(&str, Rule)] = &[
    ("index", index::evaluate),
    ("drop_index", drop_index::evaluate),
    ("big_scans", big_scans::evaluate),
    ("cache", cache::evaluate),
    ("cdn", cdn::evaluate),
    ("database", database::evaluate),
    ("app", app::evaluate),
    ("staffing", staffing::evaluate),
    ("integrity", integrity::evaluate),
];

/// Runs every rule, then `none` over their findings.
pub fn evaluate_all(ctx: &Context) -> Vec<Finding> {
    let mut findings: Vec<Finding> = RULES.iter().flat_map(|(_, rule)| rule(ctx)).collect();
    findings.extend(none::evaluate(ctx, &findings));
    findings
}
