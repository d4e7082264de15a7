//! Throttled warnings for the alerts' loops: the dispatcher and the
//! deliverer retry every tick, and a lasting failure (an unreachable
//! database) is logged once per [`WARN_EVERY`], not twice a second. The
//! throttle itself is the shared one (`headroom_proto::throttle`).

use std::time::Duration;

pub use headroom_proto::throttle::WarnThrottle;

/// At most one warning per this long about the same failing loop (an
/// unreachable database would otherwise warn twice a second).
pub const WARN_EVERY: Duration = Duration::from_secs(60);

/// The throttle every alert loop uses: one warning per [`WARN_EVERY`].
pub fn warn_throttle() -> WarnThrottle {
    WarnThrottle::new(WARN_EVERY)
}
