//! Headroom's own spans arriving at an OTLP receiver: one Headroom watching
//! another (a collector's or an agent's `[telemetry]` pointed here). A
//! resource whose `service.name` is one of `telemetry::SERVICES` is
//! Headroom's, not the store's: its spans are kept out of the store's
//! figures (requests, steps, the export pattern the `app` rule reads) and
//! counted here instead, by service and span name, as
//! `headroom_spans_total{service,span}` and
//! `headroom_span_duration_ms_total{service,span}` (cumulative). Only the
//! names in `telemetry::span::ALL` are counted; any other span of those
//! services is ignored. No attribute of the span is read.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::Span;

use super::traces::duration_ms;
use crate::samples::counter;
use crate::signals::{self, Signal};
use crate::telemetry::{SERVICES, span};
use crate::v1;

/// Spans counted, by service and span name.
pub const SPANS: &Signal = &signals::otlp::HEADROOM_SPANS_TOTAL;
/// Their time in milliseconds, by service and span name.
pub const SPAN_MS: &Signal = &signals::otlp::HEADROOM_SPAN_DURATION_MS_TOTAL;

/// The Headroom service a resource describes, if it is one.
pub fn service(resource: Option<&Resource>) -> Option<&'static str> {
    let name = resource?
        .attributes
        .iter()
        .find(|a| a.key == "service.name")?
        .value
        .as_ref()?
        .value
        .as_ref()?;
    let opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(name) = name else {
        return None;
    };
    SERVICES.iter().copied().find(|s| s == name)
}

/// Cumulative counts of Headroom's own spans.
#[derive(Debug, Default)]
pub struct OwnSpans {
    totals: BTreeMap<(&'static str, &'static str), (u64, f64)>,
    exports: u64,
}

impl OwnSpans {
    /// An export that carried only Headroom's own spans.
    pub fn export(&mut self) {
        self.exports += 1;
    }

    /// Exports that carried only Headroom's own spans, since start.
    pub fn exports(&self) -> u64 {
        self.exports
    }

    /// Counts `span` of `service` when its name is one Headroom makes.
    pub fn record(&mut self, service: &'static str, span: &Span) {
        let Some(name) = span::ALL.iter().copied().find(|n| *n == span.name) else {
            return;
        };
        let entry = self.totals.entry((service, name)).or_default();
        entry.0 += 1;
        entry.1 += duration_ms(span);
    }

    /// The totals so far, as counter samples at `now_ms`.
    pub fn drain(&self, now_ms: i64, samples: &mut Vec<v1::Sample>) {
        for ((service, name), (count, ms)) in &self.totals {
            let labels = [("service", *service), ("span", *name)];
            samples.push(counter(SPANS, &labels, now_ms, *count as f64));
            samples.push(counter(SPAN_MS, &labels, now_ms, *ms));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};

    fn resource(name: &str) -> Resource {
        Resource {
            attributes: vec![KeyValue {
                key: "service.name".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue(name.into())),
                }),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn named(name: &str, ms: u64) -> Span {
        Span {
            name: name.into(),
            start_time_unix_nano: 1_000_000,
            end_time_unix_nano: 1_000_000 + ms * 1_000_000,
            ..Default::default()
        }
    }

    #[test]
    fn only_headroom_services_are_headroom() {
        assert_eq!(
            service(Some(&resource("headroom-collector"))),
            Some("headroom-collector")
        );
        assert_eq!(service(Some(&resource("medusa"))), None);
        assert_eq!(service(None), None);
    }

    #[test]
    fn known_spans_are_counted_and_timed_by_service_and_name() {
        let mut own = OwnSpans::default();
        own.record("headroom-collector", &named(span::ADVISOR_PASS, 30));
        own.record("headroom-collector", &named(span::ADVISOR_PASS, 10));
        own.record("headroom-agent", &named(span::AGENT_BATCH, 5));
        own.record("headroom-agent", &named("GET /secret/path", 5));
        let mut samples = Vec::new();
        own.drain(7, &mut samples);
        let found = |name: &str, service: &str, span: &str| {
            samples
                .iter()
                .find(|s| {
                    s.name == name
                        && s.labels.iter().any(|l| l.value == service)
                        && s.labels.iter().any(|l| l.value == span)
                })
                .map(|s| s.value)
        };
        assert_eq!(
            found(SPANS.name, "headroom-collector", span::ADVISOR_PASS),
            Some(2.0)
        );
        assert_eq!(
            found(SPAN_MS.name, "headroom-collector", span::ADVISOR_PASS),
            Some(40.0)
        );
        assert_eq!(
            found(SPANS.name, "headroom-agent", span::AGENT_BATCH),
            Some(1.0)
        );
        assert_eq!(samples.len(), 4, "the unknown span is not counted");
    }
}
