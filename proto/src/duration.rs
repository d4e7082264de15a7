//! Durations as people write them: `35d`, `4h`, `90s`, `1h30m`, `250ms`.
//! One formatter for everything Headroom prints (`check`, the API's texts,
//! log and error messages); the dashboard's `duration()` in
//! `dashboards/app.js` follows the same rules. Every output parses back to
//! the same duration with `humantime::parse_duration` (and so as a
//! [`crate::config::HumanDuration`] in a config file).
//!
//! The rules:
//! - units `d`, `h`, `m`, `s`, `ms`, largest first, no spaces, no zero
//!   parts: 35 days is `35d`, 90 minutes `1h30m`;
//! - no months or years (their length varies): 400 days is `400d`;
//! - under two minutes, seconds are not folded into minutes: `90s`, not
//!   `1m30s` (a whole minute is still `1m`);
//! - zero is `0s`.

use std::time::Duration;

const MS: u128 = 1;
const SECOND: u128 = 1_000;
const MINUTE: u128 = 60 * SECOND;
const HOUR: u128 = 60 * MINUTE;
const DAY: u128 = 24 * HOUR;

/// The units, largest first.
const UNITS: [(&str, u128); 5] = [
    ("d", DAY),
    ("h", HOUR),
    ("m", MINUTE),
    ("s", SECOND),
    ("ms", MS),
];

/// Below this, seconds are not folded into minutes (but a whole minute is).
const SECONDS_ONLY_BELOW: u128 = 2 * MINUTE;

/// Whether `ms` prints in seconds rather than minutes and seconds.
fn seconds_only(ms: u128) -> bool {
    ms < SECONDS_ONLY_BELOW && !ms.is_multiple_of(MINUTE)
}

/// `duration` exactly, to the millisecond (shorter parts are dropped).
pub fn format(duration: Duration) -> String {
    format_ms(duration.as_millis())
}

/// `duration` rounded to its `parts` largest units, for figures that are
/// estimates anyway: `approximate(1d 17h 59m, 2)` is `1d18h`,
/// `approximate(2h 47m 13s, 1)` is `3h`. Never rounds below a second
/// unless the duration is under one.
pub fn approximate(duration: Duration, parts: usize) -> String {
    let ms = duration.as_millis();
    let largest = UNITS
        .iter()
        .position(|&(_, size)| ms >= size && (size != MINUTE || !seconds_only(ms)))
        .unwrap_or(UNITS.len() - 1);
    let finest = (largest + parts.max(1) - 1).min(UNITS.len() - 1);
    let floor = if ms >= SECOND { SECOND } else { MS };
    let step = UNITS[finest].1.max(floor);
    format_ms((ms + step / 2) / step * step)
}

fn format_ms(mut ms: u128) -> String {
    if ms == 0 {
        return "0s".to_owned();
    }
    let in_seconds = seconds_only(ms);
    let mut out = String::new();
    for (unit, size) in UNITS {
        if size == MINUTE && in_seconds {
            continue;
        }
        let count = ms / size;
        if count > 0 {
            out.push_str(&count.to_string());
            out.push_str(unit);
            ms -= count * size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn durations_print_as_people_write_them() {
        for (duration, text) in [
            (secs(35 * 86_400), "35d"),
            (secs(4 * 3_600), "4h"),
            (secs(90), "90s"),
            (secs(90 * 60), "1h30m"),
            (secs(400 * 86_400), "400d"),
            (secs(119), "119s"),
            (secs(60), "1m"),
            (secs(120), "2m"),
            (secs(150), "2m30s"),
            (Duration::from_millis(250), "250ms"),
            (Duration::from_millis(1_500), "1s500ms"),
            (secs(86_400 + 3_600 + 60 + 1), "1d1h1m1s"),
            (Duration::ZERO, "0s"),
            (Duration::from_micros(999), "0s"),
        ] {
            assert_eq!(format(duration), text, "{duration:?}");
        }
    }

    #[test]
    fn approximations_keep_the_largest_units_and_round_the_rest() {
        let d = |days: u64, h: u64, m: u64, s: u64| secs(((days * 24 + h) * 60 + m) * 60 + s);
        assert_eq!(approximate(d(1, 17, 59, 0), 2), "1d18h");
        assert_eq!(approximate(d(0, 2, 47, 13), 2), "2h47m");
        assert_eq!(approximate(d(0, 2, 47, 13), 1), "3h");
        assert_eq!(approximate(d(0, 41, 40, 0), 1), "2d");
        assert_eq!(approximate(d(0, 0, 14, 40), 1), "15m");
        assert_eq!(approximate(secs(89), 2), "89s");
        assert_eq!(approximate(Duration::from_millis(89_600), 2), "90s");
        assert_eq!(approximate(Duration::from_millis(119_700), 1), "2m");
        assert_eq!(approximate(Duration::from_millis(340), 2), "340ms");
        assert_eq!(approximate(Duration::ZERO, 1), "0s");
    }

    #[test]
    fn the_config_parser_reads_every_example_back() {
        for text in ["35d", "4h", "90s", "1h30m", "1d18h", "1s500ms", "250ms"] {
            let parsed = humantime::parse_duration(text).expect(text);
            assert_eq!(format(parsed), text);
        }
    }

    proptest! {
        #[test]
        fn every_formatted_duration_parses_back_to_itself(ms in 0u64..(10_000u64 * 86_400_000)) {
            let duration = Duration::from_millis(ms);
            let text = format(duration);
            prop_assert_eq!(humantime::parse_duration(&text).ok(), Some(duration), "{}", text);
        }

        #[test]
        fn an_approximation_parses_back_within_half_its_last_unit(
            ms in 0u64..(400u64 * 86_400_000),
            parts in 1usize..4,
        ) {
            let text = approximate(Duration::from_millis(ms), parts);
            let back = humantime::parse_duration(&text).map(|d| d.as_millis() as i128);
            prop_assert!(back.is_ok(), "{}", text);
            let error = (back.unwrap_or_default() - i128::from(ms)).abs();
            // The rounding step is at most the largest unit's share.
            prop_assert!(error as f64 <= (ms as f64 / 2.0).max(500.0), "{} for {} ms", text, ms);
        }
    }
}
