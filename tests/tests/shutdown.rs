//! A graceful stop (SIGTERM, what `systemctl stop` sends): the agent seals
//! what its sources collected, hands it to the collector or leaves it in the
//! spool, and exits 0 by itself within `shutdown_timeout`, even while one
//! of its sources hangs; the collector exits 0 though agents are streaming
//! to it, and they resume once it is back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use headroom_tests::{
    Agent, Collector, CollectorOptions, assert_each_scrape_once, free_port, postgres_agent_toml,
    scrape_ordinals, tail, wait_for,
};

/// An agent.toml whose batcher never seals by itself (a one-hour flush
/// interval): whatever reaches the collector was sealed at shutdown.
fn seal_only_at_shutdown_toml(id: &str, endpoint: &str, extra_sources: &str) -> String {
    postgres_agent_toml(id, endpoint, "1s", "").replace(
        "flush_interval = \"200ms\"",
        "flush_interval = \"1h\"\nshutdown_timeout = \"4s\"",
    ) + extra_sources
}

/// An http source whose one target accepts connections and never answers.
fn hung_http_source(listener: &TcpListener) -> String {
    format!(
        "[[sources]]\ntype = \"http\"\ninterval = \"60s\"\ntimeout = \"60s\"\n\
         targets = [{{ url = \"http://{}/\" }}]\n",
        listener.local_addr().expect("addr")
    )
}

/// SIGTERM, then the exit status. `terminate` SIGKILLs after 20 s, so a
/// successful status means the agent exited by itself well before systemd's
/// `TimeoutStopSec=30s` would have killed it.
fn stop(agent: &mut Agent) -> std::process::ExitStatus {
    agent.stop().expect("the agent was running")
}

/// Waits until the collector holds `at_least` scrapes of the agent.
async fn scrapes_stored(collector: &Collector, at_least: usize) {
    wait_for(
        Duration::from_secs(60),
        "scrapes at the collector",
        || async {
            let series = collector
                .points("agent_scrapes_total", &[("agent", "collector-restart")])
                .await;
            (series.first().map_or(0, Vec::len) >= at_least).then_some(())
        },
    )
    .await
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_seals_and_delivers_the_last_samples_while_a_scrape_hangs() {
    let collector = Collector::start(CollectorOptions::default()).await;
    let hung = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut agent = Agent::start(&seal_only_at_shutdown_toml(
        "sigterm-hung",
        &collector.endpoint(),
        &hung_http_source(&hung),
    ));
    // The probe's connection is accepted and never answered: its scrape is
    // in flight when the agent is told to stop.
    hung.set_nonblocking(true).expect("nonblocking");
    let _probe = wait_for(Duration::from_secs(30), "the http probe to connect", || {
        let accepted = hung.accept().ok();
        async move { accepted }
    })
    .await;
    wait_for(
        Duration::from_secs(30),
        "the agent's Hello at the collector",
        || async { collector.agent("sigterm-hung").await },
    )
    .await;

    let status = stop(&mut agent);
    let log = tail(&agent.log, 20);
    assert!(
        status.success(),
        "SIGTERM ends the agent with 0: {status}\n{log}"
    );
    let series = collector
        .points(
            "agent_scrapes_total",
            &[("agent", "sigterm-hung"), ("source", "postgres")],
        )
        .await;
    assert_eq!(
        series.len(),
        1,
        "the postgres scrapes sealed at shutdown are stored:\n{log}"
    );
    let ordinals = scrape_ordinals(&series);
    assert_each_scrape_once(&ordinals, "every scrape up to the stop, once");
    assert!(
        log.contains("a scrape was still running at shutdown; it was cancelled"),
        "the hung probe is cancelled:\n{log}"
    );
    assert!(
        log.contains("every batch was acknowledged"),
        "what was sealed at shutdown reached the collector:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_with_the_collector_down_exits_0_and_keeps_the_last_batch() {
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let mut agent = Agent::start(&seal_only_at_shutdown_toml("sigterm-down", &nobody, ""));
    // The shipper has tried the collector (and the first scrape, started
    // before it, is done or in flight and then waited for).
    wait_for(
        Duration::from_secs(30),
        "the agent to find the collector unreachable",
        || async {
            tail(&agent.log, 50)
                .contains("collector unreachable")
                .then_some(())
        },
    )
    .await;
    let status = stop(&mut agent);
    let stopped_ms = now_ms();
    let log = tail(&agent.log, 20);
    assert!(
        status.success(),
        "SIGTERM ends the agent with 0 though nothing can be acked: {status}\n{log}"
    );
    assert!(
        log.contains("they stay in the spool for the next start"),
        "the last batch is sealed into the spool:\n{log}"
    );

    // Next start, with a collector: the batch sealed at the stop arrives.
    let collector = Collector::start(CollectorOptions::default()).await;
    let config = std::fs::read_to_string(&agent.config).expect("config");
    std::fs::write(
        &agent.config,
        config.replace(&nobody, &collector.endpoint()),
    )
    .expect("config");
    agent.restart();
    let before_stop = wait_for(
        Duration::from_secs(60),
        "the batch sealed at the stop to reach the collector",
        || async {
            let series = collector
                .points(
                    "agent_scrapes_total",
                    &[("agent", "sigterm-down"), ("source", "postgres")],
                )
                .await;
            let first_run: Vec<(i64, f64)> = series
                .first()?
                .iter()
                .copied()
                .filter(|(t, _)| *t <= stopped_ms)
                .collect();
            (!first_run.is_empty()).then_some(first_run)
        },
    )
    .await;
    let ordinals: Vec<u64> = before_stop.iter().map(|(_, v)| *v as u64).collect();
    assert_each_scrape_once(&ordinals, "every scrape of the first run, once");
    stop(&mut agent);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_collector_stops_on_sigterm_while_an_agent_streams_and_it_resumes_after() {
    let mut collector = Collector::start(CollectorOptions::default()).await;
    let mut agent = Agent::start(&postgres_agent_toml(
        "collector-restart",
        &collector.endpoint(),
        "1s",
        "",
    ));
    scrapes_stored(&collector, 2).await;
    let status = collector.stop().expect("the collector was running");
    assert!(
        status.success(),
        "SIGTERM ends the collector with 0 while the agent's stream is open \
         (terminate SIGKILLs after 20 s): {status}\n{}",
        tail(&collector.log, 20)
    );
    collector.restart().await;
    scrapes_stored(&collector, 6).await;
    assert!(stop(&mut agent).success(), "{}", tail(&agent.log, 20));
    let series = collector
        .points("agent_scrapes_total", &[("agent", "collector-restart")])
        .await;
    let ordinals = scrape_ordinals(&series);
    assert_each_scrape_once(
        &ordinals,
        &format!(
            "each scrape exactly once across the restart\n{}",
            tail(&agent.log, 30)
        ),
    );
}
