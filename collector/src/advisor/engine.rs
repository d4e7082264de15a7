//! The analysis cadence: every `analysis_interval`, one pass: load, compute
//! headroom, run the rules, step the lifecycle, save. A failed pass is
//! logged and the next tick tries again. A batch bringing an index
//! candidate not seen before (`Wake`) brings the next pass forward, at most
//! one early pass per [`EARLY_PASS_GAP`]: index advice then needs no full
//! interval to appear.
//!
//! Each pass is a `headroom.advisor.pass` span of the collector's own
//! telemetry, with a `headroom.advisor.rule` child per rule (timed while the
//! rules ran, emitted after), and its duration is recorded by outcome.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use headroom_proto::telemetry::{self, attribute, span};
use opentelemetry::trace::{Span as _, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context as TraceContext, KeyValue};
use tokio::sync::Notify;

use super::lifecycle::{self, Hysteresis, State};
use super::{AdvisorConfig, Context, load, resources, rules};
use crate::store::{Store, StoreError, now_ms};

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassReport {
    pub series: usize,
    pub resources: usize,
    pub findings: usize,
    pub opened: usize,
    pub resolved: usize,
    pub load_ms: u128,
    pub analysis_ms: u128,
}

/// Why a pass failed.
#[derive(Debug, thiserror::Error)]
pub enum PassError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the analysis task failed: {0}")]
    Task(String),
}

/// Runs one pass at `now`; `history` carries hourly history between passes.
pub async fn pass(
    store: &Store,
    config: &Arc<AdvisorConfig>,
    history: &mut load::History,
    now: i64,
) -> Result<PassReport, PassError> {
    let tracer = telemetry::tracer();
    let trace = TraceContext::new().with_span(tracer.start(span::ADVISOR_PASS));
    let started = Instant::now();
    let result = run_pass(store, config, history, now, &trace).await;
    let outcome = [KeyValue::new(
        attribute::OUTCOME,
        if result.is_ok() { "ok" } else { "failed" },
    )];
    crate::telemetry::instruments()
        .pass_seconds
        .record(started.elapsed().as_secs_f64(), &outcome);
    let span = trace.span();
    span.set_attributes(outcome);
    match &result {
        Ok(report) => span.set_attributes([
            KeyValue::new(attribute::SERIES, report.series as i64),
            KeyValue::new(attribute::FINDINGS, report.findings as i64),
        ]),
        Err(error) => span.set_status(Status::error(error.to_string())),
    }
    span.end();
    result
}

/// One child span per rule run, under the pass in `trace`.
fn rule_spans(trace: &TraceContext, runs: &[rules::RuleRun]) {
    let tracer = telemetry::tracer();
    for run in runs {
        let mut child = tracer
            .span_builder(span::ADVISOR_RULE)
            .with_start_time(run.started)
            .with_attributes([
                KeyValue::new(attribute::RULE, run.name),
                KeyValue::new(attribute::FINDINGS, run.findings as i64),
            ])
            .start_with_context(&tracer, trace);
        child.end_with_timestamp(run.started + run.elapsed);
    }
}

/// [`pass`]'s work; the rules' runs become children of `trace`'s span.
async fn run_pass(
    store: &Store,
    config: &Arc<AdvisorConfig>,
    history: &mut load::History,
    now: i64,
    trace: &TraceContext,
) -> Result<PassReport, PassError> {
    let started = Instant::now();
    let snapshot = load::snapshot(store, config, history, now).await?;
    let load_ms = started.elapsed().as_millis();
    let stored = store.recommendations().await?;
    let read: HashMap<String, State> = stored.iter().map(|r| (r.id.clone(), r.state)).collect();
    let analysed = Instant::now();
    let config_for_task = Arc::clone(config);
    let (report, headroom, changed, events, runs) = tokio::task::spawn_blocking(move || {
        let config = &*config_for_task;
        let headroom = resources::compute(&snapshot, &config.resources, config.stale_ms());
        let ctx = Context {
            snapshot: &snapshot,
            headroom: &headroom,
            config,
        };
        let (findings, runs) = rules::evaluate_all_timed(&ctx);
        let hysteresis = Hysteresis {
            open_after: i64::from(config.open_after.max(1)),
            resolve_after: i64::from(config.resolve_after.max(1)),
        };
        let (changed, events) = lifecycle::step(&stored, &findings, now, hysteresis);
        let report = PassReport {
            series: snapshot.series.len(),
            resources: headroom.len(),
            findings: findings.len(),
            opened: events.iter().filter(|e| e.state == State::Open).count(),
            resolved: events.iter().filter(|e| e.state == State::Resolved).count(),
            load_ms: 0,
            analysis_ms: 0,
        };
        (report, headroom, changed, events, runs)
    })
    .await
    .map_err(|error| PassError::Task(error.to_string()))?;
    rule_spans(trace, &runs);
    let analysis_ms = analysed.elapsed().as_millis();
    let skipped = store.save_recommendations(&changed, &events, &read).await?;
    store.save_headroom(&headroom, now).await?;
    for id in &skipped {
        tracing::info!(id = %id, "recommendation changed during the pass (an action); its new state is kept");
    }
    for event in events
        .iter()
        .filter(|e| !skipped.contains(&e.recommendation_id))
    {
        if let Some(rec) = changed.iter().find(|r| r.id == event.recommendation_id) {
            tracing::info!(
                id = %rec.id,
                kind = rec.kind.as_str(),
                severity = rec.severity.as_str(),
                state = event.state.as_str(),
                title = %rec.title,
                note = %event.note,
                "recommendation changed state"
            );
        }
    }
    Ok(PassReport {
        load_ms,
        analysis_ms,
        ..report
    })
}

/// Shortest time between an early pass and the pass before it.
pub const EARLY_PASS_GAP: Duration = Duration::from_secs(10);
/// Candidate keys remembered before the memory starts over (each key is
/// then new once more: one early pass more, no harm).
const MAX_KNOWN_CANDIDATES: usize = 100_000;

/// Shared by ingest and the cadence: wakes the advisor when a batch brings
/// an index candidate it has not seen.
#[derive(Debug, Clone, Default)]
pub struct Wake {
    notify: Arc<Notify>,
    known: Arc<Mutex<HashSet<String>>>,
}

impl Wake {
    /// Remembers `keys` (one per candidate: agent, statement and index);
    /// any new one wakes the advisor. Returns whether one was new.
    pub fn candidates(&self, keys: impl IntoIterator<Item = String>) -> bool {
        let mut new = false;
        if let Ok(mut known) = self.known.lock() {
            for key in keys {
                if known.len() >= MAX_KNOWN_CANDIDATES {
                    known.clear();
                }
                new |= known.insert(key);
            }
        }
        if new {
            self.notify.notify_one();
        }
        new
    }

    async fn woken(&self) {
        self.notify.notified().await;
    }
}

/// Runs a pass every `interval` (and early when `wake` says) until the task
/// is dropped.
pub async fn run(store: Store, config: AdvisorConfig, interval: Duration, wake: Wake) {
    let config = Arc::new(config);
    let mut history = load::History::default();
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_pass: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = wake.woken() => {
                let since = last_pass.map_or(EARLY_PASS_GAP, |at| at.elapsed());
                if since < EARLY_PASS_GAP {
                    tokio::time::sleep(EARLY_PASS_GAP - since).await;
                }
                tracing::debug!("early analysis pass: a new index candidate arrived");
            }
        }
        last_pass = Some(Instant::now());
        match pass(&store, &config, &mut history, now_ms()).await {
            Ok(report) => tracing::debug!(
                series = report.series,
                resources = report.resources,
                findings = report.findings,
                opened = report.opened,
                resolved = report.resolved,
                load_ms = report.load_ms as u64,
                analysis_ms = report.analysis_ms as u64,
                "analysis pass"
            ),
            Err(error) => {
                tracing::warn!(error = %error, "analysis pass failed; retrying at the next interval")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_a_candidate_not_seen_before_wakes_the_advisor() {
        let wake = Wake::default();
        assert!(wake.candidates(["a/shop/1/CREATE INDEX x".to_owned()]));
        // The permit is stored: the advisor wakes even if it was not waiting.
        tokio::time::timeout(Duration::from_secs(1), wake.woken())
            .await
            .expect("woken");
        assert!(!wake.candidates(["a/shop/1/CREATE INDEX x".to_owned()]));
        assert!(!wake.candidates(Vec::<String>::new()));
        assert!(
            tokio::time::timeout(Duration::from_millis(50), wake.woken())
                .await
                .is_err(),
            "a re-sent candidate wakes nothing"
        );
    }
}
