//! The agent's configuration: `agent.toml`, validated as a whole so every
//! mistake is reported at once, with the token from the file, a token file
//! or `HEADROOM_AGENT_TOKEN`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use headroom_proto::config::{
    ByteSize, ConfigErrors, HumanDuration, LogFormat, Sections, read_file,
};
use headroom_proto::telemetry::TelemetryConfig;
use serde::Deserialize;

use crate::sources::SourceConfig;

/// Default collector endpoint.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:4317";
/// Default spool directory.
pub const DEFAULT_SPOOL_DIR: &str = "./headroom-spool";
/// Default spool size cap.
pub const DEFAULT_SPOOL_MAX_BYTES: ByteSize = ByteSize(256 << 20);

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    pub agent: AgentSection,
    pub collector: CollectorSection,
    pub spool: SpoolSection,
    pub sources: Vec<SourceConfig>,
    pub log: LogSection,
    /// `[telemetry]`: the agent's own traces and metrics over OTLP.
    pub telemetry: TelemetryConfig,
}

/// `[agent]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentSection {
    /// Stable id; empty means the hostname.
    pub id: String,
    /// How often collected samples are sealed into a batch.
    pub flush_interval: HumanDuration,
    /// A batch is sealed early when it holds this many points.
    pub max_batch_points: usize,
    /// How long a graceful shutdown may take: scrapes in flight get the
    /// first half, then what was collected is sealed and the rest of the
    /// time waits for the collector to ack the spool.
    pub shutdown_timeout: HumanDuration,
}

impl Default for AgentSection {
    fn default() -> Self {
        Self {
            id: String::new(),
            flush_interval: HumanDuration::secs(1),
            max_batch_points: 10_000,
            shutdown_timeout: HumanDuration::secs(5),
        }
    }
}

/// `[collector]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollectorSection {
    pub endpoint: String,
    /// Bearer token; prefer `token_file` or `HEADROOM_AGENT_TOKEN`.
    pub token: String,
    pub token_file: Option<PathBuf>,
    /// PEM certificates to trust for an `https://` endpoint, besides the
    /// system's roots (a private CA or a self-signed collector).
    pub ca_file: Option<PathBuf>,
    pub connect_timeout: HumanDuration,
    /// Reconnect backoff: doubles from `min_backoff` up to `max_backoff`, with jitter.
    pub min_backoff: HumanDuration,
    pub max_backoff: HumanDuration,
    /// Batches sent ahead of their acks.
    pub max_in_flight: usize,
}

impl Default for CollectorSection {
    fn default() -> Self {
        Self {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            token: String::new(),
            token_file: None,
            ca_file: None,
            connect_timeout: HumanDuration::secs(5),
            min_backoff: HumanDuration(Duration::from_millis(200)),
            max_backoff: HumanDuration::secs(30),
            max_in_flight: 32,
        }
    }
}

/// `[spool]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoolSection {
    pub dir: PathBuf,
    pub max_bytes: ByteSize,
}

impl Default for SpoolSection {
    fn default() -> Self {
        Self {
            dir: PathBuf::from(DEFAULT_SPOOL_DIR),
            max_bytes: DEFAULT_SPOOL_MAX_BYTES,
        }
    }
}

/// `[log]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSection {
    /// `plain` or `json`.
    pub format: LogFormat,
}

impl Config {
    /// Reads and validates `path`; `env_token` is `HEADROOM_AGENT_TOKEN`.
    pub fn load(path: &Path, env_token: Option<String>) -> Result<Self, ConfigErrors> {
        Self::from_toml(&read_file(path)?, &path.display().to_string(), env_token)
    }

    /// Parses and validates `agent.toml` text.
    pub fn from_toml(
        text: &str,
        source_name: &str,
        env_token: Option<String>,
    ) -> Result<Self, ConfigErrors> {
        let mut sections = Sections::parse(text, source_name)?;
        let mut config = Config {
            agent: sections.take("agent"),
            collector: sections.take("collector"),
            spool: sections.take("spool"),
            sources: sections.take_list("sources"),
            log: sections.take("log"),
            telemetry: sections.take("telemetry"),
        };
        let mut errors = sections.finish();
        if let Some(token) = env_token.filter(|t| !t.is_empty()) {
            config.collector.token = token;
        } else if let Some(file) = &config.collector.token_file {
            match std::fs::read_to_string(file) {
                Ok(token) => config.collector.token = token.trim().to_owned(),
                Err(error) => errors.push(format!(
                    "`collector.token_file`: cannot read {}: {error}",
                    file.display()
                )),
            }
        }
        config.validate(&mut errors);
        ConfigErrors::or_value(source_name, errors, config)
    }

    fn validate(&self, errors: &mut Vec<String>) {
        self.telemetry.validate(errors);
        let endpoint = &self.collector.endpoint;
        if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
            errors.push(format!(
                "`collector.endpoint`: `{endpoint}` must start with http:// or https://"
            ));
        }
        if let Some(ca_file) = &self.collector.ca_file {
            if !endpoint.starts_with("https://") {
                errors.push(
                    "`collector.ca_file` is set but `collector.endpoint` is not https://".into(),
                );
            }
            if let Err(error) = std::fs::read(ca_file) {
                errors.push(format!(
                    "`collector.ca_file`: cannot read {}: {error}",
                    ca_file.display()
                ));
            }
        }
        if self.collector.min_backoff > self.collector.max_backoff {
            errors.push("`collector.min_backoff` must not exceed `collector.max_backoff`".into());
        }
        if self.collector.max_in_flight == 0 {
            errors.push("`collector.max_in_flight` must be at least 1".into());
        }
        if self.spool.max_bytes.0 < 64 << 10 {
            errors.push(format!(
                "`spool.max_bytes`: {} is below the minimum of 64KiB",
                self.spool.max_bytes
            ));
        }
        if self.agent.flush_interval.0 < Duration::from_millis(10) {
            errors.push("`agent.flush_interval` must be at least 10ms".into());
        }
        if self.agent.max_batch_points == 0 {
            errors.push("`agent.max_batch_points` must be at least 1".into());
        }
        let mut names = std::collections::HashSet::new();
        for (index, source) in self.sources.iter().enumerate() {
            if let Err(error) = source.validate() {
                errors.push(format!(
                    "`sources[{index}]` ({}): {error}",
                    source.type_name()
                ));
            }
            if let Some(name) = source.explicit_name()
                && !names.insert(name.to_owned())
            {
                errors.push(format!(
                    "`sources[{index}]`: the name `{name}` is used twice"
                ));
            }
        }
    }

    /// The agent id: configured, or the hostname.
    pub fn agent_id(&self) -> String {
        if self.agent.id.is_empty() {
            hostname()
        } else {
            self.agent.id.clone()
        }
    }
}

/// This machine's hostname, or `unknown-host`.
pub fn hostname() -> String {
    hostname::get()
        .ok()
        .and_then(|name| name.into_string().ok())
        .unwrap_or_else(|| "unknown-host".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_matches_the_real_defaults() {
        let text = include_str!("../../agent.example.toml");
        let config =
            Config::from_toml(text, "agent.example.toml", None).expect("the example parses");
        let defaults = Config::default();
        assert_eq!(
            config.agent,
            AgentSection {
                id: "db-1".into(),
                ..defaults.agent
            }
        );
        assert_eq!(
            config.collector,
            CollectorSection {
                token: "change-me-to-a-long-random-token".into(),
                ..defaults.collector
            }
        );
        assert_eq!(config.spool, defaults.spool);
        assert_eq!(config.log, defaults.log);
        assert_eq!(config.telemetry, defaults.telemetry);
        // Each example source is its type's defaults plus the example's url.
        assert_eq!(
            config.sources,
            vec![
                crate::sources::SourceConfig::example_postgres(),
                crate::sources::SourceConfig::example_redis(),
                crate::sources::SourceConfig::example_host(),
                crate::sources::SourceConfig::example_http(),
                crate::sources::SourceConfig::example_otlp(),
                crate::sources::SourceConfig::example_access_log(),
                crate::sources::SourceConfig::example_medusa(),
            ]
        );
    }

    #[test]
    fn several_mistakes_are_listed_together() {
        let text = "[agent]\nflush_interval = \"often\"\n[collector]\nendpoint = \"grpc://x\"\n\
                    [spool]\nmax_bytes = 10\n[[sources]]\ntype = \"postgres\"\n\
                    [[sources]]\ntype = \"mongodb\"\n[mystery]\n";
        let errors = Config::from_toml(text, "bad.toml", None)
            .expect_err("invalid")
            .errors;
        let joined = errors.join("\n");
        for needle in [
            "`agent`",
            "`collector.endpoint`",
            "`spool.max_bytes`",
            "`sources[0]`",
            "`sources[1]`",
            "`mystery`",
        ] {
            assert!(joined.contains(needle), "{needle} missing from:\n{joined}");
        }
    }

    #[test]
    fn the_environment_token_wins_and_is_kept_out_of_errors() {
        let config = Config::from_toml(
            "[collector]\ntoken = \"from-file\"\n",
            "t.toml",
            Some("from-env".into()),
        )
        .expect("valid");
        assert_eq!(config.collector.token, "from-env");
    }
}
