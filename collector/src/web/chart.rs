//! `GET /api/v1/chart`: a series chart rendered server-side as SVG. The
//! pure part ([`render`], [`forecast_band`], [`counter_rate`]) turns points
//! into markup; the handler only parses parameters and reads the store.
//!
//! The markup is a contract with the dashboard and its browser tests: root
//! `<svg class="chart" data-points="N">` (N plotted points), one
//! `<path class="series">` per series, `<line class="threshold">` when a
//! threshold is given, `<path class="forecast-band">` (the 80% interval)
//! when a forecast is asked for and the data allows one, and the text "No
//! data in this range" when N is 0; `data-window="6h"` on the root when the
//! window was fitted to the data (`fit=true`, see [`window`]). Only
//! presentation attributes are used (no `style`), so a strict
//! Content-Security-Policy does not strip them.

mod axes;
mod histogram;
pub mod params;
pub mod window;

use std::fmt::Write as _;

use super::query::Labeled;
use super::series::LabelMatchers;
use super::{ApiError, AppState, ErrorBody};
use crate::analysis::analyze;
use crate::analysis::forecast::{self, Forecast};
use crate::store::model::Kind;
use crate::store::now_ms;
use crate::store::query::SeriesPoints;
use axes::{format_value, time_ticks, value_ticks};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
pub use params::ChartQuery;

/// The drawing's size in SVG units (it scales to its container).
pub const WIDTH: f64 = 720.0;
pub const HEIGHT: f64 = 260.0;
const LEFT: f64 = 58.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 26.0;
/// Most series drawn in one chart; the rest are counted in a note.
pub const MAX_SERIES: usize = 8;
/// Without `step`, the range is cut into about this many buckets.
pub const TARGET_POINTS: i64 = 360;
/// Fewer finite points than this give no forecast band.
pub const MIN_FORECAST_POINTS: usize = 12;
/// The band projects this share of the shown range past the last point.
pub const FORECAST_SHARE: f64 = 0.25;
const FORECAST_STEPS: i64 = 24;
/// Line colours, readable on white and distinguishable in grey.
const PALETTE: [&str; MAX_SERIES] = [
    "#2563eb", "#d97706", "#059669", "#7c3aed", "#db2777", "#0891b2", "#65a30d", "#475569",
];

/// One drawn series.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Shown as the series' tooltip and in the legend.
    pub label: String,
    /// `(unix ms, value)`, oldest first; non-finite values are skipped.
    pub points: Vec<(i64, f64)>,
}

/// Everything [`render`] draws.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Chart {
    /// The accessible name of the drawing.
    pub title: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub lines: Vec<Line>,
    pub threshold: Option<f64>,
    /// One 80% band per forecast series, drawn past the last point.
    pub bands: Vec<Vec<Forecast>>,
    /// Series matched but not drawn (beyond [`MAX_SERIES`]).
    pub hidden: usize,
    /// Minutes east of UTC for the time axis (the viewer's zone).
    pub tz_offset_min: i64,
    /// The window fitted to the data (see [`window::fit`]), when it was.
    pub window: Option<&'static str>,
}

/// An SVG chart of the matching series
#[utoipa::path(
    get,
    path = "/api/v1/chart",
    tag = "series",
    params(ChartQuery, LabelMatchers),
    responses(
        (status = 200, description = "The chart.", content_type = "image/svg+xml", body = String),
        (status = 400, description = "No `name`, or a bad parameter.", body = ErrorBody),
    )
)]
pub(super) async fn chart(
    State(state): State<AppState>,
    Labeled { params, labels }: Labeled<ChartQuery>,
) -> Result<Response, ApiError> {
    let ChartQuery { series, options } = params;
    let name = series
        .name
        .clone()
        .ok_or_else(|| ApiError::bad_request("`name` is required, e.g. ?name=pg_up"))?;
    let mut query = series.points(&name, labels, now_ms())?;
    let mut fitted = None;
    if options.fit && series.from.is_none() {
        let mut first = state.store.first_point_ms(&name, &query.labels).await?;
        if first.is_none() {
            let buckets = format!("{name}_bucket");
            first = state.store.first_point_ms(&buckets, &query.labels).await?;
        }
        let (label, width) = window::fit(first, query.to_ms);
        query.from_ms = query.to_ms - width;
        fitted = Some(label);
    }
    if query.step_ms.is_none() {
        query.step_ms = Some(auto_step(query.from_ms, query.to_ms));
    }
    let mut found = state.store.points(&query, &state.retention).await?;
    let mut title = name.clone();
    if found.is_empty() {
        // A histogram is stored as `<name>_bucket{le}` counters: draw its quantile.
        query.name = format!("{name}_bucket");
        let buckets = state.store.points(&query, &state.retention).await?;
        if !buckets.is_empty() {
            let percentile = (options.quantile * 1000.0).round() / 10.0;
            title = format!("p{percentile} of {name}");
            let labels: Vec<String> = query
                .labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            found = vec![SeriesPoints {
                name: format!("{title}{{{}}}", labels.join(", ")),
                labels: Default::default(),
                kind: Kind::Gauge,
                points: histogram::quantile_per_step(&buckets, options.quantile),
                truncated: false,
            }];
        }
    }
    let hidden = found.len().saturating_sub(MAX_SERIES);
    let horizon = ((query.to_ms - query.from_ms) as f64 * FORECAST_SHARE) as i64;
    let mut chart = Chart {
        title: title.clone(),
        from_ms: query.from_ms,
        to_ms: query.to_ms,
        threshold: options.threshold,
        hidden,
        tz_offset_min: options.tz_offset_min,
        window: fitted,
        ..Chart::default()
    };
    for series in found.into_iter().take(MAX_SERIES) {
        let points = match series.kind {
            Kind::Counter => counter_rate(&series.points),
            Kind::Gauge => series.points,
        };
        if options.forecast
            && let Some(band) = forecast_band(&points, horizon)
        {
            chart.bands.push(band);
        }
        let labels: Vec<String> = series
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let rate = if series.kind == Kind::Counter {
            " (per second)"
        } else {
            ""
        };
        let label = if series.labels.is_empty() && series.name != name {
            series.name.clone()
        } else {
            format!("{name}{{{}}}{rate}", labels.join(", "))
        };
        chart.lines.push(Line { label, points });
    }
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        render(&chart),
    )
        .into_response())
}

/// A bucket width giving about [`TARGET_POINTS`] points, in whole seconds.
pub fn auto_step(from_ms: i64, to_ms: i64) -> i64 {
    let raw = (to_ms - from_ms).max(0) / TARGET_POINTS;
    (raw.div_euclid(1000) + 1) * 1000
}

/// A counter's increase per second between consecutive points; a drop is
/// a reset and yields no point.
pub fn counter_rate(points: &[(i64, f64)]) -> Vec<(i64, f64)> {
    points
        .windows(2)
        .filter_map(|pair| {
            let ((t0, v0), (t1, v1)) = (pair[0], pair[1]);
            (t1 > t0 && v1 >= v0).then(|| (t1, (v1 - v0) * 1000.0 / (t1 - t0) as f64))
        })
        .collect()
}

/// The 80% prediction band from the last point to `horizon_ms` past it,
/// following the daily or weekly season when there is one; `None` with
/// fewer than [`MIN_FORECAST_POINTS`] finite points. Never below 0 for a
/// series that never was.
pub fn forecast_band(points: &[(i64, f64)], horizon_ms: i64) -> Option<Vec<Forecast>> {
    let finite = points.iter().filter(|p| p.1.is_finite()).count();
    if finite < MIN_FORECAST_POINTS || horizon_ms <= 0 {
        return None;
    }
    let analysis = analyze(points);
    let floor = points
        .iter()
        .all(|p| !p.1.is_finite() || p.1 >= 0.0)
        .then_some(0.0);
    let band = (0..=FORECAST_STEPS)
        .map(|i| {
            let t = analysis.last_ms + horizon_ms * i / FORECAST_STEPS;
            let offset = analysis.season.as_ref().map_or(0.0, |s| s.offset_at(t));
            let f = forecast::at(&analysis, t);
            let clamp = |v: f64| floor.map_or(v, |f: f64| v.max(f));
            Forecast {
                t_ms: t,
                value: clamp(f.value + offset),
                low: clamp(f.low + offset),
                high: clamp(f.high + offset),
            }
        })
        .collect();
    Some(band)
}

/// The SVG document for `chart`.
pub fn render(chart: &Chart) -> String {
    let lines: Vec<Vec<(i64, f64)>> = chart
        .lines
        .iter()
        .map(|l| {
            l.points
                .iter()
                .copied()
                .filter(|p| p.1.is_finite())
                .collect()
        })
        .collect();
    let count: usize = lines.iter().map(Vec::len).sum();
    let mut out = String::with_capacity(4096 + count * 16);
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-points="{count}"{window} viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}" font-family="system-ui, sans-serif" font-size="12"><title>{title}</title>"#,
        title = escape(&chart.title),
        window = chart
            .window
            .map(|w| format!(r#" data-window="{w}""#))
            .unwrap_or_default(),
    );
    if count == 0 {
        let _ = write!(
            out,
            r##"<rect x="0.5" y="0.5" width="{w}" height="{h}" fill="none" stroke="#d1d5db"/><text class="empty" x="{x}" y="{y}" text-anchor="middle" fill="#6b7280" font-size="14">No data in this range</text></svg>"##,
            w = WIDTH - 1.0,
            h = HEIGHT - 1.0,
            x = WIDTH / 2.0,
            y = HEIGHT / 2.0,
        );
        return out;
    }

    let end_ms = chart
        .bands
        .iter()
        .filter_map(|b| b.last().map(|f| f.t_ms))
        .fold(chart.to_ms, i64::max);
    let (t0, t1) = (chart.from_ms, end_ms.max(chart.from_ms + 1));
    let values = lines.iter().flatten().map(|p| p.1);
    let band_values = chart
        .bands
        .iter()
        .flatten()
        .flat_map(|f| [f.low, f.high])
        .filter(|v| v.is_finite());
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values.chain(band_values).chain(chart.threshold) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo >= 0.0 {
        lo = 0.0;
    }
    let (lo, hi, ticks) = value_ticks(lo, hi);
    let x = |t: i64| LEFT + (t - t0) as f64 / (t1 - t0) as f64 * (WIDTH - LEFT - RIGHT);
    let y = |v: f64| HEIGHT - BOTTOM - (v - lo) / (hi - lo) * (HEIGHT - TOP - BOTTOM);

    // Grid and value axis.
    out.push_str(r##"<g class="axis y" fill="#6b7280" text-anchor="end">"##);
    for tick in &ticks {
        let _ = write!(
            out,
            r##"<line x1="{LEFT}" x2="{x2}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e7eb"/><text x="{tx}" y="{ty:.1}">{label}</text>"##,
            x2 = WIDTH - RIGHT,
            y = y(*tick),
            tx = LEFT - 6.0,
            ty = y(*tick) + 4.0,
            label = format_value(*tick),
        );
    }
    out.push_str("</g>");
    // Time axis.
    out.push_str(r##"<g class="axis x" fill="#6b7280" text-anchor="middle">"##);
    for (t, label) in time_ticks(t0, t1, chart.tz_offset_min) {
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" x2="{x:.1}" y1="{top}" y2="{bottom}" stroke="#f3f4f6"/><text x="{x:.1}" y="{ty}">{label}</text>"##,
            x = x(t),
            top = TOP,
            bottom = HEIGHT - BOTTOM,
            ty = HEIGHT - BOTTOM + 16.0,
        );
    }
    let _ = write!(
        out,
        r##"</g><line x1="{LEFT}" x2="{x2}" y1="{yb}" y2="{yb}" stroke="#9ca3af"/>"##,
        x2 = WIDTH - RIGHT,
        yb = HEIGHT - BOTTOM,
    );

    // Forecast bands, under the lines.
    for band in chart.bands.iter().filter(|b| b.len() >= 2) {
        let mut d = String::new();
        for (i, f) in band.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1} ",
                if i == 0 { 'M' } else { 'L' },
                x(f.t_ms),
                y(f.high)
            );
        }
        for f in band.iter().rev() {
            let _ = write!(d, "L{:.1},{:.1} ", x(f.t_ms), y(f.low));
        }
        let mid: Vec<String> = band
            .iter()
            .map(|f| format!("{:.1},{:.1}", x(f.t_ms), y(f.value)))
            .collect();
        let _ = write!(
            out,
            r##"<path class="forecast-band" d="{d}Z" fill="#93c5fd" fill-opacity="0.35" stroke="none"><title>Forecast: 80% prediction interval</title></path><path class="forecast" d="M{mid}" fill="none" stroke="#60a5fa" stroke-width="1.5" stroke-dasharray="4 3"/>"##,
            d = d.trim_end(),
            mid = mid.join(" L"),
        );
    }

    // Series.
    for (i, (line, points)) in chart.lines.iter().zip(&lines).enumerate() {
        if points.is_empty() {
            continue;
        }
        let gap = gap_limit(points);
        let mut d = String::new();
        for (j, &(t, v)) in points.iter().enumerate() {
            let jump = j == 0 || t - points[j - 1].0 > gap;
            let _ = write!(
                d,
                "{}{:.1},{:.1} ",
                if jump { 'M' } else { 'L' },
                x(t),
                y(v)
            );
        }
        let colour = PALETTE[i % PALETTE.len()];
        let _ = write!(
            out,
            r#"<path class="series" data-series="{i}" d="{d}" fill="none" stroke="{colour}" stroke-width="1.8" stroke-linejoin="round"><title>{label}</title></path>"#,
            d = d.trim_end(),
            label = escape(&line.label),
        );
        if points.len() == 1 {
            let (t, v) = points[0];
            let _ = write!(
                out,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#,
                x(t),
                y(v)
            );
        }
    }

    if let Some(threshold) = chart.threshold {
        let ty = y(threshold);
        let _ = write!(
            out,
            r##"<line class="threshold" x1="{LEFT}" x2="{x2}" y1="{ty:.1}" y2="{ty:.1}" data-value="{threshold}" stroke="#dc2626" stroke-width="1.5" stroke-dasharray="6 4"><title>Threshold: {label}</title></line><text x="{tx}" y="{tl:.1}" fill="#dc2626" text-anchor="end">threshold {label}</text>"##,
            x2 = WIDTH - RIGHT,
            tx = WIDTH - RIGHT - 4.0,
            tl = (ty - 4.0).max(TOP + 10.0),
            label = format_value(threshold),
        );
    }

    // Legend, when there is more than one series or some are hidden.
    if chart.lines.len() > 1 || chart.hidden > 0 {
        out.push_str(r#"<g class="legend">"#);
        for (i, line) in chart.lines.iter().enumerate() {
            let ly = TOP + 4.0 + i as f64 * 13.0;
            let _ = write!(
                out,
                r##"<rect x="{lx}" y="{ry:.1}" width="10" height="3" fill="{colour}"/><text x="{tx}" y="{ly:.1}" fill="#374151">{label}</text>"##,
                lx = LEFT + 8.0,
                ry = ly - 4.0,
                tx = LEFT + 22.0,
                colour = PALETTE[i % PALETTE.len()],
                label = escape(&truncate(&line.label, 70)),
            );
        }
        if chart.hidden > 0 {
            let _ = write!(
                out,
                r##"<text x="{tx}" y="{ly:.1}" fill="#6b7280">+{n} more series not drawn; add label filters</text>"##,
                tx = LEFT + 22.0,
                ly = TOP + 4.0 + chart.lines.len() as f64 * 13.0,
                n = chart.hidden,
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

/// The time gap past which a line is broken: 3 × the median interval.
fn gap_limit(points: &[(i64, f64)]) -> i64 {
    let mut gaps: Vec<i64> = points.windows(2).map(|w| w[1].0 - w[0].0).collect();
    if gaps.is_empty() {
        return i64::MAX;
    }
    gaps.sort_unstable();
    gaps[gaps.len() / 2].max(1).saturating_mul(3)
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max - 1).collect();
    short.push('…');
    short
}

/// Escapes text for XML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{DAY_MS, HOUR_MS, MINUTE_MS};

    fn line(points: &[(i64, f64)]) -> Line {
        Line {
            label: "x".to_owned(),
            points: points.to_vec(),
        }
    }

    fn chart(points: &[(i64, f64)]) -> Chart {
        Chart {
            title: "pg_up".to_owned(),
            from_ms: 0,
            to_ms: 10 * MINUTE_MS,
            lines: vec![line(points)],
            ..Chart::default()
        }
    }

    fn ramp(n: i64) -> Vec<(i64, f64)> {
        (0..n)
            .map(|i| (i * MINUTE_MS / 2, 10.0 + i as f64))
            .collect()
    }

    /// The `d` attribute of the first element with `class`.
    fn path_of<'a>(svg: &'a str, class: &str) -> &'a str {
        let start = svg
            .find(&format!(r#"class="{class}""#))
            .expect("element present");
        let d = svg[start..].find(r#" d=""#).expect("has d") + start + 4;
        let end = svg[d..].find('"').expect("closed") + d;
        &svg[d..end]
    }

    fn vertices(d: &str) -> usize {
        d.matches(['M', 'L']).count()
    }

    /// The y of the threshold line.
    fn threshold_y(svg: &str) -> f64 {
        let start = svg.find(r#"class="threshold""#).expect("threshold line");
        let y1 = svg[start..].find(r#"y1=""#).expect("y1") + start + 4;
        let end = svg[y1..].find('"').expect("closed") + y1;
        svg[y1..end].parse().expect("number")
    }

    #[test]
    fn n_points_make_a_path_of_n_vertices_and_say_so() {
        let svg = render(&chart(&ramp(17)));
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(r#"class="chart" data-points="17""#));
        assert_eq!(vertices(path_of(&svg, "series")), 17);
        assert_eq!(svg.matches(r#"class="series""#).count(), 1);
        assert!(!svg.contains("No data in this range"));
    }

    #[test]
    fn each_series_gets_its_own_path_and_the_count_adds_up() {
        let mut c = chart(&ramp(5));
        c.lines.push(line(&ramp(3)));
        let svg = render(&c);
        assert_eq!(svg.matches(r#"class="series""#).count(), 2);
        assert!(svg.contains(r#"data-points="8""#));
        assert!(svg.contains(r#"class="legend""#));
    }

    #[test]
    fn non_finite_values_are_not_plotted_or_counted() {
        let svg = render(&chart(&[(0, 1.0), (1_000, f64::NAN), (2_000, 2.0)]));
        assert!(svg.contains(r#"data-points="2""#));
        assert_eq!(vertices(path_of(&svg, "series")), 2);
    }

    #[test]
    fn a_long_gap_breaks_the_line_without_losing_vertices() {
        let mut points = ramp(6);
        points.push((9 * MINUTE_MS, 20.0));
        let d = render(&chart(&points));
        let d = path_of(&d, "series");
        assert_eq!(d.matches('M').count(), 2);
        assert_eq!(vertices(d), 7);
    }

    #[test]
    fn no_points_says_there_is_no_data() {
        for c in [chart(&[]), Chart::default(), chart(&[(0, f64::NAN)])] {
            let svg = render(&c);
            assert!(svg.contains(r#"data-points="0""#));
            assert!(svg.contains("No data in this range"));
            assert!(!svg.contains(r#"class="series""#));
        }
    }

    #[test]
    fn the_threshold_line_sits_at_its_value() {
        // Values 0..100, threshold 50: the axis runs 0..100, so the line is
        // half-way between the plot's top and bottom.
        let mut c = chart(&[(0, 0.0), (MINUTE_MS, 100.0)]);
        c.threshold = Some(50.0);
        let svg = render(&c);
        let middle = TOP + (HEIGHT - TOP - BOTTOM) / 2.0;
        assert!((threshold_y(&svg) - middle).abs() < 0.11, "{svg}");
        assert!(svg.contains("threshold 50"));
        assert!(!render(&chart(&ramp(3))).contains(r#"class="threshold""#));
    }

    #[test]
    fn the_value_axis_stretches_to_a_threshold_above_the_data() {
        let mut c = chart(&[(0, 1.0), (MINUTE_MS, 2.0)]);
        c.threshold = Some(1_000.0);
        let svg = render(&c);
        let y = threshold_y(&svg);
        assert!((TOP..HEIGHT - BOTTOM).contains(&y), "{y}");
        assert!(svg.contains(">1000<"), "top tick covers the threshold");
    }

    #[test]
    fn labels_and_titles_are_xml_escaped() {
        let mut c = chart(&ramp(3));
        c.title = r#"<script>"&'"#.to_owned();
        c.lines[0].label = "a<b>&c".to_owned();
        let svg = render(&c);
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("&lt;script&gt;&quot;&amp;&#39;"));
        assert!(svg.contains("a&lt;b&gt;&amp;c"));
    }

    #[test]
    fn a_forecast_band_needs_enough_points() {
        assert!(forecast_band(&ramp(MIN_FORECAST_POINTS as i64 - 1), HOUR_MS).is_none());
        let band = forecast_band(&ramp(40), HOUR_MS).expect("enough data");
        assert_eq!(band.len(), FORECAST_STEPS as usize + 1);
        let last_point = ramp(40).last().expect("points").0;
        assert_eq!(band[0].t_ms, last_point);
        assert_eq!(band.last().expect("band").t_ms, last_point + HOUR_MS);
        assert!(band.iter().all(|f| f.low <= f.value && f.value <= f.high));
        assert!(forecast_band(&ramp(40), 0).is_none());
    }

    #[test]
    fn the_band_is_drawn_only_when_there_is_one() {
        let points = ramp(40);
        let mut c = chart(&points);
        c.to_ms = points.last().expect("points").0;
        assert!(!render(&c).contains("forecast-band"));
        c.bands
            .push(forecast_band(&points, 5 * MINUTE_MS).expect("band"));
        let svg = render(&c);
        assert_eq!(svg.matches(r#"class="forecast-band""#).count(), 1);
        // Upper edge forwards, lower edge back: 2 × (steps + 1) vertices.
        let d = path_of(&svg, "forecast-band");
        assert_eq!(vertices(d), 2 * (FORECAST_STEPS as usize + 1));
        assert!(d.ends_with('Z'));
    }

    #[test]
    fn a_band_of_a_non_negative_series_stays_non_negative() {
        let flat: Vec<(i64, f64)> = (0..30)
            .map(|i| (i * MINUTE_MS, if i % 2 == 0 { 0.0 } else { 5.0 }))
            .collect();
        let band = forecast_band(&flat, DAY_MS).expect("band");
        assert!(band.iter().all(|f| f.low >= 0.0));
    }

    #[test]
    fn counters_become_rates_per_second_and_resets_are_skipped() {
        let rate = counter_rate(&[(0, 0.0), (10_000, 50.0), (20_000, 10.0), (30_000, 30.0)]);
        assert_eq!(rate, vec![(10_000, 5.0), (30_000, 2.0)]);
        assert!(counter_rate(&[(0, 1.0)]).is_empty());
    }

    #[test]
    fn the_step_keeps_about_the_target_number_of_points() {
        assert_eq!(auto_step(0, HOUR_MS), 11_000);
        assert_eq!(auto_step(0, 0), 1_000);
        assert!(30 * DAY_MS / auto_step(0, 30 * DAY_MS) <= TARGET_POINTS);
    }
}
