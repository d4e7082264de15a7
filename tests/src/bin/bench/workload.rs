//! What the benchmark sends: every stream's batches, built and encoded
//! before timing, with plausible values (slow integer gauges, counters
//! growing by small random increments) 15 s apart, two days ago.

use bytes::Bytes;
use headroom_proto::v1;
use headroom_tests::load;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::{Args, thousands};

/// Spacing of the points of one series.
pub const STEP_MS: i64 = 15_000;
pub const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// The newest point is at least this old...
const MIN_AGE_MS: i64 = HOUR_MS;
/// ...and the oldest at most this old (raw retention is 7 days).
const MAX_AGE_MS: i64 = 6 * DAY_MS;

/// What is sent: shapes and the time range.
#[derive(Debug, Clone)]
pub struct Workload {
    pub streams: usize,
    pub batches: u64,
    pub series: usize,
    pub points: usize,
    pub window: usize,
    pub start_ms: i64,
}

impl Workload {
    pub fn new(args: &Args) -> Self {
        assert!(
            args.streams > 0
                && args.batches > 0
                && args.series > 0
                && args.points > 0
                && args.window > 0,
            "every count must be at least 1"
        );
        let span = args.batches as i64 * args.points as i64 * STEP_MS;
        assert!(
            span + MIN_AGE_MS <= MAX_AGE_MS,
            "{} batches × {} points × 15 s cover {:.1} days; at most {:.1} fit inside raw retention: use fewer",
            args.batches,
            args.points,
            span as f64 / DAY_MS as f64,
            (MAX_AGE_MS - MIN_AGE_MS) as f64 / DAY_MS as f64,
        );
        let lookback = (2 * DAY_MS).max(span + MIN_AGE_MS);
        let start_ms = (now_ms() - lookback).div_euclid(STEP_MS) * STEP_MS;
        Self {
            streams: args.streams,
            batches: args.batches,
            series: args.series,
            points: args.points,
            window: args.window,
            start_ms,
        }
    }

    pub fn points_per_batch(&self) -> u64 {
        (self.series * self.points) as u64
    }

    pub fn total_batches(&self) -> u64 {
        self.streams as u64 * self.batches
    }

    pub fn total_points(&self) -> u64 {
        self.total_batches() * self.points_per_batch()
    }

    pub fn series_total(&self) -> i64 {
        (self.streams * self.series) as i64
    }

    pub fn last_ms(&self) -> i64 {
        self.start_ms + (self.batches as i64 * self.points as i64 - 1) * STEP_MS
    }

    /// Hour windows (raw and 1-minute blocks per series once compacted).
    pub fn hour_windows(&self) -> i64 {
        self.last_ms().div_euclid(HOUR_MS) - self.start_ms.div_euclid(HOUR_MS) + 1
    }

    pub fn describe(&self) -> String {
        format!(
            "{} streams (agents) × {} batches × {} series × {} points = {} points; \
             15 s apart over {:.1} h ending {:.1} h ago; half gauges (integer level, \
             a step of ±1..3 on 30% of scrapes), half counters (+0..50 per scrape); \
             {} unacked batches per stream",
            self.streams,
            self.batches,
            self.series,
            self.points,
            thousands(self.total_points()),
            (self.last_ms() - self.start_ms) as f64 / HOUR_MS as f64,
            (now_ms() - self.last_ms()) as f64 / HOUR_MS as f64,
            self.window,
        )
    }

    /// Every stream's batches, encoded (one thread per stream).
    pub fn build(&self) -> Vec<Vec<Bytes>> {
        std::thread::scope(|scope| {
            let threads: Vec<_> = (0..self.streams)
                .map(|stream| scope.spawn(move || self.build_stream(stream)))
                .collect();
            threads
                .into_iter()
                .map(|thread| thread.join().expect("builder thread"))
                .collect()
        })
    }

    fn build_stream(&self, stream: usize) -> Vec<Bytes> {
        let mut rng = StdRng::seed_from_u64(stream as u64);
        let gauges = self.series.div_ceil(2);
        let mut values: Vec<f64> = (0..self.series)
            .map(|s| {
                if s < gauges {
                    rng.random_range(10..1_000) as f64
                } else {
                    rng.random_range(0..10_000_000) as f64
                }
            })
            .collect();
        let labels: Vec<Vec<v1::Label>> = (0..self.series)
            .map(|s| vec![v1::Label::new("series", s.to_string())])
            .collect();
        (0..self.batches)
            .map(|batch| {
                let mut samples = Vec::with_capacity(self.series * self.points);
                let first = self.start_ms + (batch * self.points as u64) as i64 * STEP_MS;
                for p in 0..self.points {
                    let timestamp_ms = first + p as i64 * STEP_MS;
                    for (s, value) in values.iter_mut().enumerate() {
                        let gauge = s < gauges;
                        if gauge {
                            if rng.random_bool(0.3) {
                                *value = (*value + rng.random_range(-3..=3) as f64).max(0.0);
                            }
                        } else {
                            *value += rng.random_range(0..=50) as f64;
                        }
                        samples.push(v1::Sample {
                            name: if gauge {
                                "bench_level"
                            } else {
                                "bench_events_total"
                            }
                            .into(),
                            labels: labels[s].clone(),
                            kind: if gauge {
                                v1::MetricKind::Gauge
                            } else {
                                v1::MetricKind::Counter
                            } as i32,
                            timestamp_ms,
                            value: *value,
                        });
                    }
                }
                load::encode_batch(v1::Batch {
                    sequence: batch + 1,
                    created_ms: first + (self.points as i64 - 1) * STEP_MS,
                    samples,
                    ..Default::default()
                })
            })
            .collect()
    }
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}
