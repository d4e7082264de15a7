//! Sources: what the agent reads. Each is plain configuration plus one
//! `match` that builds it; each source scrapes on its own `interval`,
//! connects lazily and reports `up`.

pub mod access_log;
pub mod host;
pub mod http;
pub mod medusa;
pub mod otlp;
pub mod postgres;
pub mod redis;

use std::time::Duration;

use headroom_proto::signals::agent::UP;
use headroom_proto::v1;
use serde::Deserialize;

/// Every kind of source, by its `type` key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SourceConfig {
    Postgres(postgres::Config),
    Redis(redis::Config),
    Host(host::Config),
    Http(http::Config),
    AccessLog(access_log::Config),
    Otlp(otlp::Config),
    Medusa(medusa::Config),
}

impl SourceConfig {
    /// The `type` key.
    pub fn type_name(&self) -> &'static str {
        match self {
            SourceConfig::Postgres(_) => "postgres",
            SourceConfig::Redis(_) => "redis",
            SourceConfig::Host(_) => "host",
            SourceConfig::Http(_) => "http",
            SourceConfig::AccessLog(_) => "access_log",
            SourceConfig::Otlp(_) => "otlp",
            SourceConfig::Medusa(_) => "medusa",
        }
    }

    /// The configured `name`, if any.
    pub fn explicit_name(&self) -> Option<&str> {
        match self {
            SourceConfig::Postgres(config) => config.name.as_deref(),
            SourceConfig::Redis(config) => config.name.as_deref(),
            SourceConfig::Host(config) => config.name.as_deref(),
            SourceConfig::Http(config) => config.name.as_deref(),
            SourceConfig::AccessLog(config) => config.name.as_deref(),
            SourceConfig::Otlp(config) => config.name.as_deref(),
            SourceConfig::Medusa(config) => config.name.as_deref(),
        }
    }

    /// Checks values serde cannot.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            SourceConfig::Postgres(config) => config.validate(),
            SourceConfig::Redis(config) => config.validate(),
            SourceConfig::Host(config) => config.validate(),
            SourceConfig::Http(config) => config.validate(),
            SourceConfig::AccessLog(config) => config.validate(),
            SourceConfig::Otlp(config) => config.validate(),
            SourceConfig::Medusa(config) => config.validate(),
        }
    }

    /// How often it is scraped.
    pub fn interval(&self) -> Duration {
        match self {
            SourceConfig::Postgres(config) => config.interval.0,
            SourceConfig::Redis(config) => config.interval.0,
            SourceConfig::Host(config) => config.interval.0,
            SourceConfig::Http(config) => config.interval.0,
            SourceConfig::AccessLog(config) => config.interval.0,
            SourceConfig::Otlp(config) => config.interval.0,
            SourceConfig::Medusa(config) => config.interval.0,
        }
    }

    /// Builds the source, named `name`.
    pub fn build(&self, name: String) -> Box<dyn Source> {
        match self {
            SourceConfig::Postgres(config) => {
                Box::new(postgres::PostgresSource::new(name, config.clone()))
            }
            SourceConfig::Redis(config) => Box::new(redis::RedisSource::new(name, config.clone())),
            SourceConfig::Host(config) => Box::new(host::HostSource::new(name, config.clone())),
            SourceConfig::Http(config) => Box::new(http::HttpSource::new(name, config.clone())),
            SourceConfig::AccessLog(config) => {
                Box::new(access_log::AccessLogSource::new(name, config.clone()))
            }
            SourceConfig::Otlp(config) => Box::new(otlp::OtlpSource::new(name, config.clone())),
            SourceConfig::Medusa(config) => {
                Box::new(medusa::MedusaSource::new(name, config.clone()))
            }
        }
    }

    /// The postgres source in `agent.example.toml` (for its drift test).
    #[cfg(test)]
    pub fn example_postgres() -> Self {
        SourceConfig::Postgres(postgres::Config {
            url: "postgres://headroom@127.0.0.1:5432/postgres".into(),
            ..postgres::Config::default()
        })
    }

    /// The redis source in `agent.example.toml` (for its drift test).
    #[cfg(test)]
    pub fn example_redis() -> Self {
        SourceConfig::Redis(redis::Config {
            url: "redis://127.0.0.1:6379".into(),
            ..redis::Config::default()
        })
    }

    /// The host source in `agent.example.toml`: all defaults.
    #[cfg(test)]
    pub fn example_host() -> Self {
        SourceConfig::Host(host::Config::default())
    }

    /// The otlp source in `agent.example.toml`: all defaults.
    #[cfg(test)]
    pub fn example_otlp() -> Self {
        SourceConfig::Otlp(otlp::Config::default())
    }

    /// The access_log source in `agent.example.toml` (for its drift test).
    #[cfg(test)]
    pub fn example_access_log() -> Self {
        SourceConfig::AccessLog(access_log::Config {
            path: "/var/log/nginx/access.log".into(),
            state_dir: "/var/lib/headroom/access-log".into(),
            routes: vec!["/store/products/:handle".into()],
            ..access_log::Config::default()
        })
    }

    /// The medusa source in `agent.example.toml` (for its drift test).
    #[cfg(test)]
    pub fn example_medusa() -> Self {
        SourceConfig::Medusa(medusa::Config {
            url: "postgres://headroom_ro@127.0.0.1:5432/medusa".into(),
            ..medusa::Config::default()
        })
    }

    /// The http source in `agent.example.toml` (for its drift test).
    #[cfg(test)]
    pub fn example_http() -> Self {
        SourceConfig::Http(http::Config {
            targets: vec![
                http::Target {
                    url: "https://shop.example.com/".into(),
                    method: http::Method::Get,
                    label: Some("storefront".into()),
                },
                http::Target {
                    url: "https://shop.example.com/store/products?limit=1".into(),
                    method: http::Method::Get,
                    label: None,
                },
            ],
            ..http::Config::default()
        })
    }
}

/// Unique names: the configured one, else the type, then `type-2`, `type-3`…
pub fn names(configs: &[SourceConfig]) -> Vec<String> {
    let mut used = std::collections::HashMap::<&str, usize>::new();
    configs
        .iter()
        .map(|config| match config.explicit_name() {
            Some(name) => name.to_owned(),
            None => {
                let count = used.entry(config.type_name()).or_insert(0);
                *count += 1;
                if *count == 1 {
                    config.type_name().to_owned()
                } else {
                    format!("{}-{count}", config.type_name())
                }
            }
        })
        .collect()
}

/// Why a scrape failed: a sentence for the log and `check`.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ScrapeError(pub String);

/// One line of `headroom-agent check`.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub ok: bool,
    pub what: String,
    /// How to fix it, when not ok.
    pub fix: Option<String>,
}

impl Finding {
    /// Something that works.
    pub fn ok(what: impl Into<String>) -> Self {
        Self {
            ok: true,
            what: what.into(),
            fix: None,
        }
    }

    /// Something that does not, and its fix.
    pub fn problem(what: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            ok: false,
            what: what.into(),
            fix: Some(fix.into()),
        }
    }
}

/// A source of samples.
#[async_trait::async_trait]
pub trait Source: Send {
    /// Its unique name within the agent.
    fn name(&self) -> &str;
    /// Reads once; the returned batch holds only data (no sequence, no drops).
    async fn scrape(&mut self, now_ms: i64) -> Result<v1::Batch, ScrapeError>;
    /// Connects once and says what it can and cannot see, with fixes.
    async fn check(&mut self) -> Vec<Finding>;
}

/// The `up` sample of a source: 1 when the last scrape worked.
pub fn up_sample(source: &str, source_type: &str, up: bool, now_ms: i64) -> v1::Sample {
    let value = if up { 1.0 } else { 0.0 };
    gauge(
        &UP,
        &[("source", source), ("type", source_type)],
        now_ms,
        value,
    )
}

pub use headroom_proto::samples::{counter, gauge};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unnamed_sources_get_unique_names() {
        let a = SourceConfig::example_postgres();
        let named = SourceConfig::Postgres(postgres::Config {
            name: Some("main-db".into()),
            ..postgres::Config::default()
        });
        assert_eq!(
            names(&[a.clone(), named, a]),
            vec!["postgres", "main-db", "postgres-2"]
        );
    }
}
