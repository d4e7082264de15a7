//! Tests of the access log source as a whole: config, aggregation, scrapes
//! of a real file, `check`.

use std::io::Write;

use super::*;

const CART: &str = "cart_01HZX3Q4M2N5P6R7S8T9V0W1XY";

fn line(method: &str, path: &str, status: u16, bytes: u64, seconds: f64) -> String {
    format!(
        "10.0.0.1 - - [27/Nov/2026:13:00:00 +0000] \"{method} {path} HTTP/1.1\" {status} {bytes} \"-\" \"curl/8 (x; y)\" {seconds:.3}\n"
    )
}

#[test]
fn histogram_buckets_hold_values_up_to_their_bound() {
    assert_eq!(bucket(0.0), 0);
    assert_eq!(bucket(5.66), 10);
    assert_eq!(bucket(5.661), 11);
    assert_eq!(bucket(287.0), 33);
    assert_eq!(LATENCY_BOUNDS_MS[33], 304.0);
    assert_eq!(bucket(65_500.0), 64);
    assert_eq!(bucket(65_500.5), 65);
    assert_eq!(status_class(204), Some("2xx"));
    assert_eq!(status_class(599), Some("5xx"));
    assert_eq!(status_class(600), None);
    assert_eq!(status_class(0), None);
}

#[test]
fn config_needs_a_path_and_sane_values() {
    let error = Config::default().validate().expect_err("no path");
    assert!(error.contains("`path` is required"));
    let ok = Config {
        path: "/var/log/nginx/access.log".into(),
        ..Config::default()
    };
    assert!(ok.validate().is_ok());
    for bad in [
        Config {
            max_routes: 0,
            ..ok.clone()
        },
        Config {
            interval: HumanDuration(Duration::from_millis(10)),
            ..ok.clone()
        },
        Config {
            routes: vec!["store/carts".into()],
            ..ok.clone()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
    let parsed: Config = toml::from_str(
        "path = \"/l\"\nformat = \"json\"\nfields = { path = \"uri\", duration_unit = \"s\" }\n",
    )
    .expect("parses");
    assert_eq!(parsed.format, Format::Json);
    assert_eq!(parsed.fields.path, "uri");
    assert_eq!(parsed.fields.duration_unit, parse::DurationUnit::Seconds);
    assert!(toml::from_str::<Config>("path = \"/l\"\nformat = \"apache\"\n").is_err());
}

#[test]
fn an_interval_becomes_one_record_per_route_and_status_class() {
    let config = Config {
        path: "/l".into(),
        ..Config::default()
    };
    let mut aggregator = Aggregator::new(&config);
    for text in [
        line(
            "POST",
            &format!("/store/carts/{CART}/complete"),
            200,
            100,
            0.004,
        ),
        line(
            "POST",
            "/store/carts/cart_01JABCDEFGHJKMNPQRSTVWXYZ0/complete",
            200,
            50,
            0.287,
        ),
        line(
            "POST",
            &format!("/store/carts/{CART}/complete"),
            409,
            10,
            0.020,
        ),
        line("GET", "/assets/app.css", 200, 1000, 0.001),
        "garbage\n".into(),
    ] {
        aggregator.add(config.parse(text.trim_end()));
    }
    let batch = aggregator.flush("web", 1_000, 2_000);
    assert_eq!(batch.http_routes.len(), 3, "{:#?}", batch.http_routes);
    let complete = batch
        .http_routes
        .iter()
        .find(|r| r.route == "/store/carts/:id/complete" && r.status_class == "2xx")
        .expect("complete 2xx");
    assert_eq!(complete.origin, "access_log");
    assert_eq!((complete.start_ms, complete.timestamp_ms), (1_000, 2_000));
    assert_eq!(complete.response_bytes, 150);
    let latency = complete.latency.as_ref().expect("histogram");
    assert_eq!(latency.count, 2);
    assert!((latency.sum - 291.0).abs() < 1e-6);
    assert_eq!(latency.bucket_counts.len(), LATENCY_BOUNDS_MS.len() + 1);
    assert_eq!(latency.bucket_counts[8], 1);
    assert_eq!(latency.bucket_counts[33], 1);
    assert!(batch.http_routes.iter().any(|r| r.route == "/static/*.css"));
    let value = |name: &str, kind: Option<&str>| {
        batch
            .samples
            .iter()
            .find(|s| {
                s.name == name
                    && kind.is_none_or(|k| s.labels.iter().any(|l| l.key == "kind" && l.value == k))
            })
            .map(|s| s.value)
    };
    assert_eq!(
        value("access_log_requests_total", Some("dynamic")),
        Some(3.0)
    );
    assert_eq!(
        value("access_log_requests_total", Some("static")),
        Some(1.0)
    );
    assert_eq!(
        value("access_log_bytes_total", Some("static")),
        Some(1000.0)
    );
    assert_eq!(value("access_log_lines_unparsed_total", None), Some(1.0));

    // The next interval starts empty; totals keep counting.
    let next = aggregator.flush("web", 2_000, 3_000);
    assert!(next.http_routes.is_empty());
    assert_eq!(
        next.samples
            .iter()
            .find(|s| s.name == "access_log_lines_unparsed_total")
            .map(|s| s.value),
        Some(1.0)
    );
}

#[test]
fn routes_beyond_max_routes_fold_into_other_and_cache_status_is_counted() {
    let config = Config {
        path: "/l".into(),
        format: Format::Json,
        max_routes: 2,
        ..Config::default()
    };
    let mut aggregator = Aggregator::new(&config);
    for (path, cache) in [
        ("/a", "HIT"),
        ("/b", "MISS"),
        ("/c", "HIT"),
        ("/a", "weird"),
    ] {
        let text = format!(
            r#"{{"method":"GET","path":"{path}","status":200,"bytes":1,"duration":3,"cache":"{cache}"}}"#
        );
        aggregator.add(config.parse(&text));
    }
    let batch = aggregator.flush("web", 0, 1);
    let routes: Vec<&str> = batch.http_routes.iter().map(|r| r.route.as_str()).collect();
    assert_eq!(routes, ["/a", "/b", "other"]);
    let cache: Vec<(String, f64)> = batch
        .samples
        .iter()
        .filter(|s| s.name == "access_log_cache_total")
        .map(|s| (s.labels[1].value.clone(), s.value))
        .collect();
    assert_eq!(
        cache,
        [
            ("hit".to_owned(), 2.0),
            ("miss".to_owned(), 1.0),
            ("other".to_owned(), 1.0)
        ]
    );
}

#[tokio::test]
async fn scrapes_count_each_line_once_across_rotation_and_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("access.log");
    std::fs::write(&log, line("GET", "/before-start", 200, 1, 0.001)).expect("write");
    let config = Config {
        path: log.clone(),
        state_dir: dir.path().join("state"),
        ..Config::default()
    };
    let append = |path: &std::path::Path, n: usize| {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .expect("open");
        for _ in 0..n {
            file.write_all(
                line(
                    "POST",
                    &format!("/store/carts/{CART}/complete"),
                    200,
                    5,
                    0.1,
                )
                .as_bytes(),
            )
            .expect("write");
        }
    };
    let count = |batch: &v1::Batch| -> u64 {
        batch
            .http_routes
            .iter()
            .filter(|r| r.route == "/store/carts/:id/complete")
            .filter_map(|r| r.latency.as_ref().map(|h| h.count))
            .sum()
    };
    let mut source = AccessLogSource::new("web/1".into(), config.clone());
    let first = source.scrape(1).await.expect("scrape");
    assert!(first.http_routes.is_empty(), "history is not replayed");
    append(&log, 3);
    assert_eq!(count(&source.scrape(2).await.expect("scrape")), 3);
    std::fs::rename(&log, dir.path().join("access.log.1")).expect("rotate");
    append(&dir.path().join("access.log.1"), 1);
    append(&log, 2);
    assert_eq!(count(&source.scrape(3).await.expect("scrape")), 3);
    drop(source);
    append(&log, 4);
    let mut again = AccessLogSource::new("web/1".into(), config);
    assert_eq!(count(&again.scrape(4).await.expect("scrape")), 4);
    assert_eq!(count(&again.scrape(5).await.expect("scrape")), 0);
    assert!(dir.path().join("state").join("web_1.offset").exists());
}

#[tokio::test]
async fn a_missing_file_fails_the_scrape_and_check_says_why() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        path: dir.path().join("nope.log"),
        state_dir: dir.path().join("state"),
        ..Config::default()
    };
    let mut source = AccessLogSource::new("web".into(), config.clone());
    let error = source.scrape(1).await.expect_err("missing");
    assert!(error.0.contains("nope.log"), "{error}");
    let findings = source.check().await;
    assert!(!findings[0].ok && findings[0].what.contains("nope.log"));
}

#[test]
fn check_reports_how_many_of_the_last_lines_parse() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("access.log");
    let config = Config {
        path: path.clone(),
        state_dir: dir.path().join("state"),
        ..Config::default()
    };
    std::fs::write(
        &path,
        format!("{}not a log line\n", line("GET", "/", 200, 1, 0.01)),
    )
    .expect("write");
    let findings = check_file(&config);
    assert!(findings[0].ok);
    assert!(!findings[1].ok && findings[1].what.starts_with("1 of the last 2 lines"));
    assert!(
        findings[1].what.ends_with("parse as nginx_combined"),
        "{findings:?}"
    );
    assert!(
        findings[1]
            .fix
            .as_deref()
            .unwrap_or_default()
            .contains("log_format")
    );
    assert!(findings.last().is_some_and(|f| f.ok), "{findings:?}");

    std::fs::write(
        &path,
        "10.0.0.1 - - [x] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"\n",
    )
    .expect("write");
    let findings = check_file(&config);
    assert!(findings[1].ok);
    assert!(
        !findings[2].ok
            && findings[2]
                .fix
                .as_deref()
                .unwrap_or_default()
                .contains("$request_time")
    );
}
