//! The chart's axes, pure: round value ticks, time ticks on whole local
//! minutes, hours or days, and short labels for both.

use crate::analysis::{DAY_MS, HOUR_MS, MINUTE_MS};

/// A rounded range covering `[lo, hi]` and about five evenly spaced ticks
/// at 1, 2 or 5 × a power of ten.
pub(super) fn value_ticks(lo: f64, hi: f64) -> (f64, f64, Vec<f64>) {
    let (lo, hi) = if hi - lo > f64::EPSILON * hi.abs().max(1.0) {
        (lo, hi)
    } else {
        // A flat series: centre it in a band of ±1 (or ±10% of its value).
        let pad = (hi.abs() * 0.1).max(1.0);
        (
            if lo >= 0.0 {
                0.0f64.max(lo - pad)
            } else {
                lo - pad
            },
            hi + pad,
        )
    };
    let rough = (hi - lo) / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude);
    let first = (lo / step).floor() * step;
    let last = (hi / step).ceil() * step;
    let n = ((last - first) / step).round() as i64;
    let ticks = (0..=n).map(|i| first + i as f64 * step).collect();
    (first, last, ticks)
}

/// A few time ticks on whole minutes, hours or days in the viewer's zone.
pub(super) fn time_ticks(from_ms: i64, to_ms: i64, tz_offset_min: i64) -> Vec<(i64, String)> {
    const STEPS: [i64; 16] = [
        MINUTE_MS,
        2 * MINUTE_MS,
        5 * MINUTE_MS,
        10 * MINUTE_MS,
        15 * MINUTE_MS,
        30 * MINUTE_MS,
        HOUR_MS,
        2 * HOUR_MS,
        3 * HOUR_MS,
        6 * HOUR_MS,
        12 * HOUR_MS,
        DAY_MS,
        2 * DAY_MS,
        7 * DAY_MS,
        14 * DAY_MS,
        28 * DAY_MS,
    ];
    let span = to_ms - from_ms;
    let step = STEPS
        .into_iter()
        .find(|s| span / s <= 6)
        .unwrap_or(span / 6 + 1);
    let shift = tz_offset_min * MINUTE_MS;
    let mut local = (from_ms + shift).div_euclid(step) * step;
    if local < from_ms + shift {
        local += step;
    }
    let mut out = Vec::new();
    while local <= to_ms + shift {
        let label = if step >= DAY_MS {
            day_label(local)
        } else if span <= DAY_MS {
            clock_label(local)
        } else {
            format!("{} {}", day_label(local), clock_label(local))
        };
        out.push((local - shift, label));
        local += step;
    }
    out
}

fn clock_label(local_ms: i64) -> String {
    let minutes = local_ms.div_euclid(MINUTE_MS).rem_euclid(24 * 60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// "27 Nov" for a local time in unix ms (proleptic Gregorian calendar).
fn day_label(local_ms: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (_, month, day) = civil_date(local_ms.div_euclid(DAY_MS));
    format!("{day} {}", MONTHS[(month - 1) as usize % 12])
}

/// Year, month (1–12) and day of the month of a count of days since
/// 1970-01-01, counting in 400-year eras that start on 1 March.
fn civil_date(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468; // days from 0000-03-01
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A short number: `1.5k`, `2M`, `0.25`, `12`.
pub(super) fn format_value(value: f64) -> String {
    let abs = value.abs();
    let (scaled, suffix) = if abs >= 1e12 {
        (value / 1e12, "T")
    } else if abs >= 1e9 {
        (value / 1e9, "G")
    } else if abs >= 1e6 {
        (value / 1e6, "M")
    } else if abs >= 1e4 {
        (value / 1e3, "k")
    } else {
        (value, "")
    };
    let text = if scaled.fract().abs() < 1e-9 || scaled.abs() >= 100.0 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 1.0 {
        format!("{scaled:.2}")
    } else {
        format!("{scaled:.3}")
    };
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    };
    let text = if text == "-0" { "0".to_owned() } else { text };
    format!("{text}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_ticks_are_round_and_cover_the_range() {
        let (lo, hi, ticks) = value_ticks(0.0, 87.0);
        assert_eq!((lo, hi), (0.0, 100.0));
        assert_eq!(ticks, vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        let (lo, hi, ticks) = value_ticks(7.0, 7.0);
        assert!(lo < 7.0 && hi > 7.0 && ticks.len() >= 2);
        let (lo, hi, _) = value_ticks(-3.0, 0.5);
        assert!(lo <= -3.0 && hi >= 0.5);
    }

    #[test]
    fn time_ticks_fall_on_whole_local_hours() {
        // 12:00–18:00 UTC, viewer at UTC+1: ticks at 13:00, 14:00 … local.
        let from = 12 * HOUR_MS;
        let ticks = time_ticks(from, from + 6 * HOUR_MS, 60);
        assert_eq!(ticks.len(), 7);
        assert_eq!(ticks[0], (from, "13:00".to_owned()));
        let week = time_ticks(0, 7 * DAY_MS, 0);
        assert_eq!(week[0], (0, "1 Jan".to_owned()));
        assert!(week.len() <= 8);
    }

    #[test]
    fn dates_follow_the_calendar() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(59), (1970, 3, 1));
        // 2024-02-29 (leap day) and 2026-11-27.
        assert_eq!(civil_date(19_782), (2024, 2, 29));
        assert_eq!(civil_date(20_784), (2026, 11, 27));
        assert_eq!(civil_date(-1), (1969, 12, 31));
    }

    #[test]
    fn values_are_short() {
        assert_eq!(format_value(0.0), "0");
        assert_eq!(format_value(0.25), "0.25");
        assert_eq!(format_value(12.5), "12.5");
        assert_eq!(format_value(1_000.0), "1000");
        assert_eq!(format_value(25_000.0), "25k");
        assert_eq!(format_value(1_500_000.0), "1.5M");
        assert_eq!(format_value(-2e9), "-2G");
    }
}
