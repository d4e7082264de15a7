//! `headroom-agent check`: connects once to every source, the spool
//! directory and the collector, and prints what works and, for what does
//! not, the fix.

use std::fmt::Write as _;

use tonic::Code;

use crate::config::Config;
use crate::shipper::{ShipError, connect, open_stream};
use crate::sources::{self, Finding};

/// Runs every check; returns the report and whether everything is fine.
pub async fn check(config: &Config, hello: headroom_proto::v1::Hello) -> (String, bool) {
    let mut report = String::new();
    let mut all_ok = true;
    let names = sources::names(&config.sources);
    for (source_config, name) in config.sources.iter().zip(names) {
        let mut source = source_config.build(name.clone());
        let findings = source.check().await;
        all_ok &= write_section(
            &mut report,
            &format!("source {name} ({})", source_config.type_name()),
            &findings,
        );
    }
    if config.sources.is_empty() {
        all_ok &= write_section(
            &mut report,
            "sources",
            &[Finding::problem(
                "no [[sources]] are configured",
                "add a [[sources]] table, see agent.example.toml",
            )],
        );
    }
    all_ok &= write_section(&mut report, "spool", &[check_spool(config)]);
    all_ok &= write_section(
        &mut report,
        "collector",
        &[check_collector(config, hello).await],
    );
    (report, all_ok)
}

fn write_section(report: &mut String, title: &str, findings: &[Finding]) -> bool {
    let _ = writeln!(report, "{title}:");
    for finding in findings {
        let mark = if finding.ok { "ok  " } else { "FAIL" };
        let _ = writeln!(report, "  {mark} {}", finding.what);
        if let Some(fix) = &finding.fix {
            let _ = writeln!(report, "       fix: {fix}");
        }
    }
    findings.iter().all(|finding| finding.ok)
}

fn check_spool(config: &Config) -> Finding {
    let dir = &config.spool.dir;
    let probe = dir.join(".check");
    let result = std::fs::create_dir_all(dir).and_then(|()| std::fs::write(&probe, b"ok"));
    let _ = std::fs::remove_file(&probe);
    match result {
        Ok(()) => Finding::ok(format!(
            "{} is writable (cap {})",
            dir.display(),
            config.spool.max_bytes
        )),
        Err(error) => Finding::problem(
            format!(
                "cannot write to the spool directory {}: {error}",
                dir.display()
            ),
            "create it and give the agent's user write access, or set [spool] dir",
        ),
    }
}

async fn check_collector(config: &Config, hello: headroom_proto::v1::Hello) -> Finding {
    let endpoint = &config.collector.endpoint;
    let channel = match connect(&config.collector).await {
        Ok(channel) => channel,
        Err(error) => {
            let text = error.to_string();
            let fix = if text.to_lowercase().contains("certificate") {
                "trust the collector's certificate: set [collector] ca_file to the PEM of the CA that signed it \
                 (or of the certificate itself when self-signed), and use the name it was issued for in the endpoint"
                    .to_owned()
            } else {
                format!(
                    "start headroom-collector, or point [collector] endpoint at its --grpc-listen address (now {endpoint})"
                )
            };
            return Finding::problem(text, fix);
        }
    };
    match open_stream(channel, &config.collector.token, hello, 1).await {
        Ok(_) => Finding::ok(format!(
            "the collector at {endpoint} accepted this agent's token and Hello"
        )),
        Err(ShipError::Refused(status)) if status.code() == Code::Unauthenticated => {
            Finding::problem(
                format!(
                    "the collector at {endpoint} refused the token: {}",
                    status.message()
                ),
                "set [collector] token (or token_file, or HEADROOM_AGENT_TOKEN) to one of the collector's [auth] agent_tokens",
            )
        }
        Err(error) => Finding::problem(
            format!("the collector at {endpoint} did not accept a stream: {error}"),
            "check that the endpoint is a headroom-collector gRPC address of the same protocol version",
        ),
    }
}
