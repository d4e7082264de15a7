//! An exporter wrapper that never lets a failed export reach the SDK (which
//! would log every one) and says so itself, rarely: the first failure is a
//! WARN, then at most one per [`WARN_EVERY`] with the count kept quiet
//! since. What a failed export carried is lost and counted (spans, or metric
//! exports). The error text is the exporter's, which holds the gRPC code and
//! the transport's cause, never the endpoint's answer or a header.

use std::sync::Mutex;
use std::time::Duration;

use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

use crate::throttle::WarnThrottle;

/// At most one warning about failing exports per this long.
pub const WARN_EVERY: Duration = Duration::from_secs(300);

/// What failed so far, and when it was last said.
#[derive(Debug)]
struct Failures {
    throttle: WarnThrottle,
    /// Items (spans, or metric exports) lost to failed exports since start.
    lost: u64,
}

/// `inner`, with failures counted and logged rarely.
#[derive(Debug)]
pub struct Quiet<E> {
    inner: E,
    signal: &'static str,
    endpoint: String,
    failures: Mutex<Failures>,
}

impl<E> Quiet<E> {
    /// Wraps `inner`, which exports `signal` (`traces`, `metrics`) to `endpoint`.
    pub fn new(inner: E, signal: &'static str, endpoint: &str) -> Self {
        Self {
            inner,
            signal,
            endpoint: endpoint.to_owned(),
            failures: Mutex::new(Failures {
                throttle: WarnThrottle::new(WARN_EVERY),
                lost: 0,
            }),
        }
    }

    /// Items lost to failed exports since start.
    pub fn lost(&self) -> u64 {
        self.failures.lock().map_or(0, |f| f.lost)
    }

    /// Counts a failed export of `items`; logs when the throttle says so.
    fn failed(&self, items: u64, error: &dyn std::fmt::Display) {
        let Ok(mut failures) = self.failures.lock() else {
            return;
        };
        failures.lost += items;
        if let Some(suppressed) = failures.throttle.failed() {
            tracing::warn!(
                endpoint = %self.endpoint,
                signal = self.signal,
                error = %error,
                lost = failures.lost,
                suppressed,
                "Headroom's own telemetry could not be exported; it is dropped (the work goes on)"
            );
        }
    }
}

impl<E: SpanExporter> SpanExporter for Quiet<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len() as u64;
        if let Err(error) = self.inner.export(batch).await {
            self.failed(spans, &error);
        }
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.inner.set_resource(resource);
    }
}

impl<E: PushMetricExporter> PushMetricExporter for Quiet<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        if let Err(error) = self.inner.export(metrics).await {
            self.failed(1, &error);
        }
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_sdk::error::OTelSdkError;

    /// An exporter that always fails, as an unreachable endpoint does.
    #[derive(Debug)]
    struct Refused;

    impl SpanExporter for Refused {
        async fn export(&self, _batch: Vec<SpanData>) -> OTelSdkResult {
            Err(OTelSdkError::InternalFailure("connection refused".into()))
        }
    }

    #[test]
    fn a_failed_export_is_never_returned_and_its_loss_is_counted() {
        let quiet = Quiet::new(Refused, "traces", "http://127.0.0.1:9");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        assert!(runtime.block_on(quiet.export(Vec::new())).is_ok());
        quiet.failed(5, &"connection refused");
        quiet.failed(7, &"connection refused");
        assert_eq!(quiet.lost(), 12);
        let failures = quiet.failures.lock().expect("lock");
        assert_eq!(
            failures.throttle.suppressed(),
            2,
            "only the first failure was logged"
        );
    }
}
