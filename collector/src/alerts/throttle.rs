//! Throttled warnings for the alerts' loops: the dispatcher and the
//! deliverer retry every tick, and a lasting failure (an unreachable
//! database) is logged once per [`WARN_EVERY`], not twice a second.

use std::time::Duration;

/// At most one warning per this long about the same failing loop (an
/// unreachable database would otherwise warn twice a second).
pub const WARN_EVERY: Duration = Duration::from_secs(60);

/// Says whether a repeated failure should be logged now: the first one, then
/// once per [`WARN_EVERY`]; a success re-arms it.
#[derive(Debug, Default)]
pub struct WarnThrottle {
    last: Option<std::time::Instant>,
    suppressed: u64,
}

impl WarnThrottle {
    /// A failure happened: `Some(failures suppressed since the last warning)`
    /// when it should be logged.
    pub fn failed(&mut self) -> Option<u64> {
        let now = std::time::Instant::now();
        match self.last {
            Some(last) if now.duration_since(last) < WARN_EVERY => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }

    /// A success: the next failure is logged at once.
    pub fn succeeded(&mut self) {
        self.last = None;
        self.suppressed = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_failures_warn_once_until_a_success() {
        let mut throttle = WarnThrottle::default();
        assert_eq!(throttle.failed(), Some(0), "the first failure is logged");
        assert_eq!(throttle.failed(), None);
        assert_eq!(throttle.failed(), None);
        throttle.succeeded();
        assert_eq!(throttle.failed(), Some(0), "a success re-arms it");
        assert_eq!(throttle.failed(), None);
    }
}
