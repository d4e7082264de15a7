//! The HTTP API end to end: every endpoint answers with the shape its
//! OpenAPI document promises (and the document passes
//! openapi-spec-validator), bad parameters get a 400 (or 404) with the
//! JSON error, the dashboard and admin tokens guard reads and actions (as a
//! bearer token or the session cookie), and a collector without a dashboard
//! token refuses to listen beyond loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use headroom_tests::openapi::{conforms, documented, spec_validator};
use headroom_tests::{Collector, CollectorOptions, bin, free_port, wait_for};
use http::Method;
use serde_json::{Value, json};

const DASHBOARD: &str = "dashboard-token-0123456789";
const ADMIN: &str = "admin-token-0123456789ab";

/// Waits for the advisor's "not enough data yet" recommendation (every
/// fresh collector opens one) and returns its id.
async fn first_recommendation(collector: &Collector, token: &str) -> String {
    wait_for(
        Duration::from_secs(30),
        "a first recommendation",
        || async {
            let (_, body) = collector
                .get_as(token, "/api/v1/recommendations?kind=none")
                .await;
            body["recommendations"][0]["id"].as_str().map(str::to_owned)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_endpoint_answers_with_its_documented_shape() {
    let collector = Collector::start(CollectorOptions {
        analysis_interval: Some("1s".into()),
        ..CollectorOptions::default()
    })
    .await;
    let (status, document) = collector.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{document}"
    );
    let paths = document["paths"].as_object().expect("paths");
    for path in [
        "/healthz",
        "/metrics",
        "/api/v1/openapi.json",
        "/api/v1/session",
        "/api/v1/agents",
        "/api/v1/series",
        "/api/v1/chart",
        "/api/v1/status",
        "/api/v1/texts",
        "/api/v1/recommendations",
        "/api/v1/recommendations/{id}",
        "/api/v1/recommendations/{id}/{action}",
        "/api/v1/headroom",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    let id = first_recommendation(&collector, "").await;
    for (template, path) in [
        ("/healthz", "/healthz".to_owned()),
        ("/api/v1/session", "/api/v1/session".to_owned()),
        ("/api/v1/agents", "/api/v1/agents".to_owned()),
        ("/api/v1/series", "/api/v1/series".to_owned()),
        (
            "/api/v1/series",
            "/api/v1/series?name=up&step=1m".to_owned(),
        ),
        ("/api/v1/status", "/api/v1/status".to_owned()),
        ("/api/v1/texts", "/api/v1/texts?kind=pg_query".to_owned()),
        (
            "/api/v1/recommendations",
            "/api/v1/recommendations?state=open".to_owned(),
        ),
        (
            "/api/v1/recommendations/{id}",
            format!("/api/v1/recommendations/{id}"),
        ),
        ("/api/v1/headroom", "/api/v1/headroom".to_owned()),
    ] {
        let (status, body) = collector.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        documented(&document, template, "get", 200, &body);
    }
    let (_, session) = collector.get("/api/v1/session").await;
    assert_eq!(
        session,
        json!({"auth_required": false, "authenticated": true, "can_act": true})
    );

    let (status, acknowledged) = collector
        .post(
            &format!("/api/v1/recommendations/{id}/acknowledge"),
            &json!({"by": "api-test"}),
        )
        .await;
    assert_eq!(status, 200, "{acknowledged}");
    documented(
        &document,
        "/api/v1/recommendations/{id}/{action}",
        "post",
        200,
        &acknowledged,
    );
    assert_eq!(acknowledged["state"], "acknowledged");

    let (status, headers, text) = collector
        .request(Method::GET, "/api/v1/chart?name=up", &[], None)
        .await;
    assert_eq!(status, 200, "{text}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/svg+xml")
    );
    assert!(text.contains("<svg"), "{text}");

    let (status, headers, text) = collector.request(Method::GET, "/metrics", &[], None).await;
    assert_eq!(status, 200, "{text}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{headers:?}"
    );
    assert!(
        text.contains("# TYPE headroom_ingest_batches_total counter"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_served_document_passes_openapi_spec_validator() {
    let collector = Collector::start(CollectorOptions::default()).await;
    let (status, _, text) = collector
        .request(Method::GET, "/api/v1/openapi.json", &[], None)
        .await;
    assert_eq!(status, 200, "{text}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &text).unwrap();
    let output = std::process::Command::new(spec_validator())
        .arg(&file)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("OK"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_parameters_get_a_json_error_saying_what_is_wrong() {
    let collector = Collector::start(CollectorOptions::default()).await;
    let (status, document) = collector.get("/api/v1/openapi.json").await;
    assert_eq!(status, 200);
    for (path, expected, needle) in [
        ("/api/v1/series?name=up&from=yesterday", 400, "`from`"),
        ("/api/v1/series?name=up&from=10&to=5", 400, "after"),
        ("/api/v1/series?name=up&step=fast", 400, "`step`"),
        ("/api/v1/series?name=up&step=0", 400, "`step`"),
        (
            "/api/v1/series?name=up&from=0&to=100000000&step=1",
            400,
            "steps",
        ),
        ("/api/v1/recommendations?kind=indexes", 400, "`kind`"),
        ("/api/v1/recommendations?limit=0", 400, "`limit`"),
        ("/api/v1/recommendations?limit=many", 400, "`limit`"),
        ("/api/v1/texts", 400, "`kind` is required"),
        ("/api/v1/chart", 400, "`name`"),
        (
            "/api/v1/recommendations/index-0000000000000000",
            404,
            "no recommendation",
        ),
        ("/api/v1/nothing-here", 404, "no such endpoint"),
    ] {
        let (status, body) = collector.get(path).await;
        assert_eq!(status, expected, "{path}: {body}");
        assert_eq!(body["error"]["status"], expected, "{path}: {body}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{path}: {body}");
        conforms(
            &document,
            &json!({"$ref": "#/components/schemas/Error"}),
            &body,
            path,
        )
        .unwrap();
    }
    for (path, body, expected, needle) in [
        (
            "/api/v1/recommendations/index-0000000000000000/acknowledge",
            json!({}),
            404,
            "no recommendation",
        ),
        (
            "/api/v1/recommendations/index-0000000000000000/forget",
            json!({}),
            404,
            "no action `forget`",
        ),
        (
            "/api/v1/recommendations/index-0000000000000000/snooze",
            json!({}),
            400,
            "`until`",
        ),
        ("/api/v1/session", json!({"password": "x"}), 400, "token"),
    ] {
        let (status, answer) = collector.post(path, &body).await;
        assert_eq!(status, expected, "{path}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(needle), "{path}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_guard_reads_and_actions_and_the_session_cookie_carries_them() {
    let collector = Collector::start(CollectorOptions {
        analysis_interval: Some("1s".into()),
        dashboard_token: DASHBOARD.into(),
        admin_token: ADMIN.into(),
        ..CollectorOptions::default()
    })
    .await;
    let bearer = |token: &str| format!("Bearer {token}");

    // Open without a token: health, the session, the dashboard's page.
    let (status, body) = collector.get("/healthz").await;
    assert_eq!((status, &body["status"]), (200, &json!("ok")), "{body}");
    let (status, body) = collector.get("/api/v1/session").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"auth_required": true, "authenticated": false, "can_act": false})
    );

    // No token, or a wrong one: 401 with the JSON error and the challenge.
    for path in [
        "/api/v1/agents",
        "/api/v1/openapi.json",
        "/metrics",
        "/api/v1/chart?name=up",
    ] {
        for headers in [
            vec![],
            vec![("authorization", "Bearer not-the-token-at-all")],
        ] {
            let (status, response, text) =
                collector.request(Method::GET, path, &headers, None).await;
            assert_eq!(status, 401, "{path} {headers:?}: {text}");
            assert!(
                response["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .starts_with("Bearer"),
                "{response:?}"
            );
            let body: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body["error"]["status"], 401, "{text}");
        }
    }
    let (status, _) = collector
        .post("/api/v1/recommendations/none-0/acknowledge", &json!({}))
        .await;
    assert_eq!(status, 401);

    // Both tokens read.
    for token in [DASHBOARD, ADMIN] {
        let (status, body) = collector.get_as(token, "/api/v1/agents").await;
        assert_eq!(status, 200, "{body}");
        let (status, _, _) = collector
            .request(
                Method::GET,
                "/metrics",
                &[("authorization", &bearer(token))],
                None,
            )
            .await;
        assert_eq!(status, 200);
    }

    // Only the admin token acts.
    let id = first_recommendation(&collector, DASHBOARD).await;
    let acknowledge = format!("/api/v1/recommendations/{id}/acknowledge");
    let (status, _, text) = collector
        .request(
            Method::POST,
            &acknowledge,
            &[("authorization", &bearer(DASHBOARD))],
            Some(&json!({"by": "dashboard"})),
        )
        .await;
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("needs the admin token"), "{text}");
    let (status, _, text) = collector
        .request(
            Method::POST,
            &acknowledge,
            &[("authorization", &bearer(ADMIN))],
            Some(&json!({"by": "admin"})),
        )
        .await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"acknowledged\""), "{text}");

    // Logging in: a wrong token is refused, a right one sets the cookie.
    let (status, _, text) = collector
        .request(
            Method::POST,
            "/api/v1/session",
            &[],
            Some(&json!({"token": "not-the-token-at-all"})),
        )
        .await;
    assert_eq!(status, 401, "{text}");
    let (status, headers, _) = collector
        .request(
            Method::POST,
            "/api/v1/session",
            &[],
            Some(&json!({"token": DASHBOARD})),
        )
        .await;
    assert_eq!(status, 204);
    let set_cookie = headers["set-cookie"].to_str().unwrap().to_owned();
    for part in [
        format!("headroom_session={DASHBOARD}"),
        "HttpOnly".into(),
        "SameSite=Strict".into(),
        "Path=/".into(),
    ] {
        assert!(set_cookie.contains(&part), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let (status, _, text) = collector
        .request(Method::GET, "/api/v1/agents", &[("cookie", &cookie)], None)
        .await;
    assert_eq!(status, 200, "{text}");
    let (_, _, text) = collector
        .request(Method::GET, "/api/v1/session", &[("cookie", &cookie)], None)
        .await;
    let session: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        session,
        json!({"auth_required": true, "authenticated": true, "can_act": false})
    );
    let (status, _, _) = collector
        .request(
            Method::POST,
            &acknowledge,
            &[("cookie", &cookie)],
            Some(&json!({})),
        )
        .await;
    assert_eq!(status, 403);
    let admin_cookie = format!("headroom_session={ADMIN}");
    let (_, _, text) = collector
        .request(
            Method::GET,
            "/api/v1/session",
            &[("cookie", &admin_cookie)],
            None,
        )
        .await;
    assert!(text.contains("\"can_act\":true"), "{text}");

    let (status, headers, _) = collector
        .request(
            Method::DELETE,
            "/api/v1/session",
            &[("cookie", &cookie)],
            None,
        )
        .await;
    assert_eq!(status, 204);
    let cleared = headers["set-cookie"].to_str().unwrap();
    assert!(cleared.starts_with("headroom_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");

    // The tokens never reach the log.
    let log = std::fs::read_to_string(&collector.log).unwrap();
    assert!(!log.contains(DASHBOARD) && !log.contains(ADMIN), "{log}");
}

/// Runs `headroom-collector` with `toml` as its config until it exits.
fn run_with_config(toml: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("collector.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\ngrpc_listen = \"127.0.0.1:{}\"\n{toml}",
            dir.path().join("data").display().to_string(),
            free_port()
        ),
    )
    .unwrap();
    std::process::Command::new(bin("headroom-collector"))
        .arg("--config")
        .arg(&config)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn without_a_dashboard_token_the_collector_refuses_to_listen_beyond_loopback() {
    let port = free_port();
    let output = run_with_config(&format!("http_listen = \"0.0.0.0:{port}\"\n"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert_eq!(output.status.code(), Some(64), "{stderr}");
    assert!(stderr.contains("`auth.dashboard_token`"), "{stderr}");
    assert!(stderr.contains("0.0.0.0"), "{stderr}");

    let output = run_with_config(&format!(
        "http_listen = \"127.0.0.1:{port}\"\n[auth]\nadmin_token = \"{ADMIN}\"\n"
    ));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("`auth.admin_token`"), "{stderr}");
    assert!(!stderr.contains(ADMIN), "{stderr}");
}

#[test]
fn the_shape_check_finds_a_missing_key_a_wrong_type_and_a_bad_enum() {
    let document = json!({"components": {"schemas": {"Session": {
        "type": "object",
        "required": ["auth_required", "can_act"],
        "properties": {
            "auth_required": {"type": "boolean"},
            "can_act": {"type": "boolean"},
            "state": {"enum": ["open"]},
        },
    }}}});
    let schema = json!({"$ref": "#/components/schemas/Session"});
    let good = json!({"auth_required": true, "can_act": false, "state": "open"});
    assert_eq!(conforms(&document, &schema, &good, "body"), Ok(()));
    for bad in [
        json!({"auth_required": true}),
        json!({"auth_required": "yes", "can_act": false}),
        json!({"auth_required": true, "can_act": false, "state": "closed"}),
    ] {
        assert!(conforms(&document, &schema, &bad, "body").is_err(), "{bad}");
    }
}
