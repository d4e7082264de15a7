//! `Plan` → the text of a commented `agent.toml` (pure). Only what was
//! found is written; each source says how it was found and what it still
//! needs. Values are quoted by the `toml` crate; the result is loaded by
//! the agent's own `Config` loader in the tests below.

use std::fmt::Write as _;

use super::plan::{
    Collector, EndpointOrigin, Exporter, Found, FoundSource, LogFormat, Plan, Statements,
};
use crate::config::DEFAULT_SPOOL_DIR;
use crate::sources::access_log::parse::Fields;

/// The file's text.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    out.push_str(
        "# headroom-agent configuration, written by `headroom-agent init`.\n\
         # Every [[sources]] table below is something init found on this host;\n\
         # agent.example.toml lists every key and its default. This file may hold\n\
         # credentials found in the store's configuration: keep it private.\n",
    );
    agent(&mut out, plan);
    collector(&mut out, &plan.collector);
    let _ = writeln!(
        out,
        "\n[spool]\n# Unacknowledged batches wait here (relative to where the agent runs;\n\
         # for a service, an absolute path such as /var/lib/headroom/spool).\n\
         dir = {}",
        quote(DEFAULT_SPOOL_DIR)
    );
    if plan.sources.is_empty() {
        out.push_str(
            "\n# init found no source on this host: add [[sources]] tables by hand\n\
             # (see agent.example.toml).\n",
        );
    }
    for found in &plan.sources {
        source(&mut out, found);
    }
    if !plan.notes.is_empty() {
        out.push_str("\n# Seen but not configured:\n");
        for note in &plan.notes {
            comment(&mut out, note);
        }
    }
    out
}

fn agent(out: &mut String, plan: &Plan) {
    out.push_str("\n[agent]\n");
    match &plan.agent_id {
        Some(id) => {
            let _ = writeln!(out, "# --agent-id\nid = {}", quote(id));
        }
        None => {
            let _ = writeln!(
                out,
                "# The agent's id defaults to this machine's hostname ({}).\n# id = \"db-1\"",
                plan.hostname
            );
        }
    }
}

fn collector(out: &mut String, collector: &Collector) {
    out.push_str("\n[collector]\n");
    let origin = match collector.origin {
        EndpointOrigin::Flag => "--collector",
        EndpointOrigin::Prompt => "given at init's prompt",
        EndpointOrigin::Default => {
            "no collector was given (--collector): the default, a collector on this machine"
        }
    };
    let _ = writeln!(out, "# {origin}\nendpoint = {}", quote(&collector.endpoint));
    out.push_str(
        "# When the collector has [auth] agent_tokens, give this agent one of them:\n\
         # token_file, or the environment variable HEADROOM_AGENT_TOKEN.\n\
         # token_file = \"/etc/headroom/token\"\n",
    );
}

fn source(out: &mut String, found: &Found) {
    out.push_str("\n[[sources]]\n");
    comment(out, &format!("Found: {}.", found.how));
    match &found.source {
        FoundSource::Postgres { url, statements } => {
            comment(out, statements_comment(*statements));
            comment(
                out,
                "The role needs LOGIN, and pg_monitor to see every session and statement \
                 (GRANT pg_monitor TO <role>;).",
            );
            let _ = writeln!(out, "type = \"postgres\"\nurl = {}", quote(url));
        }
        FoundSource::Redis { url } => {
            let _ = writeln!(out, "type = \"redis\"\nurl = {}", quote(url));
        }
        FoundSource::Host => {
            out.push_str("type = \"host\"                   # CPU, memory, load, disks, network\n");
        }
        FoundSource::AccessLog { name, path, format } => {
            access_log(out, name, &path.display().to_string(), format);
        }
        FoundSource::Medusa { url, tables } => {
            if !tables {
                comment(
                    out,
                    "Medusa's tables were not there when init looked (migrations not run yet?).",
                );
            }
            comment(
                out,
                "Prefer a read-only role: `headroom-agent check` prints the GRANT it needs.",
            );
            let _ = writeln!(out, "type = \"medusa\"\nurl = {}", quote(url));
        }
        FoundSource::Otlp { listen, exporter } => {
            comment(out, &exporter_comment(exporter, listen));
            let _ = writeln!(out, "type = \"otlp\"\nlisten = {}", quote(listen));
        }
    }
}

fn access_log(out: &mut String, name: &str, path: &str, format: &LogFormat) {
    match format {
        LogFormat::NginxCombined {
            duration,
            cache,
            empty,
        } => {
            if *empty {
                comment(
                    out,
                    "The log was empty when init looked: nginx's default `combined` format is assumed.",
                );
            } else if !duration {
                comment(
                    out,
                    "Its lines carry no $request_time: append it to the log_format for \
                     per-route latency (see agent.example.toml).",
                );
            } else if *cache {
                comment(
                    out,
                    "Its lines carry $request_time and $upstream_cache_status.",
                );
            } else {
                comment(out, "Its lines carry $request_time.");
            }
            let _ = writeln!(
                out,
                "type = \"access_log\"\nname = {}\npath = {}\nformat = \"nginx_combined\"",
                quote(name),
                quote(path)
            );
        }
        LogFormat::Json {
            fields,
            unit_from_key,
        } => {
            if !unit_from_key && !fields.duration.is_empty() {
                comment(
                    out,
                    "The duration's unit could not be told from its key: ms is assumed \
                     (set duration_unit to \"s\" or \"us\" otherwise).",
                );
            }
            let _ = writeln!(
                out,
                "type = \"access_log\"\nname = {}\npath = {}\nformat = \"json\"\nfields = {}",
                quote(name),
                quote(path),
                json_fields(fields)
            );
        }
    }
}

/// The keys of `fields` that differ from the defaults, as an inline table.
fn json_fields(fields: &Fields) -> String {
    let default = Fields::default();
    let mut pairs = Vec::new();
    for (key, value, default_value) in [
        ("time", &fields.time, &default.time),
        ("method", &fields.method, &default.method),
        ("path", &fields.path, &default.path),
        ("status", &fields.status, &default.status),
        ("bytes", &fields.bytes, &default.bytes),
        ("duration", &fields.duration, &default.duration),
        ("cache", &fields.cache, &default.cache),
    ] {
        if value != default_value {
            pairs.push(format!("{key} = {}", quote(value)));
        }
    }
    if fields.duration_unit != default.duration_unit {
        pairs.push(format!(
            "duration_unit = {}",
            quote(fields.duration_unit.as_str())
        ));
    }
    if pairs.is_empty() {
        "{}".into()
    } else {
        format!("{{ {} }}", pairs.join(", "))
    }
}

fn statements_comment(statements: Statements) -> &'static str {
    match statements {
        Statements::Ready => {
            "pg_stat_statements is loaded and created: per-query statistics are on."
        }
        Statements::NotCreated => {
            "pg_stat_statements is loaded but not created in this database: \
             CREATE EXTENSION pg_stat_statements; for per-query statistics."
        }
        Statements::NotPreloaded => {
            "pg_stat_statements is not in shared_preload_libraries: add it there, restart \
             PostgreSQL and CREATE EXTENSION pg_stat_statements; for per-query statistics \
             (everything else is collected without it)."
        }
    }
}

fn exporter_comment(exporter: &Exporter, listen: &str) -> String {
    match exporter {
        Exporter::AlreadyHere { endpoint, how } => format!(
            "The store already exports its traces to {endpoint} ({how}): the source listens there."
        ),
        Exporter::Repoint { setting, url, now } => {
            let now = now
                .as_ref()
                .map(|now| format!(" (it is {now} now)"))
                .unwrap_or_default();
            format!(
                "The store must export its traces here: set {setting} to {url}{now} \
                 and restart it. The source listens on {listen} (OTLP/gRPC, no TLS)."
            )
        }
    }
}

/// Writes `text` as `# ` lines wrapped near 78 columns.
fn comment(out: &mut String, text: &str) {
    let mut line = String::from("#");
    for word in text.split_whitespace() {
        if line.len() > 1 && line.len() + 1 + word.len() > 78 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    if line.len() > 1 {
        out.push_str(&line);
        out.push('\n');
    }
}

/// A TOML string literal.
fn quote(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::sources::access_log::parse::DurationUnit;
    use crate::sources::{SourceConfig, access_log, medusa, otlp, postgres, redis};

    const PG_URL: &str = "postgres://shop:s3cr\"et@127.0.0.1:5432/medusa";

    fn everything() -> Plan {
        Plan {
            agent_id: Some("shop-1".into()),
            hostname: "box".into(),
            collector: Collector {
                endpoint: "http://collector.internal:4317".into(),
                origin: EndpointOrigin::Flag,
            },
            sources: vec![
                Found {
                    how: "DATABASE_URL in /srv/shop/.env".into(),
                    source: FoundSource::Postgres {
                        url: PG_URL.into(),
                        statements: Statements::NotPreloaded,
                    },
                },
                Found {
                    how: "a PING answered on 127.0.0.1:6379".into(),
                    source: FoundSource::Redis {
                        url: "redis://127.0.0.1:6379".into(),
                    },
                },
                Found {
                    how: "/proc is readable".into(),
                    source: FoundSource::Host,
                },
                Found {
                    how: "/var/log/nginx/access.log".into(),
                    source: FoundSource::AccessLog {
                        name: "nginx".into(),
                        path: "/var/log/nginx/access.log".into(),
                        format: LogFormat::NginxCombined {
                            duration: false,
                            cache: false,
                            empty: false,
                        },
                    },
                },
                Found {
                    how: "/var/log/caddy/shop.log".into(),
                    source: FoundSource::AccessLog {
                        name: "caddy-shop".into(),
                        path: "/var/log/caddy/shop.log".into(),
                        format: LogFormat::Json {
                            fields: Fields {
                                path: "uri".into(),
                                duration: "request_time".into(),
                                duration_unit: DurationUnit::Seconds,
                                ..Fields::default()
                            },
                            unit_from_key: true,
                        },
                    },
                },
                Found {
                    how: "medusa-config.ts in /srv/shop".into(),
                    source: FoundSource::Medusa {
                        url: PG_URL.into(),
                        tables: true,
                    },
                },
                Found {
                    how: "instrumentation.ts in /srv/shop".into(),
                    source: FoundSource::Otlp {
                        listen: "127.0.0.1:14317".into(),
                        exporter: Exporter::Repoint {
                            setting: "OTEL_EXPORTER_OTLP_ENDPOINT in /srv/shop/.env".into(),
                            url: "http://127.0.0.1:14317".into(),
                            now: Some("https://otel.example.com".into()),
                        },
                    },
                },
            ],
            notes: vec!["/var/log/caddy/other.log: Caddy's nested JSON is not read yet.".into()],
        }
    }

    #[test]
    fn the_file_loads_with_the_agents_own_loader_and_holds_what_was_found() {
        let text = render(&everything());
        let config = Config::from_toml(&text, "init.toml", None)
            .unwrap_or_else(|errors| panic!("{errors}\n{text}"));
        assert_eq!(config.agent.id, "shop-1");
        assert_eq!(config.collector.endpoint, "http://collector.internal:4317");
        assert_eq!(
            config.spool.dir,
            std::path::PathBuf::from(DEFAULT_SPOOL_DIR)
        );
        assert_eq!(
            config.sources,
            vec![
                SourceConfig::Postgres(postgres::Config {
                    url: PG_URL.into(),
                    ..postgres::Config::default()
                }),
                SourceConfig::Redis(redis::Config {
                    url: "redis://127.0.0.1:6379".into(),
                    ..redis::Config::default()
                }),
                SourceConfig::Host(crate::sources::host::Config::default()),
                SourceConfig::AccessLog(access_log::Config {
                    name: Some("nginx".into()),
                    path: "/var/log/nginx/access.log".into(),
                    ..access_log::Config::default()
                }),
                SourceConfig::AccessLog(access_log::Config {
                    name: Some("caddy-shop".into()),
                    path: "/var/log/caddy/shop.log".into(),
                    format: access_log::Format::Json,
                    fields: Fields {
                        path: "uri".into(),
                        duration: "request_time".into(),
                        duration_unit: DurationUnit::Seconds,
                        ..Fields::default()
                    },
                    ..access_log::Config::default()
                }),
                SourceConfig::Medusa(medusa::Config {
                    url: PG_URL.into(),
                    ..medusa::Config::default()
                }),
                SourceConfig::Otlp(otlp::Config {
                    listen: "127.0.0.1:14317".into(),
                    ..otlp::Config::default()
                }),
            ]
        );
    }

    #[test]
    fn nothing_found_still_loads_and_says_so() {
        let plan = Plan {
            agent_id: None,
            hostname: "box".into(),
            collector: Collector {
                endpoint: crate::config::DEFAULT_ENDPOINT.into(),
                origin: EndpointOrigin::Default,
            },
            sources: Vec::new(),
            notes: Vec::new(),
        };
        let text = render(&plan);
        let config = Config::from_toml(&text, "init.toml", None).expect("loads");
        assert!(config.sources.is_empty());
        assert_eq!(config.agent.id, "", "the id stays the hostname default");
        assert!(text.contains("hostname (box)"), "{text}");
        assert!(text.contains("no collector was given"), "{text}");
        assert!(text.contains("init found no source"), "{text}");
    }

    #[test]
    fn each_source_says_how_it_was_found_and_what_it_still_needs() {
        let text = render(&everything());
        let flat = text.replace("\n# ", " ");
        for needle in [
            "Found: DATABASE_URL in /srv/shop/.env.",
            "Found: a PING answered on 127.0.0.1:6379.",
            "pg_stat_statements is not in shared_preload_libraries",
            "carry no $request_time",
            "set OTEL_EXPORTER_OTLP_ENDPOINT in /srv/shop/.env to http://127.0.0.1:14317",
            "(it is https://otel.example.com now)",
            "--collector\nendpoint",
            "Seen but not configured: /var/log/caddy/other.log",
        ] {
            assert!(flat.contains(needle), "{needle:?} missing from:\n{text}");
        }
        for line in text.lines().filter(|line| line.starts_with('#')) {
            assert!(line.len() <= 80, "comment line too long: {line}");
        }
    }

    #[test]
    fn json_fields_write_only_the_keys_that_differ_from_the_defaults() {
        assert_eq!(json_fields(&Fields::default()), "{}");
        let fields = Fields {
            method: "request_method".into(),
            duration_unit: DurationUnit::Micros,
            ..Fields::default()
        };
        assert_eq!(
            json_fields(&fields),
            "{ method = \"request_method\", duration_unit = \"us\" }"
        );
    }

    #[test]
    fn an_exporter_already_pointed_here_needs_no_change() {
        let text = exporter_comment(
            &Exporter::AlreadyHere {
                endpoint: "http://127.0.0.1:4317".into(),
                how: "OTEL_EXPORTER_OTLP_ENDPOINT in /srv/shop/.env".into(),
            },
            "127.0.0.1:4317",
        );
        assert!(text.contains("already exports"), "{text}");
    }
}
