//! The dashboard in a real headless Chromium (Debian's chromium and
//! chromium-driver, driven over WebDriver): on the demo, the overview loads,
//! a recommendation opens with a chart that has data, acknowledging it
//! changes its state and the change survives a reload; the pages fit a phone
//! screen; with a dashboard token, the browser must log in first; on the
//! Alerts page a silence is created with the form and expired with its button;
//! on a store holding 15 minutes of data, the pages say the data is young
//! (no forecast yet, charts fitted to an hour, the volume's span) and the
//! "Why no index advice?" page shows each statement's verdict and reason.
//! Screenshots are saved under target/test-artifacts/dashboard/.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use headroom_tests::fixtures::{AGENT, young_store};
use headroom_tests::webdriver::Browser;
use headroom_tests::{Collector, CollectorOptions, wait_for};
use serde_json::{Value, json};

/// Where the screenshots go (kept by CI as artifacts).
fn artifacts() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts/dashboard")
}

/// The demo collector, once its advisor has opened recommendations of
/// several kinds (the demo's own test checks which).
async fn demo() -> Collector {
    let started = Instant::now();
    let collector = Collector::start(CollectorOptions {
        demo: true,
        analysis_interval: Some("3s".into()),
        ..CollectorOptions::default()
    })
    .await;
    wait_for(
        Duration::from_secs(90),
        "open recommendations on the demo",
        || async {
            let (_, body) = collector.get("/api/v1/recommendations?state=open").await;
            let open = body["recommendations"].as_array()?;
            let charted = open.iter().any(|rec| {
                rec["evidence"]["series"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty())
            });
            (open.len() >= 3 && charted).then_some(())
        },
    )
    .await;
    println!(
        "demo: open recommendations after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    collector
}

/// `text` percent-encoded for a query string.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An open recommendation whose first evidence series has points over the
/// last 7 days (the chart's default range).
async fn charted_recommendation(collector: &Collector) -> Value {
    let (_, body) = collector.get("/api/v1/recommendations?state=open").await;
    for rec in body["recommendations"].as_array().unwrap() {
        let Some(series) = rec["evidence"]["series"].get(0) else {
            continue;
        };
        let mut path = format!(
            "/api/v1/series?name={}&from={}",
            series["name"].as_str().unwrap(),
            headroom_collector::store::now_ms() - 7 * 86_400_000
        );
        for (key, value) in series["labels"].as_object().unwrap() {
            path.push_str(&format!("&{key}={}", encode(value.as_str().unwrap())));
        }
        let (_, points) = collector.get(&path).await;
        if points["series"][0]["points"]
            .as_array()
            .is_some_and(|p| !p.is_empty())
        {
            return rec.clone();
        }
    }
    panic!("no open recommendation charts a stored series: {body}");
}

/// The points plotted by the first chart inside `container`, once it has some.
async fn chart_points(browser: &Browser, container: &str) -> Value {
    browser
        .wait_until(
            &format!("a chart with data in {container}"),
            &format!(
                "const svg = document.querySelector(\"{container} svg.chart\");\
                 return svg ? Number(svg.dataset.points) : 0;"
            ),
        )
        .await
}

/// Waits until the page `page` has rendered its data.
async fn ready(browser: &Browser, page: &str) {
    browser
        .wait_until(
            &format!("the {page} page"),
            &format!(
                "return document.body.dataset.page === '{page}' && document.body.dataset.ready === 'true';"
            ),
        )
        .await;
}

/// The state the API holds for recommendation `id`.
async fn api_state(collector: &Collector, id: &str) -> String {
    let (status, body) = collector
        .get(&format!("/api/v1/recommendations/{id}"))
        .await;
    assert_eq!(status, 200, "{body}");
    body["state"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_demo_a_recommendation_opens_with_a_chart_and_acknowledging_it_survives_a_reload() {
    let collector = demo().await;
    let base = format!("http://{}", collector.http);
    let browser = Browser::start(1280, 900, &artifacts()).await;

    // The overview: tier, headroom table, open recommendations by severity.
    browser.goto(&format!("{base}/#/")).await;
    ready(&browser, "overview").await;
    let tier = browser.text(&browser.find("#tier").await).await;
    assert!(!tier.trim().is_empty(), "the volume tier is shown");
    let resources = browser.find_all("table#headroom tr[data-resource]").await;
    assert!(!resources.is_empty(), "the headroom table has rows");
    let listed = browser.find_all("#recommendations a.rec").await;
    assert!(listed.len() >= 3, "{} recommendations listed", listed.len());
    browser.screenshot("overview").await;

    // Open a recommendation whose evidence charts a stored series.
    let charted = charted_recommendation(&collector).await;
    let id = charted["id"].as_str().unwrap().to_owned();
    let link = browser.find(&format!("a.rec[data-id=\"{id}\"]")).await;
    assert_eq!(
        browser.attribute(&link, "data-state").await.as_deref(),
        Some("open")
    );
    browser.click(&link).await;
    ready(&browser, "recommendation").await;
    let title = browser.text(&browser.find("#rec-title").await).await;
    assert_eq!(title, charted["title"].as_str().unwrap());
    assert_eq!(
        browser.text(&browser.find("#rec-state").await).await,
        "open"
    );
    let points = chart_points(&browser, "figure.evidence-chart").await;
    assert!(
        points.as_f64().unwrap() > 0.0,
        "the chart has data: {points}"
    );
    assert!(
        !browser.find_all("ol#rec-history > li").await.is_empty(),
        "the history lists the opening"
    );
    browser.screenshot("recommendation").await;
    browser
        .script(
            "document.querySelector('figure.evidence-chart').scrollIntoView();",
            Vec::new(),
        )
        .await;
    browser.screenshot("recommendation-chart").await;

    // Acknowledge it: the page and the API agree, and a reload keeps it.
    let acknowledge = browser.find("button[data-action=\"acknowledge\"]").await;
    browser.click(&acknowledge).await;
    browser
        .wait_until(
            "the acknowledged state",
            "const s = document.querySelector('#rec-state');\
             return document.body.dataset.ready === 'true' && s && s.textContent === 'acknowledged';",
        )
        .await;
    assert_eq!(api_state(&collector, &id).await, "acknowledged");
    browser.refresh().await;
    ready(&browser, "recommendation").await;
    assert_eq!(
        browser.text(&browser.find("#rec-state").await).await,
        "acknowledged"
    );
    let history = browser.find_all("ol#rec-history > li").await;
    assert!(history.len() >= 2, "the acknowledgement is in the history");
    browser.screenshot("recommendation-acknowledged").await;

    // Agents: the demo's agents are up.
    browser.goto(&format!("{base}/#/agents")).await;
    ready(&browser, "agents").await;
    let statuses = browser
        .script(
            "return [...document.querySelectorAll('table#agents tr[data-agent] td.status')]\
             .map(td => td.textContent.trim());",
            Vec::new(),
        )
        .await;
    let statuses: Vec<&str> = statuses
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(statuses.contains(&"up"), "agents: {statuses:?}");
    browser.screenshot("agents").await;

    // The explorer: pick a series, see its chart.
    browser.goto(&format!("{base}/#/explore")).await;
    ready(&browser, "explore").await;
    let options = browser.find_all("select#series-select option").await;
    assert!(options.len() > 1, "the explorer lists series");
    let explored = chart_points(&browser, "#explore-chart").await;
    assert!(explored.as_f64().unwrap() > 0.0);
    browser.screenshot("explore").await;
    // A name prefix narrows the picker (Enter commits the filter).
    let filter = browser.find("input#series-prefix").await;
    browser.type_text(&filter, "redis_\u{E007}").await;
    browser
        .wait_until(
            "the picker narrowed to redis_ series",
            "const o = [...document.querySelectorAll('select#series-select option')];\
             return document.body.dataset.ready === 'true' && o.length > 0 &&\
             o.every(x => x.textContent.startsWith('redis_'));",
        )
        .await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_phone_screen_the_pages_fit_without_sideways_scrolling() {
    let collector = demo().await;
    let base = format!("http://{}", collector.http);
    let browser = Browser::start(390, 844, &artifacts()).await;
    let (_, body) = collector.get("/api/v1/recommendations?state=open").await;
    let id = body["recommendations"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (fragment, page, shot) in [
        ("#/".to_owned(), "overview", "phone-overview"),
        (
            format!("#/rec/{id}"),
            "recommendation",
            "phone-recommendation",
        ),
        ("#/alerts".to_owned(), "alerts", "phone-alerts"),
    ] {
        browser.goto(&format!("{base}/{fragment}")).await;
        ready(&browser, page).await;
        let overflow = browser
            .script(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                Vec::new(),
            )
            .await;
        browser.screenshot(shot).await;
        assert!(
            overflow.as_f64().unwrap() <= 1.0,
            "{page}: the page is {overflow} px wider than the screen"
        );
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_dashboard_token_the_browser_logs_in_before_it_sees_data() {
    let collector = Collector::start(CollectorOptions {
        dashboard_token: "s3cret-dashboard-token".into(),
        ..CollectorOptions::default()
    })
    .await;
    let base = format!("http://{}", collector.http);
    let browser = Browser::start(1280, 900, &artifacts()).await;
    browser.goto(&format!("{base}/#/")).await;
    ready(&browser, "login").await;

    let input = browser.find("input#token-input").await;
    browser.type_text(&input, "wrong").await;
    browser.click(&browser.find("button#login").await).await;
    browser
        .wait_until(
            "the login error",
            "const e = document.querySelector('#login-error');\
             return e && e.textContent.trim().length > 0;",
        )
        .await;
    browser.screenshot("login-refused").await;

    let input = browser.find("input#token-input").await;
    browser.clear(&input).await;
    browser.type_text(&input, "s3cret-dashboard-token").await;
    browser.click(&browser.find("button#login").await).await;
    ready(&browser, "overview").await;
    browser.screenshot("logged-in").await;
    browser.close().await;
}

/// The silences the API holds.
async fn api_silences(collector: &Collector) -> Vec<Value> {
    let (status, body) = collector.get("/api/v1/silences").await;
    assert_eq!(status, 200, "{body}");
    body["silences"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn on_the_alerts_page_a_silence_is_created_with_the_form_and_expired_with_its_button() {
    let collector = Collector::start(CollectorOptions {
        extra_toml: "[[alerts]]\nname = \"team-slack\"\ntype = \"slack\"\n\
                     url = \"http://127.0.0.1:9/services/T000/B000/XXXXSECRET\"\n"
            .into(),
        ..CollectorOptions::default()
    })
    .await;
    let base = format!("http://{}", collector.http);
    let browser = Browser::start(1280, 900, &artifacts()).await;

    // Coming from a recommendation's "Silence…" button prefills its id.
    browser
        .goto(&format!("{base}/#/alerts?rec=index-0123456789abcdef"))
        .await;
    ready(&browser, "alerts").await;
    let prefilled = browser
        .script(
            "return document.querySelector('#silence-rec').value;",
            Vec::new(),
        )
        .await;
    assert_eq!(prefilled, "index-0123456789abcdef");

    browser.goto(&format!("{base}/#/alerts")).await;
    browser.refresh().await;
    ready(&browser, "alerts").await;
    let row = browser
        .find("table#receivers tr[data-receiver=\"team-slack\"]")
        .await;
    assert!(browser.text(&row).await.contains("slack"));
    let page = browser
        .script("return document.body.innerHTML;", Vec::new())
        .await;
    assert!(
        !page.as_str().unwrap().contains("XXXXSECRET"),
        "the page shows the webhook URL"
    );
    browser.screenshot("alerts").await;

    // Create a silence through the form.
    browser
        .click(&browser.find("#silence-kind option[value=\"index\"]").await)
        .await;
    browser
        .click(
            &browser
                .find("#silence-receiver option[value=\"team-slack\"]")
                .await,
        )
        .await;
    let duration = browser.find("input#silence-duration").await;
    browser.clear(&duration).await;
    browser.type_text(&duration, "90m").await;
    let comment = browser.find("input#silence-comment").await;
    browser
        .type_text(&comment, "migrating the index tonight")
        .await;
    let by = browser.find("input#silence-by").await;
    browser.clear(&by).await;
    browser.type_text(&by, "dashboard-test").await;
    browser
        .click(&browser.find("button#silence-create").await)
        .await;
    browser
        .wait_until(
            "the new silence listed as active",
            "return document.body.dataset.ready === 'true' &&\
             document.querySelectorAll('table#silences tr[data-state=\"active\"]').length === 1;",
        )
        .await;
    let silences = api_silences(&collector).await;
    assert_eq!(silences.len(), 1, "{silences:?}");
    let silence = &silences[0];
    assert_eq!(silence["state"], "active");
    assert_eq!(
        silence["matchers"],
        serde_json::json!({"kind": "index", "receiver": "team-slack"})
    );
    assert_eq!(silence["created_by"], "dashboard-test");
    assert_eq!(silence["comment"], "migrating the index tonight");
    assert_eq!(
        silence["ends_at"].as_i64().unwrap() - silence["starts_at"].as_i64().unwrap(),
        90 * 60_000
    );
    let id = silence["id"].as_str().unwrap().to_owned();
    browser.screenshot("alerts-silence-active").await;

    // Expire it with its button: it moves to the expired list, and the API agrees.
    browser
        .click(&browser.find(&format!("button[data-expire=\"{id}\"]")).await)
        .await;
    browser
        .wait_until(
            "the silence listed as expired",
            &format!(
                "return document.body.dataset.ready === 'true' &&\
                 !document.querySelector('table#silences tr[data-silence=\"{id}\"]') &&\
                 !!document.querySelector('table#silences-expired tr[data-silence=\"{id}\"][data-state=\"expired\"]');"
            ),
        )
        .await;
    assert_eq!(api_silences(&collector).await[0]["state"], "expired");
    browser
        .script(
            "document.querySelector('details#expired-silences').open = true;",
            Vec::new(),
        )
        .await;
    browser.screenshot("alerts-silence-expired").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_young_store_the_pages_say_what_is_still_collecting_and_why_no_index_was_advised() {
    let collector = Collector::start(CollectorOptions {
        analysis_interval: Some("1s".into()),
        ..CollectorOptions::default()
    })
    .await;
    let _fixture = young_store(&collector).await;
    let resource = format!("host memory ({AGENT})");
    wait_for(Duration::from_secs(60), "the headroom table", || async {
        let (_, body) = collector.get("/api/v1/headroom").await;
        body["headroom"]
            .as_array()?
            .iter()
            .any(|row| row["resource"] == resource.as_str())
            .then_some(())
    })
    .await;
    let base = format!("http://{}", collector.http);
    let browser = Browser::start(1280, 900, &artifacts()).await;

    // The overview: the volume and how young it is; no forecast, and why.
    browser.goto(&format!("{base}/#/")).await;
    ready(&browser, "overview").await;
    let tier = browser.text(&browser.find("#tier").await).await;
    assert!(
        tier.contains("about 2,160 orders/month (from 15m of orders — young data)"),
        "{tier}"
    );
    let row = browser
        .find(&format!("table#headroom tr[data-resource=\"{resource}\"]"))
        .await;
    let text = browser.text(&row).await;
    assert!(text.contains("collecting: about 2d more history"), "{text}");
    assert!(!text.contains("in 1 day"), "{text}");
    browser.screenshot("young-overview").await;

    // The explorer opens on the window that fits the data: one hour.
    let key = json!(["host_memory_used_bytes", {"agent": AGENT}]).to_string();
    browser
        .goto(&format!("{base}/#/explore?series={}", encode(&key)))
        .await;
    ready(&browser, "explore").await;
    let points = chart_points(&browser, "#explore-chart").await;
    assert!(points.as_f64().unwrap() >= 15.0, "{points}");
    let window = browser
        .script(
            "return [document.querySelector('#explore-chart svg.chart').dataset.window,\
             document.querySelector('select#range').value];",
            Vec::new(),
        )
        .await;
    assert_eq!(window, json!(["1h", "fit"]));
    browser.screenshot("young-explore").await;

    // Why no index advice? Each statement with its verdict and reason.
    browser
        .goto(&format!("{base}/#/indexes?database=shop"))
        .await;
    ready(&browser, "indexes").await;
    let rows = browser
        .script(
            "return [...document.querySelectorAll('table#index-verdicts tr[data-queryid]')]\
             .map(tr => [tr.dataset.queryid, tr.querySelector('.verdict').textContent,\
             tr.querySelector('.reason').textContent]);",
            Vec::new(),
        )
        .await;
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[0][0], "101");
    assert_eq!(rows[0][1], "planner would not use it");
    assert!(
        rows[0][2]
            .as_str()
            .unwrap()
            .contains("keeps its sequential scan"),
        "{rows:?}"
    );
    assert_eq!(
        rows[2][1], "a_verdict_from_a_newer_agent",
        "an unknown code is shown as it is"
    );
    browser.screenshot("index-verdicts").await;

    // The page's duration() prints as the collector does.
    let samples: Vec<u64> = vec![
        0,
        250,
        1_500,
        60_000,
        119_700,
        90_000,
        150_000,
        5_400_000,
        90_061_000,
        35 * 86_400_000,
    ];
    let printed = browser
        .script(
            "return arguments[0].map(ms => duration(ms));",
            vec![json!(samples)],
        )
        .await;
    let expected: Vec<String> = samples
        .iter()
        .map(|&ms| headroom_proto::duration::format(Duration::from_millis(ms)))
        .collect();
    assert_eq!(printed, json!(expected));
    browser.close().await;
}
