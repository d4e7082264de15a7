//! Typed query strings. Each endpoint's parameters are one struct that
//! derives serde's `Deserialize` (each field parses its own text and says
//! precisely what is wrong) and utoipa's `IntoParams` (the OpenAPI
//! document's parameters): the struct is the one list of what the endpoint
//! takes. [`Params`] refuses a key the struct does not name; [`Labeled`]
//! takes every key outside [`reserved`] as an exact label matcher, as
//! `/api/v1/series` and `/api/v1/chart` do. A key given twice counts once,
//! with its last value.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use utoipa::IntoParams;
use utoipa::openapi::path::ParameterIn;

use super::ApiError;
use super::chart::ChartQuery;
use super::series::SeriesQuery;

/// A query string read into `T`; any key `T` does not name is refused.
#[derive(Debug)]
pub struct Params<T>(pub T);

/// A query string read into `T`, and every key outside [`reserved`] as an
/// exact label match (`database=shop`). A reserved key `T` does not take
/// is refused rather than matched.
#[derive(Debug)]
pub struct Labeled<T> {
    pub params: T,
    pub labels: BTreeMap<String, String>,
}

/// The query parameters of `/api/v1/series` and `/api/v1/chart`: a label
/// of one of these names cannot be matched through either. Read from the
/// two query structs, so it cannot drift from them; served to the
/// dashboard as `GET /api/v1/reserved-parameters`.
pub fn reserved() -> &'static [String] {
    static RESERVED: LazyLock<Vec<String>> = LazyLock::new(|| {
        let mut all = names::<SeriesQuery>();
        for name in names::<ChartQuery>() {
            if !all.contains(&name) {
                all.push(name);
            }
        }
        all
    });
    &RESERVED
}

/// The names of `T`'s query parameters, in declaration order.
pub fn names<T: IntoParams>() -> Vec<String> {
    T::into_params(|| Some(ParameterIn::Query))
        .into_iter()
        .map(|parameter| parameter.name)
        .collect()
}

impl<S: Send + Sync, T: DeserializeOwned + IntoParams> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let pairs = pairs(parts.uri.query())?;
        let names = names::<T>();
        if let Some(key) = pairs.keys().find(|key| !names.contains(key)) {
            return Err(if names.is_empty() {
                ApiError::bad_request(format!(
                    "unknown parameter `{key}`; {} takes none",
                    parts.uri.path()
                ))
            } else {
                ApiError::bad_request(format!(
                    "unknown parameter `{key}`; use {}",
                    names.join(", ")
                ))
            });
        }
        Ok(Self(read(&pairs)?))
    }
}

impl<S: Send + Sync, T: DeserializeOwned + IntoParams> FromRequestParts<S> for Labeled<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let (own, labels): (BTreeMap<_, _>, BTreeMap<_, _>) = pairs(parts.uri.query())?
            .into_iter()
            .partition(|(key, _)| reserved().contains(key));
        let names = names::<T>();
        if let Some(key) = own.keys().find(|key| !names.contains(key)) {
            return Err(ApiError::bad_request(format!(
                "`{key}` is not a parameter of {} (it takes {}; any other key matches a label)",
                parts.uri.path(),
                names.join(", ")
            )));
        }
        Ok(Self {
            params: read(&own)?,
            labels,
        })
    }
}

/// The decoded pairs of a query string, the last value of a repeated key.
fn pairs(query: Option<&str>) -> Result<BTreeMap<String, String>, ApiError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query.unwrap_or_default())
        .map_err(|error| {
            ApiError::bad_request(format!("the query string does not decode: {error}"))
        })?;
    Ok(pairs.into_iter().collect())
}

/// `T` from `pairs`; a field's own message when it refuses its text.
fn read<T: DeserializeOwned>(pairs: &BTreeMap<String, String>) -> Result<T, ApiError> {
    let text = serde_urlencoded::to_string(pairs).map_err(|error| {
        ApiError::bad_request(format!("the query string does not encode: {error}"))
    })?;
    serde_urlencoded::from_str(&text).map_err(|error| ApiError::bad_request(error.to_string()))
}

/// A field's text parsed by `parse`, whose error message is sent as it
/// is (for `#[serde(deserialize_with)]` on an optional field).
pub fn parsed<'de, D, T>(
    deserializer: D,
    parse: impl FnOnce(&str) -> Result<T, ApiError>,
) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
{
    let text = String::deserialize(deserializer)?;
    parse(&text)
        .map(Some)
        .map_err(|error| serde::de::Error::custom(error.message()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    #[derive(Debug, Deserialize, IntoParams)]
    struct Page {
        /// How many.
        #[serde(default, deserialize_with = "limit")]
        limit: Option<u32>,
        offset: Option<String>,
    }

    fn limit<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
        parsed(deserializer, |text| {
            text.parse()
                .map_err(|_| ApiError::bad_request(format!("`limit`: `{text}` is no count")))
        })
    }

    async fn extract<E: FromRequestParts<(), Rejection = ApiError>>(
        uri: &str,
    ) -> Result<E, String> {
        let (mut parts, ()) = Request::get(uri).body(()).expect("request").into_parts();
        E::from_request_parts(&mut parts, &())
            .await
            .map_err(|error| error.message().to_owned())
    }

    #[tokio::test]
    async fn named_keys_are_parsed_and_others_refused_with_the_list() {
        let Params(page) = extract::<Params<Page>>("/x?limit=5&offset=a%20b&limit=7")
            .await
            .expect("valid");
        assert_eq!((page.limit, page.offset.as_deref()), (Some(7), Some("a b")));
        assert_eq!(
            extract::<Params<Page>>("/x?limit=many")
                .await
                .expect_err("refused"),
            "`limit`: `many` is no count"
        );
        assert_eq!(
            extract::<Params<Page>>("/x?sort=eta")
                .await
                .expect_err("refused"),
            "unknown parameter `sort`; use limit, offset"
        );
    }

    #[derive(Debug, Deserialize, IntoParams)]
    struct Nothing {}

    #[tokio::test]
    async fn an_endpoint_without_parameters_says_it_takes_none() {
        assert!(extract::<Params<Nothing>>("/api/v1/volume").await.is_ok());
        assert_eq!(
            extract::<Params<Nothing>>("/api/v1/volume?x=1")
                .await
                .expect_err("refused"),
            "unknown parameter `x`; /api/v1/volume takes none"
        );
    }

    #[tokio::test]
    async fn other_keys_are_labels_and_reserved_ones_are_not() {
        let labeled = extract::<Labeled<SeriesQuery>>("/api/v1/series?name=up&database=shop")
            .await
            .expect("valid");
        assert_eq!(labeled.params.name.as_deref(), Some("up"));
        assert_eq!(
            labeled.labels,
            BTreeMap::from([("database".to_owned(), "shop".to_owned())])
        );
        let refused = extract::<Labeled<SeriesQuery>>("/api/v1/series?name=up&threshold=1")
            .await
            .expect_err("a chart parameter");
        assert!(
            refused.starts_with("`threshold` is not a parameter of /api/v1/series"),
            "{refused}"
        );
    }

    #[test]
    fn the_reserved_parameters_are_those_of_series_and_chart() {
        assert_eq!(
            reserved(),
            [
                "name",
                "prefix",
                "from",
                "to",
                "step",
                "threshold",
                "forecast",
                "tz_offset",
                "quantile",
                "fit"
            ]
        );
    }
}
