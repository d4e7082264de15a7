//! `api-bench`: the dashboard's and the API's latency with 10,000 series
//! stored, under `wrk` from a second process.
//!
//! ```text
//! cargo build --release --workspace --bins && ./target/release/api-bench [--series N] [--days N] [--seconds S] [--connections C]
//! ```
//!
//! It builds a SQLite store of `--series` series × `--days` days with the
//! advisor benchmark's generator (hourly rollups plus a raw tail, see
//! `headroom_tests::synthetic`), runs three advisor passes so recommendations
//! (opened after two) and the headroom table exist, starts the release `headroom-collector` on that
//! store, waits for its first advisor pass, and runs `wrk --latency` against each path the dashboard's overview
//! and recommendation pages read, plus `/metrics`. It prints, per path,
//! requests per second and the p50, p90 and p99 latency wrk measured.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use headroom_collector::advisor::{AdvisorConfig, engine, load};
use headroom_collector::store::{Store, now_ms};
use headroom_tests::synthetic::{DAY, build, specs};
use headroom_tests::{free_port, terminate, wait_for};

#[derive(Debug, Parser)]
#[command(
    name = "api-bench",
    about = "Dashboard and API latency under wrk with N series stored"
)]
struct Args {
    /// Series in the store.
    #[arg(long, default_value_t = 10_000)]
    series: usize,
    /// Days of history per series.
    #[arg(long, default_value_t = 30)]
    days: i64,
    /// Seconds of load per path.
    #[arg(long, default_value_t = 15)]
    seconds: u32,
    /// Concurrent connections wrk keeps open.
    #[arg(long, default_value_t = 8)]
    connections: u32,
}

/// What wrk printed for one path.
#[derive(Debug, Default)]
struct Figures {
    requests_per_s: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    non_2xx: u64,
}

/// A wrk duration (`812.00us`, `3.10ms`, `1.02s`) in milliseconds.
fn wrk_ms(text: &str) -> f64 {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (text, 1.0)
    };
    number.parse::<f64>().unwrap_or(f64::NAN) * scale
}

fn parse_wrk(output: &str) -> Figures {
    let mut figures = Figures::default();
    for line in output.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => figures.p50_ms = wrk_ms(value),
            ["90%", value] => figures.p90_ms = wrk_ms(value),
            ["99%", value] => figures.p99_ms = wrk_ms(value),
            ["Requests/sec:", value] => figures.requests_per_s = value.parse().unwrap_or(0.0),
            ["Non-2xx", "or", "3xx", "responses:", value] => {
                figures.non_2xx = value.parse().unwrap_or(0);
            }
            _ => {}
        }
    }
    figures
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|_| "?".to_owned())
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("headroom.db");
    let url = format!("sqlite://{}", db.display());
    let now = now_ms();

    let started = Instant::now();
    let store = Store::open(&url).await.expect("open store");
    build(&store, &specs(args.series), now - args.days * DAY, now).await;
    let config = Arc::new(AdvisorConfig::default());
    let mut history = load::History::default();
    // Recommendations open after `open_after` passes (2 by default).
    for pass in 0..3 {
        engine::pass(&store, &config, &mut history, now + pass)
            .await
            .expect("advisor pass");
    }
    let recommendations = store
        .recommendations()
        .await
        .expect("recommendations")
        .len();
    drop(store);
    println!(
        "store: {} series × {} days built in {:.1} s; {recommendations} recommendations",
        args.series,
        args.days,
        started.elapsed().as_secs_f64()
    );

    let binary = std::env::current_exe()
        .expect("exe")
        .with_file_name("headroom-collector");
    let http = format!("127.0.0.1:{}", free_port());
    let grpc = format!("127.0.0.1:{}", free_port());
    // Its first pass is stamped with the time it starts, after this.
    let started_ms = now_ms();
    let mut collector = Command::new(&binary)
        .args([
            "--database-url",
            &url,
            "--http-listen",
            &http,
            "--grpc-listen",
            &grpc,
        ])
        .args(["--data-dir", &dir.path().display().to_string()])
        .env("HEADROOM_ANALYSIS_INTERVAL", "1h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
    let client = headroom_tests::http_client();
    wait_for(
        Duration::from_secs(60),
        "the collector's /healthz",
        || async {
            let response = client.get(format!("http://{http}/healthz")).send().await;
            response.ok()?.status().is_success().then_some(())
        },
    )
    .await;
    // The collector's first advisor pass (the whole look-back) runs at
    // start: measure after it, as a collector that has been running would be.
    wait_for(
        Duration::from_secs(120),
        "the first advisor pass",
        || async {
            let response = client
                .get(format!("http://{http}/api/v1/headroom?limit=1"))
                .send()
                .await
                .ok()?;
            let headroom: serde_json::Value = response.json().await.ok()?;
            (headroom["computed_at"].as_i64()? >= started_ms).then_some(())
        },
    )
    .await;
    let recs: serde_json::Value = client
        .get(format!("http://{http}/api/v1/recommendations?limit=1"))
        .send()
        .await
        .expect("recommendations")
        .json()
        .await
        .expect("json");
    let id = recs["recommendations"][0]["id"]
        .as_str()
        .unwrap_or("none")
        .to_owned();
    let paths = [
        "/".to_owned(),
        "/assets/app.js".to_owned(),
        "/api/v1/recommendations".to_owned(),
        "/api/v1/headroom".to_owned(),
        "/api/v1/agents".to_owned(),
        format!("/api/v1/recommendations/{id}"),
        format!(
            "/api/v1/series?name=host_memory_used_bytes&agent=host-0001&from={}",
            now - DAY
        ),
        format!(
            "/api/v1/chart?name=host_memory_used_bytes&agent=host-0001&from={}&forecast=true",
            now - 7 * DAY
        ),
        "/api/v1/series?prefix=redis_".to_owned(),
        "/metrics".to_owned(),
    ];
    println!(
        "machine: {} cores, {}; wrk -t{} -c{} -d{}s --latency, one path at a time",
        command_output("nproc", &[]),
        command_output("uname", &["-sr"]),
        args.connections.clamp(1, 2),
        args.connections,
        args.seconds
    );
    println!("| Path | req/s | p50 ms | p90 ms | p99 ms | non-2xx |");
    println!("|---|---:|---:|---:|---:|---:|");
    for path in paths {
        // wrk needs at least one connection per thread.
        let threads = args.connections.clamp(1, 2);
        let output = Command::new("wrk")
            .args([format!("-t{threads}"), format!("-c{}", args.connections)])
            .arg(format!("-d{}s", args.seconds))
            .arg("--latency")
            .arg(format!("http://{http}{path}"))
            .output()
            .expect("wrk (Debian's wrk package; .ci/run installs it)");
        assert!(
            output.status.success(),
            "wrk failed on {path}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let figures = parse_wrk(&String::from_utf8_lossy(&output.stdout));
        println!(
            "| `{path}` | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            figures.requests_per_s, figures.p50_ms, figures.p90_ms, figures.p99_ms, figures.non_2xx
        );
    }
    terminate(&mut collector);
}
