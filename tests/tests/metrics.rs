//! `/metrics` end to end: with an agent sending host metrics, the exposition
//! has the health and advice families and `promtool check metrics`
//! (Debian's `prometheus` package) accepts it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use headroom_tests::{Agent, Collector, CollectorOptions, tail, wait_for};
use http::Method;

const TOKEN: &str = "metrics-dashboard-token";
const PROMTOOL: &str = "promtool";

fn agent_toml(id: &str, endpoint: &str) -> String {
    format!(
        "[agent]\nid = \"{id}\"\nflush_interval = \"200ms\"\n[collector]\nendpoint = \"{endpoint}\"\n\
         min_backoff = \"100ms\"\nmax_backoff = \"1s\"\n[spool]\ndir = \"{{spool}}\"\n\
         [[sources]]\ntype = \"host\"\ninterval = \"1s\"\n"
    )
}

/// `/metrics` as text, with the dashboard token.
async fn scrape(collector: &Collector) -> String {
    let bearer = format!("Bearer {TOKEN}");
    let (status, _, text) = collector
        .request(
            Method::GET,
            "/metrics",
            &[("authorization", bearer.as_str())],
            None,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    text
}

/// The value of the sample line starting with `prefix ` (name and labels).
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(prefix)?.strip_prefix(' '))
        .and_then(|value| value.parse().ok())
}

/// The `headroom_…` metric names a PromQL expression reads.
fn metric_names(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("headroom_"))
        .map(str::to_owned)
        .collect()
}

/// Pipes `text` to `promtool check metrics`; its complaints on failure.
fn promtool_check(text: &str) -> Result<(), String> {
    let mut child = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!(
                "cannot run `{PROMTOOL}` ({error}): install Debian's `prometheus` package \
                 (apt-get install prometheus), which provides /usr/bin/promtool"
            )
        });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

#[test]
fn promtool_refuses_a_broken_exposition() {
    // The check below is only worth something if promtool can fail.
    let broken = "# TYPE requests counter\nrequests{path=\"/\" 1\n";
    assert!(promtool_check(broken).is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_show_ingest_agents_and_advice_and_promtool_accepts_them() {
    let collector = Collector::start(CollectorOptions {
        analysis_interval: Some("1s".into()),
        dashboard_token: TOKEN.into(),
        ..CollectorOptions::default()
    })
    .await;
    let agent = Agent::start(&agent_toml("metrics-host", &collector.endpoint()));

    let text = wait_for(
        Duration::from_secs(60),
        "the agent's batches and an advisor pass in /metrics",
        || async {
            let text = scrape(&collector).await;
            let up = sample(&text, "headroom_agent_up{agent_id=\"metrics-host\"}")?;
            let batches = sample(&text, "headroom_ingest_batches_total")?;
            let passed = sample(&text, "headroom_advisor_last_pass_timestamp_seconds").is_some();
            (up == 1.0 && batches > 0.0 && passed).then_some(text)
        },
    )
    .await;

    if let Err(complaints) = promtool_check(&text) {
        panic!(
            "promtool check metrics refused /metrics:\n{complaints}\n--- exposition ---\n{text}\n--- agent ---\n{}",
            tail(&agent.log, 20)
        );
    }
    for family in [
        "headroom_ingest_batches_total",
        "headroom_ingest_duplicate_batches_total",
        "headroom_ingest_points_total",
        "headroom_storage_size_bytes",
        "headroom_series",
        "headroom_agents",
        "headroom_agent_up",
        "headroom_agent_last_seen_timestamp_seconds",
        "headroom_resource_utilization_ratio",
        "headroom_resource_current",
        "headroom_resource_limit",
        "headroom_resource_eta_seconds",
        "headroom_recommendations_open",
        "headroom_advisor_last_pass_timestamp_seconds",
    ] {
        assert!(
            text.contains(&format!("# HELP {family} "))
                && text.contains(&format!("# TYPE {family} ")),
            "{family} is missing:\n{text}"
        );
    }
    // Every series the Grafana dashboard queries is one /metrics exposes.
    let grafana: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../dashboards/grafana/headroom.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut queried = 0;
    for panel in grafana["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            for name in metric_names(expr) {
                queried += 1;
                assert!(
                    text.contains(&format!("# TYPE {name} ")),
                    "the Grafana panel `{}` queries {name}, which /metrics does not expose",
                    panel["title"]
                );
            }
        }
    }
    assert!(
        queried >= 10,
        "the Grafana dashboard queries {queried} series"
    );
    assert!(sample(&text, "headroom_ingest_points_total").unwrap() > 0.0);
    assert!(sample(&text, "headroom_storage_size_bytes").unwrap() > 0.0);
    assert!(sample(&text, "headroom_series").unwrap() > 0.0);
    assert_eq!(sample(&text, "headroom_agents{state=\"up\"}"), Some(1.0));
    assert_eq!(sample(&text, "headroom_agents{state=\"down\"}"), Some(0.0));
    // Every kind × severity is present, zeros included.
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("headroom_recommendations_open{"))
            .count(),
        27,
        "{text}"
    );
    assert!(
        sample(
            &text,
            "headroom_recommendations_open{kind=\"cdn\",severity=\"critical\"}"
        )
        .is_some()
    );
}
