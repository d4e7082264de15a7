//! `headroom-collector demo`: the real server (`serve`) fed by a built-in
//! simulated store (`sim`) through the real gRPC path (`feed`): 60 days of
//! history streamed in the first seconds, then live data every few seconds.
//! The advisor starts once the history is stored and rolled up, so its first
//! pass reads the whole look-back.

pub mod feed;
pub mod shape;
pub mod sim;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use headroom_proto::config::HumanDuration;
use tokio::sync::oneshot;

use crate::config::{Config, DEFAULT_ANALYSIS_INTERVAL, DEFAULT_DATA_DIR};
use crate::store::{Store, now_ms};
use crate::{ServeError, serve_with_advisor_gate};
use feed::{AgentStream, FeedError};
use sim::{MINUTE_MS, Sim, Tick};

/// The demo's data directory unless `--data-dir` (or the config) names one.
pub const DEFAULT_DEMO_DATA_DIR: &str = "./headroom-demo-data";
/// The file that marks a directory as the demo's, so it may be wiped.
pub const MARKER: &str = ".headroom-demo";
/// The demo's analysis cadence unless configured.
pub const DEMO_ANALYSIS_INTERVAL: HumanDuration = HumanDuration::secs(3);
/// The demo's compaction cadence, so the history is rolled up at once.
pub const DEMO_COMPACTION_INTERVAL: HumanDuration = HumanDuration::secs(1);
/// Step of the older history: the advisor reads it as hourly rollups, so
/// one point an hour loses nothing it uses and keeps the start quick.
pub const OLD_STEP_MS: i64 = 60 * MINUTE_MS;
/// Step of the last `RECENT_DAYS` of history (an agent scraping every 5 minutes).
pub const RECENT_STEP_MS: i64 = 5 * MINUTE_MS;
/// Days of history at the fine step, with every route (before: only the
/// checkout's, which the headroom table reads over the whole look-back).
pub const RECENT_DAYS: i64 = 1;
/// Points per history batch, about.
pub const BATCH_POINTS: usize = 5_000;
/// Live cadence, and how often the access log flushes route histograms.
pub const LIVE_INTERVAL: Duration = Duration::from_secs(5);
pub const LIVE_ROUTES_MS: i64 = 5 * MINUTE_MS;
/// The simulation's seed: every demo tells the same story.
pub const SEED: u64 = 2026;

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(
        "refusing to wipe {path}: it is not empty and not a demo data directory (no {MARKER}); pass --data-dir with a new or demo directory"
    )]
    NotDemoDir { path: String },
    #[error("cannot prepare the demo data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// The configuration the demo runs with: its own data directory and
/// SQLite, a short analysis and compaction cadence unless configured.
pub fn demo_config(mut config: Config) -> Config {
    if config.data_dir == Path::new(DEFAULT_DATA_DIR) {
        config.data_dir = PathBuf::from(DEFAULT_DEMO_DATA_DIR);
    }
    if !config.database_url.is_empty() {
        tracing::warn!("the demo ignores database_url and uses SQLite in its data directory");
        config.database_url = String::new();
    }
    if config.analysis_interval == DEFAULT_ANALYSIS_INTERVAL {
        config.analysis_interval = DEMO_ANALYSIS_INTERVAL;
    }
    config.retention.compaction_interval = DEMO_COMPACTION_INTERVAL;
    if config.tls.enabled() {
        tracing::warn!("the demo serves gRPC without TLS: its agents run in the same process");
        config.tls = Default::default();
    }
    config
}

/// Empties `dir` (a new, empty or earlier demo directory only) and marks
/// it as the demo's.
pub fn wipe(dir: &Path) -> Result<(), DemoError> {
    let io = |source| DemoError::DataDir {
        path: dir.display().to_string(),
        source,
    };
    if dir.exists() {
        let empty = std::fs::read_dir(dir).map_err(io)?.next().is_none();
        if !empty && !dir.join(MARKER).exists() {
            return Err(DemoError::NotDemoDir {
                path: dir.display().to_string(),
            });
        }
        std::fs::remove_dir_all(dir).map_err(io)?;
    }
    std::fs::create_dir_all(dir).map_err(io)?;
    std::fs::write(
        dir.join(MARKER),
        "headroom-collector demo data: wiped at every demo start\n",
    )
    .map_err(io)
}

/// Runs the demo until `shutdown` completes.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DemoError> {
    let config = demo_config(config);
    wipe(&config.data_dir)?;
    tracing::info!(data_dir = %config.data_dir.display(), "demo: data directory wiped, starting fresh");
    tracing::info!(dashboard = %format!("http://{}/", config.http_listen), "demo: open the dashboard");
    let (gate_tx, gate_rx) = oneshot::channel::<()>();
    let feeder = tokio::spawn(feed_store(config.clone(), gate_tx));
    let gate = async move {
        // A failed feeder drops the sender: the advisor starts anyway.
        let _ = gate_rx.await;
    };
    // The server drains open streams before it stops: end the feeder's first.
    let feeder_abort = feeder.abort_handle();
    let shutdown = async move {
        shutdown.await;
        feeder_abort.abort();
    };
    let result = serve_with_advisor_gate(config, shutdown, gate).await;
    feeder.abort();
    Ok(result?)
}

/// A source an agent announces in its Hello: name, type, interval in ms.
type SourceInfo = (&'static str, &'static str, u64);

/// The simulated agents (in the order of a tick's batches) and their sources.
const AGENTS: [(&str, &[SourceInfo]); 3] = [
    (
        "demo-db",
        &[
            ("postgres", "postgres", 15_000),
            ("medusa", "medusa", 60_000),
            ("host", "host", 15_000),
        ],
    ),
    ("demo-redis", &[("redis", "redis", 15_000)]),
    ("demo-web", &[("nginx", "access_log", 15_000)]),
];

/// Streams the history, opens the advisor's gate, then feeds live data.
async fn feed_store(config: Config, gate: oneshot::Sender<()>) {
    if let Err(error) = feed_inner(&config, gate).await {
        tracing::error!(error = %error, "demo: the simulated store stopped feeding");
    }
}

async fn open_streams(config: &Config, epoch: u64) -> Result<Vec<AgentStream>, FeedError> {
    let mut addr = config.grpc_listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let endpoint = format!("http://{addr}");
    let channel = feed::connect(&endpoint, Duration::from_secs(30)).await?;
    let token = config
        .auth
        .agent_tokens
        .first()
        .map_or("", String::as_str)
        .to_owned();
    let mut streams = Vec::new();
    for (id, sources) in AGENTS {
        let hello = feed::hello(id, epoch, sources);
        streams.push(AgentStream::open(channel.clone(), &token, hello).await?);
    }
    Ok(streams)
}

async fn send_tick(streams: &mut [AgentStream], tick: Tick) -> Result<(), FeedError> {
    let now = now_ms();
    let [db, redis, web] = streams else {
        return Ok(());
    };
    db.send(tick.db, now).await?;
    redis.send(tick.redis, now).await?;
    web.send(tick.web, now).await
}

async fn feed_inner(config: &Config, gate: oneshot::Sender<()>) -> Result<(), FeedError> {
    let started = Instant::now();
    let now0 = now_ms();
    let epoch = now0 as u64;
    let mut sim = Sim::new(SEED, now0);
    let mut streams = open_streams(config, epoch).await?;

    // History: hourly steps, then 5-minute steps over the last day.
    let recent_from = now0 - RECENT_DAYS * sim::DAY_MS;
    let mut t = sim.shape().start_ms();
    let mut points = 0usize;
    while t < now0 {
        let mut tick = Tick::default();
        while t < now0 && tick.points() < BATCH_POINTS {
            let step = if t < recent_from {
                OLD_STEP_MS
            } else {
                RECENT_STEP_MS
            };
            let to = (t + step).min(now0);
            tick.extend(sim.step(t, to, true, to > recent_from));
            t = to;
        }
        points += tick.points();
        send_tick(&mut streams, tick).await?;
    }
    for stream in &mut streams {
        stream.flush().await?;
    }
    let ingest_s = started.elapsed().as_secs_f64();
    tracing::info!(
        points,
        seconds = format!("{ingest_s:.1}"),
        "demo: 60 days of history ingested; rolling it up"
    );
    wait_for_rollups(config).await;
    let _ = gate.send(());
    tracing::info!(
        points,
        seconds = format!("{:.1}", started.elapsed().as_secs_f64()),
        "demo: history loaded; the advisor starts, live data follows every 5 s"
    );

    // Live: one sample set every few seconds at the current time.
    let mut last = now0;
    let mut routes_at = now0;
    let mut ticker = tokio::time::interval(LIVE_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let now = now_ms();
        if now <= last {
            continue;
        }
        let flush = now - routes_at >= LIVE_ROUTES_MS;
        if flush {
            routes_at = now;
        }
        let tick = sim.step(last, now, flush, true);
        last = now;
        if let Err(error) = send_tick(&mut streams, tick).await {
            tracing::warn!(error = %error, "demo: a live batch was not sent; reconnecting");
            tokio::time::sleep(LIVE_INTERVAL).await;
            streams = open_streams(config, epoch).await?;
        }
    }
}

/// Waits until the store has rolled up every window the history touched
/// (hourly rollups are what the advisor reads over the look-back).
async fn wait_for_rollups(config: &Config) {
    let url = config.effective_database_url();
    let store = match Store::open(&url).await {
        Ok(store) => store,
        Err(error) => {
            tracing::warn!(error = %error, "demo: cannot watch the roll-up; starting the advisor now");
            return;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        match store.uncompacted_blocks().await {
            Ok(0) => return,
            Ok(_) if Instant::now() < deadline => {}
            Ok(left) => {
                tracing::warn!(
                    blocks = left,
                    "demo: roll-up still running; starting the advisor now"
                );
                return;
            }
            Err(error) => {
                tracing::warn!(error = %error, "demo: cannot watch the roll-up; starting the advisor now");
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_uses_its_own_directory_and_short_cadences_unless_configured() {
        let config = demo_config(Config::default());
        assert_eq!(config.data_dir, PathBuf::from(DEFAULT_DEMO_DATA_DIR));
        assert_eq!(config.analysis_interval, DEMO_ANALYSIS_INTERVAL);
        assert_eq!(
            config.retention.compaction_interval,
            DEMO_COMPACTION_INTERVAL
        );
        let mine = Config {
            data_dir: PathBuf::from("/tmp/elsewhere"),
            analysis_interval: HumanDuration::secs(7),
            database_url: "postgres://db/prod".into(),
            ..Config::default()
        };
        let config = demo_config(mine);
        assert_eq!(config.data_dir, PathBuf::from("/tmp/elsewhere"));
        assert_eq!(config.analysis_interval, HumanDuration::secs(7));
        assert!(config.database_url.is_empty());
    }

    #[test]
    fn wipe_empties_a_demo_directory_but_refuses_someone_elses() {
        let root = tempfile::tempdir().unwrap();
        let fresh = root.path().join("new");
        wipe(&fresh).unwrap();
        std::fs::write(fresh.join("headroom.db"), "old demo").unwrap();
        wipe(&fresh).unwrap();
        assert!(!fresh.join("headroom.db").exists());
        assert!(fresh.join(MARKER).exists());

        let theirs = root.path().join("prod");
        std::fs::create_dir_all(&theirs).unwrap();
        std::fs::write(theirs.join("headroom.db"), "precious").unwrap();
        assert!(matches!(wipe(&theirs), Err(DemoError::NotDemoDir { .. })));
        assert!(theirs.join("headroom.db").exists());
    }
}
