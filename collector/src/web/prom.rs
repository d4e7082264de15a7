//! `GET /metrics`: Headroom's own health (ingest, storage, agents) and its
//! advice (headroom per resource, open recommendations) and its alerts
//! (deliveries per receiver and status, active silences) in the Prometheus
//! text exposition format 0.0.4. [`render`] is pure; the handler gathers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::{ApiError, AppState};
use crate::advisor::{RecKind, Severity};
use crate::metrics::IngestSnapshot;
use crate::store::now_ms;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// An agent whose last batch is older than this is down.
pub const AGENT_DOWN_AFTER_MS: i64 = 120_000;

/// One agent as `/metrics` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentFigure {
    pub id: String,
    pub last_seen_ms: i64,
}

/// One row of the headroom table.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceFigure {
    pub resource: String,
    pub current: Option<f64>,
    pub limit: Option<f64>,
    pub utilization: Option<f64>,
    pub eta_ms: Option<i64>,
}

/// Everything `/metrics` shows, read at `now_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub now_ms: i64,
    pub ingest: IngestSnapshot,
    pub storage_bytes: i64,
    pub series: usize,
    pub agents: Vec<AgentFigure>,
    pub resources: Vec<ResourceFigure>,
    /// How many recommendations are in state `open`, per kind and severity.
    pub open: Vec<(RecKind, Severity, u64)>,
    /// When the advisor last saved its headroom table.
    pub last_pass_ms: Option<i64>,
    /// Outbox rows per receiver and delivery status (0 for every configured
    /// receiver and status).
    pub alert_deliveries: Vec<(String, &'static str, i64)>,
    /// Silences in effect now.
    pub silences_active: usize,
}

/// Reads one figure of a resource at a time (unix ms).
type ResourceValue = fn(&ResourceFigure, i64) -> Option<f64>;

/// The text exposition of `figures`: HELP and TYPE for every family, in a
/// stable order.
pub fn render(figures: &Figures) -> String {
    let mut out = Exposition::default();
    let ingest = figures.ingest;
    out.family(
        "headroom_ingest_batches_total",
        "counter",
        "Agent batches stored since the collector started.",
    );
    out.sample(
        "headroom_ingest_batches_total",
        &[],
        ingest.batches_stored as f64,
    );
    out.family(
        "headroom_ingest_duplicate_batches_total",
        "counter",
        "Agent batches received again after they were stored (acknowledged, not stored twice).",
    );
    out.sample(
        "headroom_ingest_duplicate_batches_total",
        &[],
        ingest.batches_duplicate as f64,
    );
    out.family(
        "headroom_ingest_points_total",
        "counter",
        "Points stored since the collector started.",
    );
    out.sample(
        "headroom_ingest_points_total",
        &[],
        ingest.points_stored as f64,
    );

    out.family(
        "headroom_storage_size_bytes",
        "gauge",
        "Size of the collector's database.",
    );
    out.sample(
        "headroom_storage_size_bytes",
        &[],
        figures.storage_bytes as f64,
    );
    out.family("headroom_series", "gauge", "Series stored.");
    out.sample("headroom_series", &[], figures.series as f64);

    let up = |agent: &AgentFigure| figures.now_ms - agent.last_seen_ms <= AGENT_DOWN_AFTER_MS;
    let up_count = figures.agents.iter().filter(|a| up(a)).count();
    out.family(
        "headroom_agents",
        "gauge",
        "Agents known to the collector, by whether one was seen in the last 2 minutes.",
    );
    out.sample("headroom_agents", &[("state", "up")], up_count as f64);
    out.sample(
        "headroom_agents",
        &[("state", "down")],
        (figures.agents.len() - up_count) as f64,
    );
    out.family(
        "headroom_agent_up",
        "gauge",
        "1 when the agent was seen in the last 2 minutes, else 0.",
    );
    for agent in &figures.agents {
        let value = if up(agent) { 1.0 } else { 0.0 };
        out.sample("headroom_agent_up", &[("agent_id", &agent.id)], value);
    }
    out.family(
        "headroom_agent_last_seen_timestamp_seconds",
        "gauge",
        "When the agent last said hello or sent a batch (unix seconds).",
    );
    for agent in &figures.agents {
        out.sample(
            "headroom_agent_last_seen_timestamp_seconds",
            &[("agent_id", &agent.id)],
            agent.last_seen_ms as f64 / 1000.0,
        );
    }

    let resource_families: [(&str, &str, ResourceValue); 4] = [
        (
            "headroom_resource_utilization_ratio",
            "The resource's current level over its limit.",
            |r, _| r.utilization,
        ),
        (
            "headroom_resource_current",
            "The resource's current level, in the resource's unit.",
            |r, _| r.current,
        ),
        (
            "headroom_resource_limit",
            "The level the resource cannot exceed, in the resource's unit.",
            |r, _| r.limit,
        ),
        (
            "headroom_resource_eta_seconds",
            "Seconds from now until the resource reaches its limit at the current trend \
             (absent when it does not).",
            |r, now| r.eta_ms.map(|eta| ((eta - now).max(0)) as f64 / 1000.0),
        ),
    ];
    for (name, help, value) in resource_families {
        out.family(name, "gauge", help);
        for resource in &figures.resources {
            if let Some(value) = value(resource, figures.now_ms) {
                out.sample(name, &[("resource", &resource.resource)], value);
            }
        }
    }

    let mut open: BTreeMap<(RecKind, Severity), u64> = RecKind::ALL
        .into_iter()
        .flat_map(|kind| {
            [Severity::Info, Severity::Warning, Severity::Critical]
                .map(|severity| ((kind, severity), 0))
        })
        .collect();
    for &(kind, severity, count) in &figures.open {
        *open.entry((kind, severity)).or_default() += count;
    }
    out.family(
        "headroom_recommendations_open",
        "gauge",
        "Recommendations in state open, by kind and severity.",
    );
    for ((kind, severity), count) in open {
        out.sample(
            "headroom_recommendations_open",
            &[("kind", kind.as_str()), ("severity", severity.as_str())],
            count as f64,
        );
    }
    if let Some(at) = figures.last_pass_ms {
        out.family(
            "headroom_advisor_last_pass_timestamp_seconds",
            "gauge",
            "When the advisor last computed the headroom table (unix seconds).",
        );
        out.sample(
            "headroom_advisor_last_pass_timestamp_seconds",
            &[],
            at as f64 / 1000.0,
        );
    }
    out.family(
        "headroom_alert_deliveries",
        "gauge",
        "Notifications in the alert outbox, by receiver and delivery status (pending, delivered, failed).",
    );
    for (receiver, status, count) in &figures.alert_deliveries {
        out.sample(
            "headroom_alert_deliveries",
            &[("receiver", receiver), ("status", status)],
            *count as f64,
        );
    }
    out.family(
        "headroom_alert_silences_active",
        "gauge",
        "Alert silences in effect now.",
    );
    out.sample(
        "headroom_alert_silences_active",
        &[],
        figures.silences_active as f64,
    );
    out.text
}

/// A text exposition being written.
#[derive(Debug, Default)]
struct Exposition {
    text: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            let pairs: Vec<String> = labels
                .iter()
                .map(|(key, value)| format!("{key}=\"{}\"", escape_label(value)))
                .collect();
            let _ = write!(self.text, "{{{}}}", pairs.join(","));
        }
        let _ = writeln!(self.text, " {}", format_value(value));
    }
}

/// A label value with `\`, `"` and line feeds escaped.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// HELP text with `\` and line feeds escaped.
pub fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value as the format spells it (`NaN`, `+Inf`, `-Inf`).
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_owned()
    } else if value == f64::INFINITY {
        "+Inf".to_owned()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_owned()
    } else {
        value.to_string()
    }
}

/// Headroom's own health and advice in the Prometheus text format 0.0.4
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "collector",
    responses((
        status = 200,
        description = "The exposition.",
        content_type = "text/plain; version=0.0.4",
        body = String
    ))
)]
pub(super) async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let store = &state.store;
    let agents = store
        .agents()
        .await?
        .into_iter()
        .map(|agent| AgentFigure {
            id: agent.id,
            last_seen_ms: agent.last_seen,
        })
        .collect();
    let headroom = store.headroom().await?;
    let last_pass_ms = headroom.iter().map(|(_, at)| *at).max();
    let resources = super::headroom::shown_rows(headroom)
        .into_iter()
        .map(|row| ResourceFigure {
            resource: row.resource,
            current: row.current,
            limit: row.limit,
            utilization: row.utilization,
            eta_ms: row.eta_ms,
        })
        .collect();
    let open = store
        .open_counts()
        .await?
        .into_iter()
        .map(|(kind, severity, count)| (kind, severity, count.max(0) as u64))
        .collect();
    let now = now_ms();
    let alert_deliveries =
        super::alerts::delivery_gauges(&state.receivers, &store.delivery_counts().await?)
            .into_iter()
            .map(|((receiver, status), count)| (receiver, status, count))
            .collect();
    let silences_active = super::silences::active_silences(&store.silences().await?, now);
    let figures = Figures {
        now_ms: now,
        ingest: state.counters.snapshot(),
        storage_bytes: store.size_bytes().await?,
        series: store.series_count().await?.max(0) as usize,
        agents,
        resources,
        open,
        last_pass_ms,
        alert_deliveries,
        silences_active,
    };
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&figures)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures() -> Figures {
        Figures {
            now_ms: 1_000_000,
            ingest: IngestSnapshot {
                batches_stored: 7,
                batches_duplicate: 1,
                points_stored: 700,
            },
            storage_bytes: 4096,
            series: 12,
            agents: vec![
                AgentFigure {
                    id: "db-1".into(),
                    last_seen_ms: 999_000,
                },
                AgentFigure {
                    id: "old".into(),
                    last_seen_ms: 1_000,
                },
            ],
            resources: vec![
                ResourceFigure {
                    resource: "postgres connections (db-1)".into(),
                    current: Some(40.0),
                    limit: Some(100.0),
                    utilization: Some(0.4),
                    eta_ms: Some(1_000_000 + 86_400_000),
                },
                ResourceFigure {
                    resource: "host cpu (db-1)".into(),
                    current: Some(0.2),
                    limit: Some(1.0),
                    utilization: Some(0.2),
                    eta_ms: None,
                },
            ],
            open: vec![(RecKind::Index, Severity::Warning, 2)],
            last_pass_ms: Some(990_000),
            alert_deliveries: vec![
                ("ops".into(), "delivered", 4),
                ("ops".into(), "failed", 1),
                ("ops".into(), "pending", 0),
            ],
            silences_active: 2,
        }
    }

    fn line<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
        text.lines().find(|line| line.starts_with(prefix))
    }

    #[test]
    fn every_family_has_help_and_type_before_its_samples() {
        let text = render(&figures());
        let mut declared = Vec::new();
        for row in text.lines() {
            if let Some(rest) = row.strip_prefix("# TYPE ") {
                let name = rest.split(' ').next().unwrap_or_default();
                assert!(
                    text.contains(&format!("# HELP {name} ")),
                    "{name} has no HELP"
                );
                declared.push(name.to_owned());
            } else if !row.starts_with('#') {
                let name = row.split(['{', ' ']).next().unwrap_or_default();
                assert_eq!(declared.last().map(String::as_str), Some(name), "{row}");
            }
        }
        for counter in text.lines().filter(|l| l.ends_with(" counter")) {
            assert!(counter.contains("_total counter"), "{counter}");
        }
    }

    #[test]
    fn ingest_storage_and_agents_are_shown() {
        let text = render(&figures());
        assert_eq!(
            line(&text, "headroom_ingest_batches_total "),
            Some("headroom_ingest_batches_total 7")
        );
        assert_eq!(
            line(&text, "headroom_ingest_points_total "),
            Some("headroom_ingest_points_total 700")
        );
        assert_eq!(line(&text, "headroom_series "), Some("headroom_series 12"));
        assert!(text.contains("headroom_agents{state=\"up\"} 1\n"));
        assert!(text.contains("headroom_agents{state=\"down\"} 1\n"));
        assert!(text.contains("headroom_agent_up{agent_id=\"old\"} 0\n"));
        assert!(
            text.contains("headroom_agent_last_seen_timestamp_seconds{agent_id=\"db-1\"} 999\n")
        );
    }

    #[test]
    fn eta_is_in_seconds_from_now_and_absent_without_one() {
        let text = render(&figures());
        assert!(
            text.contains(
                "headroom_resource_eta_seconds{resource=\"postgres connections (db-1)\"} 86400\n"
            ),
            "{text}"
        );
        assert!(!text.contains("headroom_resource_eta_seconds{resource=\"host cpu (db-1)\"}"));
        assert!(
            text.contains(
                "headroom_resource_utilization_ratio{resource=\"host cpu (db-1)\"} 0.2\n"
            )
        );
    }

    #[test]
    fn every_kind_and_severity_has_an_open_count() {
        let text = render(&figures());
        let counts: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("headroom_recommendations_open{"))
            .collect();
        assert_eq!(counts.len(), RecKind::ALL.len() * 3);
        assert!(
            counts
                .contains(&"headroom_recommendations_open{kind=\"index\",severity=\"warning\"} 2")
        );
        assert!(
            counts.contains(&"headroom_recommendations_open{kind=\"cdn\",severity=\"critical\"} 0")
        );
    }

    #[test]
    fn the_last_pass_is_omitted_before_the_first() {
        let mut figures = figures();
        assert!(render(&figures).contains("headroom_advisor_last_pass_timestamp_seconds 990\n"));
        figures.last_pass_ms = None;
        assert!(!render(&figures).contains("headroom_advisor_last_pass"));
    }

    #[test]
    fn alert_deliveries_by_receiver_and_status_and_active_silences_are_shown() {
        let text = render(&figures());
        for sample in [
            "headroom_alert_deliveries{receiver=\"ops\",status=\"delivered\"} 4\n",
            "headroom_alert_deliveries{receiver=\"ops\",status=\"failed\"} 1\n",
            "headroom_alert_deliveries{receiver=\"ops\",status=\"pending\"} 0\n",
            "headroom_alert_silences_active 2\n",
        ] {
            assert!(text.contains(sample), "{sample} missing from\n{text}");
        }
        assert!(text.contains("# TYPE headroom_alert_deliveries gauge\n"));
    }

    #[test]
    fn label_values_and_help_are_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
        let mut figures = figures();
        figures.agents = vec![AgentFigure {
            id: "we\"ird\\".into(),
            last_seen_ms: 999_000,
        }];
        assert!(render(&figures).contains("headroom_agent_up{agent_id=\"we\\\"ird\\\\\"} 1\n"));
    }

    #[test]
    fn special_values_are_spelled_as_the_format_wants() {
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::INFINITY), "+Inf");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(1.5), "1.5");
        assert_eq!(format_value(1e21), "1000000000000000000000");
    }
}
