//! The Medusa project in `--medusa-dir`: recognised by its
//! `medusa-config.ts` (or `.js`), with the variables of its `.env` and what
//! its `instrumentation.ts` (or `.js`) says about OpenTelemetry.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::dotenv;

/// File names that mark a Medusa project.
const CONFIG_FILES: [&str; 4] = [
    "medusa-config.ts",
    "medusa-config.js",
    "medusa-config.mjs",
    "medusa-config.cjs",
];
/// The file Medusa imports to register OpenTelemetry.
const INSTRUMENTATION_FILES: [&str; 2] = ["instrumentation.ts", "instrumentation.js"];

/// A Medusa project found on disk.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    pub dir: PathBuf,
    pub config_file: PathBuf,
    /// `.env`, when there is one.
    pub env_file: Option<PathBuf>,
    /// Its variables (empty without `.env`).
    pub vars: BTreeMap<String, String>,
    pub instrumentation: Option<Instrumentation>,
}

/// What `instrumentation.ts` does, as far as a text scan tells.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Instrumentation {
    pub file: PathBuf,
    /// It reads `OTEL_EXPORTER_OTLP_*` from the environment.
    pub reads_env: bool,
    /// The first `http(s)://` string literal in it (an exporter url or its
    /// fallback).
    pub literal_url: Option<String>,
    /// It uses an OTLP/HTTP exporter, which the `otlp` source cannot read.
    pub http_exporter: bool,
}

/// A variable and where it came from (a phrase for comments and output).
#[derive(Debug, Clone, PartialEq)]
pub struct Var {
    pub name: &'static str,
    pub value: String,
    pub how: String,
}

impl Project {
    /// The project in `dir`, if `dir` holds a Medusa config file.
    pub fn find(dir: &Path) -> Option<Self> {
        let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_owned());
        let config_file = CONFIG_FILES
            .iter()
            .map(|name| dir.join(name))
            .find(|path| path.is_file())?;
        let env_path = dir.join(".env");
        let (env_file, vars) = match std::fs::read_to_string(&env_path) {
            Ok(text) => (Some(env_path), dotenv::parse(&text)),
            Err(_) => (None, BTreeMap::new()),
        };
        let instrumentation = INSTRUMENTATION_FILES
            .iter()
            .map(|name| dir.join(name))
            .find_map(|file| {
                let text = std::fs::read_to_string(&file).ok()?;
                Some(scan_instrumentation(file, &text))
            });
        Some(Self {
            dir,
            config_file,
            env_file,
            vars,
            instrumentation,
        })
    }

    /// The first of `names` set in `.env`, else in `environment` (init's own).
    pub fn var(
        &self,
        names: &[&'static str],
        environment: &BTreeMap<String, String>,
    ) -> Option<Var> {
        for &name in names {
            if let (Some(value), Some(file)) = (self.vars.get(name), &self.env_file)
                && !value.is_empty()
            {
                return Some(Var {
                    name,
                    value: value.clone(),
                    how: format!("{name} in {}", file.display()),
                });
            }
        }
        for &name in names {
            if let Some(value) = environment.get(name).filter(|value| !value.is_empty()) {
                return Some(Var {
                    name,
                    value: value.clone(),
                    how: format!("{name} in the environment"),
                });
            }
        }
        None
    }

    /// `medusa-config.ts in /srv/shop`.
    pub fn describe(&self) -> String {
        let name = self
            .config_file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{name} in {}", self.dir.display())
    }
}

/// What an instrumentation file's text says (pure).
pub fn scan_instrumentation(file: PathBuf, text: &str) -> Instrumentation {
    let literal_url = ["\"http", "'http", "`http"].iter().find_map(|start| {
        let at = text.find(start)?;
        let quote = text[at..].chars().next()?;
        let rest = &text[at + 1..];
        let end = rest.find(quote)?;
        let url = &rest[..end];
        (url.starts_with("http://") || url.starts_with("https://")).then(|| url.to_owned())
    });
    Instrumentation {
        file,
        reads_env: text.contains("OTEL_EXPORTER_OTLP"),
        literal_url,
        http_exporter: text.contains("exporter-trace-otlp-http")
            || text.contains("exporter-trace-otlp-proto"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instrumentation_file_with_an_env_endpoint_and_a_fallback() {
        let text = r#"
const { registerOtel } = require("@medusajs/medusa")
const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-grpc")
const url = process.env.OTEL_EXPORTER_OTLP_ENDPOINT || "http://127.0.0.1:4317"
"#;
        let scan = scan_instrumentation("instrumentation.js".into(), text);
        assert!(scan.reads_env);
        assert_eq!(scan.literal_url.as_deref(), Some("http://127.0.0.1:4317"));
        assert!(!scan.http_exporter);
    }

    #[test]
    fn an_http_exporter_with_a_fixed_url() {
        let text = "import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'\n\
                    new OTLPTraceExporter({ url: 'https://otel.example.com/v1/traces' })";
        let scan = scan_instrumentation("instrumentation.ts".into(), text);
        assert!(!scan.reads_env);
        assert_eq!(
            scan.literal_url.as_deref(),
            Some("https://otel.example.com/v1/traces")
        );
        assert!(scan.http_exporter);
    }

    #[test]
    fn dot_env_wins_over_the_environment() {
        let project = Project {
            dir: "/srv/shop".into(),
            config_file: "/srv/shop/medusa-config.ts".into(),
            env_file: Some("/srv/shop/.env".into()),
            vars: BTreeMap::from([("REDIS_URL".to_owned(), "redis://file:6379".to_owned())]),
            instrumentation: None,
        };
        let environment = BTreeMap::from([
            ("REDIS_URL".to_owned(), "redis://env:6379".to_owned()),
            ("DATABASE_URL".to_owned(), "postgres://env/db".to_owned()),
        ]);
        let redis = project.var(&["REDIS_URL"], &environment).expect("found");
        assert_eq!(redis.value, "redis://file:6379");
        assert_eq!(redis.how, "REDIS_URL in /srv/shop/.env");
        let database = project.var(&["DATABASE_URL"], &environment).expect("found");
        assert_eq!(database.value, "postgres://env/db");
        assert!(project.var(&["NOPE"], &environment).is_none());
    }
}
