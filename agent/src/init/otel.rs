//! Where the `otlp` source listens and what the store must change so its
//! traces reach it (pure): from the exporter endpoint the Medusa project
//! sets (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_ENDPOINT`,
//! or a url in `instrumentation.ts`), the collector endpoint, and which
//! local ports are free.

use super::medusa::{Project, Var};
use super::plan::{Exporter, Found, FoundSource};
use crate::sources::otlp::DEFAULT_LISTEN;

/// The variables an OTLP exporter reads, most specific first.
pub const ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
];
/// An OTLP/gRPC exporter's endpoint when nothing sets one.
pub const OTEL_DEFAULT_ENDPOINT: &str = "http://localhost:4317";

/// The `otlp` source for `project`, if it has OpenTelemetry set up, and
/// notes for the user. `endpoint` is what [`ENDPOINT_VARS`] resolved to;
/// `collector` is the collector endpoint, `explicit` when it was given
/// rather than defaulted; `is_free(address)` says whether a local address
/// can be listened on. The source never listens on the collector's address.
pub fn plan(
    project: &Project,
    endpoint: Option<&Var>,
    (collector, explicit): (&str, bool),
    is_free: impl Fn(&str) -> bool,
) -> (Option<Found>, Vec<String>) {
    let mut notes = Vec::new();
    let instrumentation = project.instrumentation.as_ref();
    if endpoint.is_none() && instrumentation.is_none() {
        notes.push(format!(
            "The Medusa project in {} sets up no OpenTelemetry (no instrumentation.ts, no \
             OTEL_EXPORTER_OTLP_ENDPOINT): for per-route latency and database time per \
             request, add an instrumentation.ts that calls registerOtel with an OTLP/gRPC \
             exporter, then run init again.",
            project.dir.display()
        ));
        return (None, notes);
    }
    if let Some(instrumentation) = instrumentation
        && instrumentation.http_exporter
    {
        notes.push(format!(
            "{} uses an OTLP/HTTP exporter; the otlp source speaks OTLP/gRPC only: use \
             @opentelemetry/exporter-trace-otlp-grpc.",
            instrumentation.file.display()
        ));
    }
    let fixed_url = instrumentation
        .filter(|i| !i.reads_env)
        .and_then(|i| i.literal_url.as_ref().map(|url| (url, &i.file)));
    let (current, how, setting) = match (endpoint, fixed_url) {
        (Some(var), _) => (var.value.clone(), var.how.clone(), var.how.clone()),
        (None, Some((url, file))) => (
            url.clone(),
            format!("the exporter url in {}", file.display()),
            format!("the exporter url in {}", file.display()),
        ),
        (None, None) => {
            let fallback = instrumentation
                .and_then(|i| i.literal_url.clone())
                .unwrap_or_else(|| OTEL_DEFAULT_ENDPOINT.to_owned());
            let env_file = project.dir.join(".env");
            (
                fallback,
                format!(
                    "{}, exporting to its default endpoint",
                    instrumentation.map_or_else(String::new, |i| i.file.display().to_string())
                ),
                format!("OTEL_EXPORTER_OTLP_ENDPOINT in {}", env_file.display()),
            )
        }
    };
    let current_address = local_address(&current);
    let at_collector = current_address.is_some() && current_address == local_address(collector);
    if at_collector && explicit {
        notes.push(format!(
            "The store exports its traces straight to the collector ({current}, {how}), \
             which derives the same figures: no otlp source is needed."
        ));
        return (None, notes);
    }
    let found_how = format!(
        "OpenTelemetry in the Medusa project in {}",
        project.dir.display()
    );
    if let Some(address) = current_address
        && !at_collector
        && is_free(&address)
    {
        let source = FoundSource::Otlp {
            listen: address,
            exporter: Exporter::AlreadyHere {
                endpoint: current,
                how,
            },
        };
        return (
            Some(Found {
                how: found_how,
                source,
            }),
            notes,
        );
    }
    let source = FoundSource::Otlp {
        listen: DEFAULT_LISTEN.to_owned(),
        exporter: Exporter::Repoint {
            setting,
            url: format!("http://{DEFAULT_LISTEN}"),
            now: Some(current),
        },
    };
    (
        Some(Found {
            how: found_how,
            source,
        }),
        notes,
    )
}

/// `127.0.0.1:PORT` for an `http://` URL on this machine with a port.
fn local_address(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    let (host, port) = authority.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    matches!(host, "127.0.0.1" | "localhost" | "::1" | "0.0.0.0")
        .then(|| format!("127.0.0.1:{port}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::medusa::Instrumentation;
    use super::*;

    fn project(instrumentation: Option<Instrumentation>) -> Project {
        Project {
            dir: "/srv/shop".into(),
            config_file: "/srv/shop/medusa-config.ts".into(),
            env_file: Some("/srv/shop/.env".into()),
            vars: BTreeMap::new(),
            instrumentation,
        }
    }

    fn var(value: &str) -> Var {
        Var {
            name: "OTEL_EXPORTER_OTLP_ENDPOINT",
            value: value.into(),
            how: "OTEL_EXPORTER_OTLP_ENDPOINT in /srv/shop/.env".into(),
        }
    }

    const COLLECTOR: (&str, bool) = ("http://10.0.0.5:4317", true);

    #[test]
    fn a_free_local_endpoint_is_listened_on_so_the_store_needs_no_change() {
        let (found, notes) = plan(
            &project(None),
            Some(&var("http://localhost:4318")),
            COLLECTOR,
            |_| true,
        );
        let found = found.expect("an otlp source");
        assert!(notes.is_empty(), "{notes:?}");
        let FoundSource::Otlp { listen, exporter } = found.source else {
            panic!("not otlp")
        };
        assert_eq!(listen, "127.0.0.1:4318");
        assert!(matches!(exporter, Exporter::AlreadyHere { .. }));
    }

    #[test]
    fn a_busy_or_remote_endpoint_means_repointing_the_store_at_the_default_listen() {
        for (endpoint, free) in [
            ("http://127.0.0.1:4317", false),
            ("https://otel.example.com", true),
        ] {
            let (found, _) = plan(&project(None), Some(&var(endpoint)), COLLECTOR, |_| free);
            let FoundSource::Otlp { listen, exporter } = found.expect("otlp").source else {
                panic!("not otlp")
            };
            assert_eq!(listen, DEFAULT_LISTEN);
            assert_eq!(
                exporter,
                Exporter::Repoint {
                    setting: "OTEL_EXPORTER_OTLP_ENDPOINT in /srv/shop/.env".into(),
                    url: format!("http://{DEFAULT_LISTEN}"),
                    now: Some(endpoint.into()),
                }
            );
        }
    }

    #[test]
    fn a_store_exporting_to_the_collector_itself_needs_no_source() {
        let (found, notes) = plan(
            &project(None),
            Some(&var("http://localhost:4317")),
            ("http://127.0.0.1:4317", true),
            |_| true,
        );
        assert!(found.is_none());
        assert!(notes[0].contains("straight to the collector"), "{notes:?}");
    }

    #[test]
    fn the_default_collector_address_is_left_to_the_collector() {
        let (found, notes) = plan(
            &project(None),
            Some(&var("http://localhost:4317")),
            ("http://127.0.0.1:4317", false),
            |_| true,
        );
        assert!(notes.is_empty(), "{notes:?}");
        let FoundSource::Otlp { listen, exporter } = found.expect("otlp").source else {
            panic!("not otlp")
        };
        assert_eq!(listen, DEFAULT_LISTEN);
        assert!(matches!(exporter, Exporter::Repoint { .. }));
    }

    #[test]
    fn no_opentelemetry_means_no_source_and_a_note_saying_how() {
        let (found, notes) = plan(&project(None), None, COLLECTOR, |_| true);
        assert!(found.is_none());
        assert!(notes[0].contains("registerOtel"), "{notes:?}");
    }

    #[test]
    fn a_fixed_url_in_the_instrumentation_file_is_what_must_change() {
        let instrumentation = Instrumentation {
            file: "/srv/shop/instrumentation.ts".into(),
            reads_env: false,
            literal_url: Some("https://otel.example.com".into()),
            http_exporter: true,
        };
        let (found, notes) = plan(&project(Some(instrumentation)), None, COLLECTOR, |_| true);
        let FoundSource::Otlp { exporter, .. } = found.expect("otlp").source else {
            panic!("not otlp")
        };
        let Exporter::Repoint { setting, .. } = exporter else {
            panic!("must repoint")
        };
        assert_eq!(setting, "the exporter url in /srv/shop/instrumentation.ts");
        assert!(notes[0].contains("OTLP/HTTP"), "{notes:?}");
    }

    #[test]
    fn local_addresses() {
        assert_eq!(
            local_address("http://[::1]:4317").as_deref(),
            Some("127.0.0.1:4317")
        );
        assert_eq!(
            local_address("http://localhost:9/v1/traces").as_deref(),
            Some("127.0.0.1:9")
        );
        assert_eq!(local_address("http://localhost"), None);
        assert_eq!(local_address("https://127.0.0.1:4317"), None);
        assert_eq!(local_address("http://10.0.0.5:4317"), None);
    }
}
