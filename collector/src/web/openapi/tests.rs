//! The document against the router it is generated with: every documented
//! operation is served (the router and the document come from the one
//! list in `web::routes`, so no route is served undocumented), every
//! `$ref` resolves, path parameters match their templates, and the token
//! check's refusals are where it answers them.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use super::*;
use crate::config::AuthConfig;
use crate::metrics::IngestCounters;
use crate::store::{Retention, Store};
use crate::web::{AppState, HeadroomCache, auth::WebAuth, router};

fn json() -> Value {
    serde_json::to_value(document()).expect("serializes")
}

/// Every (method, path template) of the document.
fn operations(document: &Value) -> Vec<(Method, String)> {
    let mut found = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("a method");
            found.push((method, path.clone()));
        }
    }
    found
}

#[tokio::test]
async fn every_documented_operation_is_served_by_the_router() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("h.db").display());
    let state = AppState {
        store: Store::open(&url).await.expect("opens"),
        retention: Retention {
            raw_ms: 86_400_000,
            minute_ms: 86_400_000,
            hour_ms: 86_400_000,
        },
        counters: IngestCounters::default(),
        auth: WebAuth::new(&AuthConfig::default()),
        headroom: HeadroomCache::default(),
        receivers: Default::default(),
    };
    let router = router(state);
    let document = json();
    let operations = operations(&document);
    assert!(operations.len() >= 20, "{operations:?}");
    for (method, template) in operations {
        // Any value for a path parameter: the route must match, whatever
        // the handler then makes of it.
        let path = template.replace(['{', '}'], "");
        let request = Request::builder()
            .method(method.clone())
            .uri(&path)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .expect("request");
        let response = router.clone().oneshot(request).await.expect("answers");
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&body);
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {template} is documented but not routed"
        );
        assert!(
            !text.contains("no such endpoint"),
            "{method} {template} is documented but not routed: {status} {text}"
        );
    }
}

#[test]
fn every_reference_resolves() {
    let document = json();
    let text = document.to_string();
    let references: Vec<&str> = text
        .split("\"$ref\":\"#/")
        .skip(1)
        .map(|part| part.split('"').next().unwrap_or_default())
        .collect();
    assert!(references.len() > 20, "{references:?}");
    for pointer in references {
        assert!(
            document.pointer(&format!("/{pointer}")).is_some(),
            "dangling $ref #/{pointer}"
        );
    }
}

#[test]
fn path_parameters_match_the_path_template() {
    let document = json();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for operation in item.as_object().expect("item").values() {
            let declared: Vec<&str> = operation["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            let templated: Vec<&str> = path
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split('}').next())
                .collect();
            assert_eq!(declared, templated, "{path}");
        }
    }
}

#[test]
fn it_is_openapi_3_1_with_both_security_schemes_and_the_crate_version() {
    let document = json();
    assert!(
        document["openapi"]
            .as_str()
            .expect("openapi")
            .starts_with("3.1")
    );
    assert_eq!(document["info"]["title"], "Headroom collector API");
    assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session"]["name"], "headroom_session");
    assert_eq!(schemes["session"]["in"], "cookie");
}

#[test]
fn the_token_check_refusals_are_documented_where_it_answers_them() {
    let document = json();
    for (method, path) in operations(&document) {
        let operation = &document["paths"][&path][method.as_str().to_lowercase()];
        let responses = &operation["responses"];
        let open = operation["security"] == serde_json::json!([{}]);
        match access(&method, &path) {
            Access::Open => {
                assert!(open, "{method} {path} needs no token but does not say so");
            }
            Access::Read => {
                assert!(!open, "{method} {path} needs a token");
                assert!(responses.get("401").is_some(), "{method} {path}");
                assert!(responses.get("403").is_none(), "{method} {path}");
            }
            Access::Act => {
                assert!(responses.get("401").is_some(), "{method} {path}");
                assert!(responses.get("403").is_some(), "{method} {path}");
            }
        }
    }
}

#[test]
fn every_operation_has_a_summary_and_json_errors_use_the_error_schema() {
    let document = json();
    for (method, path) in operations(&document) {
        let operation = &document["paths"][&path][method.as_str().to_lowercase()];
        assert!(
            operation["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{method} {path} has no summary"
        );
        for (status, response) in operation["responses"].as_object().expect("responses") {
            if status.starts_with('4') && response.get("$ref").is_none() {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/Error",
                    "{method} {path} {status}"
                );
            }
        }
    }
}

#[test]
#[ignore = "prints the document"]
fn print_the_document() {
    println!("{}", serde_json::to_string_pretty(&json()).expect("json"));
}
