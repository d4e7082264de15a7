//! `headroom-collector demo`, as a newcomer runs it: within 60 s of start
//! the real advisor, fed by the simulated store over real gRPC, has opened
//! recommendations of several kinds (an index on `product`, the cache, a
//! CDN), the headroom table has ETAs, and the series hold 60 days of
//! history. How long each took is printed, not asserted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use headroom_tests::{bin, free_port, tail, terminate, wait_for};
use serde_json::Value;

const DAY_MS: f64 = 86_400_000.0;

/// The demo process, stopped when dropped.
struct Demo {
    child: Child,
    http: String,
    log: std::path::PathBuf,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Demo {
    /// `headroom-collector demo --data-dir … --http-listen … --grpc-listen …`,
    /// once it answers `/healthz`. `free_port` gives ports another test may
    /// take first: a start that fails on an address in use is retried.
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("demo.log");
        for attempt in 1..=5 {
            let out = std::fs::File::create(&log).unwrap();
            let http = format!("127.0.0.1:{}", free_port());
            let grpc = format!("127.0.0.1:{}", free_port());
            let mut child = Command::new(bin("headroom-collector"))
                .arg("demo")
                .arg("--data-dir")
                .arg(dir.path().join("data"))
                .args(["--http-listen", &http, "--grpc-listen", &grpc])
                .env("RUST_LOG", "info")
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out)
                .spawn()
                .unwrap();
            let client = headroom_tests::http_client();
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let healthy = client
                    .get(format!("http://{http}/healthz"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                if healthy {
                    return Self {
                        child,
                        http,
                        log,
                        client,
                        _dir: dir,
                    };
                }
                if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                    terminate(&mut child);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let text = tail(&log, 30);
            assert!(
                attempt < 5 && text.contains("in use"),
                "the demo did not start:\n{text}"
            );
        }
        unreachable!("the loop returns or panics")
    }

    /// GET `path` as JSON; None while the server is not up.
    async fn get(&self, path: &str) -> Option<Value> {
        let response = self
            .client
            .get(format!("http://{}{path}", self.http))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().await.ok()
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        terminate(&mut self.child);
    }
}

#[tokio::test]
async fn the_demo_shows_index_cache_and_cdn_advice_and_60_days_of_history_within_a_minute() {
    let started = Instant::now();
    let demo = Demo::start().await;
    let first_seen: Mutex<BTreeMap<String, f64>> = Mutex::new(BTreeMap::new());
    let open = wait_for(
        Duration::from_secs(60),
        "open recommendations of kinds index, cache and cdn",
        || async {
            let body = demo.get("/api/v1/recommendations").await?;
            let open: Vec<Value> = body["recommendations"]
                .as_array()?
                .iter()
                .filter(|rec| rec["state"] == "open")
                .cloned()
                .collect();
            let mut seen = first_seen.lock().unwrap();
            for rec in &open {
                let kind = rec["kind"].as_str().unwrap_or_default().to_owned();
                seen.entry(kind)
                    .or_insert_with(|| started.elapsed().as_secs_f64());
            }
            let has = |kind: &str| open.iter().any(|rec| rec["kind"] == kind);
            let kinds = seen.len();
            (has("index") && has("cache") && has("cdn") && kinds >= 3).then_some(open)
        },
    )
    .await;
    for (kind, seconds) in first_seen.lock().unwrap().iter() {
        println!("demo: first open `{kind}` recommendation after {seconds:.1} s");
    }
    let index = open
        .iter()
        .find(|rec| rec["kind"] == "index")
        .expect("an index recommendation");
    let action = index["action"].as_str().unwrap_or_default();
    assert!(
        action.contains("product") && action.contains("CREATE INDEX"),
        "{index:#}"
    );

    let headroom = demo.get("/api/v1/headroom").await.expect("headroom");
    let with_eta: Vec<&Value> = headroom["headroom"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["eta"].is_number())
        .collect();
    assert!(!with_eta.is_empty(), "{headroom:#}");
    println!(
        "demo: {} resources with an ETA after {:.1} s",
        with_eta.len(),
        started.elapsed().as_secs_f64()
    );

    let series = demo
        .get("/api/v1/series?name=medusa_orders_per_minute&from=0&to=9999999999999")
        .await
        .expect("series");
    let points = series["series"][0]["points"].as_array().expect("points");
    let first = points.first().and_then(|p| p[0].as_f64()).unwrap_or(0.0);
    let last = points.last().and_then(|p| p[0].as_f64()).unwrap_or(0.0);
    let days = (last - first) / DAY_MS;
    assert!(
        (58.0..62.0).contains(&days),
        "orders span {days:.1} days in {} points\n{}",
        points.len(),
        tail(&demo.log, 20)
    );
    println!(
        "demo: orders per minute span {days:.1} days ({} points); log: {}",
        points.len(),
        tail(&demo.log, 40)
            .lines()
            .filter(|l| l.contains("demo:"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
}
