//! `headroom-bench`: how fast a real collector acknowledges batches, what
//! that costs it in CPU and memory, and how densely it stores points once
//! compacted, on SQLite and/or PostgreSQL.
//!
//! ```text
//! cargo build --release --workspace --bins && ./target/release/headroom-bench [--backend sqlite|postgres|both] [--streams N] [--batches N] [--series N] [--points N]
//! ```
//!
//! Every batch is built and encoded before the clock starts. Each of
//! `--streams` concurrent streams is its own agent (`bench-<i>`) keeping
//! `--window` batches unacked; each batch holds `--points` points of each of
//! `--series` series, 15 s apart, the first two days ago (well inside raw
//! retention): half the series are gauges wandering slowly around an integer
//! level, half counters growing by small random increments, so the encoded
//! size per point is that of plausible data.
//!
//! Per backend it starts `headroom-collector` (compaction every second) on a
//! fresh database (SQLite in a temp dir, or a new database on the machine's
//! PostgreSQL), times first send to last ack, samples the collector's RSS
//! every 100 ms and its CPU time from /proc, waits for compaction to catch
//! up, reads the storage figures of `/api/v1/status`, and ends with a
//! markdown summary for BENCHMARKS.md. The defaults (4 × 200 × 250 × 50 =
//! 10 million points) take about 15 s of ingest and 40 s of compaction per
//! backend on 2 cores. Close other work first: on a small
//! machine anything else running (a build, other tests on the shared
//! PostgreSQL) shows up in the figures; the summary's "other processes" row
//! says how much.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// The crate root sits in src/bin/, where every file is a binary of its own.
#[path = "bench/host.rs"]
mod host;
#[path = "bench/workload.rs"]
mod workload;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use headroom_tests::load::{self, Identity};
use headroom_tests::{Collector, CollectorOptions, PgDatabase, tail};
use serde_json::Value;

use host::{Cpu, CpuSeconds, Machine, clock_ticks_per_second, dir_bytes, rss_kib};
use workload::{HOUR_MS, Workload};

/// How long compaction may take to catch up after the last ack.
const COMPACTION_TIMEOUT: Duration = Duration::from_secs(120);
/// Compaction counts as stuck when the raw block count stays put this long.
const COMPACTION_STALL: Duration = Duration::from_secs(3);
/// How long all streams together may take to be acked.
const INGEST_TIMEOUT: Duration = Duration::from_secs(1_800);

#[derive(Debug, Parser)]
#[command(
    name = "headroom-bench",
    about = "Ingest throughput, collector CPU/RSS and storage density against a real collector"
)]
struct Args {
    /// Which store to measure.
    #[arg(long, value_enum, default_value_t = Backend::Both)]
    backend: Backend,
    /// Concurrent streams, each its own agent.
    #[arg(long, default_value_t = 4)]
    streams: usize,
    /// Batches per stream.
    #[arg(long, default_value_t = 200)]
    batches: u64,
    /// Series per batch (half gauges, half counters).
    #[arg(long, default_value_t = 250)]
    series: usize,
    /// Points per series per batch, 15 s apart.
    #[arg(long, default_value_t = 50)]
    points: usize,
    /// Unacked batches each stream keeps in flight.
    #[arg(long, default_value_t = 16)]
    window: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    Sqlite,
    Postgres,
    Both,
}

impl Backend {
    fn each(self) -> Vec<Self> {
        match self {
            Self::Both => vec![Self::Sqlite, Self::Postgres],
            one => vec![one],
        }
    }

    fn title(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
            Self::Both => "both",
        }
    }
}

/// Storage figures of one resolution, from `/api/v1/status`.
#[derive(Debug, Clone, Copy, Default)]
struct Resolution {
    blocks: i64,
    points: i64,
    data_bytes: i64,
}

fn resolution(status: &Value, resolution_ms: i64) -> Resolution {
    status["resolutions"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["resolution_ms"] == resolution_ms))
        .map(|r| Resolution {
            blocks: r["blocks"].as_i64().unwrap_or(0),
            points: r["points"].as_i64().unwrap_or(0),
            data_bytes: r["data_bytes"].as_i64().unwrap_or(0),
        })
        .unwrap_or_default()
}

/// Everything measured on one backend.
#[derive(Debug)]
struct Measured {
    backend: Backend,
    points_acked: u64,
    batches_acked: u64,
    wall_s: f64,
    ingest_cpu: CpuSeconds,
    rss_before_kib: u64,
    rss_peak_kib: u64,
    rss_after_kib: u64,
    compaction_s: f64,
    compaction_state: &'static str,
    compaction_cpu: CpuSeconds,
    raw: Resolution,
    minute: Resolution,
    hour: Resolution,
    size_bytes: i64,
    empty_size_bytes: i64,
    files_bytes: Option<u64>,
    log_problems: Vec<String>,
}

async fn measure(
    backend: Backend,
    workload: &Workload,
    batches: &[Vec<Bytes>],
    tick: f64,
) -> Measured {
    println!("\n## {}\n", backend.title());
    let database = (backend == Backend::Postgres).then(PgDatabase::create);
    let mut collector = Collector::start(CollectorOptions {
        database_url: database.as_ref().map(|db| db.url.clone()),
        extra_toml: "[retention]\ncompaction_interval = \"1s\"\n".into(),
        ..Default::default()
    })
    .await;
    let pid = collector.pid().expect("the collector runs");
    let (_, status) = collector.get("/api/v1/status").await;
    let empty_size_bytes = status["size_bytes"].as_i64().unwrap_or(0);
    println!("collector pid {pid}, log {}", collector.log.display());

    let rss_before_kib = rss_kib(pid).unwrap_or(0);
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(rss_before_kib));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(100));
            while sampling.load(Ordering::Relaxed) {
                every.tick().await;
                if let Some(rss) = rss_kib(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
            }
        })
    };

    let cpu_before = Cpu::now(pid);
    let streams: Vec<_> = batches
        .iter()
        .enumerate()
        .map(|(i, stream)| {
            let endpoint = collector.endpoint();
            let identity = Identity {
                agent_id: format!("bench-{i}"),
                epoch: 1,
                token: String::new(),
            };
            let (stream, window) = (stream.clone(), workload.window);
            tokio::spawn(
                async move { load::send_encoded(&endpoint, &identity, &stream, window).await },
            )
        })
        .collect();
    let reports = tokio::time::timeout(INGEST_TIMEOUT, join_all(streams))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "not every batch was acked within {INGEST_TIMEOUT:?}\n{}",
                tail(&collector.log, 30)
            )
        });
    let cpu_acked = Cpu::now(pid);
    sampling.store(false, Ordering::Relaxed);
    sampler.await.expect("sampler");
    let rss_peak_kib = peak.load(Ordering::Relaxed);
    let rss_after_kib = rss_kib(pid).unwrap_or(0);

    let first = reports
        .iter()
        .filter_map(|r| r.first_send)
        .min()
        .expect("a batch was sent");
    let last = reports
        .iter()
        .filter_map(|r| r.last_ack)
        .max()
        .expect("a batch was acked");
    let wall_s = (last - first).as_secs_f64();
    let duplicates: u64 = reports.iter().map(|r| r.duplicates).sum();
    let reconnects: u32 = reports.iter().map(|r| r.reconnects).sum();
    let batches_acked = reports.iter().map(|r| r.acked.len() as u64).sum::<u64>() - duplicates;
    let points_acked = batches_acked * workload.points_per_batch();
    let ingest_cpu = cpu_acked.since(cpu_before, tick);
    let millions = points_acked as f64 / 1e6;

    println!(
        "acked durably:  {} points in {} batches ({duplicates} duplicates, {reconnects} reconnects)",
        thousands(points_acked),
        thousands(batches_acked)
    );
    println!("wall time:      {wall_s:.2} s (first send to last ack)");
    println!(
        "throughput:     {} points/s, {:.1} batches/s",
        thousands((points_acked as f64 / wall_s) as u64),
        batches_acked as f64 / wall_s
    );
    println!(
        "collector CPU:  {:.2} s ({:.2} s per million points, {:.0}% of one core)",
        ingest_cpu.collector,
        ingest_cpu.collector / millions,
        100.0 * ingest_cpu.collector / wall_s
    );
    println!(
        "other CPU:      postgres processes {:.2} s, bench client {:.2} s, anything else {:.2} s",
        ingest_cpu.postgres,
        ingest_cpu.bench,
        ingest_cpu.other()
    );
    println!(
        "collector RSS:  {} before, {} peak, {} after",
        mib(rss_before_kib * 1024),
        mib(rss_peak_kib * 1024),
        mib(rss_after_kib * 1024)
    );
    let (_, status) = collector.get("/api/v1/status").await;
    let stored = status["ingest"]["points_stored"].as_u64().unwrap_or(0);
    if stored != points_acked {
        println!(
            "WARNING: the collector counts {stored} points stored, the streams {points_acked} acked"
        );
    }

    // Compaction: every series ends with one raw block per hour window.
    let target = workload.series_total() * workload.hour_windows();
    let since_ack = Instant::now();
    let (compaction_state, status) = wait_for_compaction(&collector, target).await;
    let compaction_s = since_ack.elapsed().as_secs_f64();
    let compaction_cpu = Cpu::now(pid).since(cpu_acked, tick);
    let raw = resolution(&status, 0);
    let minute = resolution(&status, 60_000);
    let hour = resolution(&status, HOUR_MS);
    let size_bytes = status["size_bytes"].as_i64().unwrap_or(0);
    let files_bytes =
        (backend == Backend::Sqlite).then(|| dir_bytes(&collector.dir.path().join("data")));
    println!(
        "compaction:     {compaction_state} {compaction_s:.1} s after the last ack (target {} raw blocks); \
         collector CPU {:.2} s, postgres processes {:.2} s meanwhile",
        thousands(target as u64),
        compaction_cpu.collector,
        compaction_cpu.postgres
    );
    println!(
        "raw:            {} points in {} blocks, {} encoded = {:.2} bytes/point",
        thousands(raw.points as u64),
        thousands(raw.blocks as u64),
        mib(raw.data_bytes as u64),
        per(raw.data_bytes, raw.points)
    );
    for (name, r) in [("1-minute:", minute), ("1-hour:", hour)] {
        println!(
            "{name:<16}{} buckets in {} blocks, {} encoded = {:.2} bytes/bucket",
            thousands(r.points as u64),
            thousands(r.blocks as u64),
            mib(r.data_bytes as u64),
            per(r.data_bytes, r.points)
        );
    }
    println!(
        "database:       size_bytes {} = {:.2} bytes per raw point (all resolutions, indexes, row headers, free pages){}",
        mib(size_bytes as u64),
        per(size_bytes, raw.points),
        files_bytes.map_or(String::new(), |b| format!("; files on disk {}", mib(b)))
    );
    println!(
        "                {} of it before any point (empty schema); growth {:.2} bytes per raw point",
        mib(empty_size_bytes as u64),
        per(size_bytes - empty_size_bytes, raw.points),
    );

    let log_problems = problems(&collector.log);
    let exit = collector.stop();
    println!(
        "collector exit: {exit:?}; {} WARN/ERROR log lines",
        log_problems.len()
    );
    for line in log_problems.iter().take(5) {
        println!("  {line}");
    }
    drop(database);
    Measured {
        backend,
        points_acked,
        batches_acked,
        wall_s,
        ingest_cpu,
        rss_before_kib,
        rss_peak_kib,
        rss_after_kib,
        compaction_s,
        compaction_state,
        compaction_cpu,
        raw,
        minute,
        hour,
        size_bytes,
        empty_size_bytes,
        files_bytes,
        log_problems,
    }
}

async fn join_all(tasks: Vec<tokio::task::JoinHandle<load::Report>>) -> Vec<load::Report> {
    let mut reports = Vec::with_capacity(tasks.len());
    for task in tasks {
        reports.push(task.await.expect("stream task"));
    }
    reports
}

/// Polls `/api/v1/status` until no block waits for compaction and raw
/// blocks are at most `target`, they stop changing, or time runs out;
/// returns how it ended and the last status.
async fn wait_for_compaction(collector: &Collector, target: i64) -> (&'static str, Value) {
    let started = Instant::now();
    let mut last_change = (i64::MAX, Instant::now());
    loop {
        let (_, status) = collector.get("/api/v1/status").await;
        let blocks = resolution(&status, 0).blocks;
        if blocks <= target && status["uncompacted_blocks"].as_i64() == Some(0) {
            return ("done", status);
        }
        if blocks != last_change.0 {
            last_change = (blocks, Instant::now());
        } else if last_change.1.elapsed() >= COMPACTION_STALL {
            return ("STALLED", status);
        }
        if started.elapsed() >= COMPACTION_TIMEOUT {
            return ("TIMED OUT", status);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// WARN and ERROR lines of a collector log.
fn problems(log: &Path) -> Vec<String> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains(" WARN ") || line.contains(" ERROR "))
        .map(str::to_owned)
        .collect()
}

fn print_summary(args: &[String], workload: &Workload, results: &[Measured]) {
    let machine = Machine::read(results.iter().any(|r| r.backend == Backend::Postgres));
    println!("\n## Summary (markdown for BENCHMARKS.md)\n");
    println!("### Ingest: {}\n", machine.date);
    println!(
        "- Machine: {} CPUs ({}), {:.1} GiB RAM, Linux {}",
        machine.nproc, machine.model, machine.memory_gib, machine.kernel
    );
    println!(
        "- Build: headroom {} (release){}",
        machine.commit, machine.postgres
    );
    println!("- Command: `{}`", args.join(" "));
    println!("- Workload: {}", workload.describe());
    println!();
    let mut header = "| |".to_owned();
    let mut rule = "|---|".to_owned();
    for r in results {
        header.push_str(&format!(" {} |", r.backend.title()));
        rule.push_str("---:|");
    }
    println!("{header}\n{rule}");
    let row = |label: &str, cell: &dyn Fn(&Measured) -> String| {
        let cells: Vec<String> = results.iter().map(cell).collect();
        println!("| {label} | {} |", cells.join(" | "));
    };
    row("Points acknowledged durably", &|r| {
        thousands(r.points_acked)
    });
    row("Wall time, first send → last ack", &|r| {
        format!("{:.2} s", r.wall_s)
    });
    row("**Points/s**", &|r| {
        format!(
            "**{}**",
            thousands((r.points_acked as f64 / r.wall_s) as u64)
        )
    });
    row("Batches/s", &|r| {
        format!("{:.1}", r.batches_acked as f64 / r.wall_s)
    });
    row("Collector CPU during ingest", &|r| {
        format!(
            "{:.1} s ({:.0}% of a core)",
            r.ingest_cpu.collector,
            100.0 * r.ingest_cpu.collector / r.wall_s
        )
    });
    row("Collector CPU per million points", &|r| {
        format!(
            "{:.2} s",
            r.ingest_cpu.collector / (r.points_acked as f64 / 1e6)
        )
    });
    row(
        "PostgreSQL server CPU during ingest (all postgres processes)",
        &|r| format!("{:.1} s", r.ingest_cpu.postgres),
    );
    row("Bench client CPU / other processes during ingest", &|r| {
        format!(
            "{:.1} s / {:.1} s",
            r.ingest_cpu.bench,
            r.ingest_cpu.other()
        )
    });
    row("Collector RSS: start / peak / end of ingest", &|r| {
        format!(
            "{} / {} / {}",
            mib(r.rss_before_kib * 1024),
            mib(r.rss_peak_kib * 1024),
            mib(r.rss_after_kib * 1024)
        )
    });
    row(
        "Compaction after the last ack (collector / postgres CPU)",
        &|r| {
            let state = if r.compaction_state == "done" {
                String::new()
            } else {
                format!(" {}", r.compaction_state)
            };
            format!(
                "{:.1} s{state} ({:.1} s / {:.1} s)",
                r.compaction_s, r.compaction_cpu.collector, r.compaction_cpu.postgres
            )
        },
    );
    row("Raw points / blocks", &|r| {
        format!(
            "{} / {}",
            thousands(r.raw.points as u64),
            thousands(r.raw.blocks as u64)
        )
    });
    row("**Raw encoded bytes/point**", &|r| {
        format!("**{:.2}**", per(r.raw.data_bytes, r.raw.points))
    });
    let rollup = |x: Resolution| {
        format!(
            "{} / {} / {:.1}",
            thousands(x.points as u64),
            thousands(x.blocks as u64),
            per(x.data_bytes, x.points)
        )
    };
    row(
        "1-minute rollup: buckets / blocks / bytes per bucket",
        &|r| rollup(r.minute),
    );
    row("1-hour rollup: buckets / blocks / bytes per bucket", &|r| {
        rollup(r.hour)
    });
    row(
        "Database size (`size_bytes`): empty → after compaction",
        &|r| {
            let files = r
                .files_bytes
                .map_or(String::new(), |b| format!(" ({} in files)", mib(b)));
            format!(
                "{} → {}{files}",
                mib(r.empty_size_bytes as u64),
                mib(r.size_bytes as u64)
            )
        },
    );
    row(
        "**Database bytes per raw point** (all resolutions, indexes, row headers, free pages)",
        &|r| format!("**{:.2}**", per(r.size_bytes, r.raw.points)),
    );
    row(
        "Database growth per raw point (size minus the empty schema)",
        &|r| {
            format!(
                "{:.2}",
                per(r.size_bytes - r.empty_size_bytes, r.raw.points)
            )
        },
    );
    row("WARN/ERROR lines in the collector log", &|r| {
        r.log_problems.len().to_string()
    });
}

fn per(bytes: i64, points: i64) -> f64 {
    if points == 0 {
        0.0
    } else {
        bytes as f64 / points as f64
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

/// 4000000 → "4,000,000".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let command: Vec<String> = std::env::args().collect();
    let workload = Workload::new(&args);
    println!("# headroom-bench\n\n{}", workload.describe());
    let building = Instant::now();
    let batches = workload.build();
    let encoded: usize = batches.iter().flatten().map(Bytes::len).sum();
    println!(
        "built and encoded {} batches ({}, {:.1} bytes/point on the wire) in {:.1} s, before timing",
        thousands(workload.total_batches()),
        mib(encoded as u64),
        encoded as f64 / workload.total_points() as f64,
        building.elapsed().as_secs_f64()
    );
    let tick = clock_ticks_per_second();
    let mut results = Vec::new();
    for backend in args.backend.each() {
        results.push(measure(backend, &workload, &batches, tick).await);
    }
    print_summary(&command, &workload, &results);
}
