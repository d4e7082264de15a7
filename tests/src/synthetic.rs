//! Synthetic store contents for the benchmarks: a mix of the series the
//! advisor's rules read (statements, tables, Redis and host memory, route
//! counters), each with a daily cycle, growth and noise, written straight
//! into a store with its bulk import (hourly rollups plus a raw tail), as a
//! store of that age holds them after compaction.

use std::f64::consts::TAU;
use std::time::Instant;

use headroom_collector::store::import::ImportSeries;
use headroom_collector::store::model::Kind;
use headroom_collector::store::{HOUR, SeriesKey, Store};

pub const MINUTE: i64 = 60_000;
pub const DAY: i64 = 86_400_000;
/// Raw 1-minute points kept at the end of each series.
pub const RAW_MINUTES: i64 = 120;
/// Series generated and imported per transaction.
pub const IMPORT_CHUNK: usize = 500;

/// One generated series: identity and the shape of its values.
#[derive(Debug, Clone)]
pub struct Spec {
    pub key: SeriesKey,
    pub kind: Kind,
    /// Level at the start.
    pub base: f64,
    /// Relative growth over the whole history.
    pub growth: f64,
    /// Relative amplitude of the daily cycle.
    pub daily: f64,
    /// Relative noise (uniform, ±).
    pub noise: f64,
    /// Phase of the daily cycle, in days.
    pub phase: f64,
}

/// The series mix: per agent, ten series (see the module documentation).
pub fn specs(count: usize) -> Vec<Spec> {
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
                "pg_table_rows",
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
        let total = (1u64 << (31 + unit % 2)) as f64 * 2.0;
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
pub struct Rng(pub u64);

impl Rng {
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One series' history: 1-hour rows for every complete hour from `from` to
/// `now`'s hour and the raw minutes of the last [`RAW_MINUTES`].
pub struct History {
    pub raw: Vec<(i64, f64)>,
    pub hourly: Vec<(i64, [f64; 4])>,
}

pub fn history(spec: &Spec, seed: u64, from: i64, now: i64) -> History {
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
pub async fn build(store: &Store, specs: &[Spec], from: i64, now: i64) -> (f64, f64, usize) {
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
