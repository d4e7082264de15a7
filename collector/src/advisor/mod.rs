//! The advisor: each pass loads a snapshot of the store, computes headroom
//! per resource, runs every rule (pure, one per file in `rules/`) and moves
//! the resulting recommendations through their lifecycle.

pub mod config;
pub mod engine;
#[cfg(test)]
mod false_alarms;
pub mod lifecycle;
pub mod load;
pub mod needs;
pub mod plan;
pub mod resources;
pub mod routes;
pub mod rules;
#[cfg(test)]
mod scenarios;
pub mod snapshot;
pub mod statements;
mod store;
#[cfg(test)]
mod store_tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use config::AdvisorConfig;
pub use snapshot::{Series, Snapshot};

use crate::analysis::headroom::Headroom;

/// How urgent a recommendation is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// Parses the API's name.
    pub fn parse(text: &str) -> Option<Self> {
        [Severity::Info, Severity::Warning, Severity::Critical]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// What a recommendation is about (DESIGN.md's kinds).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RecKind {
    Index,
    DropIndex,
    Cache,
    Cdn,
    Database,
    App,
    Staffing,
    Integrity,
    None,
}

impl RecKind {
    /// Every kind, in the API's order.
    pub const ALL: [RecKind; 9] = [
        RecKind::Index,
        RecKind::DropIndex,
        RecKind::Cache,
        RecKind::Cdn,
        RecKind::Database,
        RecKind::App,
        RecKind::Staffing,
        RecKind::Integrity,
        RecKind::None,
    ];

    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RecKind::Index => "index",
            RecKind::DropIndex => "drop_index",
            RecKind::Cache => "cache",
            RecKind::Cdn => "cdn",
            RecKind::Database => "database",
            RecKind::App => "app",
            RecKind::Staffing => "staffing",
            RecKind::Integrity => "integrity",
            RecKind::None => "none",
        }
    }

    /// Parses the API's name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One number behind a recommendation, with the threshold it was held to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Fact {
    pub name: String,
    pub value: f64,
    pub unit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

/// A stored series behind a recommendation (what the dashboard charts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeriesRef {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

/// The evidence of a recommendation: numbers, series and free notes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Evidence {
    pub facts: Vec<Fact>,
    pub series: Vec<SeriesRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The rule measured this finding so directly (e.g. a hypothetical
    /// index the planner uses, with a large gain) that it opens in the
    /// pass that first sees it instead of after `open_after` passes.
    #[serde(skip)]
    pub opens_at_once: bool,
}

impl Evidence {
    /// Adds a fact without a threshold.
    pub fn fact(mut self, name: &str, value: f64, unit: &str) -> Self {
        self.facts.push(Fact {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
            threshold: None,
        });
        self
    }

    /// Adds a fact held to `threshold`.
    pub fn against(mut self, name: &str, value: f64, unit: &str, threshold: f64) -> Self {
        self.facts.push(Fact {
            name: name.to_owned(),
            value,
            unit: unit.to_owned(),
            threshold: Some(threshold),
        });
        self
    }

    /// Adds a series reference.
    pub fn series(
        mut self,
        name: &str,
        labels: &BTreeMap<String, String>,
        threshold: Option<f64>,
    ) -> Self {
        self.series.push(SeriesRef {
            name: name.to_owned(),
            labels: labels.clone(),
            threshold,
        });
        self
    }

    /// Adds a note.
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Marks the finding as one that opens at once (see `opens_at_once`).
    pub fn opening_at_once(mut self, at_once: bool) -> Self {
        self.opens_at_once = at_once;
        self
    }
}

/// What a rule found in one pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: RecKind,
    /// Identity within the kind: the same advice in the next pass has the
    /// same key (e.g. the index definition), so it is the same
    /// recommendation.
    pub key: String,
    pub severity: Severity,
    pub title: String,
    /// What is wrong and what happens if nothing is done.
    pub summary: String,
    /// What to do, exactly (a statement, a setting, a change).
    pub action: String,
    pub evidence: Evidence,
    /// 0..1.
    pub confidence: f64,
}

/// What a rule is given.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub snapshot: &'a Snapshot,
    /// Headroom per resource, computed before the rules run.
    pub headroom: &'a [Headroom],
    pub config: &'a AdvisorConfig,
}

/// The headroom table and the rules' findings for one snapshot: a pass
/// without loading or the lifecycle (for tests of whole-advisor behaviour).
#[cfg(test)]
pub(crate) fn advise(snapshot: &Snapshot, config: &AdvisorConfig) -> (Vec<Headroom>, Vec<Finding>) {
    let headroom = resources::compute(snapshot, &config.resources, config.stale_ms());
    let findings = rules::evaluate_all(&Context {
        snapshot,
        headroom: &headroom,
        config,
    });
    (headroom, findings)
}

/// Fewer points than this in the recent window say nothing about a series.
pub const MIN_RECENT_POINTS: usize = 3;

impl Context<'_> {
    /// Where the recent window starts.
    pub fn since(&self) -> i64 {
        self.snapshot.now_ms - self.config.recent_ms()
    }

    /// Whether `s` has a fresh point and at least `MIN_RECENT_POINTS` in
    /// the recent window: enough to say anything about it.
    pub fn usable(&self, s: &Series) -> bool {
        s.fresh(self.snapshot.now_ms, self.config.stale_ms())
            .is_some()
            && s.since(self.since()).len() >= MIN_RECENT_POINTS
    }
}

/// Confidence in a level measured now (not a forecast), from the points
/// behind it: `n / (n + 10)`, at most 0.8. A headroom row's `confidence`
/// grows with days of history because it rates a forecast; a level read
/// from ninety fresh points is known well after fifteen minutes.
pub fn level_confidence(samples: usize) -> f64 {
    let n = samples as f64;
    (n / (n + 10.0)).min(0.8)
}

/// Formats a duration in days for summaries ("in 12 days", "in 3 hours").
pub fn describe_eta(now_ms: i64, eta_ms: i64) -> String {
    let delta = eta_ms - now_ms;
    if delta <= 0 {
        "now".to_owned()
    } else if delta < 2 * 3_600_000 {
        format!("in {} minutes", (delta / 60_000).max(1))
    } else if delta < 2 * 86_400_000 {
        format!("in {} hours", delta / 3_600_000)
    } else {
        format!("in {} days", delta / 86_400_000)
    }
}
