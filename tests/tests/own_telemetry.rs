//! Headroom's own telemetry end to end: a collector (A) and an agent with
//! `[telemetry] otlp_endpoint` export their spans over OTLP/gRPC to a second
//! collector (B), whose gRPC port is an OTLP receiver; B counts Headroom's
//! spans by service and span name (`headroom_spans_total`) and keeps them
//! out of the store's own figures. Without an endpoint nothing leaves, even
//! with the OpenTelemetry environment variables set; an endpoint that never
//! answers or refuses does not hold up ingest, nor the exit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use headroom_tests::{
    Agent, Collector, CollectorOptions, free_port, postgres_agent_toml, tail, wait_for,
};

/// The agent id B stores OTLP-derived figures under.
const OTLP_AGENT: &str = "collector-otlp";

/// A collector receiving OTLP, storing what it derives every 500 ms.
async fn receiver() -> Collector {
    Collector::start(CollectorOptions {
        extra_toml: "[ingest]\notlp_flush_interval = \"500ms\"\n".into(),
        ..CollectorOptions::default()
    })
    .await
}

/// The `[telemetry]` table pointing at `endpoint`.
fn telemetry_toml(endpoint: &str) -> String {
    format!("[telemetry]\notlp_endpoint = \"{endpoint}\"\nmetrics_interval = \"1s\"\n")
}

/// A collector whose advisor passes every 2 s, with `extra_toml` and `env`.
async fn analysed(extra_toml: String, env: Vec<(String, String)>) -> Collector {
    Collector::start(CollectorOptions {
        analysis_interval: Some("2s".into()),
        extra_toml,
        env,
        ..CollectorOptions::default()
    })
    .await
}

/// How many `span`s of `service` B has counted (latest point), if any.
async fn spans_seen(b: &Collector, service: &str, span: &str) -> Option<f64> {
    let series = b
        .points(
            "headroom_spans_total",
            &[("agent", OTLP_AGENT), ("service", service), ("span", span)],
        )
        .await;
    series.first()?.last().map(|(_, v)| *v)
}

/// Waits until B has counted at least one `span` of `service`.
async fn wait_for_span(b: &Collector, service: &str, span: &str) -> f64 {
    wait_for(
        Duration::from_secs(60),
        &format!("{service}'s {span} spans at the receiving collector"),
        || async {
            spans_seen(b, service, span)
                .await
                .filter(|count| *count >= 1.0)
        },
    )
    .await
}

#[tokio::test]
async fn a_collectors_and_an_agents_spans_reach_another_collector_over_otlp() {
    let b = receiver().await;
    let a = analysed(telemetry_toml(&b.endpoint()), Vec::new()).await;
    let agent = Agent::start(&postgres_agent_toml(
        "own-telemetry",
        &a.endpoint(),
        "1s",
        &telemetry_toml(&b.endpoint()),
    ));

    for span in [
        "headroom.advisor.pass",
        "headroom.advisor.rule",
        "headroom.collector.commit",
    ] {
        let count = wait_for_span(&b, "headroom-collector", span).await;
        eprintln!("headroom-collector {span}: {count}");
    }
    let batches = wait_for_span(&b, "headroom-agent", "headroom.agent.batch").await;
    eprintln!("headroom-agent headroom.agent.batch: {batches}");
    // One rule child per rule and pass: many more rules than passes.
    let passes = spans_seen(&b, "headroom-collector", "headroom.advisor.pass")
        .await
        .unwrap_or(0.0);
    let rules = spans_seen(&b, "headroom-collector", "headroom.advisor.rule")
        .await
        .unwrap_or(0.0);
    assert!(
        rules >= passes * 2.0,
        "each pass has a child per rule: {passes} passes, {rules} rule spans"
    );
    // The metrics came too (B keeps none of them, but counts the exports).
    wait_for(
        Duration::from_secs(30),
        "metric exports at the receiving collector",
        || async {
            let series = b
                .points("otlp_metric_exports_total", &[("agent", OTLP_AGENT)])
                .await;
            series
                .first()?
                .last()
                .filter(|(_, v)| *v >= 1.0)
                .map(|_| ())
        },
    )
    .await;
    // Headroom's spans are not the store's: no request, no span received,
    // no export the `app` rule would read as the store's export pattern.
    for name in ["otlp_spans_received_total", "otlp_exports_total"] {
        let series = b.points(name, &[("agent", OTLP_AGENT)]).await;
        assert!(
            series.iter().flatten().all(|(_, v)| *v == 0.0),
            "{name} counts only the store's spans: {series:?}"
        );
    }
    let requests = b
        .points("otlp_route_requests_total", &[("agent", OTLP_AGENT)])
        .await;
    assert!(requests.is_empty(), "no request from Headroom's spans");
    drop(agent);
}

#[tokio::test]
async fn without_an_endpoint_nothing_is_exported_even_with_the_otlp_environment() {
    let b = receiver().await;
    // The standard OpenTelemetry variables point at B: only `[telemetry]`
    // may turn the export on.
    let env = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT".to_owned(), b.endpoint()),
        ("OTEL_TRACES_EXPORTER".to_owned(), "otlp".to_owned()),
    ];
    let a = analysed(String::new(), env).await;
    // The agent does export (a positive control on the same clock): once
    // its batches' spans are at B, A's would be too had A exported any.
    let agent = Agent::start(&postgres_agent_toml(
        "own-telemetry-off",
        &a.endpoint(),
        "1s",
        &telemetry_toml(&b.endpoint()),
    ));
    wait_for_span(&b, "headroom-agent", "headroom.agent.batch").await;
    wait_for(
        Duration::from_secs(30),
        "several agent batches committed at A",
        || async {
            a.agent("own-telemetry-off")
                .await
                .filter(|row| row["batches"].as_i64() >= Some(3))
        },
    )
    .await;
    let collectors = b
        .points("headroom_spans_total", &[("service", "headroom-collector")])
        .await;
    assert!(
        collectors.is_empty(),
        "A exported spans without [telemetry]: {collectors:?}\n{}",
        tail(&a.log, 20)
    );
    let log = std::fs::read_to_string(&a.log).unwrap_or_default();
    assert!(
        !log.contains("exporting Headroom's own"),
        "{}",
        tail(&a.log, 20)
    );
    drop(agent);
}

#[tokio::test]
async fn an_endpoint_that_never_answers_or_refuses_holds_up_neither_ingest_nor_exit() {
    // Accepts connections (the kernel's backlog) and never says a word: an
    // export waits for its timeout there.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_endpoint = format!("http://{}", silent.local_addr().expect("addr"));
    let refused_endpoint = format!("http://127.0.0.1:{}", free_port());
    let mut a = analysed(telemetry_toml(&silent_endpoint), Vec::new()).await;
    let mut agent = Agent::start(&postgres_agent_toml(
        "own-telemetry-unreachable",
        &a.endpoint(),
        "1s",
        &telemetry_toml(&refused_endpoint),
    ));
    let row = wait_for(
        Duration::from_secs(60),
        "the agent's batches committed while telemetry cannot be exported",
        || async {
            a.agent("own-telemetry-unreachable")
                .await
                .filter(|row| row["batches"].as_i64() >= Some(10))
        },
    )
    .await;
    eprintln!("batches committed: {}", row["batches"]);
    // Past several export attempts of both processes (every 2 s, metrics
    // every 1 s), ingest still flows and both still run.
    let before = row["batches"].as_i64().unwrap();
    wait_for(
        Duration::from_secs(60),
        "more batches after failed exports",
        || async {
            a.agent("own-telemetry-unreachable")
                .await
                .filter(|row| row["batches"].as_i64() >= Some(before + 10))
        },
    )
    .await;
    assert!(agent.is_running(), "{}", tail(&agent.log, 20));
    let (status, _) = a.get("/healthz").await;
    assert_eq!(status, 200);

    // Failures are said rarely: at most once per signal so far.
    let warnings = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.contains("could not be exported"))
            .count()
    };
    assert!(
        (1..=2).contains(&warnings(&agent.log)),
        "the refused export is said once per signal:\n{}",
        tail(&agent.log, 20)
    );
    assert!(warnings(&a.log) <= 2, "{}", tail(&a.log, 20));

    // A graceful stop flushes for a bounded time, then exits cleanly.
    let agent_exit = agent.stop().expect("agent ran");
    assert!(agent_exit.success(), "{}", tail(&agent.log, 20));
    let collector_exit = a.stop().expect("collector ran");
    assert!(collector_exit.success(), "{}", tail(&a.log, 20));
    drop(silent);
}
