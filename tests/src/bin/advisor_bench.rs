//! `advisor-bench`: how long one advisor pass takes over a store holding
//! `--series` series × `--days` days of 1-minute points, and what it costs
//! in memory and CPU.
//!
//! ```text
//! cargo build --release -p headroom-tests --bin advisor-bench && ./target/release/advisor-bench [--series N] [--days N] [--postgres URL]
//! ```
//!
//! Ingesting 432 million points through gRPC and compacting them would take
//! far longer than the pass being measured, so the store is built directly
//! with the store's bulk import (`headroom_collector::store::import`): per
//! series, one 1-hour rollup row (count 60, sum, min, max of its 1-minute
//! points) per hour of the look-back, plus the raw 1-minute points of the
//! last two hours, i.e. what a 30-day-old store holds after compaction
//! (1-minute rollups are not written: the pass does not read them).
//!
//! The series are what the rules read, each with an `agent` label (1 agent
//! per 10 series): a fifth `pg_statement_mean_exec_ms{database,queryid}`, a
//! fifth `pg_table_rows{database,schema,table}`, a tenth each
//! `redis_used_memory_bytes{instance}` and its `redis_maxmemory_bytes`, a
//! tenth each `host_memory_used_bytes` and `host_memory_total_bytes`, and a
//! fifth `http_route_latency_ms_count{route}` (a counter). Values follow a
//! daily cycle, grow (some towards their limit) and carry noise; every
//! minute value is generated, so hourly min/max and sums are consistent
//! with the raw tail.
//!
//! Then it runs `advisor::engine::pass` three times at the same `now` with
//! one `load::History`, as the collector does (the first, in a fresh store
//! handle, reads the whole look-back; the others only the recent window)
//! and prints, per pass, the wall time, the pass's own load/analysis split,
//! the peak RSS of the process during the pass (VmHWM, reset before each
//! pass) and its CPU time; and, separately, `analysis::analyze` alone over
//! every loaded series (the statistics without I/O, rules or lifecycle).
//! Last, the alerts' dispatcher decides over the recommendations left, for
//! four receivers (decisions only, nothing is sent).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use std::collections::HashMap;

use headroom_collector::advisor::{AdvisorConfig, Severity, engine, load};
use headroom_collector::alerts::{AlertingConfig, ReceiverConfig, ReceiverType, Secret, dispatch};
use headroom_collector::analysis;
use headroom_collector::store::{Store, now_ms};
use headroom_tests::synthetic::{DAY, MINUTE, build, specs};

/// Passes run: the first reads the whole look-back, the others the recent window.
const PASSES: usize = 3;

#[derive(Debug, Parser)]
#[command(
    name = "advisor-bench",
    about = "One advisor pass over N series × D days of 1-minute points"
)]
struct Args {
    /// Series in the store (a multiple of 10 keeps the mix exact).
    #[arg(long, default_value_t = 10_000)]
    series: usize,
    /// Days of history per series.
    #[arg(long, default_value_t = 30)]
    days: i64,
    /// An empty PostgreSQL database to use instead of a temporary SQLite file.
    #[arg(long)]
    postgres: Option<String>,
}

/// One pass's figures.
#[derive(Debug)]
struct Measured {
    wall_ms: f64,
    report: engine::PassReport,
    peak_rss_kib: u64,
    cpu_s: f64,
}

/// The process's peak RSS since the last reset (VmHWM), in KiB.
fn peak_rss_kib() -> u64 {
    status_kib("VmHWM:")
}

fn rss_now_kib() -> u64 {
    status_kib("VmRSS:")
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with(field))?.to_owned();
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// Resets VmHWM to the current RSS (Linux: "5" to clear_refs).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// utime + stime of this process (all threads), in seconds.
fn cpu_seconds(tick: f64) -> f64 {
    let text = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let Some(end) = text.rfind(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = text[end + 1..].split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field(11) + field(12)) as f64 / tick
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let command: Vec<String> = std::env::args().collect();
    let tick: f64 = command_output("getconf", &["CLK_TCK"])
        .parse()
        .unwrap_or(100.0);
    let now = now_ms();
    let from = now - args.days * DAY;
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, backend) = match &args.postgres {
        Some(url) => (url.clone(), "PostgreSQL"),
        None => (
            format!("sqlite://{}", dir.path().join("advisor-bench.db").display()),
            "SQLite",
        ),
    };
    println!(
        "# advisor-bench\n\n{} series × {} days of 1-minute points ({:.0} M points) → {backend}",
        args.series,
        args.days,
        args.series as f64 * (args.days * DAY / MINUTE) as f64 / 1e6
    );

    let specs = specs(args.series);
    let store = Store::open(&url).await.expect("open the store");
    let started = Instant::now();
    let (generating, writing, blocks) = build(&store, &specs, from, now).await;
    let import_s = started.elapsed().as_secs_f64();
    let size = store.size_bytes().await.unwrap_or(0);
    println!(
        "import:   {blocks} blocks in {import_s:.1} s (generating points {generating:.1} s, writing blocks {writing:.1} s); \
         database {:.1} MiB; RSS {}",
        size as f64 / (1024.0 * 1024.0),
        mib(rss_now_kib())
    );
    drop(store);

    // A fresh handle: empty series cache and SQLite page cache, as after a restart.
    let store = Store::open(&url).await.expect("reopen the store");
    let config = Arc::new(AdvisorConfig::default());
    let mut passes = Vec::new();
    // Kept between passes as the collector does: the first pass reads the
    // whole look-back, the next ones the recent window and new hours only.
    let mut history = load::History::default();
    for index in 0..PASSES {
        reset_peak_rss();
        let cpu_before = cpu_seconds(tick);
        let started = Instant::now();
        let report = engine::pass(&store, &config, &mut history, now)
            .await
            .expect("pass");
        let wall_ms = started.elapsed().as_secs_f64() * 1e3;
        let measured = Measured {
            wall_ms,
            report,
            peak_rss_kib: peak_rss_kib(),
            cpu_s: cpu_seconds(tick) - cpu_before,
        };
        let r = &measured.report;
        println!(
            "pass {} ({}): {:.0} ms wall (load {} ms, analysis {} ms, save and the rest {:.0} ms); \
             {} series, {} resources, {} findings ({} opened, {} resolved); peak RSS {}, CPU {:.2} s",
            index + 1,
            if index == 0 {
                "cold: the whole look-back"
            } else {
                "steady: recent window, history kept"
            },
            measured.wall_ms,
            r.load_ms,
            r.analysis_ms,
            measured.wall_ms - (r.load_ms + r.analysis_ms) as f64,
            r.series,
            r.resources,
            r.findings,
            r.opened,
            r.resolved,
            mib(measured.peak_rss_kib),
            measured.cpu_s
        );
        passes.push(measured);
    }

    // The statistics alone: analyze() over every loaded series.
    let snapshot = load::snapshot(&store, &config, &mut load::History::default(), now)
        .await
        .expect("snapshot");
    let points: usize = snapshot.series.iter().map(|s| s.points.len()).sum();
    let cpu_before = cpu_seconds(tick);
    let started = Instant::now();
    let mut seasonal = 0usize;
    for series in &snapshot.series {
        let analysis = analysis::analyze(&series.points);
        seasonal += usize::from(analysis.season.is_some());
    }
    let analyze_ms = started.elapsed().as_secs_f64() * 1e3;
    let analyze_cpu = cpu_seconds(tick) - cpu_before;
    println!(
        "analyze() alone over {} series ({points} points, {:.0} per series): {analyze_ms:.0} ms wall, \
         CPU {analyze_cpu:.2} s, {:.1} µs per series; {seasonal} with a detected season",
        snapshot.series.len(),
        points as f64 / snapshot.series.len().max(1) as f64,
        analyze_ms * 1e3 / snapshot.series.len().max(1) as f64
    );

    // The alerts' dispatcher over the recommendations the passes left:
    // four receivers, every kind and severity; decisions only (nothing is
    // delivered). The first starts every group's wait, the second (after
    // group_wait) writes their notifications, the third finds nothing due.
    let receivers: Vec<ReceiverConfig> = [
        ReceiverType::Slack,
        ReceiverType::Discord,
        ReceiverType::Teams,
        ReceiverType::Webhook,
    ]
    .into_iter()
    .map(|kind| ReceiverConfig {
        name: kind.as_str().to_owned(),
        kind,
        url: Secret::new("http://127.0.0.1:9/bench"),
        secret: Secret::new("bench-secret-0123456789"),
        min_severity: Severity::Info,
        kinds: Vec::new(),
        max_per_hour: 1_000,
    })
    .collect();
    let settings = dispatch::Settings::new(
        &receivers,
        &AlertingConfig::default(),
        "http://127.0.0.1:8080".into(),
    );
    let open = store
        .recommendations()
        .await
        .expect("recommendations")
        .iter()
        .filter(|r| r.state.is_active())
        .count();
    let mut dispatches = Vec::new();
    for (label, at) in [
        ("first (groups start waiting)", now),
        ("after group_wait (notifications written)", now + 31_000),
        ("steady (nothing due)", now + 62_000),
    ] {
        let started = Instant::now();
        let added = dispatch::dispatch_once(&store, &settings, at, &mut HashMap::new())
            .await
            .expect("dispatch");
        let ms = started.elapsed().as_secs_f64() * 1e3;
        println!("alerts dispatch, {label}: {ms:.1} ms, {added} notifications");
        dispatches.push((label, ms, added));
    }

    println!("\n## Summary (markdown for BENCHMARKS.md)\n");
    println!(
        "- Machine: {} CPUs ({}), Linux {}",
        command_output("nproc", &[]),
        command_output("sh", &["-c", "lscpu | sed -n 's/^Model name: *//p'"]),
        command_output("uname", &["-r"])
    );
    println!(
        "- Build: headroom {} (release), {backend}",
        command_output("git", &["rev-parse", "--short", "HEAD"])
    );
    println!("- Command: `{}`", command.join(" "));
    println!(
        "- Data: {} series × {} days; import {import_s:.1} s ({blocks} blocks)\n",
        args.series, args.days
    );
    println!(
        "| Pass | Wall | load_ms | analysis_ms | rest (save) | Series | Resources | Findings | Peak RSS | CPU |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (index, m) in passes.iter().enumerate() {
        let r = &m.report;
        println!(
            "| {} ({}) | {:.2} s | {} | {} | {:.0} ms | {} | {} | {} | {} | {:.2} s |",
            index + 1,
            if index == 0 {
                "cold: the whole look-back"
            } else {
                "steady: recent window, history kept"
            },
            m.wall_ms / 1e3,
            r.load_ms,
            r.analysis_ms,
            m.wall_ms - (r.load_ms + r.analysis_ms) as f64,
            r.series,
            r.resources,
            r.findings,
            mib(m.peak_rss_kib),
            m.cpu_s
        );
    }
    println!(
        "| `analysis::analyze` alone | {:.2} s | – | – | – | {} | – | – | – | {analyze_cpu:.2} s |",
        analyze_ms / 1e3,
        snapshot.series.len()
    );
    println!(
        "\nAlerts dispatch over {} stored recommendations ({open} active), 4 receivers:\n",
        store.recommendations().await.map(|r| r.len()).unwrap_or(0)
    );
    println!("| Decision | Wall | Notifications |\n|---|---:|---:|");
    for (label, ms, added) in dispatches {
        println!("| {label} | {ms:.1} ms | {added} |");
    }
}
