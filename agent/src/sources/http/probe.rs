//! One probe of one URL, phase by phase: DNS (`lookup_host`), TCP connect
//! (each resolved address in turn), TLS handshake (see `tls`), then one
//! HTTP/1.1 request over that stream (hyper's `conn::http1`), timing the
//! first byte of the response head and the whole body (read and counted,
//! never kept, up to [`MAX_BODY_BYTES`]). Redirects are not followed. The
//! whole probe shares one deadline; a timeout names the phase it
//! interrupted. Errors name `host:port`, never the URL.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use http_body_util::BodyExt as _;
use hyper::Method;
use hyper::body::Body as _;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use super::cache::{AGE_HEADER, HIT_HEADERS};
use super::tls::TlsProblem;
use super::url::Url;

/// The body is read (and counted) up to this many bytes; the rest is left
/// unread and `total` stops there.
pub const MAX_BODY_BYTES: u64 = 10 << 20;

/// A probe's phases, in order. `total` runs from the start of DNS to the
/// end of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Dns,
    Connect,
    Tls,
    FirstByte,
    Total,
}

impl Phase {
    /// The `phase` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Dns => "dns",
            Phase::Connect => "connect",
            Phase::Tls => "tls",
            Phase::FirstByte => "first_byte",
            Phase::Total => "total",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a probe failed, naming `host:port`, never the URL.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("the url is invalid: {0}")]
    InvalidUrl(String),
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("{host} resolves to no address")]
    NoAddress { host: String },
    #[error("cannot connect to {endpoint}: {source}")]
    Connect {
        endpoint: String,
        source: std::io::Error,
    },
    #[error("TLS with {endpoint}: {}: {source}", problem.describe())]
    Tls {
        endpoint: String,
        problem: TlsProblem,
        source: std::io::Error,
    },
    #[error("TLS with {endpoint}: {reason}")]
    TlsSetup { endpoint: String, reason: String },
    #[error(
        "HTTP with {endpoint} failed before the response head: {}",
        chain(source)
    )]
    Head {
        endpoint: String,
        source: hyper::Error,
    },
    #[error("reading the body from {endpoint} failed: {}", chain(source))]
    Body {
        endpoint: String,
        source: hyper::Error,
    },
    #[error("{endpoint} did not finish the {phase} phase within the {timeout:?} timeout")]
    Timeout {
        endpoint: String,
        phase: Phase,
        timeout: Duration,
    },
}

impl ProbeError {
    /// The phase that failed.
    pub fn phase(&self) -> Phase {
        match self {
            ProbeError::InvalidUrl(_)
            | ProbeError::Resolve { .. }
            | ProbeError::NoAddress { .. } => Phase::Dns,
            ProbeError::Connect { .. } => Phase::Connect,
            ProbeError::Tls { .. } | ProbeError::TlsSetup { .. } => Phase::Tls,
            ProbeError::Head { .. } => Phase::FirstByte,
            ProbeError::Body { .. } => Phase::Total,
            ProbeError::Timeout { phase, .. } => *phase,
        }
    }

    /// How to fix it, as a sentence for `check`.
    pub fn fix(&self) -> String {
        match self {
            ProbeError::InvalidUrl(_) => {
                "write `url` as http://host[:port]/path or https://…".into()
            }
            ProbeError::Resolve { host, .. } | ProbeError::NoAddress { host } => format!(
                "check the host name {host} in `url`, and that this machine's resolver (/etc/resolv.conf) knows it"
            ),
            ProbeError::Connect { endpoint, source }
                if source.kind() == std::io::ErrorKind::ConnectionRefused =>
            {
                format!(
                    "nothing accepts connections at {endpoint}: is the server running, and is the port in `url` right?"
                )
            }
            ProbeError::Connect { endpoint, .. } => format!(
                "{endpoint} cannot be reached from this machine: check routes and firewalls"
            ),
            ProbeError::Tls {
                problem: TlsProblem::Untrusted,
                ..
            } => {
                "the certificate is not trusted: set `ca_file` to the PEM of the CA that signed it \
                  (or of the certificate itself when self-signed)"
                    .into()
            }
            ProbeError::Tls {
                problem: TlsProblem::WrongName,
                endpoint,
                ..
            } => format!(
                "the certificate of {endpoint} is not issued for this host: use the name it was issued for in `url`"
            ),
            ProbeError::Tls {
                problem: TlsProblem::Expired | TlsProblem::NotYetValid,
                endpoint,
                ..
            } => format!("renew the certificate of {endpoint}, and check this machine's clock"),
            ProbeError::Tls { endpoint, .. } => format!(
                "check that {endpoint} speaks TLS (use http:// for plain HTTP) with a version and cipher rustls accepts"
            ),
            ProbeError::TlsSetup { .. } => {
                "set `ca_file` to a readable PEM file, or install the system's CA roots".into()
            }
            ProbeError::Head { endpoint, .. } | ProbeError::Body { endpoint, .. } => {
                format!("check that {endpoint} serves HTTP/1.1 at this URL (https:// for TLS)")
            }
            ProbeError::Timeout {
                endpoint, phase, ..
            } => format!(
                "{endpoint} is too slow or silently dropped in the {phase} phase: check firewalls, or raise `timeout`"
            ),
        }
    }
}

/// An error with its sources, `: `-separated.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// How long each phase took; `None` for phases not reached (and for `tls`
/// over plain HTTP).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timings {
    pub dns: Option<Duration>,
    pub connect: Option<Duration>,
    pub tls: Option<Duration>,
    pub first_byte: Option<Duration>,
    pub total: Option<Duration>,
}

impl Timings {
    /// Each phase with its duration, in order.
    pub fn phases(&self) -> [(Phase, Option<Duration>); 5] {
        [
            (Phase::Dns, self.dns),
            (Phase::Connect, self.connect),
            (Phase::Tls, self.tls),
            (Phase::FirstByte, self.first_byte),
            (Phase::Total, self.total),
        ]
    }
}

/// The response, reduced to what is reported.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// Body bytes read (after chunked decoding), at most [`MAX_BODY_BYTES`].
    pub body_bytes: u64,
    /// The body was longer than [`MAX_BODY_BYTES`].
    pub truncated: bool,
    /// The cache headers present (lower-case name, values joined by `, `),
    /// kept in memory for normalization and `check` only.
    pub cache_headers: Vec<(&'static str, String)>,
}

/// One probe's outcome: the phases that completed, and the answer or why
/// there was none.
#[derive(Debug)]
pub struct Probe {
    pub timings: Timings,
    pub result: Result<Answer, ProbeError>,
}

/// Probes `url` once with `method` within `timeout`. `tls` is required for
/// `https://`.
pub async fn probe(
    url: &Url,
    method: &Method,
    tls: Option<&TlsConnector>,
    timeout: Duration,
) -> Probe {
    let mut timings = Timings::default();
    let result = run(url, method, tls, timeout, &mut timings).await;
    Probe { timings, result }
}

async fn run(
    url: &Url,
    method: &Method,
    tls: Option<&TlsConnector>,
    timeout: Duration,
    timings: &mut Timings,
) -> Result<Answer, ProbeError> {
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + timeout;
    let within = |phase: Phase| Within {
        deadline,
        phase,
        timeout,
        endpoint: &url.endpoint,
    };

    let addresses: Vec<SocketAddr> = within(Phase::Dns)
        .run(tokio::net::lookup_host((url.host.as_str(), url.port)))
        .await?
        .map_err(|source| ProbeError::Resolve {
            host: url.host.clone(),
            source,
        })?
        .collect();
    if addresses.is_empty() {
        return Err(ProbeError::NoAddress {
            host: url.host.clone(),
        });
    }
    timings.dns = Some(started.elapsed());

    let connecting = Instant::now();
    let mut last_error = None;
    let mut stream = None;
    for address in addresses {
        match within(Phase::Connect)
            .run(TcpStream::connect(address))
            .await?
        {
            Ok(connected) => {
                stream = Some(connected);
                break;
            }
            Err(error) => last_error = Some(error),
        }
    }
    let stream = match (stream, last_error) {
        (Some(stream), _) => stream,
        (None, error) => {
            return Err(ProbeError::Connect {
                endpoint: url.endpoint.clone(),
                source: error.unwrap_or_else(|| std::io::ErrorKind::NotConnected.into()),
            });
        }
    };
    let _ = stream.set_nodelay(true);
    timings.connect = Some(connecting.elapsed());

    if !url.https {
        return exchange(stream, url, method, within, started, timings).await;
    }
    let tls_error = |reason: &str| ProbeError::TlsSetup {
        endpoint: url.endpoint.clone(),
        reason: reason.to_owned(),
    };
    let connector = tls.ok_or_else(|| tls_error("TLS is not set up"))?;
    let server_name = ServerName::try_from(url.host.clone())
        .map_err(|_| tls_error("the host is not a valid TLS server name"))?;
    let handshaking = Instant::now();
    let stream = within(Phase::Tls)
        .run(connector.connect(server_name, stream))
        .await?
        .map_err(|source| ProbeError::Tls {
            endpoint: url.endpoint.clone(),
            problem: TlsProblem::of(&source),
            source,
        })?;
    timings.tls = Some(handshaking.elapsed());
    exchange(stream, url, method, within, started, timings).await
}

/// The shared deadline, applied to one phase.
#[derive(Clone, Copy)]
struct Within<'a> {
    deadline: tokio::time::Instant,
    phase: Phase,
    timeout: Duration,
    endpoint: &'a str,
}

impl Within<'_> {
    async fn run<F: Future>(self, future: F) -> Result<F::Output, ProbeError> {
        tokio::time::timeout_at(self.deadline, future)
            .await
            .map_err(|_| ProbeError::Timeout {
                endpoint: self.endpoint.to_owned(),
                phase: self.phase,
                timeout: self.timeout,
            })
    }
}

/// Sends the request over `io` and reads the response; the connection is
/// driven alongside and closed when this returns.
async fn exchange<'a, S>(
    io: S,
    url: &Url,
    method: &Method,
    within: impl Fn(Phase) -> Within<'a>,
    started: Instant,
    timings: &mut Timings,
) -> Result<Answer, ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let head_error = |source| ProbeError::Head {
        endpoint: url.endpoint.clone(),
        source,
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(head_error)?;
    // Errors of the connection reach the request too; once it ends, only
    // the request's side matters.
    let driver = async move {
        let _ = connection.await;
        std::future::pending::<Infallible>().await
    };
    let work = async {
        let sent = Instant::now();
        let response = within(Phase::FirstByte)
            .run(sender.send_request(url.request(method)))
            .await?
            .map_err(head_error)?;
        timings.first_byte = Some(sent.elapsed());
        let mut answer = Answer {
            status: response.status().as_u16(),
            cache_headers: cache_headers(response.headers()),
            ..Answer::default()
        };
        let mut body = response.into_body();
        while let Some(frame) = within(Phase::Total).run(body.frame()).await? {
            let frame = frame.map_err(|source| ProbeError::Body {
                endpoint: url.endpoint.clone(),
                source,
            })?;
            if let Some(data) = frame.data_ref() {
                answer.body_bytes += data.len() as u64;
                if answer.body_bytes >= MAX_BODY_BYTES {
                    answer.truncated = answer.body_bytes > MAX_BODY_BYTES || !body.is_end_stream();
                    answer.body_bytes = MAX_BODY_BYTES;
                    break;
                }
            }
        }
        timings.total = Some(started.elapsed());
        Ok(answer)
    };
    tokio::select! {
        result = work => result,
        never = driver => match never {},
    }
}

/// The cache headers present, several lines of one joined by `, `; values
/// that are not visible ASCII are skipped.
fn cache_headers(headers: &hyper::HeaderMap) -> Vec<(&'static str, String)> {
    HIT_HEADERS
        .iter()
        .chain(std::iter::once(&AGE_HEADER))
        .filter_map(|name| {
            let values: Vec<&str> = headers
                .get_all(*name)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .collect();
            (!values.is_empty()).then(|| (*name, values.join(", ")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_name_their_phase_and_fix() {
        let refused = ProbeError::Connect {
            endpoint: "h:1".into(),
            source: std::io::ErrorKind::ConnectionRefused.into(),
        };
        assert_eq!(refused.phase(), Phase::Connect);
        assert!(refused.fix().contains("nothing accepts connections at h:1"));
        let untrusted = ProbeError::Tls {
            endpoint: "h:443".into(),
            problem: TlsProblem::Untrusted,
            source: std::io::Error::other("invalid peer certificate: UnknownIssuer"),
        };
        assert_eq!(untrusted.phase(), Phase::Tls);
        assert!(untrusted.to_string().contains("not trusted"));
        assert!(untrusted.fix().contains("ca_file"));
        let slow = ProbeError::Timeout {
            endpoint: "h:1".into(),
            phase: Phase::FirstByte,
            timeout: Duration::from_secs(1),
        };
        assert_eq!(slow.phase(), Phase::FirstByte);
        assert!(slow.to_string().contains("first_byte"));
    }
}
