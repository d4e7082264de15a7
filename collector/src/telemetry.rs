//! The collector's own OTLP instruments (`headroom_proto::telemetry` sets up
//! the export; without `[telemetry]` every one is a no-op). Made once, at
//! first use, which comes after `main` has set the exporters up.

use std::sync::LazyLock;

use headroom_proto::telemetry::{self, metric};
use opentelemetry::metrics::{Counter, Histogram};

/// Every instrument the collector records into.
#[derive(Debug)]
pub struct Instruments {
    /// Batches handled, by `headroom.outcome` (stored, duplicate, invalid, failed).
    pub batches: Counter<u64>,
    /// Points committed (stored batches only).
    pub points: Counter<u64>,
    /// One batch's validation, conversion and commit, in seconds.
    pub commit_seconds: Histogram<f64>,
    /// One advisor pass, in seconds, by `headroom.outcome` (ok, failed).
    pub pass_seconds: Histogram<f64>,
    /// Alert delivery attempts, by `headroom.outcome` and platform.
    pub deliveries: Counter<u64>,
}

/// The collector's instruments.
pub fn instruments() -> &'static Instruments {
    static INSTRUMENTS: LazyLock<Instruments> = LazyLock::new(|| {
        let meter = telemetry::meter();
        Instruments {
            batches: meter.u64_counter(metric::COLLECTOR_BATCHES).build(),
            points: meter
                .u64_counter(metric::COLLECTOR_POINTS_COMMITTED)
                .build(),
            commit_seconds: meter
                .f64_histogram(metric::COLLECTOR_COMMIT_DURATION)
                .with_unit("s")
                .build(),
            pass_seconds: meter
                .f64_histogram(metric::ADVISOR_PASS_DURATION)
                .with_unit("s")
                .build(),
            deliveries: meter.u64_counter(metric::ALERT_DELIVERIES).build(),
        }
    });
    &INSTRUMENTS
}
