//! The window a chart opens on when the viewer chose none (`fit=true`
//! without `from`): the smallest of the dashboard's windows that holds the
//! data's whole span, so 15 minutes of data fill a 1-hour chart instead of
//! sitting as one dot at the edge of a week. Pure.

use crate::analysis::{DAY_MS, HOUR_MS};

/// The windows a chart may open on, smallest first, as the dashboard names
/// them (its range picker offers the same).
pub const WINDOWS: [(&str, i64); 5] = [
    ("1h", HOUR_MS),
    ("6h", 6 * HOUR_MS),
    ("24h", DAY_MS),
    ("7d", 7 * DAY_MS),
    ("30d", 30 * DAY_MS),
];

/// Room left before the first point, as a share of the span, so it does
/// not sit on the chart's left edge.
pub const PADDING: f64 = 0.05;

/// The window ending at `now_ms` that shows every point since `first_ms`
/// (the series' oldest stored point) with [`PADDING`] to spare: the
/// largest window when the data is older than it, or when there is none.
pub fn fit(first_ms: Option<i64>, now_ms: i64) -> (&'static str, i64) {
    let largest = WINDOWS[WINDOWS.len() - 1];
    let Some(first) = first_ms else {
        return largest;
    };
    let span = (now_ms - first).max(0) as f64 * (1.0 + PADDING);
    WINDOWS
        .into_iter()
        .find(|&(_, width)| span <= width as f64)
        .unwrap_or(largest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;
    const MINUTE_MS: i64 = 60_000;

    #[test]
    fn young_data_opens_on_the_smallest_window_that_holds_it() {
        for (age, window) in [
            (15 * MINUTE_MS, "1h"),
            (57 * MINUTE_MS, "1h"),
            (59 * MINUTE_MS, "6h"),
            (3 * HOUR_MS, "6h"),
            (20 * HOUR_MS, "24h"),
            (2 * DAY_MS, "7d"),
            (12 * DAY_MS, "30d"),
        ] {
            assert_eq!(fit(Some(NOW - age), NOW).0, window, "{age} ms of data");
        }
    }

    #[test]
    fn data_older_than_every_window_or_none_at_all_opens_on_the_largest() {
        assert_eq!(fit(Some(NOW - 90 * DAY_MS), NOW), ("30d", 30 * DAY_MS));
        assert_eq!(fit(None, NOW), ("30d", 30 * DAY_MS));
    }

    #[test]
    fn a_point_stamped_in_the_future_still_gets_the_smallest_window() {
        assert_eq!(fit(Some(NOW + MINUTE_MS), NOW).0, "1h");
    }
}
