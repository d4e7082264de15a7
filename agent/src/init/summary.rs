//! What `init` prints about the file it wrote (pure): each source by type
//! and where it reads (never a URL's credentials: see `FoundSource::display`),
//! how it was found, what was seen but not configured, where the collector
//! endpoint came from and what the store must change.

use std::fmt::Write as _;
use std::path::Path;

use super::plan::{EndpointOrigin, Exporter, FoundSource, Plan};

/// The lines printed after the file is written.
pub fn summary(plan: &Plan, output: &Path) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "wrote {} with {} source(s):",
        output.display(),
        plan.sources.len()
    );
    for found in &plan.sources {
        let _ = writeln!(
            out,
            "  {:<11} {}  ({})",
            found.source.type_name(),
            found.source.display(),
            found.how
        );
    }
    if plan.sources.is_empty() {
        out.push_str("  none: add [[sources]] by hand (see agent.example.toml)\n");
    }
    if !plan.notes.is_empty() {
        out.push_str("seen but not configured:\n");
        for note in &plan.notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
    let endpoint = &plan.collector.endpoint;
    let _ = match plan.collector.origin {
        EndpointOrigin::Flag => writeln!(out, "collector: {endpoint} (--collector)"),
        EndpointOrigin::Prompt => writeln!(out, "collector: {endpoint} (as answered)"),
        EndpointOrigin::Default => writeln!(
            out,
            "collector: no --collector given, using the default {endpoint} \
             (edit [collector] endpoint to change it)"
        ),
    };
    for found in &plan.sources {
        if let FoundSource::Otlp { listen, exporter } = &found.source {
            let _ = match exporter {
                Exporter::AlreadyHere { endpoint, how } => writeln!(
                    out,
                    "the store: already exports its traces to {endpoint} ({how}), where the otlp source listens"
                ),
                Exporter::Repoint { setting, url, .. } => writeln!(
                    out,
                    "the store: set {setting} to {url} and restart it, so its traces reach the otlp source on {listen}"
                ),
            };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::plan::{Collector, Found, Statements};
    use super::*;

    #[test]
    fn credentials_never_reach_the_terminal() {
        let plan = Plan {
            agent_id: None,
            hostname: "box".into(),
            collector: Collector {
                endpoint: "http://127.0.0.1:4317".into(),
                origin: EndpointOrigin::Default,
            },
            sources: vec![
                Found {
                    how: "DATABASE_URL in /srv/shop/.env".into(),
                    source: FoundSource::Postgres {
                        url: "postgres://shop:hunter2@db.internal:5432/medusa".into(),
                        statements: Statements::Ready,
                    },
                },
                Found {
                    how: "REDIS_URL in /srv/shop/.env".into(),
                    source: FoundSource::Redis {
                        url: "redis://:hunter2@127.0.0.1:6379".into(),
                    },
                },
                Found {
                    how: "DATABASE_URL in /srv/shop/.env".into(),
                    source: FoundSource::Medusa {
                        url: "postgres://shop:hunter2@db.internal:5432/medusa".into(),
                        tables: true,
                    },
                },
            ],
            notes: Vec::new(),
        };
        let text = summary(&plan, Path::new("agent.toml"));
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("db.internal:5432/medusa"), "{text}");
        assert!(text.contains("127.0.0.1:6379"), "{text}");
        assert!(
            text.contains("using the default http://127.0.0.1:4317"),
            "{text}"
        );
    }
}
