//! The collector's configuration: `collector.toml`, overridden by the
//! environment (`HEADROOM_…`) and the command line, validated as a whole.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use headroom_proto::config::LogFormat;
use headroom_proto::config::{ByteSize, ConfigErrors, HumanDuration, Sections, read_file};
use headroom_proto::telemetry::TelemetryConfig;
use serde::{Deserialize, Serialize};

pub use crate::advisor::AdvisorConfig;
pub use crate::alerts::{AlertingConfig, ReceiverConfig};

/// Default directory for the embedded database.
pub const DEFAULT_DATA_DIR: &str = "./headroom-data";
/// Default gRPC address (headroom.v1 and, later, OTLP).
pub const DEFAULT_GRPC_LISTEN: &str = "127.0.0.1:4317";
/// Default HTTP address (API, dashboard, /metrics).
pub const DEFAULT_HTTP_LISTEN: &str = "127.0.0.1:8080";
/// Default cadence of the analysis.
pub const DEFAULT_ANALYSIS_INTERVAL: HumanDuration = HumanDuration::secs(60);

/// The whole configuration after every override.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    /// `sqlite://path` or `postgres://…`; empty means `sqlite://<data_dir>/headroom.db`.
    pub database_url: String,
    pub data_dir: PathBuf,
    pub grpc_listen: SocketAddr,
    pub http_listen: SocketAddr,
    pub analysis_interval: HumanDuration,
    pub auth: AuthConfig,
    pub tls: TlsConfig,
    pub ingest: IngestConfig,
    pub retention: RetentionConfig,
    pub log: LogConfig,
    pub advisor: AdvisorConfig,
    /// `[[alerts]]`: where notifications go.
    pub alerts: Vec<ReceiverConfig>,
    pub alerting: AlertingConfig,
    /// `[telemetry]`: the collector's own traces and metrics over OTLP.
    pub telemetry: TelemetryConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: String::new(),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            grpc_listen: parse_addr(DEFAULT_GRPC_LISTEN),
            http_listen: parse_addr(DEFAULT_HTTP_LISTEN),
            analysis_interval: DEFAULT_ANALYSIS_INTERVAL,
            auth: AuthConfig::default(),
            tls: TlsConfig::default(),
            ingest: IngestConfig::default(),
            retention: RetentionConfig::default(),
            log: LogConfig::default(),
            advisor: AdvisorConfig::default(),
            alerts: Vec::new(),
            alerting: AlertingConfig::default(),
            telemetry: TelemetryConfig::default(),
        }
    }
}

fn parse_addr(text: &str) -> SocketAddr {
    text.parse()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
}

/// `[auth]`: who may talk to the collector.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Bearer tokens agents may present. Empty: any agent, allowed only when
    /// `grpc_listen` is a loopback address.
    pub agent_tokens: Vec<String>,
    /// Token the dashboard, the API and `/metrics` require. Empty: no
    /// authentication, allowed only when `http_listen` is a loopback address.
    pub dashboard_token: String,
    /// Token recommendation actions require instead of the dashboard token
    /// (which then only reads). Empty: the dashboard token may act too.
    pub admin_token: String,
}

/// `[tls]`: serve gRPC over TLS (rustls) when both files are set.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain of the collector.
    pub cert_file: String,
    /// PEM private key of that certificate.
    pub key_file: String,
}

impl TlsConfig {
    /// Whether TLS is configured.
    pub fn enabled(&self) -> bool {
        !self.cert_file.is_empty()
    }
}

/// `[ingest]`: limits on what agents may send.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Largest accepted message; bigger ones end the stream with RESOURCE_EXHAUSTED.
    pub max_message_bytes: ByteSize,
    /// Most batches committed in one transaction (group commit).
    pub max_group_batches: usize,
    /// How often what OTLP exports sent to the gRPC port yielded is stored.
    pub otlp_flush_interval: HumanDuration,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_message_bytes: ByteSize(headroom_proto::DEFAULT_MAX_MESSAGE_BYTES as u64),
            max_group_batches: 64,
            otlp_flush_interval: HumanDuration::secs(15),
        }
    }
}

/// `[retention]`: how long each resolution is kept, and how often the
/// compactor runs (see docs/adr/001-storage-layout.md).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    pub raw: HumanDuration,
    pub rollup_1m: HumanDuration,
    pub rollup_1h: HumanDuration,
    pub compaction_interval: HumanDuration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            raw: HumanDuration::secs(7 * 86_400),
            rollup_1m: HumanDuration::secs(35 * 86_400),
            rollup_1h: HumanDuration::secs(400 * 86_400),
            compaction_interval: HumanDuration::secs(60),
        }
    }
}

/// `[log]`: `format = "plain" | "json"`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Plain,
        }
    }
}

/// Whether `c` may appear in a dashboard or admin token (cookie-safe).
fn is_web_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~+/=".contains(c)
}

/// Values from the environment or the command line; each wins over the file.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Overrides {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB` [default: sqlite in --data-dir]
    #[arg(long, env = "HEADROOM_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory of the embedded SQLite database [default: ./headroom-data]
    #[arg(long, env = "HEADROOM_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address for headroom.v1 gRPC [default: 127.0.0.1:4317]
    #[arg(long, env = "HEADROOM_GRPC_LISTEN")]
    pub grpc_listen: Option<String>,
    /// Address for the HTTP API [default: 127.0.0.1:8080]
    #[arg(long, env = "HEADROOM_HTTP_LISTEN")]
    pub http_listen: Option<String>,
    /// How often the analysis runs [default: 60s]
    #[arg(long, env = "HEADROOM_ANALYSIS_INTERVAL")]
    pub analysis_interval: Option<String>,
    /// Comma-separated agent tokens (replaces `[auth] agent_tokens`)
    #[arg(
        long,
        env = "HEADROOM_AGENT_TOKENS",
        hide_env_values = true,
        value_delimiter = ','
    )]
    pub agent_tokens: Option<Vec<String>>,
    /// Token the dashboard and API require (replaces `[auth] dashboard_token`)
    #[arg(long, env = "HEADROOM_DASHBOARD_TOKEN", hide_env_values = true)]
    pub dashboard_token: Option<String>,
    /// Token recommendation actions require (replaces `[auth] admin_token`)
    #[arg(long, env = "HEADROOM_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Log format
    #[arg(long, env = "HEADROOM_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
}

impl Config {
    /// Loads `path` (if any), applies `overrides` and validates the result,
    /// reporting every mistake at once.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Self, ConfigErrors> {
        match path {
            Some(path) => {
                Self::from_toml(&read_file(path)?, &path.display().to_string(), overrides)
            }
            None => Self::from_toml("", "defaults", overrides),
        }
    }

    /// Parses `text` as `collector.toml`, then applies `overrides`.
    pub fn from_toml(
        text: &str,
        source_name: &str,
        overrides: &Overrides,
    ) -> Result<Self, ConfigErrors> {
        let mut sections = Sections::parse(text, source_name)?;
        let defaults = Config::default();
        let database_url: Option<String> = sections.take("database_url");
        let data_dir: Option<PathBuf> = sections.take("data_dir");
        let grpc_listen: Option<String> = sections.take("grpc_listen");
        let http_listen: Option<String> = sections.take("http_listen");
        let analysis_interval: Option<String> = sections.take("analysis_interval");
        let mut config = Config {
            database_url: String::new(),
            data_dir: defaults.data_dir.clone(),
            grpc_listen: defaults.grpc_listen,
            http_listen: defaults.http_listen,
            analysis_interval: defaults.analysis_interval,
            auth: sections.take("auth"),
            tls: sections.take("tls"),
            ingest: sections.take("ingest"),
            retention: sections.take("retention"),
            log: sections.take("log"),
            advisor: sections.take("advisor"),
            alerts: sections.take_list("alerts"),
            alerting: sections.take("alerting"),
            telemetry: sections.take("telemetry"),
        };
        let mut errors = sections.finish();

        config.database_url = overrides
            .database_url
            .clone()
            .or(database_url)
            .unwrap_or_default();
        if let Some(dir) = overrides.data_dir.clone().or(data_dir) {
            config.data_dir = dir;
        }
        if let Some(text) = overrides.grpc_listen.clone().or(grpc_listen) {
            match text.parse() {
                Ok(addr) => config.grpc_listen = addr,
                Err(_) => errors.push(format!(
                    "`grpc_listen`: `{text}` is not an address like 127.0.0.1:4317"
                )),
            }
        }
        if let Some(text) = overrides.http_listen.clone().or(http_listen) {
            match text.parse() {
                Ok(addr) => config.http_listen = addr,
                Err(_) => errors.push(format!(
                    "`http_listen`: `{text}` is not an address like 127.0.0.1:8080"
                )),
            }
        }
        if let Some(text) = overrides.analysis_interval.clone().or(analysis_interval) {
            match text.parse() {
                Ok(interval) => config.analysis_interval = interval,
                Err(error) => errors.push(format!("`analysis_interval`: {error}")),
            }
        }
        if let Some(tokens) = &overrides.agent_tokens {
            config.auth.agent_tokens = tokens.iter().filter(|t| !t.is_empty()).cloned().collect();
        }
        if let Some(token) = &overrides.dashboard_token {
            config.auth.dashboard_token = token.clone();
        }
        if let Some(token) = &overrides.admin_token {
            config.auth.admin_token = token.clone();
        }
        if let Some(format) = overrides.log_format {
            config.log.format = format;
        }
        config.validate(&mut errors);
        ConfigErrors::or_value(source_name, errors, config)
    }

    fn validate(&self, errors: &mut Vec<String>) {
        self.telemetry.validate(errors);
        if !self.database_url.is_empty()
            && !self.database_url.starts_with("sqlite:")
            && !self.database_url.starts_with("postgres://")
            && !self.database_url.starts_with("postgresql://")
        {
            errors.push("`database_url`: must start with sqlite:// or postgres://".to_owned());
        }
        if self.auth.agent_tokens.is_empty() && !self.grpc_listen.ip().is_loopback() {
            errors.push(format!(
                "`auth.agent_tokens` is empty but `grpc_listen` ({}) is not a loopback address: \
                 set at least one token, or listen on 127.0.0.1",
                self.grpc_listen
            ));
        }
        self.validate_web_auth(errors);
        crate::alerts::config::validate(&self.alerts, &self.alerting, errors);
        if self.tls.cert_file.is_empty() != self.tls.key_file.is_empty() {
            errors.push("`tls`: set both `cert_file` and `key_file`, or neither".to_owned());
        }
        for (key, path) in [
            ("tls.cert_file", &self.tls.cert_file),
            ("tls.key_file", &self.tls.key_file),
        ] {
            if !path.is_empty()
                && let Err(error) = std::fs::read(path)
            {
                errors.push(format!("`{key}`: cannot read {path}: {error}"));
            }
        }
        if self.auth.agent_tokens.iter().any(|token| token.len() < 16) {
            errors
                .push("`auth.agent_tokens`: every token must be at least 16 characters".to_owned());
        }
        if self.ingest.max_message_bytes.0 < 1024 || self.ingest.max_message_bytes.0 > 256 << 20 {
            errors.push("`ingest.max_message_bytes`: must be between 1KiB and 256MiB".to_owned());
        }
        if self.ingest.otlp_flush_interval.0 < std::time::Duration::from_millis(100) {
            errors.push("`ingest.otlp_flush_interval`: must be at least 100ms".to_owned());
        }
        if self.ingest.max_group_batches == 0 {
            errors.push("`ingest.max_group_batches`: must be at least 1".to_owned());
        }
        let retention = &self.retention;
        if retention.raw.0.as_secs() < 3600 {
            errors.push("`retention.raw`: must be at least 1h".to_owned());
        }
        if retention.rollup_1m < retention.raw || retention.rollup_1h < retention.rollup_1m {
            errors.push("`retention`: must satisfy raw <= rollup_1m <= rollup_1h".to_owned());
        }
        if retention.compaction_interval.0.is_zero() {
            errors.push("`retention.compaction_interval`: must be more than 0s".to_owned());
        }
        if self.analysis_interval.0.is_zero() {
            errors.push("`analysis_interval`: must be more than 0s".to_owned());
        }
    }

    fn validate_web_auth(&self, errors: &mut Vec<String>) {
        let auth = &self.auth;
        if auth.dashboard_token.is_empty() && !self.http_listen.ip().is_loopback() {
            errors.push(format!(
                "`auth.dashboard_token` is empty but `http_listen` ({}) is not a loopback address: \
                 set `auth.dashboard_token` (or HEADROOM_DASHBOARD_TOKEN), or listen on 127.0.0.1",
                self.http_listen
            ));
        }
        if !auth.admin_token.is_empty() && auth.dashboard_token.is_empty() {
            errors.push(
                "`auth.admin_token` is set without `auth.dashboard_token`: set both, or neither"
                    .to_owned(),
            );
        }
        for (key, token) in [
            ("auth.dashboard_token", &auth.dashboard_token),
            ("auth.admin_token", &auth.admin_token),
        ] {
            if token.is_empty() {
                continue;
            }
            if token.len() < 16 {
                errors.push(format!("`{key}`: must be at least 16 characters"));
            }
            if !token.chars().all(is_web_token_char) {
                errors.push(format!(
                    "`{key}`: may hold only letters, digits and - . _ ~ + / = (it travels in a cookie)"
                ));
            }
        }
    }

    /// The dashboard's address in alerts: `[alerting] external_url`, else
    /// `http://<http_listen>`.
    pub fn dashboard_url(&self) -> String {
        if self.alerting.external_url.is_empty() {
            format!("http://{}", self.http_listen)
        } else {
            self.alerting.external_url.trim_end_matches('/').to_owned()
        }
    }

    /// The database URL actually used: the configured one, or SQLite in `data_dir`.
    pub fn effective_database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("headroom.db").display())
        } else {
            self.database_url.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_matches_the_real_defaults() {
        let text = include_str!("../../collector.example.toml");
        let parsed = Config::from_toml(text, "collector.example.toml", &Overrides::default())
            .expect("the example parses");
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let text = "grpc_listen = \"nowhere\"\nanalysis_interval = \"soon\"\ncolour = \"blue\"\n\
                    [retention]\nraw = \"forever\"\n[auth]\nagent_tokens = \"not-a-list\"\n";
        let errors = Config::from_toml(text, "bad.toml", &Overrides::default())
            .expect_err("several mistakes")
            .errors;
        let joined = errors.join("\n");
        for needle in [
            "`grpc_listen`",
            "`analysis_interval`",
            "`colour`: unknown key",
            "`retention`",
            "`auth`",
        ] {
            assert!(joined.contains(needle), "{needle} missing from:\n{joined}");
        }
    }

    #[test]
    fn empty_token_list_is_refused_beyond_loopback() {
        let error = Config::from_toml(
            "grpc_listen = \"0.0.0.0:4317\"\n",
            "t.toml",
            &Overrides::default(),
        )
        .expect_err("refused");
        assert!(error.errors[0].contains("agent_tokens"));
        let with_token =
            "grpc_listen = \"0.0.0.0:4317\"\n[auth]\nagent_tokens = [\"0123456789abcdef\"]\n";
        assert!(Config::from_toml(with_token, "t.toml", &Overrides::default()).is_ok());
    }

    #[test]
    fn http_beyond_loopback_needs_a_dashboard_token() {
        let error = Config::from_toml(
            "http_listen = \"0.0.0.0:8080\"\n",
            "t.toml",
            &Overrides::default(),
        )
        .expect_err("refused");
        assert!(
            error.errors[0].contains("`auth.dashboard_token`"),
            "{error}"
        );
        let with_token =
            "http_listen = \"0.0.0.0:8080\"\n[auth]\ndashboard_token = \"0123456789abcdef\"\n";
        assert!(Config::from_toml(with_token, "t.toml", &Overrides::default()).is_ok());
    }

    #[test]
    fn web_tokens_are_checked() {
        for (auth, needle) in [
            (
                "admin_token = \"0123456789abcdef\"",
                "without `auth.dashboard_token`",
            ),
            ("dashboard_token = \"short\"", "at least 16"),
            ("dashboard_token = \"0123456789abcdef; x\"", "may hold only"),
        ] {
            let text = format!("[auth]\n{auth}\n");
            let error = Config::from_toml(&text, "t.toml", &Overrides::default())
                .expect_err("refused")
                .errors
                .join("\n");
            assert!(error.contains(needle), "{auth}: {error}");
        }
    }

    const RECEIVERS: &str = "[[alerts]]\nname = \"ops\"\ntype = \"slack\"\n\
        url = \"https://hooks.slack.com/services/T0/B0/SECRETPATH\"\nkinds = [\"index\"]\n\
        [[alerts]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"https://h.example/x\"\n\
        secret = \"0123456789abcdef\"\nmin_severity = \"critical\"\n";

    #[test]
    fn receivers_parse_with_their_defaults() {
        let config = Config::from_toml(RECEIVERS, "t.toml", &Overrides::default()).expect("valid");
        assert_eq!(config.alerts.len(), 2);
        let ops = &config.alerts[0];
        assert_eq!(ops.kind, crate::alerts::ReceiverType::Slack);
        assert_eq!(ops.min_severity, crate::advisor::Severity::Warning);
        assert_eq!(ops.kinds, vec![crate::advisor::RecKind::Index]);
        assert_eq!(ops.max_per_hour, 30);
        assert_eq!(
            config.alerts[1].min_severity,
            crate::advisor::Severity::Critical
        );
        assert_eq!(config.dashboard_url(), "http://127.0.0.1:8080");
    }

    #[test]
    fn receiver_urls_and_secrets_are_masked_when_shown() {
        let config = Config::from_toml(RECEIVERS, "t.toml", &Overrides::default()).expect("valid");
        let shown = format!("{config:?}\n{}", toml::to_string(&config).expect("toml"));
        assert!(!shown.contains("SECRETPATH"), "{shown}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn bad_receivers_are_refused_with_the_reason_and_without_the_url() {
        for (receiver, needle) in [
            (
                "name = \"a\"\ntype = \"email\"\nurl = \"https://x/SECRETPATH\"",
                "unknown variant `email`",
            ),
            (
                "name = \"a\"\ntype = \"webhook\"\nurl = \"https://x/SECRETPATH\"",
                "`secret` is required",
            ),
            (
                "name = \"a\"\ntype = \"slack\"\nurl = \"https://x/SECRETPATH\"\nsecret = \"0123456789abcdef\"",
                "applies only to type = \"webhook\"",
            ),
            (
                "name = \"a\"\ntype = \"slack\"\nurl = \"ftp://x/SECRETPATH\"",
                "must start with https://",
            ),
            (
                "name = \"\"\ntype = \"slack\"\nurl = \"https://x/SECRETPATH\"",
                "`name` must not be empty",
            ),
            (
                "name = \"a\"\ntype = \"slack\"\nurl = \"https://x/SECRETPATH\"\nmax_per_hour = 0",
                "`max_per_hour`",
            ),
            (
                "name = \"a\"\ntype = \"slack\"\nurl = \"https://x/SECRETPATH\"\ncolour = 1",
                "unknown field `colour`",
            ),
        ] {
            let text = format!("[[alerts]]\n{receiver}\n");
            let error = Config::from_toml(&text, "t.toml", &Overrides::default())
                .expect_err("refused")
                .errors
                .join("\n");
            assert!(error.contains(needle), "{receiver}: {error}");
            assert!(!error.contains("SECRETPATH"), "{error}");
        }
        let twice = format!(
            "{RECEIVERS}[[alerts]]\nname = \"ops\"\ntype = \"teams\"\nurl = \"https://t/x\"\n"
        );
        let error =
            Config::from_toml(&twice, "t.toml", &Overrides::default()).expect_err("refused");
        assert!(error.to_string().contains("`ops` is used twice"), "{error}");
    }

    #[test]
    fn alerting_timers_are_checked() {
        let text = "[alerting]\ngroup_interval = \"0s\"\nretry_backoff = \"10s\"\nretry_max_backoff = \"1s\"\nexternal_url = \"dash\"\n";
        let error = Config::from_toml(text, "t.toml", &Overrides::default())
            .expect_err("refused")
            .errors
            .join("\n");
        for needle in [
            "`alerting.group_interval`",
            "`alerting.retry_max_backoff`",
            "`alerting.external_url`",
        ] {
            assert!(error.contains(needle), "{needle}: {error}");
        }
    }

    #[test]
    fn overrides_win_over_the_file() {
        let overrides = Overrides {
            http_listen: Some("127.0.0.1:9999".into()),
            ..Overrides::default()
        };
        let config = Config::from_toml("http_listen = \"127.0.0.1:1111\"\n", "t.toml", &overrides)
            .expect("valid");
        assert_eq!(config.http_listen.port(), 9999);
        assert_eq!(
            config.effective_database_url(),
            format!(
                "sqlite://{}",
                Path::new(DEFAULT_DATA_DIR).join("headroom.db").display()
            )
        );
    }
}
