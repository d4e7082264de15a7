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
//! fifth `pg_table_live_tuples{database,schema,table}`, a tenth each
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
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::f64::consts::TAU;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use headroom_collector::advisor::{AdvisorConfig, engine, load};
use headroom_collector::analysis;
use headroom_collector::store::import::ImportSeries;
use headroom_collector::store::model::Kind;
use headroom_collector::store::{HOUR, SeriesKey, Store, now_ms};

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;
/// Raw 1-minute points kept at the end of each series.
const RAW_MINUTES: i64 = 120;
/// Series generated and imported per transaction.
const IMPORT_CHUNK: usize = 500;
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

/// One generated series: identity and the shape of its values.
#[derive(Debug, Clone)]
struct Spec {
    key: SeriesKey,
    kind: Kind,
    /// Level at the start.
    base: f64,
    /// Relative growth over the whole history.
    growth: f64,
    /// Relative amplitude of the daily cycle.
    daily: f64,
    /// Relative noise (uniform, ±).
    noise: f64,
    /// Phase of the daily cycle, in days.
    phase: f64,
}

/// The series mix: per agent, ten series (see the module documentation).
fn specs(count: usize) -> Vec<Spec> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut out = Vec::with_capacity(count);
    let mut unit = 0usize;
    while out.len() < count {
        let agent = format!("host-{unit:04}");
        let db = format!("shop_{}", unit % 7);
        let mut push = |name: &str,
                        labels: &[(&str, &str)],
                        kind: Kind,
                        base: f64,
                        growth: f64,
                        rng: &mut Rng| {
            let mut all = vec![("agent", agent.as_str())];
            all.extend_from_slice(labels);
            out.push(Spec {
                key: SeriesKey::new(name, all),
                kind,
                base,
                growth,
                daily: 0.05 + 0.3 * rng.unit(),
                noise: 0.02 + 0.05 * rng.unit(),
                phase: rng.unit() * 0.2,
            });
        };
        for q in 0..2 {
            let queryid = format!(
                "{}",
                1_000_000_007_u64.wrapping_mul((unit * 2 + q + 1) as u64)
            );
            let base = 0.5 + 200.0 * rng.unit() * rng.unit();
            let growth = rng.unit() * 0.5;
            push(
                "pg_statement_mean_exec_ms",
                &[("database", &db), ("queryid", &queryid)],
                Kind::Gauge,
                base,
                growth,
                &mut rng,
            );
        }
        for t in 0..2 {
            let table = format!("table_{}", unit * 2 + t);
            let base = 1e4 + 5e7 * rng.unit() * rng.unit();
            let growth = rng.unit();
            push(
                "pg_table_live_tuples",
                &[("database", &db), ("schema", "public"), ("table", &table)],
                Kind::Gauge,
                base,
                growth,
                &mut rng,
            );
        }
        let instance = format!("redis-{unit}:6379");
        let max_memory = f64::from(1u32 << (28 + unit % 4));
        let used = max_memory * (0.3 + 0.4 * rng.unit());
        let growth = rng.unit() * 0.6;
        push(
            "redis_used_memory_bytes",
            &[("instance", &instance)],
            Kind::Gauge,
            used,
            growth,
            &mut rng,
        );
        push(
            "redis_maxmemory_bytes",
            &[("instance", &instance)],
            Kind::Gauge,
            max_memory,
            0.0,
            &mut rng,
        );
        let total = f64::from(1u32 << (31 + unit % 2)) * 2.0;
        let used = total * (0.2 + 0.5 * rng.unit());
        let growth = rng.unit() * 0.4;
        push(
            "host_memory_used_bytes",
            &[],
            Kind::Gauge,
            used,
            growth,
            &mut rng,
        );
        push(
            "host_memory_total_bytes",
            &[],
            Kind::Gauge,
            total,
            0.0,
            &mut rng,
        );
        for r in 0..2 {
            let route = format!("/api/v{}/resource_{}/:id", 1 + r, unit % 50);
            // Requests per minute.
            let base = 10.0 + 600.0 * rng.unit();
            let growth = rng.unit() * 0.5;
            push(
                "http_route_latency_ms_count",
                &[("route", &route)],
                Kind::Counter,
                base,
                growth,
                &mut rng,
            );
        }
        unit += 1;
    }
    out.truncate(count);
    for spec in &mut out {
        if spec.key.name.ends_with("_maxmemory_bytes") || spec.key.name.ends_with("_total_bytes") {
            (spec.daily, spec.noise) = (0.0, 0.0);
        }
    }
    out
}

/// xorshift64*: fast, seeded, good enough for noise.
struct Rng(u64);

impl Rng {
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One series' history: 1-hour rows for every complete hour from `from` to
/// `now`'s hour and the raw minutes of the last [`RAW_MINUTES`].
struct History {
    raw: Vec<(i64, f64)>,
    hourly: Vec<(i64, [f64; 4])>,
}

fn history(spec: &Spec, seed: u64, from: i64, now: i64) -> History {
    let mut rng = Rng(seed | 1);
    let span = (now - from) as f64;
    let raw_from = (now - RAW_MINUTES * MINUTE).div_euclid(MINUTE) * MINUTE;
    let last_hour = now.div_euclid(HOUR) * HOUR;
    let mut raw = Vec::with_capacity(RAW_MINUTES as usize + 1);
    let mut hourly = Vec::with_capacity(((now - from) / HOUR + 1) as usize);
    let mut total = 0.0;
    let mut t = from.div_euclid(HOUR) * HOUR;
    while t < now {
        let hour = t.div_euclid(HOUR) * HOUR;
        let mut row = [0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY];
        while t < (hour + HOUR).min(now) {
            let age = (t - from) as f64 / span;
            let cycle = (TAU * (t as f64 / DAY as f64 + spec.phase)).sin();
            let level = spec.base * (1.0 + spec.growth * age) * (1.0 + spec.daily * cycle);
            let noisy = level * (1.0 + spec.noise * (2.0 * rng.unit() - 1.0));
            let value = match spec.kind {
                Kind::Counter => {
                    total += noisy.max(0.0).round();
                    total
                }
                Kind::Gauge => noisy,
            };
            row[0] += 1.0;
            row[1] += value;
            row[2] = f64::min(row[2], value);
            row[3] = f64::max(row[3], value);
            if t >= raw_from {
                raw.push((t, value));
            }
            t += MINUTE;
        }
        // The current hour is not compacted yet: raw points only.
        if hour < last_hour {
            hourly.push((hour, row));
        }
    }
    History { raw, hourly }
}

/// Generates and imports every series; returns (generation s, write s, blocks).
async fn build(store: &Store, specs: &[Spec], from: i64, now: i64) -> (f64, f64, usize) {
    let (mut generating, mut writing, mut blocks) = (0.0, 0.0, 0);
    for (chunk_index, chunk) in specs.chunks(IMPORT_CHUNK).enumerate() {
        let started = Instant::now();
        let histories: Vec<History> = chunk
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                history(
                    spec,
                    ((chunk_index * IMPORT_CHUNK + i) as u64 + 1) * 0x9e37_79b9,
                    from,
                    now,
                )
            })
            .collect();
        generating += started.elapsed().as_secs_f64();
        let started = Instant::now();
        let series: Vec<ImportSeries<'_>> = chunk
            .iter()
            .zip(&histories)
            .map(|(spec, h)| ImportSeries {
                key: &spec.key,
                kind: spec.kind,
                raw: &h.raw,
                hourly: &h.hourly,
            })
            .collect();
        blocks += store.import_blocks(&series).await.expect("import");
        writing += started.elapsed().as_secs_f64();
    }
    (generating, writing, blocks)
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
}
