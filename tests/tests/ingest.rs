//! The backbone end to end: a real agent scraping the machine's PostgreSQL
//! streams to a real collector, on each storage backend, and the API shows
//! the agent and its series.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use headroom_tests::{
    Agent, Collector, CollectorOptions, PgDatabase, assert_each_scrape_once, postgres_agent_toml,
    tail, wait_for,
};

async fn agent_and_series_become_visible(options: CollectorOptions) {
    let collector = Collector::start(options).await;
    let started = Instant::now();
    let agent = Agent::start(&postgres_agent_toml(
        "db-1",
        &collector.endpoint(),
        "1s",
        "",
    ));
    let found = wait_for(
        Duration::from_secs(10),
        "the agent and its series in the API",
        || async {
            // Series rows are created just before their first batch commits:
            // wait for the batch too.
            let agent = collector
                .agent("db-1")
                .await
                .filter(|a| a["batches"].as_i64() >= Some(1))?;
            let (_, list) = collector.get("/api/v1/series?prefix=pg_").await;
            let names: Vec<String> = list["series"]
                .as_array()?
                .iter()
                .filter(|s| s["labels"]["agent"] == "db-1")
                .map(|s| s["name"].as_str().unwrap_or_default().to_owned())
                .collect();
            let wanted = [
                "pg_max_connections",
                "pg_connections_total",
                "pg_database_xact_commit",
            ];
            wanted
                .iter()
                .all(|w| names.iter().any(|n| n == w))
                .then_some((agent, names))
        },
    )
    .await;
    eprintln!("visible after {:?}", started.elapsed());
    let (agent_row, _) = found;
    assert_eq!(agent_row["sources"][0]["type"], "postgres", "{agent_row}");
    assert!(agent_row["batches"].as_i64().unwrap() >= 1);
    assert!(agent_row["last_seen"].as_i64().unwrap() > 0);

    let max = collector
        .points("pg_max_connections", &[("agent", "db-1")])
        .await;
    assert_eq!(max.len(), 1);
    assert!(
        max[0].iter().all(|(_, v)| *v >= 1.0),
        "max_connections is positive: {max:?}"
    );
    let up = collector
        .points("up", &[("agent", "db-1"), ("source", "postgres")])
        .await;
    // The machine's PostgreSQL is shared with the other tests running in
    // parallel; a scrape may fail on a busy moment (and is retried), but the
    // source must be up as it is read now.
    let last = up[0].last().map(|p| p.1);
    assert_eq!(
        last,
        Some(1.0),
        "the source is up: {up:?}\n{}",
        tail(&agent.log, 20)
    );
    if up[0].iter().any(|(_, v)| *v == 0.0) {
        eprintln!("note: some scrapes failed:\n{}", tail(&agent.log, 20));
    }
    drop(agent);
}

#[tokio::test(flavor = "multi_thread")]
async fn agent_and_its_series_are_visible_within_ten_seconds_on_sqlite() {
    agent_and_series_become_visible(CollectorOptions::default()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn agent_and_its_series_are_visible_within_ten_seconds_on_postgresql() {
    let database = PgDatabase::create();
    agent_and_series_become_visible(CollectorOptions {
        database_url: Some(database.url.clone()),
        ..CollectorOptions::default()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stepped_queries_and_compaction_keep_every_point() {
    let collector = Collector::start(CollectorOptions {
        extra_toml: "[retention]\ncompaction_interval = \"1s\"\n".into(),
        ..CollectorOptions::default()
    })
    .await;
    let mut agent = Agent::start(&postgres_agent_toml(
        "db-2",
        &collector.endpoint(),
        "200ms",
        "",
    ));
    wait_for(Duration::from_secs(20), "20 scrapes", || async {
        let series = collector
            .points("agent_scrapes_total", &[("agent", "db-2")])
            .await;
        (series.first().map_or(0, Vec::len) >= 20).then_some(())
    })
    .await;
    agent.stop();
    // After compaction (every second here) the raw points are one block per
    // hour window and still all there, in order.
    let ordinals = wait_for(Duration::from_secs(10), "compaction", || async {
        let (_, status) = collector.get("/api/v1/status").await;
        let raw = &status["resolutions"][0];
        let series = collector
            .points("agent_scrapes_total", &[("agent", "db-2")])
            .await;
        let ordinals = headroom_tests::scrape_ordinals(&series);
        let (_, list) = collector
            .get("/api/v1/series?prefix=agent_scrapes_total")
            .await;
        let hour_windows = 1
            + (list["series"][0]["last_timestamp"].as_i64()? / 3_600_000
                - list["series"][0]["first_timestamp"].as_i64()? / 3_600_000);
        let series_count = collector.get("/api/v1/series").await.1["series"]
            .as_array()?
            .len() as i64;
        (raw["blocks"].as_i64()? <= series_count * hour_windows).then_some(ordinals)
    })
    .await;
    assert_each_scrape_once(&ordinals, "every scrape once, in order, after compaction");
    let (_, list) = collector
        .get("/api/v1/series?prefix=agent_scrapes_total")
        .await;
    let first = list["series"][0]["first_timestamp"].as_i64().unwrap();
    let (status, stepped) = collector
        .get(&format!(
            "/api/v1/series?name=agent_scrapes_total&agent=db-2&from={}&step=1h",
            first - 3_600_000
        ))
        .await;
    assert_eq!(status, 200, "{stepped}");
    let last_value = stepped["series"][0]["points"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()[1]
        .as_f64()
        .unwrap();
    assert_eq!(
        last_value as usize,
        ordinals.len(),
        "a counter's step value is its last value"
    );
    let (_, status) = collector.get("/api/v1/status").await;
    let minute = status["resolutions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resolution_ms"] == 60_000);
    assert!(minute.is_some(), "1-minute rollups exist: {status}");
}
