//! `[advisor]` in collector.toml: the lifecycle's hysteresis, the windows a
//! pass looks at, and one sub-table of thresholds per rule
//! (`[advisor.index]`, `[advisor.cache]`, …) with documented defaults.

use headroom_proto::config::HumanDuration;
use serde::{Deserialize, Serialize};

use super::rules;

/// The advisor's settings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdvisorConfig {
    /// How far back trends and forecasts look (hourly rollups).
    pub lookback: HumanDuration,
    /// The recent window rules judge "now" by (finer points).
    pub recent: HumanDuration,
    /// A series with no point this recent is not current.
    pub stale_after: HumanDuration,
    /// Consecutive passes a finding must be seen before it opens.
    pub open_after: u32,
    /// Consecutive passes a finding must be absent before it resolves.
    pub resolve_after: u32,
    /// Resources with a known limit (headroom table).
    pub resources: super::resources::Config,
    pub index: rules::index::Config,
    pub drop_index: rules::drop_index::Config,
    pub big_scans: rules::big_scans::Config,
    pub cache: rules::cache::Config,
    pub cdn: rules::cdn::Config,
    pub database: rules::database::Config,
    pub app: rules::app::Config,
    pub staffing: rules::staffing::Config,
    pub integrity: rules::integrity::Config,
}

impl Default for AdvisorConfig {
    fn default() -> Self {
        Self {
            lookback: HumanDuration::secs(30 * 86_400),
            recent: HumanDuration::secs(3_600),
            stale_after: HumanDuration::secs(600),
            open_after: 2,
            resolve_after: 3,
            resources: Default::default(),
            index: Default::default(),
            drop_index: Default::default(),
            big_scans: Default::default(),
            cache: Default::default(),
            cdn: Default::default(),
            database: Default::default(),
            app: Default::default(),
            staffing: Default::default(),
            integrity: Default::default(),
        }
    }
}

impl AdvisorConfig {
    /// `stale_after` in milliseconds.
    pub fn stale_ms(&self) -> i64 {
        self.stale_after.0.as_millis() as i64
    }

    /// `recent` in milliseconds.
    pub fn recent_ms(&self) -> i64 {
        self.recent.0.as_millis() as i64
    }
}
