//! The redis and host sources end to end: a real agent reads the machine's
//! Redis (127.0.0.1:6379) and /proc and the collector stores their series;
//! a Redis that is down reports `up = 0` without stopping the host source.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use headroom_tests::{Agent, Collector, CollectorOptions, free_port, tail, wait_for};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The machine's Redis, as STACK.md describes it.
const REDIS: &str = "127.0.0.1:6379";

/// An agent.toml with `sources` appended (scrapes every second).
fn agent_toml(id: &str, endpoint: &str, sources: &str) -> String {
    format!(
        "[agent]\nid = \"{id}\"\nflush_interval = \"200ms\"\n[collector]\nendpoint = \"{endpoint}\"\n\
         min_backoff = \"100ms\"\nmax_backoff = \"1s\"\n[spool]\ndir = \"{{spool}}\"\n{sources}"
    )
}

const HOST_SOURCE: &str = "[[sources]]\ntype = \"host\"\ninterval = \"1s\"\n";

/// A minimal RESP client: sends one command, returns its reply's first line
/// (and, for a bulk string, its value on the next).
struct Redis {
    stream: BufReader<TcpStream>,
}

impl Redis {
    async fn connect() -> Self {
        let stream = TcpStream::connect(REDIS)
            .await
            .expect("the machine's Redis on 127.0.0.1:6379");
        Self {
            stream: BufReader::new(stream),
        }
    }

    async fn command(&mut self, args: &[&str]) -> String {
        let mut request = format!("*{}\r\n", args.len());
        for arg in args {
            request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        self.stream
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .expect("write");
        let mut reply = String::new();
        self.stream.read_line(&mut reply).await.expect("read");
        if reply.starts_with('$') && !reply.starts_with("$-1") {
            self.stream.read_line(&mut reply).await.expect("read");
        }
        assert!(!reply.starts_with('-'), "{args:?}: {reply}");
        reply
    }
}

/// The last value of the one series `name` with `labels`, once it exists.
async fn last(collector: &Collector, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let series = collector.points(name, labels).await;
    series.first()?.last().map(|(_, value)| *value)
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_and_host_series_reach_the_collector() {
    let collector = Collector::start(CollectorOptions::default()).await;
    let sources = format!(
        "[[sources]]\ntype = \"redis\"\nurl = \"redis://{REDIS}\"\ninterval = \"1s\"\ncommandstats_top = 100\n{HOST_SOURCE}"
    );
    let agent = Agent::start(&agent_toml("sources", &collector.endpoint(), &sources));
    let redis = [("agent", "sources"), ("instance", REDIS)];
    let deadline = Duration::from_secs(30);
    let before = wait_for(deadline, "a first redis_keyspace_hits point", || async {
        let hits = last(&collector, "redis_keyspace_hits", &redis).await?;
        let misses = last(&collector, "redis_keyspace_misses", &redis).await?;
        Some((hits, misses))
    })
    .await;

    // Three hits and two misses on keys of our own, cleaned up at once.
    let prefix = format!("headroom_test_{:016x}", rand::random::<u64>());
    let key = format!("{prefix}:cart");
    let mut client = Redis::connect().await;
    client.command(&["SET", &key, "3 items"]).await;
    for _ in 0..3 {
        assert!(client.command(&["GET", &key]).await.contains("3 items"));
    }
    for _ in 0..2 {
        let missing = format!("{prefix}:missing");
        assert!(client.command(&["GET", &missing]).await.starts_with("$-1"));
    }
    client.command(&["DEL", &key]).await;

    wait_for(deadline, "hits and misses to move by ours", || async {
        let hits = last(&collector, "redis_keyspace_hits", &redis).await?;
        let misses = last(&collector, "redis_keyspace_misses", &redis).await?;
        (hits >= before.0 + 3.0 && misses >= before.1 + 2.0).then_some(())
    })
    .await;
    let used = last(&collector, "redis_used_memory_bytes", &redis).await;
    assert!(
        used.is_some_and(|bytes| bytes > 0.0),
        "used memory: {used:?}"
    );
    let latency = last(&collector, "redis_latency_ms", &redis).await;
    assert!(
        latency.is_some_and(|ms| ms > 0.0),
        "PING latency: {latency:?}"
    );
    let calls = collector
        .points(
            "redis_command_calls",
            &[("agent", "sources"), ("command", "get")],
        )
        .await;
    assert!(!calls.is_empty(), "GET is reported by name");

    let host = [("agent", "sources")];
    let memory = wait_for(deadline, "host_memory_total_bytes", || async {
        last(&collector, "host_memory_total_bytes", &host).await
    })
    .await;
    assert!(memory > 0.0);
    for source in ["redis", "host"] {
        let up = wait_for(deadline, "up of each source", || async {
            last(
                &collector,
                "up",
                &[("agent", "sources"), ("source", source)],
            )
            .await
        })
        .await;
        assert_eq!(up, 1.0, "{source} is up\n{}", tail(&agent.log, 20));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redis_that_is_down_reports_up_0_while_the_host_source_keeps_working() {
    let collector = Collector::start(CollectorOptions::default()).await;
    let closed = free_port();
    let sources = format!(
        "[[sources]]\ntype = \"redis\"\nname = \"cache\"\nurl = \"redis://:s3cret@127.0.0.1:{closed}\"\n\
         interval = \"1s\"\nconnect_timeout = \"500ms\"\n{HOST_SOURCE}"
    );
    let agent = Agent::start(&agent_toml("redis-down", &collector.endpoint(), &sources));
    let down = [("agent", "redis-down"), ("source", "cache")];
    let host_up = [("agent", "redis-down"), ("source", "host")];
    wait_for(
        Duration::from_secs(30),
        "three scrapes of each source",
        || async {
            let cache = collector.points("up", &down).await;
            let host = collector.points("up", &host_up).await;
            (cache.first()?.len() >= 3 && host.first()?.len() >= 3).then_some(())
        },
    )
    .await;
    let cache = collector.points("up", &down).await;
    assert!(
        cache[0].iter().all(|(_, up)| *up == 0.0),
        "nothing listens on {closed}: {cache:?}"
    );
    let host = collector.points("up", &host_up).await;
    assert!(host[0].iter().all(|(_, up)| *up == 1.0), "{host:?}");
    let load = collector
        .points("host_load1", &[("agent", "redis-down")])
        .await;
    assert!(
        load.first().is_some_and(|points| points.len() >= 3),
        "{load:?}"
    );
    let log = tail(&agent.log, 50);
    assert!(
        log.contains("nothing accepts connections") && !log.contains("s3cret"),
        "the WARN says why, never the password:\n{log}"
    );
    assert!(
        collector
            .points("redis_keyspace_hits", &[("agent", "redis-down")])
            .await
            .is_empty(),
        "a failed scrape ships no redis series"
    );
}
