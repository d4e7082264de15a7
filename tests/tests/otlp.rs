//! The agent's otlp source end to end: the real Python OpenTelemetry SDK
//! (`tests/otlp/send_traces.py`, in the venv `.ci/run` prepares under
//! `target/otlp-venv`, created here when missing) sends Medusa-shaped
//! request traces to a real agent; the collector ends up with the route's
//! latency histogram, database statements per request and the export
//! pattern, and none of the secrets the spans carried (bearer token, e-mail,
//! raw URL id, SQL literals) in its series, texts, data files or logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use headroom_tests::otlp_sdk::run_script;
use headroom_tests::{Agent, Collector, CollectorOptions, free_port, tail, wait_for};

const ROUTE: &str = "/store/carts/:id/complete";
const REQUESTS: u32 = 20;
const QUERIES: u32 = 3;
const DURATION_MS: f64 = 120.0;

fn agent_toml(id: &str, endpoint: &str, listen: &str) -> String {
    format!(
        "[agent]\nid = \"{id}\"\nflush_interval = \"200ms\"\n[collector]\nendpoint = \"{endpoint}\"\n\
         min_backoff = \"100ms\"\nmax_backoff = \"1s\"\n[spool]\ndir = \"{{spool}}\"\n\
         [[sources]]\ntype = \"otlp\"\nlisten = \"{listen}\"\ninterval = \"1s\"\ngrace = \"500ms\"\n"
    )
}

/// The sum over all points of every series `name` with `labels`.
async fn sum(collector: &Collector, name: &str, labels: &[(&str, &str)]) -> f64 {
    collector
        .points(name, labels)
        .await
        .iter()
        .flatten()
        .map(|(_, value)| value)
        .sum()
}

/// The last value of the one series `name` with `labels`.
async fn last(collector: &Collector, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let series = collector.points(name, labels).await;
    series.first()?.last().map(|(_, value)| *value)
}

/// Every file under `dir`, read as (lossy) text.
fn files_text(dir: &Path) -> String {
    let mut text = String::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return text;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            text.push_str(&files_text(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    text
}

/// Fails if any of `secrets` (or SQL text) is in the collector's series
/// list, its pg_query texts, its data dir and log, or the agent's dir and
/// log; `route` must be in the series list.
async fn assert_no_secrets(collector: &Collector, agent: &Agent, secrets: &[String], route: &str) {
    let (_, series) = collector.get("/api/v1/series").await;
    let (_, texts) = collector.get("/api/v1/texts?kind=pg_query").await;
    let places = [
        ("the series list", series.to_string()),
        ("the pg_query texts", texts.to_string()),
        (
            "the collector's files and log",
            files_text(collector.dir.path()),
        ),
        ("the agent's files and log", files_text(agent.dir.path())),
    ];
    for (place, text) in &places {
        assert!(text.len() > 10, "{place} is empty");
        for secret in secrets.iter().map(String::as_str).chain(["customer WHERE"]) {
            assert!(!text.contains(secret), "{place} holds `{secret}`");
        }
    }
    assert!(places[0].1.contains(route), "{route} is in the series list");
}

/// Starts a collector and an agent with an otlp source; returns them and
/// the source's endpoint once it listens.
async fn start(id: &str) -> (Collector, Agent, String) {
    let collector = Collector::start(CollectorOptions::default()).await;
    let listen = format!("127.0.0.1:{}", free_port());
    let agent = Agent::start(&agent_toml(id, &collector.endpoint(), &listen));
    wait_for(
        Duration::from_secs(30),
        "the agent's OTLP server",
        || async {
            tokio::net::TcpStream::connect(&listen)
                .await
                .ok()
                .map(|_| ())
        },
    )
    .await;
    (collector, agent, format!("http://{listen}"))
}

/// Runs `script` with `args` off the runtime's threads.
async fn send(script: &'static str, args: Vec<String>) -> Vec<String> {
    tokio::task::spawn_blocking(move || run_script(script, &args))
        .await
        .expect("the script's thread")
}

/// Sends the traces through `processor`, waits until every request is
/// counted and returns the processes with the secrets sent.
async fn run(id: &str, processor: &str) -> (Collector, Agent, Vec<String>) {
    let (collector, agent, endpoint) = start(id).await;
    let agent_log = agent.log.clone();
    let args = [
        "--endpoint",
        &endpoint,
        "--processor",
        processor,
        "--requests",
        &REQUESTS.to_string(),
        "--queries",
        &QUERIES.to_string(),
        "--duration-ms",
        &DURATION_MS.to_string(),
    ];
    let secrets = send("send_traces.py", args.map(str::to_owned).to_vec()).await;
    let route = [("origin", "otlp"), ("route", ROUTE)];
    let collector_ref = &collector;
    wait_for(
        Duration::from_secs(60),
        "every request in the route's histogram",
        || async move {
            let count = sum(collector_ref, "http_route_latency_ms_count", &route).await;
            (count >= f64::from(REQUESTS)).then_some(())
        },
    )
    .await;
    assert_eq!(
        sum(&collector, "http_route_latency_ms_count", &route).await,
        f64::from(REQUESTS),
        "{}",
        tail(&agent_log, 30)
    );
    (collector, agent, secrets)
}

#[tokio::test(flavor = "multi_thread")]
async fn medusa_traces_become_route_histograms_and_db_figures_without_secrets() {
    let (collector, mut agent, secrets) = run("otlp-simple", "simple").await;
    let route = [("origin", "otlp"), ("route", ROUTE)];

    // p50: the first bucket whose cumulative count reaches half the
    // requests holds DURATION_MS (120 ms: the (108, 128] bucket).
    let mut cumulative = Vec::new();
    for le in ["108", "128"] {
        let mut labels = route.to_vec();
        labels.push(("le", le));
        cumulative.push(sum(&collector, "http_route_latency_ms_bucket", &labels).await);
    }
    assert_eq!(cumulative, vec![0.0, f64::from(REQUESTS)]);
    let latency_sum = sum(&collector, "http_route_latency_ms_sum", &route).await;
    assert!(
        (latency_sum - DURATION_MS * f64::from(REQUESTS)).abs() < 1.0,
        "{latency_sum}"
    );

    // Database statements per request, once every trace is finalized.
    let by_route = [("route", ROUTE)];
    let requests = last(&collector, "otlp_route_requests_total", &by_route).await;
    let statements = last(&collector, "otlp_route_db_statements_total", &by_route).await;
    assert_eq!(requests, Some(f64::from(REQUESTS)));
    assert_eq!(statements, Some(f64::from(REQUESTS * QUERIES)));
    let db_ms = last(&collector, "otlp_route_db_time_ms_total", &by_route)
        .await
        .expect("db time");
    assert!(
        (db_ms - 2.0 * f64::from(REQUESTS * QUERIES)).abs() < 1.0,
        "{db_ms}"
    );
    let steps = last(
        &collector,
        "otlp_step_count_total",
        &[("workflow_step", "reserve-inventory")],
    )
    .await;
    assert_eq!(steps, Some(f64::from(REQUESTS)));

    // A SimpleSpanProcessor exports one span per call.
    let spans = f64::from(REQUESTS * (QUERIES + 2));
    assert_eq!(
        last(&collector, "otlp_spans_received_total", &[]).await,
        Some(spans)
    );
    assert_eq!(
        last(&collector, "otlp_exports_total", &[]).await,
        Some(spans)
    );
    assert_eq!(
        last(&collector, "otlp_spans_dropped_total", &[]).await,
        Some(0.0)
    );

    // No secret anywhere: series, texts, the collector's files and logs, the agent's.
    agent.stop();
    assert_no_secrets(&collector, &agent, &secrets, ROUTE).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_span_processor_sends_many_spans_per_export() {
    let (collector, _agent, _) = run("otlp-batch", "batch").await;
    let spans = last(&collector, "otlp_spans_received_total", &[])
        .await
        .expect("spans");
    let exports = last(&collector, "otlp_exports_total", &[])
        .await
        .expect("exports");
    assert_eq!(spans, f64::from(REQUESTS * (QUERIES + 2)));
    assert!(
        exports * 5.0 <= spans,
        "{exports} exports for {spans} spans"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn otlp_metrics_become_route_histograms_counted_once() {
    const ROUTE: &str = "/store/products/:id";
    const REQUESTS: u32 = 10;
    let (collector, mut agent, endpoint) = start("otlp-metrics").await;
    let args = vec![
        "--endpoint".to_owned(),
        endpoint,
        "--requests".to_owned(),
        REQUESTS.to_string(),
    ];
    let secrets = send("send_metrics.py", args).await;
    let route = [("origin", "otlp_metrics"), ("route", ROUTE)];
    let collector_ref = &collector;
    wait_for(
        Duration::from_secs(60),
        "the metrics' route histogram",
        || async move {
            let ignored = last(collector_ref, "otlp_metrics_ignored_total", &[]).await?;
            let count = sum(collector_ref, "http_route_latency_ms_count", &route).await;
            (ignored >= 1.0 && count >= f64::from(REQUESTS)).then_some(())
        },
    )
    .await;
    // Two cumulative exports (5, then 10) are 10 requests, not 15.
    assert_eq!(
        sum(&collector, "http_route_latency_ms_count", &route).await,
        f64::from(REQUESTS)
    );
    // The SDK's (0.1, 0.25] s bucket lands in the one holding 250 ms.
    let mut cumulative = Vec::new();
    for le in ["215", "256"] {
        let mut labels = route.to_vec();
        labels.push(("le", le));
        cumulative.push(sum(&collector, "http_route_latency_ms_bucket", &labels).await);
    }
    assert_eq!(cumulative, vec![0.0, f64::from(REQUESTS)]);
    assert_eq!(
        last(&collector, "otlp_http_server_active_requests", &[]).await,
        Some(2.0)
    );
    agent.stop();
    assert_no_secrets(&collector, &agent, &secrets, ROUTE).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_collector_takes_otlp_on_its_own_grpc_port() {
    let collector = Collector::start(CollectorOptions {
        extra_toml: "[ingest]\notlp_flush_interval = \"500ms\"\n".into(),
        ..CollectorOptions::default()
    })
    .await;
    let args = [
        "--endpoint",
        &collector.endpoint(),
        "--processor",
        "batch",
        "--requests",
        &REQUESTS.to_string(),
        "--queries",
        &QUERIES.to_string(),
        "--duration-ms",
        &DURATION_MS.to_string(),
    ];
    let secrets = send("send_traces.py", args.map(str::to_owned).to_vec()).await;
    let route = [
        ("agent", "collector-otlp"),
        ("origin", "otlp"),
        ("route", ROUTE),
    ];
    let collector_ref = &collector;
    wait_for(
        Duration::from_secs(60),
        "every request in the collector's own OTLP histogram",
        || async move {
            let by_route = [("agent", "collector-otlp"), ("route", ROUTE)];
            let statements = last(collector_ref, "otlp_route_db_statements_total", &by_route).await;
            (statements == Some(f64::from(REQUESTS * QUERIES))).then_some(())
        },
    )
    .await;
    assert_eq!(
        sum(&collector, "http_route_latency_ms_count", &route).await,
        f64::from(REQUESTS),
        "{}",
        tail(&collector.log, 30)
    );
    // Statements per route by fingerprint, fingerprinted here as in the agent.
    let statement_calls = sum(
        &collector,
        "otlp_route_statement_calls",
        &[("agent", "collector-otlp"), ("route", ROUTE)],
    )
    .await;
    assert_eq!(statement_calls, f64::from(REQUESTS * QUERIES));
    let agent = collector
        .agent("collector-otlp")
        .await
        .expect("the built-in OTLP agent");
    assert!(agent["batches"].as_i64() >= Some(1), "{agent}");
    let (_, list) = collector.get("/api/v1/series").await;
    let (_, texts) = collector.get("/api/v1/texts?kind=pg_query").await;
    let stored = format!("{list}\n{texts}\n{}", files_text(collector.dir.path()));
    assert!(stored.contains(ROUTE));
    for secret in secrets.iter().map(String::as_str).chain(["customer WHERE"]) {
        assert!(!stored.contains(secret), "the collector holds `{secret}`");
    }
}
