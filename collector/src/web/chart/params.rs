//! The parameters of `GET /api/v1/chart`: those of `/api/v1/series` (the
//! series, its range and step; any other key a label matcher) and the
//! chart's own [`Options`], each read from its text with a precise refusal.

use serde::{Deserialize, Deserializer};
use utoipa::IntoParams;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterIn};

use crate::web::ApiError;
use crate::web::query::parsed;
use crate::web::series::SeriesQuery;

/// The quantile a histogram is drawn at when `quantile` is absent.
pub const DEFAULT_QUANTILE: f64 = 0.95;

/// The chart's own parameters (beside those of `/api/v1/series`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct Options {
    /// Draw a horizontal line at this value.
    #[serde(deserialize_with = "threshold")]
    pub threshold: Option<f64>,
    /// Draw the forecast band.
    #[serde(deserialize_with = "forecast")]
    pub forecast: bool,
    /// Minutes east of UTC for the time axis (the viewer's zone).
    #[serde(rename = "tz_offset", deserialize_with = "tz_offset")]
    #[param(minimum = -840, maximum = 840)]
    pub tz_offset_min: i64,
    /// For a histogram (`<name>_bucket{le}` counters): the quantile drawn
    /// per step (default 0.95).
    #[serde(deserialize_with = "quantile")]
    #[param(exclusive_minimum = 0, exclusive_maximum = 1)]
    pub quantile: f64,
    /// Without `from`: open on the smallest of 1h, 6h, 24h, 7d, 30d (ending
    /// at `to`) that holds every stored point of the matching series with
    /// 5% to spare, and say which in the root's `data-window`.
    #[serde(deserialize_with = "fit")]
    pub fit: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            threshold: None,
            forecast: false,
            tz_offset_min: 0,
            quantile: DEFAULT_QUANTILE,
            fit: false,
        }
    }
}

/// `threshold`: a finite number.
fn threshold<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    parsed(d, |text| match text.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ => Err(ApiError::bad_request(format!(
            "`threshold` must be a finite number, not `{text}`"
        ))),
    })
}

/// `true`/`false`/`1`/`0`; the error names `key`.
fn flag(key: &str, text: &str) -> Result<bool, ApiError> {
    match text {
        "false" | "0" => Ok(false),
        "true" | "1" => Ok(true),
        other => Err(ApiError::bad_request(format!(
            "`{key}` must be true or false, not `{other}`"
        ))),
    }
}

fn forecast<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(parsed(d, |text| flag("forecast", text))?.unwrap_or_default())
}

fn fit<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(parsed(d, |text| flag("fit", text))?.unwrap_or_default())
}

/// `tz_offset`: minutes east of UTC, as far as ±14 h.
fn tz_offset<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let minutes = parsed(d, |text| match text.parse::<i64>() {
        Ok(minutes) if minutes.abs() <= 14 * 60 => Ok(minutes),
        _ => Err(ApiError::bad_request(format!(
            "`tz_offset` must be minutes east of UTC between -840 and 840, not `{text}`"
        ))),
    })?;
    Ok(minutes.unwrap_or_default())
}

/// `quantile`: strictly between 0 and 1.
fn quantile<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let q = parsed(d, |text| match text.parse::<f64>() {
        Ok(q) if q > 0.0 && q < 1.0 => Ok(q),
        _ => Err(ApiError::bad_request(format!(
            "`quantile` must be a number between 0 and 1, e.g. 0.95, not `{text}`"
        ))),
    })?;
    Ok(q.unwrap_or(DEFAULT_QUANTILE))
}

/// The parameters of `/api/v1/chart`: those of `/api/v1/series` (but
/// `prefix`; `name` is required) and [`Options`].
#[derive(Debug, Clone, Deserialize)]
pub struct ChartQuery {
    #[serde(flatten)]
    pub series: SeriesQuery,
    #[serde(flatten)]
    pub options: Options,
}

impl IntoParams for ChartQuery {
    fn into_params(parameter_in: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let mut params: Vec<Parameter> = SeriesQuery::into_params(&parameter_in)
            .into_iter()
            .filter(|p| p.name != "prefix")
            .map(|mut p| {
                if p.name == "name" {
                    p.required = Required::True;
                    p.description = Some(
                        "Series name (of a histogram: its quantile is drawn, see `quantile`)."
                            .into(),
                    );
                }
                p
            })
            .collect();
        params.extend(Options::into_params(parameter_in));
        params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_validated() {
        let parse =
            |query: &str| serde_urlencoded::from_str::<Options>(query).map_err(|e| e.to_string());
        let ok = parse("threshold=0.8&forecast=true&tz_offset=-300&fit=true").expect("valid");
        assert_eq!(
            ok,
            Options {
                threshold: Some(0.8),
                forecast: true,
                tz_offset_min: -300,
                quantile: DEFAULT_QUANTILE,
                fit: true,
            }
        );
        assert_eq!(parse("").expect("valid"), Options::default());
        assert_eq!(
            parse("forecast=0&quantile=0.5").expect("valid").quantile,
            0.5
        );
        for (key, bad) in [
            ("quantile", "1.5"),
            ("quantile", "0"),
            ("threshold", "high"),
            ("threshold", "NaN"),
            ("threshold", "inf"),
            ("forecast", "yes"),
            ("tz_offset", "900"),
            ("tz_offset", "+1h"),
        ] {
            let error = parse(&format!("{key}={}", bad.replace('+', "%2B"))).expect_err("refused");
            assert!(error.contains(key), "{key}={bad}: {error}");
        }
    }

    #[test]
    fn a_chart_query_reads_the_series_parameters_and_its_own() {
        let query: ChartQuery =
            serde_urlencoded::from_str("name=up&from=0&to=60000&step=1m&threshold=2&fit=1")
                .expect("valid");
        assert_eq!(query.series.name.as_deref(), Some("up"));
        assert_eq!(
            (query.series.from, query.series.to),
            (Some(0), Some(60_000))
        );
        assert_eq!(query.series.step, Some(60_000));
        assert_eq!(query.options.threshold, Some(2.0));
        assert!(query.options.fit && !query.options.forecast);
        let error = serde_urlencoded::from_str::<ChartQuery>("name=up&step=fast")
            .expect_err("refused")
            .to_string();
        assert!(error.starts_with("`step` must be a duration"), "{error}");
    }
}
