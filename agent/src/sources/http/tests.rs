//! Tests of the http source: configuration, samples and findings from
//! probes, and probes of a raw HTTP/1.1 server in this process.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::probe::{Answer, Phase, Timings};
use super::*;
use crate::sources::SourceConfig;

fn target(url: &str) -> Target {
    Target {
        url: url.into(),
        method: Method::Get,
        label: None,
    }
}

fn config(targets: Vec<Target>) -> Config {
    Config {
        targets,
        ..Config::default()
    }
}

#[test]
fn config_reads_targets_with_defaults() {
    let text = r#"
        type = "http"
        targets = [
            { url = "https://shop.example.com/?utm=1" },
            { url = "http://10.0.0.5:9000/health", method = "HEAD", label = "api" },
        ]
    "#;
    let parsed: SourceConfig = toml::from_str(text).expect("parses");
    let SourceConfig::Http(config) = parsed else {
        panic!("an http source")
    };
    assert_eq!(config.interval, DEFAULT_INTERVAL);
    assert_eq!(config.timeout, DEFAULT_TIMEOUT);
    assert_eq!(config.targets[0].method, Method::Get);
    assert_eq!(config.targets[1].method, Method::Head);
    assert!(config.validate().is_ok());
    let source = HttpSource::new("http".into(), config);
    let labels: Vec<&str> = source.targets.iter().map(|t| t.label.as_str()).collect();
    assert_eq!(labels, ["https://shop.example.com/", "api"]);

    for bad in [
        "type = \"http\"\ntargets = [{ url = \"http://h/\", method = \"POST\" }]",
        "type = \"http\"\ntargets = [{ url = \"http://h/\", follow = true }]",
        "type = \"http\"\nurl = \"http://h/\"",
    ] {
        assert!(toml::from_str::<SourceConfig>(bad).is_err(), "{bad}");
    }
}

#[test]
fn config_validation_lists_every_problem() {
    let error = config(Vec::new()).validate().expect_err("no targets");
    assert!(error.contains("`targets` is empty"), "{error}");

    let mut labelled = target("http://h/b");
    labelled.label = Some("http://h/a".into());
    let mut control = target("http://h/c");
    control.label = Some("new\nline".into());
    let bad = Config {
        interval: HumanDuration::secs(5),
        timeout: HumanDuration::secs(10),
        ca_file: Some("/nonexistent/ca.pem".into()),
        targets: vec![
            target("http://h/a?x=1"),
            labelled,
            target("ftp://user:s3cret@h/"),
            control,
        ],
        ..Config::default()
    };
    let error = bad.validate().expect_err("invalid");
    for needle in [
        "`timeout` (10s) must not exceed `interval` (5s)",
        "`targets[1]`: the label `http://h/a` is used twice",
        "`targets[2].url` must start with http:// or https://",
        "`targets[3].label` must be at most",
        "`ca_file`: cannot read /nonexistent/ca.pem",
    ] {
        assert!(error.contains(needle), "{needle} missing from: {error}");
    }
    assert!(!error.contains("s3cret"), "{error}");

    let fast = Config {
        interval: HumanDuration(Duration::from_millis(10)),
        timeout: HumanDuration(Duration::ZERO),
        ..config(vec![target("http://h/")])
    };
    let error = fast.validate().expect_err("too fast");
    assert!(error.contains("`interval`") && error.contains("`timeout` must be above zero"));
    let many = config(
        (0..=MAX_TARGETS)
            .map(|i| target(&format!("http://h/{i}")))
            .collect(),
    );
    assert!(
        many.validate()
            .expect_err("too many")
            .contains("at most 100")
    );
}

fn answered(status: u16, cache_headers: Vec<(&'static str, String)>) -> Probe {
    let ms = Duration::from_millis;
    Probe {
        timings: Timings {
            dns: Some(ms(1)),
            connect: Some(ms(2)),
            tls: None,
            first_byte: Some(ms(30)),
            total: Some(ms(35)),
        },
        result: Ok(Answer {
            status,
            body_bytes: 2048,
            truncated: false,
            cache_headers,
        }),
    }
}

fn value(samples: &[v1::Sample], name: &str, label: (&str, &str)) -> Option<f64> {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && s.labels
                    .iter()
                    .any(|l| l.key == label.0 && l.value == label.1)
        })
        .map(|s| s.value)
}

#[test]
fn an_answer_yields_phases_status_size_and_cache_verdicts() {
    let probe = answered(
        200,
        vec![
            ("cache-status", "ExampleCache; hit, CDN; fwd=miss".into()),
            ("x-cache", "MISS".into()),
            ("cf-cache-status", "HIT".into()),
            ("age", "42".into()),
        ],
    );
    let shop = samples("shop", &probe, 7);
    assert_eq!(
        value(&shop, "http_probe_duration_ms", ("phase", "dns")),
        Some(1.0)
    );
    assert_eq!(
        value(&shop, "http_probe_duration_ms", ("phase", "total")),
        Some(35.0)
    );
    assert_eq!(
        value(&shop, "http_probe_duration_ms", ("phase", "tls")),
        None
    );
    assert_eq!(
        value(&shop, "http_probe_success", ("target", "shop")),
        Some(1.0)
    );
    assert_eq!(
        value(&shop, "http_probe_status_code", ("target", "shop")),
        Some(200.0)
    );
    assert_eq!(
        value(&shop, "http_probe_response_bytes", ("target", "shop")),
        Some(2048.0)
    );
    assert_eq!(
        value(&shop, "http_probe_cache_hit", ("header", "cache-status")),
        Some(1.0)
    );
    assert_eq!(
        value(&shop, "http_probe_cache_hit", ("header", "x-cache")),
        Some(0.0)
    );
    assert_eq!(
        value(&shop, "http_probe_cache_hit", ("header", "cf-cache-status")),
        Some(1.0)
    );
    assert_eq!(
        value(&shop, "http_probe_age_seconds", ("target", "shop")),
        Some(42.0)
    );
    assert!(
        shop.iter()
            .all(|s| s.timestamp_ms == 7 && s.labels[0].key == "target")
    );
    for sample in &shop {
        for label in &sample.labels {
            assert!(!label.value.contains("ExampleCache") && !label.value.contains("HIT"));
        }
    }

    let redirect = samples("r", &answered(301, Vec::new()), 0);
    assert_eq!(
        value(&redirect, "http_probe_success", ("target", "r")),
        Some(1.0)
    );
    let down = samples("d", &answered(503, Vec::new()), 0);
    assert_eq!(
        value(&down, "http_probe_success", ("target", "d")),
        Some(0.0)
    );
    assert_eq!(
        value(&down, "http_probe_status_code", ("target", "d")),
        Some(503.0)
    );
    assert_eq!(value(&down, "http_probe_cache_hit", ("target", "d")), None);
}

#[test]
fn a_failed_probe_reports_success_0_and_the_phases_it_completed() {
    let probe = Probe {
        timings: Timings {
            dns: Some(Duration::from_millis(3)),
            ..Timings::default()
        },
        result: Err(ProbeError::Connect {
            endpoint: "127.0.0.1:9".into(),
            source: std::io::ErrorKind::ConnectionRefused.into(),
        }),
    };
    let closed = samples("closed", &probe, 0);
    let names: Vec<&str> = closed.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["http_probe_duration_ms", "http_probe_success"]);
    assert_eq!(closed[1].value, 0.0);
    let finding = check_finding("closed", &hyper::Method::GET, &probe);
    assert!(!finding.ok && finding.what.contains("failed in the connect phase"));
    assert!(
        finding
            .fix
            .unwrap_or_default()
            .contains("nothing accepts connections at 127.0.0.1:9")
    );
}

#[test]
fn check_prints_status_timings_and_cache_headers() {
    let probe = answered(200, vec![("x-cache", "HIT".into()), ("age", "42".into())]);
    let finding = check_finding("shop", &hyper::Method::GET, &probe);
    assert!(finding.ok, "{finding:?}");
    for needle in [
        "GET answered 200",
        "2048 body bytes",
        "first_byte 30.0ms",
        "x-cache: HIT (hit)",
        "age: 42",
    ] {
        assert!(
            finding.what.contains(needle),
            "{needle} missing from {}",
            finding.what
        );
    }
    let bare = check_finding("shop", &hyper::Method::HEAD, &answered(200, Vec::new()));
    assert!(bare.what.contains("no cache headers"));
    let unavailable = check_finding("shop", &hyper::Method::GET, &answered(503, Vec::new()));
    assert!(!unavailable.ok && unavailable.fix.unwrap_or_default().contains("answered 503"));
    let locked = check_finding("shop", &hyper::Method::GET, &answered(401, Vec::new()));
    assert!(locked.fix.unwrap_or_default().contains("USER:PASSWORD"));
}

/// Answers every connection with `response`, then closes it.
async fn serve(response: &'static [u8]) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let _ = stream.write_all(response).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn a_probe_times_each_phase_and_counts_a_chunked_body() {
    let port = serve(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Cache: TCP_HIT\r\nX-Cache: MISS\r\nAge: 5\r\n\r\n\
          5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    .await;
    let url = Url::parse(&format!("http://localhost:{port}/p?secret=1")).expect("url");
    let probe = probe::probe(&url, &hyper::Method::GET, None, Duration::from_secs(5)).await;
    let answer = probe.result.expect("answered");
    assert_eq!((answer.status, answer.body_bytes), (200, 11));
    assert_eq!(
        answer.cache_headers,
        vec![
            ("x-cache", "TCP_HIT, MISS".to_owned()),
            ("age", "5".to_owned())
        ]
    );
    let timings = probe.timings;
    assert!(timings.dns.is_some() && timings.connect.is_some() && timings.tls.is_none());
    assert!(timings.total >= timings.first_byte && timings.total.is_some_and(|t| !t.is_zero()));

    let head = probe::probe(&url, &hyper::Method::HEAD, None, Duration::from_secs(5)).await;
    assert_eq!(head.result.map(|a| a.body_bytes).ok(), Some(0));
}

#[tokio::test]
async fn a_silent_server_times_out_in_the_first_byte_phase() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url =
        Url::parse(&format!("http://{}/", listener.local_addr().expect("addr"))).expect("url");
    let probe = probe::probe(&url, &hyper::Method::GET, None, Duration::from_millis(300)).await;
    let error = probe.result.expect_err("no answer");
    assert_eq!(error.phase(), Phase::FirstByte, "{error}");
    assert!(probe.timings.connect.is_some() && probe.timings.first_byte.is_none());
    drop(listener);
}
