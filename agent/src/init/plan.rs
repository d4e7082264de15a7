//! What `headroom-agent init` found, as plain data: the detectors fill it
//! in, the renderer turns it into `agent.toml`, and the summary printed to
//! the terminal reads it too. URLs here may hold credentials; only the
//! renderer writes them out, everything printed goes through `display`.

use std::path::PathBuf;

use crate::sources::access_log::parse::Fields;

/// The whole file to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// `--agent-id`; `None` keeps the default (the hostname).
    pub agent_id: Option<String>,
    /// This machine's hostname, for the comment on the default id.
    pub hostname: String,
    pub collector: Collector,
    pub sources: Vec<Found>,
    /// Things seen but not configured, and what to do about them; written
    /// as comments at the end of the file and printed.
    pub notes: Vec<String>,
}

/// The collector endpoint and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Collector {
    pub endpoint: String,
    pub origin: EndpointOrigin,
}

/// Where the collector endpoint came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointOrigin {
    /// `--collector`.
    Flag,
    /// Typed at the prompt.
    Prompt,
    /// Nothing given: the agent's default.
    Default,
}

/// One source to configure, and how it was found (a phrase such as
/// "DATABASE_URL in /srv/shop/.env").
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub how: String,
    pub source: FoundSource,
}

/// The sources `init` can find.
#[derive(Debug, Clone, PartialEq)]
pub enum FoundSource {
    Postgres {
        url: String,
        statements: Statements,
    },
    Redis {
        url: String,
    },
    /// This machine, through `/proc`.
    Host,
    AccessLog {
        name: String,
        path: PathBuf,
        format: LogFormat,
    },
    Medusa {
        url: String,
        /// Whether Medusa's `order` table was there when `init` looked.
        tables: bool,
    },
    Otlp {
        listen: String,
        exporter: Exporter,
    },
}

impl FoundSource {
    /// The `type` key it renders to.
    pub fn type_name(&self) -> &'static str {
        match self {
            FoundSource::Postgres { .. } => "postgres",
            FoundSource::Redis { .. } => "redis",
            FoundSource::Host => "host",
            FoundSource::AccessLog { .. } => "access_log",
            FoundSource::Medusa { .. } => "medusa",
            FoundSource::Otlp { .. } => "otlp",
        }
    }

    /// Where it reads, never with credentials (for the terminal).
    pub fn display(&self) -> String {
        match self {
            FoundSource::Postgres { url, .. } | FoundSource::Medusa { url, .. } => {
                crate::sources::postgres::endpoint(url)
            }
            FoundSource::Redis { url } => crate::sources::redis::endpoint(url),
            FoundSource::Host => "/proc".into(),
            FoundSource::AccessLog { path, .. } => path.display().to_string(),
            FoundSource::Otlp { listen, .. } => format!("listens on {listen}"),
        }
    }
}

/// The state of `pg_stat_statements` on a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statements {
    /// Preloaded and created in the connected database.
    Ready,
    /// Preloaded, not created in the connected database.
    NotCreated,
    /// Not in `shared_preload_libraries`.
    NotPreloaded,
}

/// The format of an access log, as its last lines show it.
#[derive(Debug, Clone, PartialEq)]
pub enum LogFormat {
    /// nginx `combined`, and whether lines carry a duration and a cache
    /// status after it. `empty`: no line to look at (nginx's default
    /// assumed).
    NginxCombined {
        duration: bool,
        cache: bool,
        empty: bool,
    },
    /// JSON lines with these keys; `unit_from_key`: whether the duration
    /// unit was read from the key's name (else the default, ms, is assumed).
    Json { fields: Fields, unit_from_key: bool },
}

/// What the store exports its traces to, and what must change.
#[derive(Debug, Clone, PartialEq)]
pub enum Exporter {
    /// The store already exports to the address the source listens on.
    AlreadyHere { endpoint: String, how: String },
    /// The store must be pointed at the source: change `setting` (e.g.
    /// "OTEL_EXPORTER_OTLP_ENDPOINT in /srv/shop/.env") to `url`; `now` is
    /// where it exports today, when known.
    Repoint {
        setting: String,
        url: String,
        now: Option<String>,
    },
}
