//! Young data shown as young, on a real collector whose store holds 15
//! minutes of data (written with the collector's own store API): the
//! headroom table gives no trend or ETA and says how much more history a
//! forecast needs; a chart asked to fit opens on one hour; the order volume
//! says it stands on 15 minutes of orders; and the index verdicts come back
//! joined with their statements, busiest first, unknown codes included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use headroom_tests::fixtures::{AGENT, young_store};
use headroom_tests::openapi::documented;
use headroom_tests::{Collector, CollectorOptions, wait_for};
use http::Method;
use serde_json::{Value, json};

/// The headroom row of the fixture's host memory, once the advisor has one.
async fn memory_row(collector: &Collector) -> Value {
    let resource = format!("host memory ({AGENT})");
    wait_for(
        Duration::from_secs(60),
        "the host memory headroom row",
        || async {
            let (_, body) = collector.get("/api/v1/headroom").await;
            body["headroom"]
                .as_array()?
                .iter()
                .find(|row| row["resource"] == resource.as_str())
                .cloned()
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn fifteen_minutes_of_data_give_no_forecast_a_fitted_chart_a_young_volume_and_explained_verdicts()
 {
    let collector = Collector::start(CollectorOptions {
        analysis_interval: Some("1s".into()),
        ..CollectorOptions::default()
    })
    .await;
    let _fixture = young_store(&collector).await;
    let (_, document) = collector.get("/api/v1/openapi.json").await;

    // Headroom: the level is shown, the forecast is not, and why.
    let row = memory_row(&collector).await;
    let (_, page) = collector.get("/api/v1/headroom").await;
    documented(&document, "/api/v1/headroom", "get", 200, &page);
    assert_eq!(page["min_confidence"], 0.2);
    assert!(row["confidence"].as_f64().unwrap() < 0.2, "{row}");
    assert!(row["utilization"].as_f64().unwrap() > 0.3, "{row}");
    for key in ["trend_per_day", "eta", "eta_ms", "eta_earliest_ms"] {
        assert!(row[key].is_null(), "{key} shown on young data: {row}");
    }
    let collecting = row["collecting"].as_str().unwrap();
    assert!(
        collecting.starts_with("collecting: about 2d more history before a forecast"),
        "{collecting}"
    );
    let more_h = row["collecting_ms"].as_i64().unwrap() as f64 / 3_600_000.0;
    println!("host memory after 15 minutes: {collecting} ({more_h:.1} h)");
    assert!((40.0..42.0).contains(&more_h), "{more_h} h");

    // A chart asked to fit opens on one hour and plots the data; a chosen
    // range is kept as chosen.
    let (status, _, svg) = collector
        .request(
            Method::GET,
            &format!("/api/v1/chart?name=host_memory_used_bytes&agent={AGENT}&fit=true"),
            &[],
            None,
        )
        .await;
    assert_eq!(status, 200, "{svg}");
    assert!(svg.contains(r#"data-window="1h""#), "{}", &svg[..200]);
    assert!(!svg.contains(r#"data-points="0""#), "the data is plotted");
    let week_ago = headroom_collector::store::now_ms() - 7 * 86_400_000;
    let (_, _, chosen) = collector
        .request(
            Method::GET,
            &format!("/api/v1/chart?name=host_memory_used_bytes&from={week_ago}&fit=true"),
            &[],
            None,
        )
        .await;
    assert!(!chosen.contains("data-window"), "a chosen range is kept");

    // The volume: 0.05 orders a minute for 15 minutes, young.
    let (status, volume) = collector.get("/api/v1/volume").await;
    assert_eq!(status, 200, "{volume}");
    documented(&document, "/api/v1/volume", "get", 200, &volume);
    let v = &volume["volume"][0];
    assert_eq!(v["agent"], AGENT);
    assert_eq!(v["orders_per_month"], 2_160.0);
    assert_eq!(v["history_ms"], 15 * 60_000);
    assert_eq!(v["young"], true);

    // Index verdicts of `shop`: busiest first, with their statements.
    let (status, answer) = collector.get("/api/v1/index-verdicts?database=shop").await;
    assert_eq!(status, 200, "{answer}");
    documented(&document, "/api/v1/index-verdicts", "get", 200, &answer);
    assert_eq!(answer["databases"], json!(["other", "shop"]));
    let verdicts = answer["verdicts"].as_array().unwrap();
    let order: Vec<&str> = verdicts
        .iter()
        .map(|v| v["queryid"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["101", "102", "103"], "busiest first: {answer}");
    assert_eq!(verdicts[0]["verdict"], "planner_would_not_use");
    assert!(
        verdicts[0]["statement"]
            .as_str()
            .unwrap()
            .contains("lower($1)")
    );
    assert_eq!(verdicts[0]["exec_ms_last_hour"], 16.0 * 120.0);
    assert_eq!(verdicts[0]["table_rows"], 300_026.0);
    assert_eq!(verdicts[2]["verdict"], "a_verdict_from_a_newer_agent");
    assert!(verdicts[2]["statement"].is_null() && verdicts[2]["exec_ms_last_hour"].is_null());
    let (_, everything) = collector.get("/api/v1/index-verdicts").await;
    assert_eq!(everything["verdicts"].as_array().unwrap().len(), 4);
    let (status, refused) = collector.get("/api/v1/index-verdicts?db=shop").await;
    assert_eq!(status, 400, "{refused}");
    let (_, texts) = collector.get("/api/v1/texts?kind=pg_index_verdict").await;
    assert_eq!(texts["texts"].as_array().unwrap().len(), 4);
}
