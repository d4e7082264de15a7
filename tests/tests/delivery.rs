//! Nothing acknowledged is lost and nothing is stored twice: collector
//! outages and SIGKILLs, agent SIGKILLs, and a full spool.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use headroom_tests::load::{self, Identity};
use headroom_tests::{
    Agent, Collector, CollectorOptions, assert_each_scrape_once, postgres_agent_toml,
    scrape_ordinals, tail, wait_for,
};

/// Waits until the agent's stored `agent_scrapes_total` reaches `at_least` points.
async fn scrapes_stored(collector: &Collector, agent: &str, at_least: usize) -> Vec<u64> {
    wait_for(
        Duration::from_secs(60),
        "scrapes to reach the collector",
        || async {
            let series = collector
                .points("agent_scrapes_total", &[("agent", agent)])
                .await;
            let ordinals = series
                .first()
                .map(|s| s.iter().map(|(_, v)| *v as u64).collect::<Vec<_>>())?;
            (ordinals.len() >= at_least).then_some(ordinals)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn points_scraped_while_the_collector_is_down_arrive_exactly_once() {
    let mut collector = Collector::start(CollectorOptions::default()).await;
    let mut agent = Agent::start(&postgres_agent_toml(
        "outage",
        &collector.endpoint(),
        "1s",
        "",
    ));
    scrapes_stored(&collector, "outage", 2).await;
    collector.kill();
    let down_since = Instant::now();
    tokio::time::sleep(Duration::from_secs(30)).await;
    collector.restart().await;
    eprintln!("collector was down for {:?}", down_since.elapsed());
    // Let the spool drain and a few live scrapes through, then stop the agent
    // gracefully so its last batch is flushed too.
    scrapes_stored(&collector, "outage", 35).await;
    agent.stop();
    let log = tail(&agent.log, 5);
    assert!(
        log.contains("every batch was acknowledged"),
        "a graceful stop flushes the spool:\n{log}"
    );
    let series = collector
        .points("agent_scrapes_total", &[("agent", "outage")])
        .await;
    let ordinals = scrape_ordinals(&series);
    assert_each_scrape_once(
        &ordinals,
        &format!("each scrape exactly once\n{}", tail(&agent.log, 30)),
    );
    let up = collector.points("up", &[("agent", "outage")]).await;
    assert_eq!(
        up[0].len(),
        ordinals.len(),
        "up has one point per scrape too"
    );
    let timestamps: std::collections::BTreeSet<i64> = series[0].iter().map(|p| p.0).collect();
    assert_eq!(timestamps.len(), ordinals.len(), "no duplicate timestamps");
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_batches_survive_five_collector_sigkills_and_are_stored_once() {
    let mut collector = Collector::start(CollectorOptions::default()).await;
    let endpoint = collector.endpoint();
    let identity = Identity {
        agent_id: "load-1".into(),
        epoch: 7,
        token: String::new(),
    };
    const TOTAL: u64 = 15_000;
    const SERIES: usize = 10;
    // Recent enough that retention keeps every raw point.
    let start_ms = headroom_collector_now_ms() - 2 * 86_400_000;
    let sender = tokio::spawn(async move {
        load::send_all(&endpoint, &identity, TOTAL, 16, |seq| {
            load::synthetic_batch(seq, SERIES, 5, start_ms, 1_000)
        })
        .await
    });
    for kill in 0..5u64 {
        // Kill only while batches are flowing: after this restart the
        // stream has been re-established and the collector stores again.
        let stored_before = batches_stored(&collector).await;
        wait_for(
            Duration::from_secs(60),
            "the stream to flow again",
            || async { (batches_stored(&collector).await > stored_before + 20).then_some(()) },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(100 * kill)).await;
        assert!(!sender.is_finished(), "kill {} came mid-stream", kill + 1);
        collector.kill();
        collector.restart().await;
    }
    let report = tokio::time::timeout(Duration::from_secs(240), sender)
        .await
        .expect("finishes")
        .expect("joins");
    eprintln!(
        "reconnects {}, duplicate acks {}",
        report.reconnects, report.duplicates
    );
    assert_eq!(report.acked.len() as u64, TOTAL);
    assert!(
        report.reconnects >= 5,
        "the stream was really cut: {}",
        report.reconnects
    );
    for series in ["0", "9"] {
        let points = collector.points("load", &[("series", series)]).await;
        let mut batches: Vec<u64> = points[0].iter().map(|(_, v)| *v as u64).collect();
        assert_eq!(
            batches.len() as u64,
            TOTAL * 5,
            "every point of every acked batch, once"
        );
        batches.dedup();
        let expected: Vec<u64> = (1..=TOTAL).collect();
        assert_eq!(
            batches, expected,
            "batches in order, none missing, none twice"
        );
    }
    let (_, agents) = collector.get("/api/v1/agents").await;
    assert_eq!(agents["agents"][0]["batches"], TOTAL, "{agents}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_agent_delivers_its_spool_after_being_sigkilled() {
    let mut collector = Collector::start(CollectorOptions::default()).await;
    let endpoint = collector.endpoint();
    collector.kill();
    let mut agent = Agent::start(&postgres_agent_toml("crashy", &endpoint, "200ms", ""));
    tokio::time::sleep(Duration::from_secs(3)).await;
    agent.kill();
    let killed_at = headroom_collector_now_ms();
    collector.restart().await;
    agent.restart();
    let ordinals = scrapes_stored(&collector, "crashy", 12).await;
    agent.stop();
    let series = collector
        .points("agent_scrapes_total", &[("agent", "crashy")])
        .await;
    let before_kill: Vec<u64> = series[0]
        .iter()
        .filter(|(t, _)| *t < killed_at)
        .map(|(_, v)| *v as u64)
        .collect();
    assert!(
        before_kill.len() >= 5,
        "scrapes spooled before the kill arrived: {ordinals:?}\n{}",
        tail(&agent.log, 30)
    );
    // The first process's ordinals 1..k all arrived, each once (a batch not
    // yet sealed when the kill came may be missing at the very end only).
    let expected: Vec<u64> = (1..=before_kill.len() as u64).collect();
    assert_eq!(before_kill, expected);
}

/// Batches the collector has stored for the load agent so far.
async fn batches_stored(collector: &Collector) -> i64 {
    let agent = collector.agent("load-1").await;
    agent.and_then(|a| a["batches"].as_i64()).unwrap_or(0)
}

fn headroom_collector_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_spool_drops_the_oldest_batches_and_the_collector_sees_the_count() {
    let mut collector = Collector::start(CollectorOptions::default()).await;
    let endpoint = collector.endpoint();
    collector.kill();
    let toml = postgres_agent_toml("full", &endpoint, "100ms", "")
        .replace("[spool]\n", "[spool]\nmax_bytes = \"64KiB\"\n");
    let mut agent = Agent::start(&toml);
    tokio::time::sleep(Duration::from_secs(8)).await;
    collector.restart().await;
    let row = wait_for(
        Duration::from_secs(30),
        "the drop count at the collector",
        || async {
            let agent = collector.agent("full").await?;
            (agent["dropped"]["spool_full_batches"].as_i64()? > 0).then_some(agent)
        },
    )
    .await;
    agent.stop();
    let dropped_points = row["dropped"]["spool_full_points"].as_i64().unwrap();
    assert!(dropped_points > 0, "{row}");
    let ordinals = scrape_ordinals(
        &collector
            .points("agent_scrapes_total", &[("agent", "full")])
            .await,
    );
    assert!(
        ordinals[0] > 1,
        "the oldest scrapes went first: {:?}",
        &ordinals[..5.min(ordinals.len())]
    );
    let mut sorted = ordinals.clone();
    sorted.dedup();
    assert_eq!(sorted.len(), ordinals.len(), "nothing stored twice");
    let last = *ordinals.last().unwrap();
    assert_eq!(
        last - ordinals[0] + 1,
        ordinals.len() as u64,
        "after the dropped oldest ones, every scrape arrived: {}",
        tail(&agent.log, 20)
    );
}
