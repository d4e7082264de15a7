//! Access log: follows a web server's log file (nginx `combined`, optionally
//! with `$request_time` / `$upstream_response_time` / `$upstream_cache_status`
//! appended, or JSON lines with configurable keys) and turns each interval's
//! new lines into one `HttpRoute` record per (method, route template,
//! status class), origin `access_log`: a latency histogram in milliseconds
//! over [`LATENCY_BOUNDS_MS`], the shared log-linear bounds of
//! [`headroom_proto::latency`] (this interval's counts, not totals; lines
//! without a duration are left out of it), and response bytes. Alongside,
//! cumulative counters since the agent started:
//! `access_log_requests_total{kind=static|dynamic}`,
//! `access_log_bytes_total{kind}`, `access_log_lines_unparsed_total` and,
//! when lines carry a cache status, `access_log_cache_total{status}`.
//!
//! Privileges: read access to the log file, and write access to
//! `state_dir`, where the read position is kept (see `tail`). Raw paths,
//! query strings, addresses and user agents never leave this module: routes
//! are templates (see `route`), and at most `max_routes` distinct ones are
//! reported, later ones as `other`.
//!
//! Delivery: the position is saved when a scrape's records are handed to
//! the batcher, so a graceful stop or restart neither re-counts nor skips a
//! line; a SIGKILL between that and the next seal loses at most those
//! records.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use headroom_proto::config::HumanDuration;
use headroom_proto::v1;
use serde::Deserialize;

use super::{Finding, ScrapeError, Source, counter};
use headroom_proto::latency::BUCKETS;
use headroom_proto::signals::access_log::{
    ACCESS_LOG_BYTES_TOTAL, ACCESS_LOG_CACHE_TOTAL, ACCESS_LOG_LINES_UNPARSED_TOTAL,
    ACCESS_LOG_REQUESTS_TOTAL,
};
use headroom_proto::signals::http::HTTP_ROUTE_LATENCY_MS;
use parse::{Entry, Fields};
use route::{Kind, Templates};
use tail::Tailer;

pub mod parse;
pub mod route;
pub mod tail;

/// Default emit interval.
pub const DEFAULT_INTERVAL: HumanDuration = HumanDuration::secs(15);
/// Default distinct routes reported by name.
pub const DEFAULT_MAX_ROUTES: usize = 200;
/// Upper bound of `max_routes`.
pub const MAX_MAX_ROUTES: usize = 5_000;
/// Default directory of the saved read position (relative to the agent's
/// working directory).
pub const DEFAULT_STATE_DIR: &str = "headroom-access-log-state";
/// Most bytes read per interval; a larger backlog is read over the next ones.
pub const MAX_BYTES_PER_SCRAPE: u64 = 64 * 1024 * 1024;
/// Upper bounds of the latency buckets, in milliseconds (then `+Inf`): the
/// ones every latency histogram uses (see [`headroom_proto::latency`]).
pub use headroom_proto::latency::BOUNDS_MS as LATENCY_BOUNDS_MS;
/// Route of the requests beyond `max_routes`.
pub const OTHER_ROUTE: &str = "other";
/// Lines `check` parses from the end of the file.
const CHECK_LINES: usize = 20;

/// The line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    #[default]
    NginxCombined,
    Json,
}

impl Format {
    /// The `format` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::NginxCombined => "nginx_combined",
            Format::Json => "json",
        }
    }
}

/// `[[sources]] type = "access_log"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub name: Option<String>,
    /// The log file (the path that is rotated, not a rotated copy).
    pub path: PathBuf,
    pub format: Format,
    /// Keys of a `json` line.
    pub fields: Fields,
    /// How often the new lines are read and their aggregates sent.
    pub interval: HumanDuration,
    /// Where the read position is saved, as `<source name>.offset`.
    pub state_dir: PathBuf,
    /// Route templates tried before the automatic ones, e.g.
    /// `/store/products/:handle`.
    pub routes: Vec<String>,
    /// Distinct routes reported by name; later ones are `other`.
    pub max_routes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: None,
            path: PathBuf::new(),
            format: Format::NginxCombined,
            fields: Fields::default(),
            interval: DEFAULT_INTERVAL,
            state_dir: PathBuf::from(DEFAULT_STATE_DIR),
            routes: Vec::new(),
            max_routes: DEFAULT_MAX_ROUTES,
        }
    }
}

impl Config {
    /// `path` and `state_dir` are required; `interval` at least 100ms;
    /// `max_routes` within 1..=[`MAX_MAX_ROUTES`]; routes start with `/`.
    pub fn validate(&self) -> Result<(), String> {
        if self.path.as_os_str().is_empty() {
            return Err("`path` is required, e.g. /var/log/nginx/access.log".into());
        }
        if self.state_dir.as_os_str().is_empty() {
            return Err("`state_dir` must not be empty".into());
        }
        if self.interval.0 < Duration::from_millis(100) {
            return Err("`interval` must be at least 100ms".into());
        }
        if !(1..=MAX_MAX_ROUTES).contains(&self.max_routes) {
            return Err(format!(
                "`max_routes` must be between 1 and {MAX_MAX_ROUTES}"
            ));
        }
        if let Some(bad) = self.routes.iter().find(|route| !route.starts_with('/')) {
            return Err(format!(
                "`routes`: `{bad}` must start with `/`, e.g. /store/carts/:id/complete"
            ));
        }
        Ok(())
    }

    fn parse(&self, line: &str) -> Option<Entry> {
        match self.format {
            Format::NginxCombined => parse::nginx_combined(line),
            Format::Json => parse::json(line, &self.fields),
        }
    }

    fn format_hint(&self) -> String {
        match self.format {
            Format::NginxCombined => {
                "format = \"nginx_combined\" expects nginx's `combined` log_format \
                 ($remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \
                 \"$http_referer\" \"$http_user_agent\"), optionally followed by $request_time and \
                 $upstream_cache_status; use format = \"json\" with `fields` for anything else"
                    .into()
            }
            Format::Json => format!(
                "format = \"json\" expects one JSON object per line with the keys `{}` (method), \
                 `{}` (path) and `{}` (status); set `fields` to the names your log uses",
                self.fields.method, self.fields.path, self.fields.status
            ),
        }
    }
}

/// One (method, route, status class) in one interval.
#[derive(Debug, Clone, PartialEq)]
struct RouteWindow {
    buckets: [u64; BUCKETS],
    count: u64,
    sum_ms: f64,
    bytes: u64,
}

impl Default for RouteWindow {
    fn default() -> Self {
        Self {
            buckets: [0; BUCKETS],
            count: 0,
            sum_ms: 0.0,
            bytes: 0,
        }
    }
}

/// The index of the bucket holding `ms` (the first bound at or above it).
pub use headroom_proto::latency::bucket;

/// `2xx` for 200..=299, and so on; `None` outside 100..=599.
pub fn status_class(status: u16) -> Option<&'static str> {
    Some(match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => return None,
    })
}

/// Aggregates lines: per-interval routes and totals since the start.
#[derive(Debug, Default)]
struct Aggregator {
    templates: Templates,
    max_routes: usize,
    known_routes: HashSet<String>,
    window: HashMap<(&'static str, String, &'static str), RouteWindow>,
    requests: BTreeMap<&'static str, u64>,
    bytes: BTreeMap<&'static str, u64>,
    unparsed: u64,
    cache: BTreeMap<String, u64>,
}

/// Cache statuses kept by name; others are `other`.
const CACHE_LABELS: &[&str] = &[
    "hit",
    "miss",
    "bypass",
    "expired",
    "stale",
    "updating",
    "revalidated",
    "dynamic",
];

impl Aggregator {
    fn new(config: &Config) -> Self {
        Self {
            templates: Templates::new(&config.routes),
            max_routes: config.max_routes,
            ..Self::default()
        }
    }

    fn add(&mut self, entry: Option<Entry>) {
        let Some(entry) = entry else {
            self.unparsed += 1;
            return;
        };
        let (Some(class), Some((route, kind))) = (
            status_class(entry.status),
            route::template(&entry.target, &self.templates),
        ) else {
            self.unparsed += 1;
            return;
        };
        let route = if self.known_routes.contains(&route) {
            route
        } else if self.known_routes.len() < self.max_routes {
            self.known_routes.insert(route.clone());
            route
        } else {
            OTHER_ROUTE.to_owned()
        };
        let window = self
            .window
            .entry((route::method(&entry.method), route, class))
            .or_default();
        window.bytes += entry.bytes;
        if let Some(ms) = entry.duration_ms {
            window.buckets[bucket(ms)] += 1;
            window.count += 1;
            window.sum_ms += ms;
        }
        *self.requests.entry(kind.as_str()).or_default() += 1;
        *self.bytes.entry(kind.as_str()).or_default() += entry.bytes;
        if let Some(cache) = entry.cache {
            let label = CACHE_LABELS
                .iter()
                .find(|known| **known == cache)
                .copied()
                .unwrap_or("other");
            *self.cache.entry(label.to_owned()).or_default() += 1;
        }
    }

    /// This interval's records (and clears them) plus the running totals.
    fn flush(&mut self, source: &str, start_ms: i64, now_ms: i64) -> v1::Batch {
        let mut batch = v1::Batch::default();
        let mut window: Vec<_> = self.window.drain().collect();
        window.sort_by(|a, b| a.0.cmp(&b.0));
        for ((method, route, class), w) in window {
            batch.http_routes.push(v1::HttpRoute {
                timestamp_ms: now_ms,
                start_ms,
                origin: "access_log".into(),
                method: method.into(),
                route,
                status_class: class.into(),
                latency: (w.count > 0).then(|| v1::Histogram {
                    name: HTTP_ROUTE_LATENCY_MS.name.into(),
                    labels: Vec::new(),
                    start_ms,
                    timestamp_ms: now_ms,
                    bounds: LATENCY_BOUNDS_MS.to_vec(),
                    bucket_counts: w.buckets.to_vec(),
                    count: w.count,
                    sum: w.sum_ms,
                }),
                response_bytes: w.bytes,
            });
        }
        for kind in [Kind::Static, Kind::Dynamic] {
            let labels = [("source", source), ("kind", kind.as_str())];
            let requests = self.requests.get(kind.as_str()).copied().unwrap_or(0);
            let bytes = self.bytes.get(kind.as_str()).copied().unwrap_or(0);
            batch.samples.push(counter(
                &ACCESS_LOG_REQUESTS_TOTAL,
                &labels,
                now_ms,
                requests as f64,
            ));
            batch.samples.push(counter(
                &ACCESS_LOG_BYTES_TOTAL,
                &labels,
                now_ms,
                bytes as f64,
            ));
        }
        batch.samples.push(counter(
            &ACCESS_LOG_LINES_UNPARSED_TOTAL,
            &[("source", source)],
            now_ms,
            self.unparsed as f64,
        ));
        for (status, total) in &self.cache {
            batch.samples.push(counter(
                &ACCESS_LOG_CACHE_TOTAL,
                &[("source", source), ("status", status)],
                now_ms,
                *total as f64,
            ));
        }
        batch
    }
}

/// The source: its configuration, the file it follows and its aggregates.
pub struct AccessLogSource {
    name: String,
    config: Config,
    /// Taken while a read runs on the blocking pool.
    tailer: Option<Tailer>,
    aggregator: Aggregator,
    last_ms: Option<i64>,
}

impl AccessLogSource {
    /// A source that opens its file at the first scrape.
    pub fn new(name: String, config: Config) -> Self {
        let state = config
            .state_dir
            .join(format!("{}.offset", file_name(&name)));
        let tailer = Tailer::new(config.path.clone(), state, MAX_BYTES_PER_SCRAPE);
        Self {
            aggregator: Aggregator::new(&config),
            name,
            config,
            tailer: Some(tailer),
            last_ms: None,
        }
    }
}

/// `name` with anything but `[A-Za-z0-9_-]` replaced by `_`.
fn file_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[async_trait::async_trait]
impl Source for AccessLogSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn scrape(&mut self, now_ms: i64) -> Result<v1::Batch, ScrapeError> {
        let path = self.config.path.display().to_string();
        let Some(mut tailer) = self.tailer.take() else {
            return Err(ScrapeError(format!(
                "the previous read of {path} did not finish"
            )));
        };
        let config = self.config.clone();
        let mut aggregator = std::mem::take(&mut self.aggregator);
        let joined = tokio::task::spawn_blocking(move || {
            let result = tailer.read(&mut |line| {
                let entry = std::str::from_utf8(line)
                    .ok()
                    .filter(|line| !line.trim().is_empty())
                    .map(|line| config.parse(line));
                match entry {
                    Some(entry) => aggregator.add(entry),
                    None if line.iter().all(u8::is_ascii_whitespace) => {}
                    None => aggregator.unparsed += 1,
                }
            });
            (tailer, aggregator, result)
        })
        .await;
        let (tailer, aggregator, result) =
            joined.map_err(|error| ScrapeError(format!("reading {path} panicked: {error}")))?;
        self.tailer = Some(tailer);
        self.aggregator = aggregator;
        let start_ms = self.last_ms.unwrap_or(now_ms);
        self.last_ms = Some(now_ms);
        // Lines read before a failure are still counted and sent.
        let batch = self.aggregator.flush(&self.name, start_ms, now_ms);
        match result {
            Ok(()) => Ok(batch),
            Err(error) if batch.http_routes.is_empty() => Err(ScrapeError(format!(
                "cannot read {path} or save its position in {}: {error}",
                self.config.state_dir.display()
            ))),
            Err(error) => {
                tracing::warn!(source = %self.name, error = %error, "access log read stopped early");
                Ok(batch)
            }
        }
    }

    async fn check(&mut self) -> Vec<Finding> {
        let config = self.config.clone();
        tokio::task::spawn_blocking(move || check_file(&config))
            .await
            .unwrap_or_else(|error| {
                vec![Finding::problem(
                    format!("checking the access log panicked: {error}"),
                    "report this as a bug",
                )]
            })
    }
}

/// Whether the file is readable and its last lines parse, and whether the
/// state directory is writable.
fn check_file(config: &Config) -> Vec<Finding> {
    let path = config.path.display();
    let text = match std::fs::read(&config.path) {
        Ok(bytes) => {
            let tail = bytes.len().saturating_sub(256 * 1024);
            String::from_utf8_lossy(&bytes[tail..]).into_owned()
        }
        Err(error) => {
            return vec![Finding::problem(
                format!("cannot read the access log {path}: {error}"),
                format!(
                    "check `path` and give the agent's user read access to {path} (e.g. add it to the `adm` group)"
                ),
            )];
        }
    };
    let mut findings = vec![Finding::ok(format!("{path} exists and is readable"))];
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    let last = &lines[lines.len().saturating_sub(CHECK_LINES)..];
    let parsed: Vec<Entry> = last.iter().filter_map(|line| config.parse(line)).collect();
    let timed = parsed.iter().filter(|e| e.duration_ms.is_some()).count();
    if last.is_empty() {
        findings.push(Finding::ok(format!(
            "{path} is empty: its format is checked once it has lines"
        )));
    } else if parsed.len() < last.len() {
        findings.push(Finding::problem(
            format!(
                "{} of the last {} lines of {path} parse as {}",
                parsed.len(),
                last.len(),
                config.format.as_str()
            ),
            config.format_hint(),
        ));
    } else {
        findings.push(Finding::ok(format!(
            "the last {} lines of {path} parse ({timed} with a duration)",
            last.len()
        )));
    }
    if !parsed.is_empty() && timed == 0 {
        findings.push(Finding::problem(
            format!("no line of {path} carries a duration: latency histograms will be empty"),
            match config.format {
                Format::NginxCombined => "append $request_time to nginx's log_format".to_owned(),
                Format::Json => format!(
                    "log the request duration under `{}` (or set fields.duration)",
                    config.fields.duration
                ),
            },
        ));
    }
    let probe = config.state_dir.join(".headroom-check");
    match std::fs::create_dir_all(&config.state_dir).and_then(|()| std::fs::write(&probe, b"ok")) {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            findings.push(Finding::ok(format!(
                "the read position is kept in {}",
                config.state_dir.display()
            )));
        }
        Err(error) => findings.push(Finding::problem(
            format!(
                "cannot write to state_dir {}: {error}",
                config.state_dir.display()
            ),
            "set `state_dir` to a directory the agent's user may write",
        )),
    }
    findings
}

#[cfg(test)]
mod tests;
