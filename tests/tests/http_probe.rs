//! The http source end to end: a real agent probes a tiny HTTP/1.1 server
//! started by the test (a cached page, a cache miss, a 503), a closed port
//! and the same server over TLS with a self-signed certificate, and the
//! collector stores the phases, statuses and cache verdicts. A target that
//! fails reports `http_probe_success` 0 while the others keep reporting;
//! credentials and query strings never reach labels or logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use headroom_tests::{Agent, Collector, CollectorOptions, free_port, tail, wait_for};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, ServerConfig};

const DEADLINE: Duration = Duration::from_secs(30);

/// An agent.toml with `sources` appended.
fn agent_toml(id: &str, endpoint: &str, sources: &str) -> String {
    format!(
        "[agent]\nid = \"{id}\"\nflush_interval = \"200ms\"\n[collector]\nendpoint = \"{endpoint}\"\n\
         min_backoff = \"100ms\"\nmax_backoff = \"1s\"\n[spool]\ndir = \"{{spool}}\"\n{sources}"
    )
}

/// The request heads the site received.
type Requests = Arc<Mutex<Vec<String>>>;

/// The site's answer to `path`: raw HTTP/1.1, closed after one response.
fn response(path: &str) -> Vec<u8> {
    let path = path.split('?').next().unwrap_or_default();
    let (status, headers, body) = match path {
        "/cached" => ("200 OK", "x-cache: HIT\r\nage: 42\r\n", vec![b'x'; 2048]),
        "/miss" => ("200 OK", "cf-cache-status: MISS\r\n", b"fresh".to_vec()),
        "/down" => ("503 Service Unavailable", "", b"try again later".to_vec()),
        _ => ("404 Not Found", "", Vec::new()),
    };
    let mut bytes = format!(
        "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend(body);
    bytes
}

/// Reads one request head, records it and answers it.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, requests: Requests) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 << 10 {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    requests.lock().unwrap().push(head);
    let _ = stream.write_all(&response(&path)).await;
    let _ = stream.shutdown().await;
}

/// Serves the site over plain HTTP on a free port.
async fn serve_http() -> (u16, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Requests::default();
    let recorded = requests.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, recorded.clone()));
        }
    });
    (port, requests)
}

/// Serves the site over TLS with a fresh self-signed certificate for
/// `localhost`; returns the port and the certificate's PEM file.
async fn serve_https(dir: &std::path::Path) -> (u16, String) {
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_file = dir.join("site.pem");
    std::fs::write(&cert_file, key.cert.pem()).unwrap();
    let private_key = rustls::pki_types::PrivatePkcs8KeyDer::from(key.signing_key.serialize_der());
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![key.cert.der().clone()], private_key.into())
            .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // An untrusting client aborts the handshake: nothing to answer.
                if let Ok(stream) = acceptor.accept(stream).await {
                    answer(stream, Requests::default()).await;
                }
            });
        }
    });
    (port, cert_file.display().to_string())
}

/// Every point of the one series `name` with `labels` (empty when absent).
async fn points(collector: &Collector, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
    let series = collector.points(name, labels).await;
    assert!(series.len() <= 1, "{name} {labels:?}: {series:?}");
    series
        .first()
        .map(|points| points.iter().map(|(_, value)| *value).collect())
        .unwrap_or_default()
}

/// The last value of the one series `name` with `labels`, once it exists.
async fn last(collector: &Collector, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    points(collector, name, labels).await.last().copied()
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_report_phases_statuses_and_cache_hits_while_a_closed_port_fails() {
    let (port, requests) = serve_http().await;
    let closed = free_port();
    let collector = Collector::start(CollectorOptions::default()).await;
    let sources = format!(
        "[[sources]]\ntype = \"http\"\nname = \"shop\"\ninterval = \"1s\"\ntimeout = \"1s\"\ntargets = [\n\
         {{ url = \"http://probe:s3cret@127.0.0.1:{port}/cached?session=s3cret\" }},\n\
         {{ url = \"http://127.0.0.1:{port}/miss\", label = \"miss\" }},\n\
         {{ url = \"http://127.0.0.1:{port}/down\", method = \"GET\", label = \"down\" }},\n\
         {{ url = \"http://127.0.0.1:{closed}/\", label = \"closed\" }},\n]\n"
    );
    let agent = Agent::start(&agent_toml("http-probe", &collector.endpoint(), &sources));
    let cached_label = format!("http://127.0.0.1:{port}/cached");
    let target = |label: &'static str| [("agent", "http-probe"), ("target", label)];
    let cached = [("agent", "http-probe"), ("target", cached_label.as_str())];

    wait_for(DEADLINE, "three probes of every target", || async {
        for labels in [cached, target("miss"), target("down"), target("closed")] {
            let success = points(&collector, "http_probe_success", &labels).await;
            if success.len() < 3 {
                return None;
            }
        }
        Some(())
    })
    .await;
    let log = tail(&agent.log, 200);

    let with = |phase: &'static str| [cached[0], cached[1], ("phase", phase)];
    for phase in ["dns", "connect", "first_byte", "total"] {
        let ms = last(&collector, "http_probe_duration_ms", &with(phase)).await;
        assert!(ms.is_some_and(|ms| ms >= 0.0), "{phase}: {ms:?}\n{log}");
    }
    let total = last(&collector, "http_probe_duration_ms", &with("total")).await;
    assert!(total.is_some_and(|ms| ms > 0.0), "total: {total:?}");
    let tls = points(&collector, "http_probe_duration_ms", &with("tls")).await;
    assert!(tls.is_empty(), "no TLS phase over http://: {tls:?}");
    assert_eq!(
        last(&collector, "http_probe_status_code", &cached).await,
        Some(200.0)
    );
    assert_eq!(
        last(&collector, "http_probe_success", &cached).await,
        Some(1.0)
    );
    assert_eq!(
        last(&collector, "http_probe_response_bytes", &cached).await,
        Some(2048.0)
    );
    assert_eq!(
        last(&collector, "http_probe_age_seconds", &cached).await,
        Some(42.0)
    );
    let x_cache = [cached[0], cached[1], ("header", "x-cache")];
    assert_eq!(
        last(&collector, "http_probe_cache_hit", &x_cache).await,
        Some(1.0)
    );

    let miss = target("miss");
    let cf = [miss[0], miss[1], ("header", "cf-cache-status")];
    assert_eq!(
        last(&collector, "http_probe_cache_hit", &cf).await,
        Some(0.0)
    );
    assert_eq!(
        last(&collector, "http_probe_status_code", &miss).await,
        Some(200.0)
    );
    assert_eq!(
        last(&collector, "http_probe_age_seconds", &miss).await,
        None
    );

    let down = target("down");
    assert_eq!(
        last(&collector, "http_probe_status_code", &down).await,
        Some(503.0)
    );
    assert_eq!(
        last(&collector, "http_probe_success", &down).await,
        Some(0.0)
    );

    let closed_target = target("closed");
    let failures = points(&collector, "http_probe_success", &closed_target).await;
    assert!(
        failures.iter().all(|v| *v == 0.0),
        "port {closed}: {failures:?}"
    );
    assert!(
        points(&collector, "http_probe_status_code", &closed_target)
            .await
            .is_empty(),
        "a failed probe has no status"
    );
    let up = points(
        &collector,
        "up",
        &[("agent", "http-probe"), ("source", "shop")],
    )
    .await;
    assert!(
        !up.is_empty() && up.iter().all(|v| *v == 1.0),
        "a target that fails is data, not a source failure: {up:?}"
    );

    assert!(
        log.contains("probe failed") && log.contains("phase=connect") && log.contains("closed"),
        "the WARN names the target and the phase:\n{log}"
    );
    let (_, listed) = collector.get("/api/v1/series?prefix=http_probe").await;
    let listed = listed.to_string();
    assert!(listed.contains(&cached_label), "{listed}");
    for secret in ["s3cret", "session"] {
        assert!(!listed.contains(secret), "{secret} in series: {listed}");
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
    let heads = requests.lock().unwrap().clone();
    let cached_head = heads
        .iter()
        .find(|head| head.starts_with("GET /cached?session=s3cret HTTP/1.1"))
        .expect("the query string is sent");
    // base64("probe:s3cret")
    assert!(
        cached_head.contains("authorization: Basic cHJvYmU6czNjcmV0"),
        "{cached_head}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn https_probes_time_the_handshake_only_when_the_certificate_is_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let (port, cert_file) = serve_https(dir.path()).await;
    let collector = Collector::start(CollectorOptions::default()).await;
    let url = format!("https://localhost:{port}/cached");
    let sources = format!(
        "[[sources]]\ntype = \"http\"\nname = \"untrusting\"\ninterval = \"1s\"\ntimeout = \"1s\"\n\
         targets = [{{ url = \"{url}\", label = \"untrusted\" }}]\n\
         [[sources]]\ntype = \"http\"\nname = \"trusting\"\ninterval = \"1s\"\ntimeout = \"1s\"\n\
         ca_file = {cert_file:?}\ntargets = [{{ url = \"{url}\", label = \"trusted\" }}]\n"
    );
    let agent = Agent::start(&agent_toml("https-probe", &collector.endpoint(), &sources));
    let trusted = [("agent", "https-probe"), ("target", "trusted")];
    let untrusted = [("agent", "https-probe"), ("target", "untrusted")];

    wait_for(DEADLINE, "two probes of each https target", || async {
        let ok = points(&collector, "http_probe_success", &trusted).await;
        let refused = points(&collector, "http_probe_success", &untrusted).await;
        (ok.len() >= 2 && refused.len() >= 2).then_some(())
    })
    .await;
    let log = tail(&agent.log, 200);

    assert_eq!(
        last(&collector, "http_probe_success", &trusted).await,
        Some(1.0),
        "{log}"
    );
    let tls = [trusted[0], trusted[1], ("phase", "tls")];
    let handshake = last(&collector, "http_probe_duration_ms", &tls).await;
    assert!(
        handshake.is_some_and(|ms| ms > 0.0),
        "tls phase: {handshake:?}"
    );
    assert_eq!(
        last(&collector, "http_probe_status_code", &trusted).await,
        Some(200.0)
    );
    let x_cache = [trusted[0], trusted[1], ("header", "x-cache")];
    assert_eq!(
        last(&collector, "http_probe_cache_hit", &x_cache).await,
        Some(1.0)
    );

    let refused = points(&collector, "http_probe_success", &untrusted).await;
    assert!(refused.iter().all(|v| *v == 0.0), "{refused:?}");
    let no_tls = [untrusted[0], untrusted[1], ("phase", "tls")];
    assert!(
        points(&collector, "http_probe_duration_ms", &no_tls)
            .await
            .is_empty()
    );
    let connect = [untrusted[0], untrusted[1], ("phase", "connect")];
    assert!(
        last(&collector, "http_probe_duration_ms", &connect)
            .await
            .is_some()
    );
    assert!(
        log.contains("phase=tls") && log.contains("the certificate is not trusted"),
        "the WARN says the TLS phase failed and why:\n{log}"
    );
}
