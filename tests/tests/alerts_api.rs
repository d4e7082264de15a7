//! The alerts' API end to end, with two receivers configured: the receivers
//! are listed with their routes, silences are created, listed and expired,
//! bad requests get a 400 saying what is wrong, answers match the OpenAPI
//! document, and no answer (nor the log) ever shows a webhook URL's secret
//! path or an HMAC secret. Nothing is delivered here (port 9 is discard).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use headroom_tests::openapi::documented;
use headroom_tests::{Collector, CollectorOptions};
use http::Method;
use serde_json::{Value, json};

/// Appended after `[auth]` by the harness: `[[alerts]]` tables only.
const RECEIVERS: &str = r#"
[[alerts]]
name = "ops-webhook"
type = "webhook"
url = "http://127.0.0.1:9/hooks/SECRET-PATH-abc123"
secret = "hmac-secret-0123456789"

[[alerts]]
name = "team-slack"
type = "slack"
url = "http://127.0.0.1:9/services/T000/B000/XXXXSECRET"
min_severity = "critical"
kinds = ["index", "cache"]
max_per_hour = 5
"#;

/// What must never appear in an answer or the log.
const SECRETS: [&str; 4] = ["SECRET-PATH", "XXXXSECRET", "hmac-secret", "/services/T000"];

async fn collector() -> Collector {
    Collector::start(CollectorOptions {
        extra_toml: RECEIVERS.into(),
        ..CollectorOptions::default()
    })
    .await
}

/// Panics when `text` (the answer to `what`) shows a secret.
fn assert_no_secret(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows `{secret}`:\n{text}");
    }
}

/// Sends `method` `path` (with `body`); checks that the answer shows no
/// secret and returns its status and JSON body (`Null` when not JSON).
async fn call(
    collector: &Collector,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let (status, _, text) = collector.request(method.clone(), path, &[], body).await;
    assert_no_secret(&format!("{method} {path}"), &text);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The value of the `/metrics` sample line starting with `prefix `.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(prefix)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

async fn metrics(collector: &Collector) -> String {
    let (status, _, text) = collector.request(Method::GET, "/metrics", &[], None).await;
    assert_eq!(status, 200, "{text}");
    assert_no_secret("/metrics", &text);
    text
}

fn a_silence(matchers: Value) -> Value {
    json!({
        "matchers": matchers,
        "comment": "deploying the new index",
        "created_by": "alerts-api-test",
        "duration": "2h",
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn receivers_are_listed_with_their_routes_and_no_answer_shows_a_url_or_secret() {
    let collector = collector().await;
    let (status, document) = call(&collector, Method::GET, "/api/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    for path in [
        "/api/v1/alerts/receivers",
        "/api/v1/alerts/deliveries",
        "/api/v1/silences",
        "/api/v1/silences/{id}",
    ] {
        assert!(
            document["paths"].get(path).is_some(),
            "{path} is not documented"
        );
    }

    let (status, body) = call(&collector, Method::GET, "/api/v1/alerts/receivers", None).await;
    assert_eq!(status, 200, "{body}");
    documented(&document, "/api/v1/alerts/receivers", "get", 200, &body);
    // Counts depend on the engine (nothing is delivered here, but a
    // notification may be pending): only their shape is checked.
    let mut receivers = body["receivers"].as_array().unwrap().clone();
    for receiver in &mut receivers {
        let counts = receiver
            .as_object_mut()
            .unwrap()
            .remove("deliveries")
            .unwrap();
        for status in ["pending", "delivered", "failed"] {
            assert!(counts[status].is_u64(), "{status} in {counts}");
        }
    }
    assert_eq!(
        receivers,
        vec![
            json!({
                "name": "ops-webhook", "type": "webhook", "min_severity": "warning",
                "kinds": [], "max_per_hour": 30,
            }),
            json!({
                "name": "team-slack", "type": "slack", "min_severity": "critical",
                "kinds": ["index", "cache"], "max_per_hour": 5,
            }),
        ]
    );

    for path in [
        "/api/v1/alerts/deliveries",
        "/api/v1/alerts/deliveries?status=failed&limit=1000",
        "/api/v1/alerts/deliveries?receiver=ops-webhook&status=pending",
    ] {
        let (status, body) = call(&collector, Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        documented(&document, "/api/v1/alerts/deliveries", "get", 200, &body);
    }
    let (status, body) = call(&collector, Method::GET, "/api/v1/silences", None).await;
    assert_eq!(status, 200, "{body}");
    documented(&document, "/api/v1/silences", "get", 200, &body);

    let text = metrics(&collector).await;
    for receiver in ["ops-webhook", "team-slack"] {
        for status in ["pending", "delivered", "failed"] {
            let line =
                format!("headroom_alert_deliveries{{receiver=\"{receiver}\",status=\"{status}\"}}");
            assert!(
                sample(&text, &line).is_some(),
                "{line} is missing from\n{text}"
            );
        }
    }
    assert_eq!(sample(&text, "headroom_alert_silences_active"), Some(0.0));

    // Errors quote what was asked, never the configuration.
    let (status, _) = call(
        &collector,
        Method::GET,
        "/api/v1/alerts/deliveries?status=x",
        None,
    )
    .await;
    assert_eq!(status, 400);
    let log = std::fs::read_to_string(&collector.log).unwrap_or_default();
    assert_no_secret("the collector's log", &log);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silence_is_created_active_and_expired_by_delete() {
    let collector = collector().await;
    let (_, document) = call(&collector, Method::GET, "/api/v1/openapi.json", None).await;

    let body = a_silence(json!({"kind": "index", "receiver": "team-slack"}));
    let (status, created) = call(&collector, Method::POST, "/api/v1/silences", Some(&body)).await;
    assert_eq!(status, 201, "{created}");
    documented(&document, "/api/v1/silences", "post", 201, &created);
    let id = created["id"].as_str().unwrap().to_owned();
    let hex = id.strip_prefix("sil-").expect("a sil- id");
    assert!(
        hex.len() == 16 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(created["state"], "active");
    assert_eq!(
        created["matchers"],
        json!({"kind": "index", "receiver": "team-slack"})
    );
    assert_eq!(created["created_by"], "alerts-api-test");
    let (starts, ends) = (
        created["starts_at"].as_i64().unwrap(),
        created["ends_at"].as_i64().unwrap(),
    );
    assert_eq!(ends - starts, 2 * 3_600_000, "a 2h silence");

    let (status, listed) = call(&collector, Method::GET, "/api/v1/silences", None).await;
    assert_eq!(status, 200);
    documented(&document, "/api/v1/silences", "get", 200, &listed);
    assert_eq!(listed["silences"], json!([created.clone()]));
    assert_eq!(
        sample(&metrics(&collector).await, "headroom_alert_silences_active"),
        Some(1.0)
    );

    let path = format!("/api/v1/silences/{id}");
    let (status, expired) = call(&collector, Method::DELETE, &path, None).await;
    assert_eq!(status, 200, "{expired}");
    documented(&document, "/api/v1/silences/{id}", "delete", 200, &expired);
    assert_eq!(expired["id"], id.as_str());
    assert_eq!(expired["state"], "expired");
    assert!(
        expired["ends_at"].as_i64().unwrap() < ends,
        "it ended early"
    );

    let (_, listed) = call(&collector, Method::GET, "/api/v1/silences", None).await;
    assert_eq!(listed["silences"][0]["id"], id.as_str());
    assert_eq!(listed["silences"][0]["state"], "expired");
    assert_eq!(
        sample(&metrics(&collector).await, "headroom_alert_silences_active"),
        Some(0.0)
    );

    let (status, missing) = call(
        &collector,
        Method::DELETE,
        "/api/v1/silences/sil-0000000000000000",
        None,
    )
    .await;
    assert_eq!(status, 404, "{missing}");
    documented(&document, "/api/v1/silences/{id}", "delete", 404, &missing);
    assert!(
        missing["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no silence `sil-0000000000000000`")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_silences_and_bad_delivery_queries_get_a_400_saying_what_is_wrong() {
    let collector = collector().await;
    let (_, document) = call(&collector, Method::GET, "/api/v1/openapi.json", None).await;
    let now = headroom_collector::store::now_ms();
    let with = |changes: Value| {
        let mut body = a_silence(json!({"kind": "index"}));
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                body.as_object_mut().unwrap().remove(key);
            } else {
                body[key] = value.clone();
            }
        }
        body
    };
    for (body, needle) in [
        (with(json!({"matchers": {}})), "at least one matcher"),
        (
            with(json!({"matchers": {"receiver": "pager"}})),
            "no receiver is named `pager` (configured: ops-webhook, team-slack)",
        ),
        (
            with(json!({"ends_at": now + 3_600_000})),
            "either `ends_at` or `duration`, not both",
        ),
        (
            with(json!({"duration": null, "ends_at": now - 60_000})),
            "is in the past",
        ),
        (
            with(json!({"duration": null})),
            "`ends_at` (unix ms) or `duration`",
        ),
        (
            with(json!({"duration": "a while"})),
            "`duration` must be a duration like 2h",
        ),
        (with(json!({"comment": ""})), "`comment` must not be empty"),
        (
            with(json!({"created_by": "x".repeat(501)})),
            "`created_by` must be at most 500 characters",
        ),
        (
            with(json!({"matchers": {"kind": "indexes"}})),
            "not a valid silence",
        ),
        (with(json!({"silence": true})), "not a valid silence"),
    ] {
        let (status, answer) =
            call(&collector, Method::POST, "/api/v1/silences", Some(&body)).await;
        assert_eq!(status, 400, "{body}: {answer}");
        documented(&document, "/api/v1/silences", "post", 400, &answer);
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(needle),
            "{body}: `{message}` does not say `{needle}`"
        );
    }
    let (_, listed) = call(&collector, Method::GET, "/api/v1/silences", None).await;
    assert_eq!(listed["silences"], json!([]), "nothing refused was stored");

    for (query, needle) in [
        (
            "status=sent",
            "`status`: `sent` is not one of pending, delivered, failed",
        ),
        (
            "limit=0",
            "`limit` must be a whole number between 1 and 1000",
        ),
        (
            "limit=1001",
            "`limit` must be a whole number between 1 and 1000",
        ),
        ("limit=all", "`limit`"),
        ("order=asc", "unknown parameter `order`"),
    ] {
        let path = format!("/api/v1/alerts/deliveries?{query}");
        let (status, answer) = call(&collector, Method::GET, &path, None).await;
        assert_eq!(status, 400, "{path}: {answer}");
        documented(&document, "/api/v1/alerts/deliveries", "get", 400, &answer);
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(needle),
            "{path}: `{message}` does not say `{needle}`"
        );
    }
}
