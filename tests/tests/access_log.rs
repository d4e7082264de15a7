//! The access_log source end to end: a real agent follows an nginx log that
//! is appended to, rotated (rename + new file, the old one still written),
//! truncated and read across an agent restart; the collector must count
//! every `POST /store/carts/:id/complete` line exactly once and never see an
//! id in a label.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use headroom_tests::{Agent, Collector, CollectorOptions, tail, wait_for};

const AGENT: &str = "access-log";
const COMPLETE: &str = "/store/carts/:id/complete";

/// A cart id like Medusa's (`cart_` + a ULID), different for each `n`.
fn cart_id(n: usize) -> String {
    format!("cart_01HZX3Q4M2N5P6R7S8T9V{n:05}")
}

/// One nginx `combined` line with `$request_time` appended.
fn line(method: &str, path: &str, status: u16, seconds: f64) -> String {
    format!(
        "203.0.113.9 - - [27/Nov/2026:13:00:00 +0000] \"{method} {path} HTTP/1.1\" {status} 321 \
         \"https://shop.example.com/checkout\" \"Mozilla/5.0 (X11; Linux x86_64)\" {seconds:.3}\n"
    )
}

/// Appends `complete` cart-completion lines (and some others) to `path`.
fn append(path: &Path, first: usize, complete: usize) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open log");
    for n in first..first + complete {
        let cart = cart_id(n);
        let mut text = line("POST", &format!("/store/carts/{cart}/complete"), 200, 0.287);
        text.push_str(&line(
            "GET",
            &format!("/store/products/prod_01HZX3Q4M2N5P6R7S8T9V{n:05}?fields=*variants"),
            200,
            0.012,
        ));
        text.push_str(&line(
            "GET",
            &format!("/admin/orders/550e8400-e29b-41d4-a716-4466554{n:05}"),
            404,
            0.003,
        ));
        text.push_str(&line(
            "GET",
            &format!("/_next/static/app-{n}.js"),
            200,
            0.001,
        ));
        file.write_all(text.as_bytes()).expect("append");
    }
}

fn agent_toml(endpoint: &str, log: &Path, state: &Path) -> String {
    format!(
        "[agent]\nid = \"{AGENT}\"\nflush_interval = \"200ms\"\n[collector]\nendpoint = \"{endpoint}\"\n\
         min_backoff = \"100ms\"\nmax_backoff = \"1s\"\n[spool]\ndir = \"{{spool}}\"\n\
         [[sources]]\ntype = \"access_log\"\nname = \"nginx\"\npath = {:?}\nstate_dir = {:?}\ninterval = \"1s\"\n",
        log.display().to_string(),
        state.display().to_string(),
    )
}

/// Sum of every `http_route_latency_ms_count` point of the complete route.
async fn completed(collector: &Collector) -> f64 {
    collector
        .points(
            "http_route_latency_ms_count",
            &[
                ("agent", AGENT),
                ("route", COMPLETE),
                ("origin", "access_log"),
            ],
        )
        .await
        .iter()
        .flatten()
        .map(|(_, value)| value)
        .sum()
}

/// Number of `up` points of the source so far.
async fn scrapes(collector: &Collector) -> usize {
    collector
        .points("up", &[("agent", AGENT), ("source", "nginx")])
        .await
        .first()
        .map_or(0, Vec::len)
}

async fn wait_for_completed(collector: &Collector, agent: &Agent, want: f64, what: &str) {
    let deadline = Duration::from_secs(30);
    wait_for(deadline, what, || async {
        let got = completed(collector).await;
        assert!(
            got <= want,
            "{what}: {got} counted, more than the {want} written\n{}",
            tail(&agent.log, 20)
        );
        (got == want).then_some(())
    })
    .await;
}

/// Waits for `n` more scrapes than `since`.
async fn wait_scrapes(collector: &Collector, since: usize, n: usize) -> usize {
    wait_for(Duration::from_secs(30), "more scrapes", || async {
        let now = scrapes(collector).await;
        (now >= since + n).then_some(now)
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_line_is_counted_once_across_rotation_truncation_and_restart() {
    let collector = Collector::start(CollectorOptions::default()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("access.log");
    let state = dir.path().join("state");
    // History before the agent starts is not replayed.
    append(&log, 1000, 2);
    let mut agent = Agent::start(&agent_toml(&collector.endpoint(), &log, &state));
    let seen = wait_scrapes(&collector, 0, 1).await;

    append(&log, 0, 5);
    wait_for_completed(&collector, &agent, 5.0, "the first 5 lines").await;

    // Rotation: renamed, still written by the old writer, then a new file.
    let rotated = dir.path().join("access.log.1");
    std::fs::rename(&log, &rotated).expect("rotate");
    append(&rotated, 5, 3);
    append(&log, 8, 4);
    wait_for_completed(&collector, &agent, 12.0, "lines from both files").await;

    // Truncation (copytruncate): shorter than what was read, then appended.
    let seen = wait_scrapes(&collector, seen, 1).await;
    std::fs::File::create(&log).expect("truncate");
    append(&log, 12, 2);
    wait_for_completed(&collector, &agent, 14.0, "lines after truncation").await;

    // A graceful restart, with lines written while the agent was down.
    assert!(agent.stop().is_some_and(|status| status.success()));
    append(&log, 14, 3);
    agent.restart();
    wait_for_completed(&collector, &agent, 17.0, "lines written while stopped").await;
    let now = scrapes(&collector).await;
    wait_scrapes(&collector, now.max(seen), 3).await;
    assert_eq!(
        completed(&collector).await,
        17.0,
        "nothing re-counted after the restart\n{}",
        tail(&agent.log, 20)
    );

    // Every route is a template: no id reaches a label.
    let (status, body) = collector.get("/api/v1/series?prefix=http_route").await;
    assert_eq!(status, 200, "{body}");
    let text = body.to_string();
    assert!(text.contains(COMPLETE), "{text}");
    for id in ["cart_01", "prod_01", "550e8400", "app-", "fields="] {
        assert!(!text.contains(id), "`{id}` reached a label: {text}");
    }
    for route in ["/store/products/:id", "/admin/orders/:id", "/static/*.js"] {
        assert!(text.contains(route), "{route} missing: {text}");
    }
    let statics = collector
        .points(
            "access_log_requests_total",
            &[("agent", AGENT), ("kind", "static")],
        )
        .await;
    let last = statics
        .first()
        .and_then(|points| points.last())
        .map(|p| p.1);
    assert!(last.is_some_and(|total| total > 0.0), "{statics:?}");
    assert!(agent.is_running());
}
