//! HTTP probes: every scrape requests each configured URL once, all targets
//! concurrently, and reports how long each phase took (`dns`, `connect`,
//! `tls`, `first_byte`, `total`), the status, the body size and the CDN's
//! evidence: whether a cache served the response (`cache-status`,
//! `x-cache`, `cf-cache-status`, normalized by `cache`) and its `age`.
//! The probe itself lives in `probe`, URL parsing in `url`, TLS set-up in
//! `tls`.
//!
//! Samples, all gauges labelled `target` (the target's `label`, by default
//! its URL without userinfo, query or fragment):
//! `http_probe_duration_ms{phase}` for each phase that completed,
//! `http_probe_success` (1 for a 2xx or 3xx answer), and for an answer
//! `http_probe_status_code`, `http_probe_response_bytes`,
//! `http_probe_cache_hit{header}` per cache header present and
//! `http_probe_age_seconds`. No other header value is kept.
//!
//! A target that fails (DNS, refused, TLS, timeout) is a measurement, not a
//! failure of the source: it reports `http_probe_success` 0 and logs a WARN
//! naming the phase, and the other targets report as usual. So `up` says
//! whether the agent could probe every target: it is 0 only when it could
//! not try at all (its TLS roots or `ca_file` cannot be loaded), and an
//! unreachable site shows in `http_probe_success`, not in `up`.
//!
//! Privileges: none; outbound connections to the targets. Redirects are not
//! followed (the 3xx is reported). Credentials may be given as userinfo
//! (`https://USER:PASSWORD@host/…`, sent as Basic auth) and never appear in
//! labels, logs or findings.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use headroom_proto::config::HumanDuration;
use headroom_proto::signals::http::{
    HTTP_PROBE_AGE_SECONDS, HTTP_PROBE_CACHE_HIT, HTTP_PROBE_DURATION_MS,
    HTTP_PROBE_RESPONSE_BYTES, HTTP_PROBE_STATUS_CODE, HTTP_PROBE_SUCCESS,
};
use headroom_proto::v1;
use serde::Deserialize;
use tokio_rustls::TlsConnector;

use self::url::Url;
use super::{Finding, ScrapeError, Source, gauge};
use probe::{Probe, ProbeError};

mod cache;
mod probe;
mod tls;
mod url;

/// Default scrape interval.
pub const DEFAULT_INTERVAL: HumanDuration = HumanDuration::secs(15);
/// Default bound on one probe, all phases together.
pub const DEFAULT_TIMEOUT: HumanDuration = HumanDuration::secs(10);
/// Upper bound on `targets`, to keep cardinality bounded.
pub const MAX_TARGETS: usize = 100;
/// Upper bound on a label's length.
pub const MAX_LABEL_CHARS: usize = 200;

/// `[[sources]] type = "http"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub name: Option<String>,
    pub interval: HumanDuration,
    /// Bounds each probe as a whole (DNS to the end of the body).
    pub timeout: HumanDuration,
    /// PEM certificates to trust for `https://` targets besides the
    /// system's roots (a private CA or a self-signed server).
    pub ca_file: Option<PathBuf>,
    pub targets: Vec<Target>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: None,
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            ca_file: None,
            targets: Vec::new(),
        }
    }
}

/// One URL to probe.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// `http://` or `https://`, optionally with `USER:PASSWORD@`.
    pub url: String,
    #[serde(default)]
    pub method: Method,
    /// The `target` label; default: `url` without userinfo, query or
    /// fragment.
    #[serde(default)]
    pub label: Option<String>,
}

/// `GET` reads the body; `HEAD` only the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    #[default]
    Get,
    Head,
}

impl Method {
    fn to_hyper(self) -> hyper::Method {
        match self {
            Method::Get => hyper::Method::GET,
            Method::Head => hyper::Method::HEAD,
        }
    }
}

impl Target {
    /// The `target` label, or why the URL is invalid.
    fn label(&self) -> Result<String, String> {
        match &self.label {
            Some(label) => Ok(label.clone()),
            None => Url::parse(&self.url).map(|url| url.label),
        }
    }
}

impl Config {
    /// `interval` at least 100ms; `timeout` above zero and at most
    /// `interval`; 1 to [`MAX_TARGETS`] targets with valid URLs and distinct
    /// short labels; `ca_file` readable PEM. Every problem is listed.
    pub fn validate(&self) -> Result<(), String> {
        let mut errors = Vec::new();
        if self.interval.0 < Duration::from_millis(100) {
            errors.push("`interval` must be at least 100ms".to_owned());
        }
        if self.timeout.0.is_zero() {
            errors.push("`timeout` must be above zero".to_owned());
        } else if self.timeout.0 > self.interval.0 {
            errors.push(format!(
                "`timeout` ({}) must not exceed `interval` ({})",
                self.timeout, self.interval
            ));
        }
        if self.targets.is_empty() {
            errors.push(
                "`targets` is empty: add targets = [{ url = \"https://shop.example.com/\" }]"
                    .to_owned(),
            );
        }
        if self.targets.len() > MAX_TARGETS {
            errors.push(format!(
                "`targets` lists {}, at most {MAX_TARGETS} are allowed",
                self.targets.len()
            ));
        }
        let mut labels = HashSet::new();
        for (index, target) in self.targets.iter().enumerate() {
            if let Err(error) = Url::parse(&target.url) {
                errors.push(format!("`targets[{index}].url` {error}"));
                continue;
            }
            let Ok(label) = target.label() else { continue };
            if label.trim().is_empty() {
                errors.push(format!("`targets[{index}].label` is empty"));
            } else if label.chars().count() > MAX_LABEL_CHARS || label.chars().any(char::is_control)
            {
                errors.push(format!(
                    "`targets[{index}].label` must be at most {MAX_LABEL_CHARS} printable characters; set a short `label`"
                ));
            } else if !labels.insert(label.clone()) {
                errors.push(format!(
                    "`targets[{index}]`: the label `{label}` is used twice; set distinct `label`s"
                ));
            }
        }
        if let Some(path) = &self.ca_file
            && let Err(error) = tls::read_ca_file(path)
        {
            errors.push(format!("`ca_file`: {error}"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }
}

/// A target ready to probe.
struct Prepared {
    label: String,
    method: hyper::Method,
    /// Invalid URLs are refused by `validate`; kept here to fail its probe.
    url: Result<Url, String>,
}

/// The source: its targets and, once needed, the TLS client.
pub struct HttpSource {
    name: String,
    config: Config,
    targets: Vec<Prepared>,
    tls: Option<TlsConnector>,
    /// Labels of targets whose last probe failed (to log recoveries).
    failing: HashSet<String>,
}

impl HttpSource {
    /// A source that sets up TLS on its first scrape with an https target.
    pub fn new(name: String, config: Config) -> Self {
        let targets = config
            .targets
            .iter()
            .enumerate()
            .map(|(index, target)| Prepared {
                label: target.label().unwrap_or_else(|_| format!("target-{index}")),
                method: target.method.to_hyper(),
                url: Url::parse(&target.url),
            })
            .collect();
        Self {
            name,
            config,
            targets,
            tls: None,
            failing: HashSet::new(),
        }
    }

    /// The TLS client when some target is `https://`, built once (reading
    /// the system's roots and `ca_file` off the runtime's threads).
    async fn tls(&mut self) -> Result<Option<TlsConnector>, String> {
        let wants_tls = self
            .targets
            .iter()
            .any(|target| target.url.as_ref().is_ok_and(|url| url.https));
        if !wants_tls {
            return Ok(None);
        }
        if let Some(tls) = &self.tls {
            return Ok(Some(tls.clone()));
        }
        let ca_file = self.config.ca_file.clone();
        let tls = tokio::task::spawn_blocking(move || tls::tls_connector(ca_file.as_deref()))
            .await
            .map_err(|error| format!("loading the TLS roots failed: {error}"))??;
        Ok(Some(self.tls.insert(tls).clone()))
    }

    /// Probes every target concurrently, in the order of `targets`.
    async fn probe_all(&self, tls: Option<&TlsConnector>) -> Vec<Probe> {
        let timeout = self.config.timeout.0;
        futures::future::join_all(self.targets.iter().map(|target| async move {
            match &target.url {
                Ok(url) => probe::probe(url, &target.method, tls, timeout).await,
                Err(error) => Probe {
                    timings: probe::Timings::default(),
                    result: Err(ProbeError::InvalidUrl(error.clone())),
                },
            }
        }))
        .await
    }
}

#[async_trait::async_trait]
impl Source for HttpSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn scrape(&mut self, now_ms: i64) -> Result<v1::Batch, ScrapeError> {
        let tls = self
            .tls()
            .await
            .map_err(|error| ScrapeError(format!("cannot probe the https targets: {error}")))?;
        let probes = self.probe_all(tls.as_ref()).await;
        let mut batch = v1::Batch::default();
        for (target, probe) in self.targets.iter().zip(&probes) {
            match &probe.result {
                Err(error) => {
                    tracing::warn!(source = %self.name, target = %target.label, phase = %error.phase(), error = %error, "probe failed");
                    self.failing.insert(target.label.clone());
                }
                Ok(_) => {
                    if self.failing.remove(&target.label) {
                        tracing::info!(source = %self.name, target = %target.label, "probe recovered");
                    }
                }
            }
            batch.samples.extend(samples(&target.label, probe, now_ms));
        }
        Ok(batch)
    }

    async fn check(&mut self) -> Vec<Finding> {
        let tls = match self.tls().await {
            Ok(tls) => tls,
            Err(error) => {
                return vec![Finding::problem(
                    format!("cannot set up TLS for the https targets: {error}"),
                    "set `ca_file` to a readable PEM file of certificates, or install the system's CA roots (ca-certificates)",
                )];
            }
        };
        let probes = self.probe_all(tls.as_ref()).await;
        self.targets
            .iter()
            .zip(&probes)
            .map(|(target, probe)| check_finding(&target.label, &target.method, probe))
            .collect()
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Whether a status counts as success: 2xx, or a 3xx (not followed).
fn is_success(status: u16) -> bool {
    (200..400).contains(&status)
}

/// One probe → its samples (pure).
fn samples(label: &str, probe: &Probe, now_ms: i64) -> Vec<v1::Sample> {
    let target = [("target", label)];
    let mut samples: Vec<v1::Sample> = probe
        .timings
        .phases()
        .into_iter()
        .filter_map(|(phase, duration)| {
            let labels = [("target", label), ("phase", phase.as_str())];
            duration
                .map(|duration| gauge(&HTTP_PROBE_DURATION_MS, &labels, now_ms, millis(duration)))
        })
        .collect();
    let success = probe
        .result
        .as_ref()
        .is_ok_and(|answer| is_success(answer.status));
    samples.push(gauge(
        &HTTP_PROBE_SUCCESS,
        &target,
        now_ms,
        f64::from(u8::from(success)),
    ));
    let Ok(answer) = &probe.result else {
        return samples;
    };
    samples.push(gauge(
        &HTTP_PROBE_STATUS_CODE,
        &target,
        now_ms,
        f64::from(answer.status),
    ));
    samples.push(gauge(
        &HTTP_PROBE_RESPONSE_BYTES,
        &target,
        now_ms,
        answer.body_bytes as f64,
    ));
    for (header, value) in &answer.cache_headers {
        if let Some(hit) = cache::is_hit(header, value) {
            let labels = [("target", label), ("header", *header)];
            samples.push(gauge(
                &HTTP_PROBE_CACHE_HIT,
                &labels,
                now_ms,
                f64::from(u8::from(hit)),
            ));
        } else if *header == cache::AGE_HEADER
            && let Some(age) = cache::age_seconds(value)
        {
            samples.push(gauge(&HTTP_PROBE_AGE_SECONDS, &target, now_ms, age));
        }
    }
    samples
}

/// What `check` says about one probe (pure).
fn check_finding(label: &str, method: &hyper::Method, probe: &Probe) -> Finding {
    let answer = match &probe.result {
        Ok(answer) => answer,
        Err(error) => {
            return Finding::problem(
                format!(
                    "{label}: {method} failed in the {} phase: {error}",
                    error.phase()
                ),
                error.fix(),
            );
        }
    };
    let timings: Vec<String> = probe
        .timings
        .phases()
        .into_iter()
        .filter_map(|(phase, duration)| duration.map(|d| format!("{phase} {:.1}ms", millis(d))))
        .collect();
    let cache = if answer.cache_headers.is_empty() {
        "no cache headers (cache-status, x-cache, cf-cache-status, age): nothing says a CDN served it".to_owned()
    } else {
        let seen: Vec<String> = answer
            .cache_headers
            .iter()
            .map(|(header, value)| {
                let value: String = value.chars().take(80).collect();
                match cache::is_hit(header, &value) {
                    Some(true) => format!("{header}: {value} (hit)"),
                    Some(false) => format!("{header}: {value} (miss)"),
                    None => format!("{header}: {value}"),
                }
            })
            .collect();
        format!("cache headers {}", seen.join("; "))
    };
    let truncated = if answer.truncated {
        " (stopped at the cap)"
    } else {
        ""
    };
    let what = format!(
        "{label}: {method} answered {} with {} body bytes{truncated}; {}; {cache}",
        answer.status,
        answer.body_bytes,
        timings.join(", ")
    );
    match answer.status {
        status if is_success(status) => Finding::ok(what),
        401 | 407 => Finding::problem(
            what,
            "the server wants credentials: put them in `url` as https://USER:PASSWORD@host/… (sent as Basic auth)",
        ),
        status => Finding::problem(
            what,
            format!(
                "the server answered {status}: check the path in `url` and the server's logs (a probe expects a 2xx or 3xx)"
            ),
        ),
    }
}

#[cfg(test)]
mod tests;
