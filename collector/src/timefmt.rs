//! Unix milliseconds as RFC 3339 UTC text, through humantime: the one place
//! the collector turns a time into a calendar date. humantime covers
//! 1970-01-01 to 9999-12-31; times outside (never stored, but a bad input
//! must not panic) are clamped to those ends.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The last millisecond humantime can format (9999-12-31T23:59:59.999Z).
const LAST_MS: i64 = 253_402_300_799_999;

fn system_time(unix_ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(unix_ms.clamp(0, LAST_MS) as u64)
}

/// `2024-03-01T13:30:15Z`.
pub fn rfc3339_seconds(unix_ms: i64) -> String {
    humantime::format_rfc3339_seconds(system_time(unix_ms)).to_string()
}

/// `2024-03-01T13:30:15.250Z`.
pub fn rfc3339_millis(unix_ms: i64) -> String {
    humantime::format_rfc3339_millis(system_time(unix_ms)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_milliseconds_format_as_utc_dates() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(1_709_299_815_250),
            "2024-03-01T13:30:15.250Z"
        );
        assert_eq!(rfc3339_seconds(1_709_299_815_250), "2024-03-01T13:30:15Z");
        assert_eq!(rfc3339_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(4_102_444_799_000),
            "2099-12-31T23:59:59.000Z"
        );
    }

    #[test]
    fn times_outside_humantime_s_range_are_clamped_not_a_panic() {
        assert_eq!(rfc3339_millis(-1), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_millis(i64::MAX), "9999-12-31T23:59:59.999Z");
    }
}
