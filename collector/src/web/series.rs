//! `GET /api/v1/series` (the list of stored series, or the points of the
//! matching ones) and what it shares with `/api/v1/chart`: the query
//! ([`SeriesQuery`]; any other key is a label matcher, see
//! [`query::reserved`], served as `GET /api/v1/reserved-parameters`) and
//! the reading of times and steps.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Required, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::query::{self, Labeled, parsed};
use super::{ApiError, AppState, ErrorBody};
use crate::store::now_ms;
use crate::store::query::{PointsQuery, SeriesPoints, SeriesRow};

/// Most buckets a stepped query may ask for, per series (as Prometheus).
pub const MAX_STEPS: i64 = 11_000;
/// The range a points query covers when `from` is absent.
pub const DEFAULT_RANGE_MS: i64 = 3_600_000;

/// The parameters of `/api/v1/series` (and, but `prefix`, of `/api/v1/chart`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// Series name; without it, the list of series.
    pub name: Option<String>,
    /// Without `name`: only series whose name starts with this.
    pub prefix: Option<String>,
    /// Start: unix ms or RFC 3339 (default: `to` minus one hour).
    #[serde(default, deserialize_with = "from_param")]
    #[param(value_type = Option<TimeText>, inline)]
    pub from: Option<i64>,
    /// End: unix ms or RFC 3339 (default: now).
    #[serde(default, deserialize_with = "to_param")]
    #[param(value_type = Option<TimeText>, inline)]
    pub to: Option<i64>,
    /// Aggregate per step: a duration like `30s`, or ms; at most 11,000 steps.
    #[serde(default, deserialize_with = "step_param")]
    #[param(value_type = Option<StepText>, inline)]
    pub step: Option<i64>,
}

impl SeriesQuery {
    /// The points of `name` matching `labels` that this query asks for at
    /// `now`, or what is wrong with it.
    pub fn points(
        &self,
        name: &str,
        labels: BTreeMap<String, String>,
        now: i64,
    ) -> Result<PointsQuery, ApiError> {
        if name.is_empty() {
            return Err(ApiError::bad_request("`name` is empty"));
        }
        let to_ms = self.to.unwrap_or(now);
        let from_ms = self.from.unwrap_or(to_ms - DEFAULT_RANGE_MS);
        if from_ms > to_ms {
            return Err(ApiError::bad_request(format!(
                "`from` ({from_ms}) is after `to` ({to_ms})"
            )));
        }
        if let Some(step) = self.step
            && (to_ms - from_ms) / step > MAX_STEPS
        {
            return Err(ApiError::bad_request(format!(
                "the range holds more than {MAX_STEPS} steps of {step} ms; use a larger `step` or a shorter range"
            )));
        }
        Ok(PointsQuery {
            name: name.to_owned(),
            labels,
            from_ms,
            to_ms,
            step_ms: self.step,
        })
    }
}

/// Any other query parameter: an exact label match (documented as one
/// free-form `labels` object, exploded into its keys).
#[derive(Debug)]
pub struct LabelMatchers;

impl IntoParams for LabelMatchers {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![
            ParameterBuilder::new()
                .name("labels")
                .parameter_in(ParameterIn::Query)
                .description(Some(
                    "Any other parameter matches a label exactly, e.g. `database=shop` (a label \
                     named like a parameter here cannot be matched; see \
                     /api/v1/reserved-parameters).",
                ))
                .required(Required::False)
                .style(Some(ParameterStyle::Form))
                .explode(Some(true))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Object)
                        .additional_properties(Some(
                            ObjectBuilder::new().schema_type(Type::String),
                        )),
                ))
                .build(),
        ]
    }
}

/// The answer of `/api/v1/series`: the list without `name`, the points with it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SeriesAnswer {
    /// The stored series.
    List { series: Vec<SeriesRow> },
    /// The points of the matching series.
    Points {
        from: i64,
        to: i64,
        /// The bucket width, when the points are aggregated.
        step: Option<i64>,
        series: Vec<SeriesPoints>,
    },
}

/// Without `name`, the stored series; with `name`, points of the matching series
#[utoipa::path(
    get,
    path = "/api/v1/series",
    tag = "series",
    params(SeriesQuery, LabelMatchers),
    responses(
        (status = 200, description = "The series list, or the points.", body = SeriesAnswer),
        (status = 400, description = "A bad time, step or range.", body = ErrorBody),
    )
)]
pub(super) async fn series(
    State(state): State<AppState>,
    Labeled { params, labels }: Labeled<SeriesQuery>,
) -> Result<Json<SeriesAnswer>, ApiError> {
    let Some(name) = &params.name else {
        let prefix = params.prefix.as_deref().unwrap_or_default();
        let series = state.store.series_list(prefix).await?;
        return Ok(Json(SeriesAnswer::List { series }));
    };
    let query = params.points(name, labels, now_ms())?;
    let series = state.store.points(&query, &state.retention).await?;
    Ok(Json(SeriesAnswer::Points {
        from: query.from_ms,
        to: query.to_ms,
        step: query.step_ms,
        series,
    }))
}

/// The query parameters that are not label matchers.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReservedParameters {
    /// Parameters of /api/v1/series and /api/v1/chart; every other key
    /// matches a label, so a label of one of these names cannot be matched.
    pub reserved: Vec<String>,
}

/// The query parameters of /api/v1/series and /api/v1/chart that are not label matchers
#[utoipa::path(
    get,
    path = "/api/v1/reserved-parameters",
    tag = "series",
    responses((status = 200, description = "The reserved names.", body = ReservedParameters))
)]
pub(super) async fn reserved_parameters() -> Json<ReservedParameters> {
    Json(ReservedParameters {
        reserved: query::reserved().to_vec(),
    })
}

fn from_param<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    parsed(deserializer, |text| parse_time("from", text))
}

fn to_param<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    parsed(deserializer, |text| parse_time("to", text))
}

fn step_param<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    parsed(deserializer, parse_step)
}

/// What [`parse_time`] reads: unix ms, or an RFC 3339 time (the
/// document's type of `from` and `to`).
#[derive(Debug)]
pub struct TimeText;

impl PartialSchema for TimeText {
    fn schema() -> RefOr<Schema> {
        time_schema().into()
    }
}

impl ToSchema for TimeText {}

/// What [`parse_step`] reads: ms, or a duration like `30s` (the
/// document's type of `step`).
#[derive(Debug)]
pub struct StepText;

impl PartialSchema for StepText {
    fn schema() -> RefOr<Schema> {
        step_schema().into()
    }
}

impl ToSchema for StepText {}

fn time_schema() -> Schema {
    OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Integer))
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .into()
}

fn step_schema() -> Schema {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .examples(["30s", "5m"]),
        )
        .into()
}

/// `text` as unix milliseconds: a number of them, or an RFC 3339 time;
/// the error names `key`.
pub fn parse_time(key: &str, text: &str) -> Result<i64, ApiError> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    humantime::parse_rfc3339_weak(text)
        .ok()
        .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|since| since.as_millis() as i64)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "`{key}` must be unix milliseconds or an RFC 3339 time like 2026-11-27T12:00:00Z, not `{text}`"
            ))
        })
}

/// `text` as a step in milliseconds: a number of them, or a duration.
pub fn parse_step(text: &str) -> Result<i64, ApiError> {
    let step = match text.parse::<i64>() {
        Ok(ms) => ms,
        Err(_) => humantime::parse_duration(text)
            .map(|d| d.as_millis() as i64)
            .map_err(|_| {
                ApiError::bad_request(format!(
                    "`step` must be a duration like 30s or milliseconds, not `{text}`"
                ))
            })?,
    };
    if step <= 0 {
        return Err(ApiError::bad_request("`step` must be more than 0"));
    }
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The points query of `name=x` and `pairs`, as the handler reads it.
    fn points(pairs: &[(&str, &str)], now: i64) -> Result<PointsQuery, String> {
        let text = serde_urlencoded::to_string(pairs).expect("encodes");
        let query: SeriesQuery = serde_urlencoded::from_str(&text).map_err(|e| e.to_string())?;
        query
            .points("x", BTreeMap::new(), now)
            .map_err(|error| error.message().to_owned())
    }

    #[test]
    fn times_and_steps_are_read() {
        let query = points(&[("step", "1m"), ("from", "0"), ("to", "60000")], 0).expect("valid");
        assert_eq!(query.step_ms, Some(60_000));
        assert_eq!((query.from_ms, query.to_ms), (0, 60_000));
        let query = points(&[("to", "5000")], 0).expect("valid");
        assert_eq!(query.from_ms, 5000 - DEFAULT_RANGE_MS);
    }

    #[test]
    fn bad_parameters_say_what_is_wrong() {
        for (pairs, needle) in [
            (vec![("from", "yesterday")], "`from`"),
            (vec![("to", "later")], "`to`"),
            (vec![("from", "10"), ("to", "5")], "after"),
            (vec![("step", "0")], "`step`"),
            (vec![("step", "fast")], "`step`"),
            (
                vec![("from", "0"), ("to", "100000000"), ("step", "1")],
                "steps",
            ),
        ] {
            let error = points(&pairs, 1_000).expect_err("refused");
            assert!(error.contains(needle), "{pairs:?}: {error}");
        }
    }

    #[test]
    fn rfc3339_times_are_accepted() {
        let query = points(
            &[
                ("from", "1970-01-01T00:00:01Z"),
                ("to", "1970-01-01T00:00:02Z"),
            ],
            0,
        )
        .expect("valid");
        assert_eq!((query.from_ms, query.to_ms), (1_000, 2_000));
    }
}
