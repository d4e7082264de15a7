//! Rate-limited warnings for a failure that repeats: the first is logged,
//! then at most one per period, each saying how many were kept quiet.

use std::time::{Duration, Instant};

/// Says whether a repeated failure should be logged now: the first one, then
/// once per period; a success re-arms it.
#[derive(Debug)]
pub struct WarnThrottle {
    every: Duration,
    last: Option<Instant>,
    suppressed: u64,
}

impl WarnThrottle {
    /// A throttle that lets one warning through per `every`.
    pub fn new(every: Duration) -> Self {
        Self {
            every,
            last: None,
            suppressed: 0,
        }
    }

    /// A failure happened: `Some(failures suppressed since the last warning)`
    /// when it should be logged.
    pub fn failed(&mut self) -> Option<u64> {
        let now = Instant::now();
        match self.last {
            Some(last) if now.duration_since(last) < self.every => {
                self.suppressed += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.suppressed))
            }
        }
    }

    /// Failures kept quiet since the last warning.
    pub fn suppressed(&self) -> u64 {
        self.suppressed
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
        let mut throttle = WarnThrottle::new(Duration::from_secs(60));
        assert_eq!(throttle.failed(), Some(0), "the first failure is logged");
        assert_eq!(throttle.failed(), None);
        assert_eq!(throttle.failed(), None);
        throttle.succeeded();
        assert_eq!(throttle.failed(), Some(0), "a success re-arms it");
        assert_eq!(throttle.failed(), None);
    }

    #[test]
    fn the_next_warning_after_the_period_counts_the_quiet_ones() {
        let mut throttle = WarnThrottle::new(Duration::ZERO);
        assert_eq!(throttle.failed(), Some(0));
        assert_eq!(
            throttle.failed(),
            Some(0),
            "a zero period lets each through"
        );
    }
}
