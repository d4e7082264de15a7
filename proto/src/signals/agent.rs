//! Signals every agent sends about its sources, whatever their type.

use super::{Signal, signal};

pub const UP: Signal = signal!(
    Agent,
    gauge "up",
    Bool,
    ["source", "type"],
    "1 when the source's last scrape worked, else 0."
);
pub const AGENT_SCRAPES_TOTAL: Signal = signal!(
    Agent,
    counter "agent_scrapes_total",
    Count,
    ["source"],
    "Scrapes of the source since the agent started, failed ones included."
);

/// Every signal of this family.
pub const ALL: &[Signal] = &[UP, AGENT_SCRAPES_TOTAL];
