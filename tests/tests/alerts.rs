//! Alerts end to end: the real collector delivers to a real local HTTP
//! receiver (tests/src/receiver.rs) in each platform's format, retries,
//! honours Retry-After, records final failures (shown by the API and, in a
//! real browser, the dashboard), survives a kill without a
//! duplicate, respects silences, sends resolved notifications, and never
//! shows its webhook URLs or HMAC secret.
//!
//! The chat platforms themselves cannot be reached from here: the receiver
//! stands in for them, and the payloads are checked against their
//! documented schemas field by field. The recommendations are written into
//! the collector's store with its own `save_recommendations`, as an advisor
//! pass does (the advisor runs hourly in these tests), so that a test
//! controls when one opens and resolves; the advisor itself is tested in
//! advisor_api.rs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use headroom_collector::advisor::lifecycle::{Recommendation, State, id_of};
use headroom_collector::advisor::{Evidence, RecKind, Severity};
use headroom_collector::store::{Store, now_ms};
use headroom_tests::receiver::{Receiver, Reply};
use headroom_tests::webdriver::Browser;
use headroom_tests::{Collector, CollectorOptions, bin};
use serde_json::{Value, json};

const HMAC_SECRET: &str = "hmac-secret-for-tests-0123";
const WAIT: Duration = Duration::from_secs(20);

/// Fast timers for tests: Alertmanager's shape, seconds instead of minutes.
fn alerting() -> String {
    "[alerting]\ngroup_wait = \"1s\"\ngroup_interval = \"2s\"\nrepeat_interval = \"1h\"\n\
     retry_backoff = \"300ms\"\nretry_max_backoff = \"2s\"\ngive_up_after = \"1m\"\n\
     timeout = \"5s\"\nexternal_url = \"http://dash.example\"\n"
        .to_owned()
}

fn receiver_toml(name: &str, kind: &str, url: &str) -> String {
    let secret = if kind == "webhook" {
        format!("secret = {HMAC_SECRET:?}\n")
    } else {
        String::new()
    };
    format!("[[alerts]]\nname = {name:?}\ntype = {kind:?}\nurl = {url:?}\n{secret}")
}

async fn start(receivers: &str) -> Collector {
    start_on(receivers, None).await
}

async fn start_on(receivers: &str, database_url: Option<String>) -> Collector {
    Collector::start(CollectorOptions {
        extra_toml: format!("{}{receivers}", alerting()),
        analysis_interval: Some("1h".into()),
        database_url,
        ..CollectorOptions::default()
    })
    .await
}

/// The collector's own store: its SQLite file, or `database_url`.
async fn store_of(collector: &Collector, database_url: Option<&str>) -> Store {
    let url = match database_url {
        Some(url) => url.to_owned(),
        None => {
            let path = collector.dir.path().join("data").join("headroom.db");
            format!("sqlite://{}", path.display())
        }
    };
    Store::open(&url).await.expect("open the collector's store")
}

fn rec(key: &str, kind: RecKind, severity: Severity) -> Recommendation {
    let now = now_ms();
    Recommendation {
        id: id_of(kind, key),
        kind,
        key: key.into(),
        severity,
        title: format!("Add an index on product ({key})"),
        summary: "Sequential scans over 200,000 rows dominate the admin's product list.".into(),
        action: "CREATE INDEX CONCURRENTLY IF NOT EXISTS headroom_product_handle_idx \
                 ON public.product (handle) WHERE deleted_at IS NULL"
            .into(),
        evidence: Evidence::default(),
        confidence: 0.9,
        state: State::Open,
        snoozed_until: None,
        first_seen: now,
        last_seen: now,
        resolved_at: None,
        seen_passes: 3,
        missed_passes: 0,
    }
}

/// Writes `recs` as an advisor pass would.
async fn advise(store: &Store, recs: &[Recommendation]) {
    let read: HashMap<String, State> = store
        .recommendations()
        .await
        .expect("read recommendations")
        .into_iter()
        .map(|r| (r.id, r.state))
        .collect();
    let skipped = store
        .save_recommendations(recs, &[], &read)
        .await
        .expect("save recommendations");
    assert!(skipped.is_empty(), "nothing raced: {skipped:?}");
}

fn resolved(mut rec: Recommendation) -> Recommendation {
    rec.state = State::Resolved;
    rec.resolved_at = Some(now_ms());
    rec
}

/// HMAC-SHA256 of `<timestamp>.<body>`, computed here with ring directly.
fn expected_signature(timestamp: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HMAC_SECRET.as_bytes());
    let mut signed = timestamp.as_bytes().to_vec();
    signed.push(b'.');
    signed.extend_from_slice(body);
    format!(
        "sha256={}",
        hex::encode(ring::hmac::sign(&key, &signed).as_ref())
    )
}

fn texts(value: &Value) -> String {
    value.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_platform_gets_its_documented_payload_and_a_resolved_update() {
    let rx = Receiver::start().await;
    let receivers = [
        receiver_toml(
            "slack",
            "slack",
            &rx.url("/slack/services/T000/B000/SLACKSECRET"),
        ),
        receiver_toml(
            "discord",
            "discord",
            &rx.url("/discord/api/webhooks/1/DISCORDSECRET"),
        ),
        receiver_toml("teams", "teams", &rx.url("/teams/workflows/TEAMSSECRET")),
        receiver_toml("hook", "webhook", &rx.url("/hook/WEBHOOKSECRET")),
    ]
    .concat();
    let collector = start(&receivers).await;
    let store = store_of(&collector, None).await;
    let index = rec("handle", RecKind::Index, Severity::Critical);
    let link = format!("http://dash.example/#/rec/{}", index.id);
    advise(&store, std::slice::from_ref(&index)).await;

    // Slack incoming webhook: Block Kit.
    let slack = rx.wait_for("/slack", 1, WAIT).await.remove(0);
    assert_eq!(slack.method, "POST");
    assert_eq!(slack.header("content-type"), Some("application/json"));
    let body = slack.json();
    assert!(body["text"].as_str().expect("text").contains(&index.title));
    let blocks = body["blocks"].as_array().expect("blocks");
    assert!(blocks.len() <= 50);
    assert_eq!(blocks[0]["type"], "header");
    assert_eq!(blocks[0]["text"]["type"], "plain_text");
    let sections: Vec<&Value> = blocks.iter().filter(|b| b["type"] == "section").collect();
    assert!(sections.iter().any(|s| {
        s["text"]["type"] == "mrkdwn"
            && s["text"]["text"]
                .as_str()
                .is_some_and(|t| t.contains(&index.title))
    }));
    assert!(sections.iter().any(|s| {
        s["text"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("```") && t.contains("CREATE INDEX CONCURRENTLY"))
    }));
    assert!(
        sections
            .iter()
            .any(|s| s["fields"].as_array().is_some_and(|f| {
                f.iter().all(|x| x["type"] == "mrkdwn") && texts(&s["fields"]).contains("critical")
            }))
    );
    let button = blocks
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().cloned().unwrap_or_default())
        .find(|e| e["type"] == "button")
        .expect("a button");
    assert_eq!(button["url"], link.as_str());
    assert_eq!(button["text"]["type"], "plain_text");
    assert!(
        button["action_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty())
    );

    // Discord webhook: embeds, asked to answer with the message.
    let discord = rx.wait_for("/discord", 1, WAIT).await.remove(0);
    assert_eq!(discord.method, "POST");
    assert!(discord.query.contains("wait=true"), "{}", discord.query);
    let body = discord.json();
    assert_eq!(body["username"], "Headroom");
    assert!(body["content"].as_str().is_some_and(|c| c.len() <= 2000));
    assert_eq!(body["allowed_mentions"]["parse"], json!([]));
    let embed = &body["embeds"][0];
    assert_eq!(embed["title"], index.title.as_str());
    assert_eq!(embed["url"], link.as_str());
    assert_eq!(embed["color"], 0xE0_1E5A);
    assert!(
        embed["description"]
            .as_str()
            .expect("description")
            .contains("CREATE INDEX")
    );
    assert!(
        embed["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let fields = embed["fields"].as_array().expect("fields");
    assert!(
        fields
            .iter()
            .all(|f| f["name"].is_string() && f["value"].is_string())
    );
    assert!(texts(&embed["fields"]).contains("critical"));

    // Teams workflow webhook: a message with one Adaptive Card.
    let teams = rx.wait_for("/teams", 1, WAIT).await.remove(0);
    let body = teams.json();
    assert_eq!(body["type"], "message");
    let attachment = &body["attachments"][0];
    assert_eq!(
        attachment["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert!(attachment["contentUrl"].is_null());
    let card = &attachment["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(
        card["$schema"],
        "http://adaptivecards.io/schemas/adaptive-card.json"
    );
    assert!(
        card["version"]
            .as_str()
            .is_some_and(|v| v.starts_with("1."))
    );
    assert_eq!(card["body"][0]["type"], "TextBlock");
    assert_eq!(card["body"][0]["color"], "Attention");
    assert!(texts(&card["body"]).contains("FactSet"));
    assert_eq!(card["actions"][0]["type"], "Action.OpenUrl");
    assert_eq!(card["actions"][0]["url"], link.as_str());

    // Generic webhook: documented JSON, signed.
    let hook = rx.wait_for("/hook", 1, WAIT).await.remove(0);
    let timestamp = hook
        .header("x-headroom-timestamp")
        .expect("timestamp")
        .to_owned();
    let age = now_ms() / 1000 - timestamp.parse::<i64>().expect("unix seconds");
    assert!((0..60).contains(&age), "timestamp {timestamp} is now");
    assert_eq!(
        hook.header("x-headroom-signature"),
        Some(expected_signature(&timestamp, &hook.body).as_str()),
        "the signature verifies with the secret"
    );
    let body = hook.json();
    assert_eq!(body["version"], "1");
    assert_eq!(
        Some(body["id"].as_str().expect("id")),
        hook.header("x-headroom-notification")
    );
    assert_eq!(body["receiver"], "hook");
    assert_eq!(body["group_key"], "kind=index");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["reason"], "new");
    assert_eq!(body["dashboard_url"], "http://dash.example");
    let alert = &body["alerts"][0];
    assert_eq!(alert["recommendation_id"], index.id.as_str());
    assert_eq!(alert["kind"], "index");
    assert_eq!(alert["severity"], "critical");
    assert_eq!(alert["status"], "firing");
    assert_eq!(alert["action"], index.action.as_str());
    assert_eq!(alert["url"], link.as_str());

    // Resolving: a resolved notification; Discord edits its message.
    advise(&store, &[resolved(index.clone())]).await;
    let message_id = format!("msg-{}", {
        let all = rx.requests();
        all.iter()
            .position(|r| r.path.starts_with("/discord"))
            .expect("discord")
            + 1
    });
    let edit = rx.wait_for("/discord", 2, WAIT).await.remove(1);
    assert_eq!(edit.method, "PATCH");
    assert_eq!(
        edit.path,
        format!("/discord/api/webhooks/1/DISCORDSECRET/messages/{message_id}")
    );
    assert_eq!(
        edit.json()["embeds"][0]["color"],
        0x2E_B67D,
        "green once resolved"
    );
    assert!(
        edit.json().get("username").is_none(),
        "an edit does not rename the webhook"
    );
    let slack = rx.wait_for("/slack", 2, WAIT).await.remove(1);
    assert!(
        slack.json()["text"]
            .as_str()
            .expect("text")
            .contains("RESOLVED")
    );
    let teams = rx.wait_for("/teams", 2, WAIT).await.remove(1);
    assert_eq!(
        teams.json()["attachments"][0]["content"]["body"][0]["color"],
        "Good"
    );
    let hook = rx.wait_for("/hook", 2, WAIT).await.remove(1);
    let body = hook.json();
    assert_eq!(body["status"], "resolved");
    assert_eq!(body["reason"], "resolved");
    assert_eq!(body["alerts"][0]["status"], "resolved");
    assert!(body["alerts"][0]["resolved_at"].is_string());

    // Nothing else arrives: one notification per event.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        rx.requests().len(),
        8,
        "{:?}",
        rx.requests().iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    let (status, deliveries) = collector.get("/api/v1/alerts/deliveries").await;
    assert_eq!(status, 200);
    let deliveries = deliveries["deliveries"]
        .as_array()
        .expect("deliveries")
        .clone();
    assert_eq!(deliveries.len(), 8);
    assert!(
        deliveries.iter().all(|d| d["status"] == "delivered"),
        "{deliveries:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_honour_retry_after_and_a_refusal_is_final_and_visible() {
    let rx = Receiver::start().await;
    rx.script("/flaky", [Reply::status(500, "upstream down")]);
    rx.script("/throttled", [Reply::too_many(2)]);
    rx.script("/broken", [Reply::status(400, "invalid_payload")]);
    let receivers = [
        receiver_toml("flaky", "webhook", &rx.url("/flaky/FLAKYSECRET")),
        receiver_toml("throttled", "slack", &rx.url("/throttled/THROTTLEDSECRET")),
        receiver_toml("broken", "slack", &rx.url("/broken/BROKENSECRET")),
    ]
    .concat();
    let collector = start(&receivers).await;
    let store = store_of(&collector, None).await;
    advise(&store, &[rec("sku", RecKind::Index, Severity::Warning)]).await;

    // 500, then success: the same notification, accepted once.
    let flaky = rx.wait_for("/flaky", 2, WAIT).await;
    assert_eq!(flaky[0].answered, Some(500));
    assert_eq!(flaky[1].answered, Some(200));
    assert_eq!(
        flaky[0].header("x-headroom-notification"),
        flaky[1].header("x-headroom-notification"),
        "a retry is the same notification"
    );

    // 429 with Retry-After: 2 → the retry waits that long.
    let throttled = rx.wait_for("/throttled", 2, WAIT).await;
    let waited = throttled[1].at - throttled[0].at;
    assert!(waited >= Duration::from_millis(1_900), "waited {waited:?}");

    // 400: final, no retry, visible in the API with the platform's answer.
    let (_, failed) = collector
        .get("/api/v1/alerts/deliveries?receiver=broken&status=failed")
        .await;
    let failed = failed["deliveries"].as_array().expect("deliveries").clone();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["last_status"], 400);
    assert!(
        failed[0]["last_error"]
            .as_str()
            .expect("error")
            .contains("invalid_payload")
    );

    // …and on the dashboard's Alerts page, in a real browser.
    let browser = Browser::start(
        1280,
        900,
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts/dashboard"),
    )
    .await;
    browser
        .goto(&format!("http://{}/#/alerts", collector.http))
        .await;
    browser
        .wait_until(
            "the alerts page",
            "return document.body.dataset.page === 'alerts' && document.body.dataset.ready === 'true';",
        )
        .await;
    let failed_row = browser
        .find("table#deliveries tr[data-status=\"failed\"]")
        .await;
    let shown = browser.text(&failed_row).await;
    assert!(
        shown.contains("broken") && shown.contains("HTTP 400") && shown.contains("invalid_payload"),
        "{shown}"
    );
    let failed_count = browser
        .find("table#receivers tr[data-receiver=\"broken\"] td[data-count=\"failed\"]")
        .await;
    assert_eq!(browser.text(&failed_count).await, "1");
    browser.screenshot("alerts-failed-delivery").await;
    browser.close().await;

    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(rx.requests_to("/broken").len(), 1, "a 400 is not retried");
    assert_eq!(
        rx.requests_to("/flaky").len(),
        2,
        "delivered once, not again"
    );
    assert_eq!(rx.requests_to("/throttled").len(), 2);
    let (_, delivered) = collector
        .get("/api/v1/alerts/deliveries?status=delivered")
        .await;
    assert_eq!(delivered["deliveries"].as_array().map(Vec::len), Some(2));

    // No secret in the log, the API or `check`'s output.
    let secrets = [
        "FLAKYSECRET",
        "THROTTLEDSECRET",
        "BROKENSECRET",
        HMAC_SECRET,
    ];
    let log = std::fs::read_to_string(&collector.log).expect("log");
    assert!(
        log.contains("alert delivery attempt"),
        "the log records attempts"
    );
    let mut seen = vec![("log".to_owned(), log)];
    for path in [
        "/api/v1/alerts/receivers",
        "/api/v1/alerts/deliveries",
        "/api/v1/silences",
        "/api/v1/status",
        "/api/v1/openapi.json",
        "/metrics",
    ] {
        let response = headroom_tests::http_client()
            .get(format!("http://{}{path}", collector.http))
            .send()
            .await
            .expect("get");
        seen.push((path.to_owned(), response.text().await.expect("body")));
    }
    let check = std::process::Command::new(bin("headroom-collector"))
        .args(["check", "--config"])
        .arg(collector.dir.path().join("collector.toml"))
        .output()
        .expect("check");
    assert!(check.status.success());
    seen.push((
        "check".to_owned(),
        String::from_utf8_lossy(&check.stdout).into_owned(),
    ));
    for (source, text) in &seen {
        for secret in secrets {
            assert!(!text.contains(secret), "{source} shows {secret}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_collector_killed_mid_delivery_delivers_once_after_restart() {
    killed_mid_delivery(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_postgresql_a_collector_killed_mid_delivery_delivers_once_after_restart() {
    let database = headroom_tests::PgDatabase::create();
    killed_mid_delivery(Some(database.url.clone())).await;
}

/// Kills the collector while its first attempt hangs, restarts it, and
/// checks the notification is accepted exactly once; then resolves.
async fn killed_mid_delivery(database_url: Option<String>) {
    let rx = Receiver::start().await;
    rx.script("/slow", [Reply::Hang]);
    let receivers = receiver_toml("slow", "webhook", &rx.url("/slow/SLOWSECRET"));
    let mut collector = start_on(&receivers, database_url.clone()).await;
    let store = store_of(&collector, database_url.as_deref()).await;
    let index = rec("title", RecKind::Index, Severity::Critical);
    advise(&store, std::slice::from_ref(&index)).await;
    let first = rx.wait_for("/slow", 1, WAIT).await.remove(0);
    assert_eq!(first.answered, None, "the first attempt hangs");
    collector.kill();
    collector.restart().await;

    let second = rx.wait_for("/slow", 2, WAIT).await.remove(1);
    assert!(second.accepted());
    assert_eq!(
        first.header("x-headroom-notification"),
        second.header("x-headroom-notification")
    );
    // Past group_wait, group_interval and the retry backoff: nothing more.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let all = rx.requests_to("/slow");
    assert_eq!(
        all.iter().filter(|r| r.accepted()).count(),
        1,
        "exactly once"
    );
    assert_eq!(all.len(), 2);
    let (_, deliveries) = collector
        .get("/api/v1/alerts/deliveries?receiver=slow&status=delivered")
        .await;
    let deliveries = deliveries["deliveries"]
        .as_array()
        .expect("deliveries")
        .clone();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["status"], "delivered");

    // The restarted collector still knows the group: resolving notifies.
    advise(&store, &[resolved(index)]).await;
    let done = rx.wait_for("/slow", 3, WAIT).await.remove(2);
    assert_eq!(done.json()["status"], "resolved");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_silence_holds_notifications_until_it_expires_and_resolving_notifies() {
    let rx = Receiver::start().await;
    let receivers = receiver_toml("hook", "webhook", &rx.url("/hook/SILENCESECRET"));
    let collector = start(&receivers).await;
    let store = store_of(&collector, None).await;
    let (status, silence) = collector
        .post(
            "/api/v1/silences",
            &json!({"matchers": {"kind": "cache"}, "duration": "4s",
                    "comment": "Redis resize planned", "created_by": "ana"}),
        )
        .await;
    assert_eq!(status, 201, "{silence}");
    let cache = rec("redis", RecKind::Cache, Severity::Warning);
    let database = rec("connections", RecKind::Database, Severity::Warning);
    advise(&store, &[cache.clone(), database.clone()]).await;

    // Only the unsilenced group arrives while the silence lasts.
    let first = rx.wait_for("/hook", 1, WAIT).await.remove(0);
    assert_eq!(first.json()["group_key"], "kind=database");
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    assert_eq!(
        rx.requests_to("/hook").len(),
        1,
        "the cache alert is silenced"
    );

    // After expiry (4 s) and group_wait (1 s), the cache alert arrives.
    let late = rx.wait_for("/hook", 2, WAIT).await.remove(1);
    let body = late.json();
    assert_eq!(body["group_key"], "kind=cache");
    assert_eq!(body["alerts"][0]["recommendation_id"], cache.id.as_str());
    let (_, silences) = collector.get("/api/v1/silences").await;
    assert_eq!(silences["silences"][0]["state"], "expired");

    // Resolving sends the resolved notification.
    advise(&store, &[resolved(cache.clone())]).await;
    let done = rx.wait_for("/hook", 3, WAIT).await.remove(2);
    let body = done.json();
    assert_eq!(body["status"], "resolved");
    assert_eq!(body["alerts"][0]["recommendation_id"], cache.id.as_str());
    assert_eq!(body["alerts"][0]["status"], "resolved");
}

#[tokio::test(flavor = "multi_thread")]
async fn alerts_test_reports_what_the_platform_answered() {
    let rx = Receiver::start().await;
    rx.script("/gone", [Reply::status(404, "no_service")]);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("collector.toml");
    let toml = [
        receiver_toml("team-chat", "slack", &rx.url("/chat/TESTSECRET")),
        receiver_toml("old-chat", "slack", &rx.url("/gone/GONESECRET")),
    ]
    .concat();
    std::fs::write(&config, toml).expect("config");
    let run = |receiver: &str| {
        std::process::Command::new(bin("headroom-collector"))
            .arg("--config")
            .arg(&config)
            .args(["alerts", "test", "--receiver", receiver])
            .output()
            .expect("run alerts test")
    };

    let ok = run("team-chat");
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{stdout}");
    assert!(
        stdout.contains("team-chat (slack): accepted: HTTP 200"),
        "{stdout}"
    );
    let sent = rx.wait_for("/chat", 1, WAIT).await.remove(0);
    assert!(sent.json()["text"].as_str().expect("text").contains("test"));

    let refused = run("old-chat");
    let stdout = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("refused: HTTP 404") && stdout.contains("no_service"),
        "{stdout}"
    );

    let unknown = run("nobody");
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(64));
    assert!(stderr.contains("team-chat, old-chat"), "{stderr}");
    for output in [&ok, &refused, &unknown] {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !all.contains("TESTSECRET") && !all.contains("GONESECRET"),
            "{all}"
        );
    }
}
