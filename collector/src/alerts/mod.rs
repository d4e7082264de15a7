//! Alerts to chat: routing recommendations to receivers (Slack, Discord,
//! Teams, signed webhooks), Alertmanager-style grouping with `group_wait`,
//! `group_interval` and `repeat_interval`, silences, and a persistent outbox
//! delivered with retries so that nothing decided is lost.
//!
//! `policy.rs` decides (pure), `dispatch.rs` runs it against the store and
//! writes the outbox, `deliver.rs` sends it, `format/` renders each platform; `store.rs`
//! queries the alerts' tables.

pub mod config;
pub mod deliver;
pub mod dispatch;
pub mod format;
pub mod model;
pub mod outbox;
pub mod policy;
pub mod probe;
pub mod retry;
pub mod silence;
mod store;
#[cfg(test)]
mod store_tests;
pub mod throttle;

pub use config::{AlertingConfig, ReceiverConfig, ReceiverType, Secret};
pub use model::{Alert, AlertStatus, Notification, Reason};
pub use store::GroupStates;
