//! The `headroom-agent` binary: `run` collects and ships, `check` says what
//! the agent can and cannot see, `init` writes an agent.toml for this host.
#![forbid(unsafe_code)]

mod check;
mod collect;
mod config;
mod init;
mod shipper;
mod sources;
mod spool;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use headroom_proto::config::{EXIT_BAD_CONFIG, LogFormat};
use headroom_proto::process::{init_tracing, shutdown_signal};
use headroom_proto::telemetry;
use headroom_proto::v1;
use tokio::sync::{Notify, mpsc, watch};

use crate::collect::OtherDrops;
use crate::config::Config;

/// Headroom's agent: reads a store's components and streams them to the collector.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Collect and ship until SIGINT or SIGTERM.
    Run {
        /// agent.toml (see agent.example.toml)
        #[arg(long, env = "HEADROOM_AGENT_CONFIG")]
        config: PathBuf,
    },
    /// Connect once to every source and the collector; print what works and the fix for what does not.
    Check {
        #[arg(long, env = "HEADROOM_AGENT_CONFIG")]
        config: PathBuf,
    },
    /// Find what runs on this host and write a commented agent.toml for it, then check it.
    Init(init::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (path, check) = match cli.command {
        Command::Init(args) => {
            init_tracing(LogFormat::Plain);
            return match runtime() {
                Ok(runtime) => init::run(args, &runtime),
                Err(error) => {
                    eprintln!("headroom-agent: cannot start the runtime: {error}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Run { config } => (config, false),
        Command::Check { config } => (config, true),
    };
    let env_token = std::env::var("HEADROOM_AGENT_TOKEN").ok();
    let config = match Config::load(&path, env_token) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("headroom-agent: {errors}");
            return ExitCode::from(EXIT_BAD_CONFIG as u8);
        }
    };
    init_tracing(config.log.format);
    let runtime = match runtime() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("headroom-agent: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    if check {
        let (report, ok) = runtime.block_on(check::check(&config, hello(&config, 0)));
        print!("{report}");
        return if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let telemetry = {
        let _entered = runtime.enter();
        telemetry::init(
            &config.telemetry,
            telemetry::AGENT_SERVICE,
            Some(&config.agent_id()),
        )
        .unwrap_or_else(|error| {
            tracing::warn!(error = %error, "running without Headroom's own telemetry");
            telemetry::Telemetry::default()
        })
    };
    let result = runtime.block_on(run(config));
    // The last spans leave while the runtime still runs.
    telemetry.shutdown();
    // A cancelled scrape may leave a blocking read or DNS lookup behind: do
    // not let it hold the exit past the stop timeout.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "headroom-agent stopped");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

fn hello(config: &Config, spool_epoch: u64) -> v1::Hello {
    let names = sources::names(&config.sources);
    v1::Hello {
        agent_id: config.agent_id(),
        hostname: config::hostname(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        spool_epoch,
        sources: config
            .sources
            .iter()
            .zip(names)
            .map(|(source, name)| v1::SourceInfo {
                name,
                r#type: source.type_name().to_owned(),
                interval_ms: source.interval().as_millis() as u64,
            })
            .collect(),
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let (spool, recovery) = spool::Spool::open(&config.spool.dir, config.spool.max_bytes.0)
        .with_context(|| format!("cannot open the spool in {}", config.spool.dir.display()))?;
    if recovery.corrupt_records > 0 {
        tracing::warn!(
            corrupt = recovery.corrupt_records,
            truncated_bytes = recovery.truncated_bytes,
            "the spool had a torn or corrupt tail (a crash mid-write); it was cut and the loss is counted"
        );
    }
    tracing::info!(
        agent_id = %config.agent_id(),
        pending = spool.pending(),
        spool_bytes = spool.bytes(),
        last_sequence = spool.last_seq(),
        spool = %config.spool.dir.display(),
        sources = config.sources.len(),
        "headroom-agent starting"
    );
    let hello = hello(&config, spool.epoch());
    let spool = Arc::new(Mutex::new(spool));
    let sealed = Arc::new(Notify::new());
    let drops = Arc::new(OtherDrops::default());
    let (stop, stopped) = watch::channel(false);
    let (parts, parts_rx) = mpsc::channel(collect::QUEUE_CAPACITY);

    let mut source_tasks = Vec::new();
    for (source_config, name) in config.sources.iter().zip(sources::names(&config.sources)) {
        source_tasks.push((
            name.clone(),
            collect::spawn_source(
                source_config.build(name),
                source_config.type_name(),
                source_config.interval(),
                parts.clone(),
                drops.clone(),
                stopped.clone(),
            ),
        ));
    }
    drop(parts);
    let batcher = tokio::spawn(collect::run_batcher(
        parts_rx,
        spool.clone(),
        sealed.clone(),
        drops.clone(),
        config.agent.flush_interval.0,
        config.agent.max_batch_points,
    ));
    let shipper = tokio::spawn(
        shipper::Shipper {
            config: config.collector.clone(),
            hello,
            spool: spool.clone(),
            sealed,
            drops,
        }
        .run(),
    );

    shutdown_signal().await;
    tracing::info!("stopping: sealing what was collected and flushing the spool");
    let _ = stop.send(true);
    let started = Instant::now();
    let deadline = started + config.agent.shutdown_timeout.0;
    // Scrapes in flight get the first half of the timeout. A source still
    // busy then (a hung probe or query) is cancelled, so that its sender goes
    // and the batcher seals what every other source collected; the second
    // half is left for the collector's acks.
    let scrapes_deadline = started + config.agent.shutdown_timeout.0 / 2;
    for (source, mut task) in source_tasks {
        if tokio::time::timeout_at(scrapes_deadline.into(), &mut task)
            .await
            .is_err()
        {
            task.abort();
            tracing::warn!(
                source = %source,
                "a scrape was still running at shutdown; it was cancelled"
            );
        }
    }
    let _ = tokio::time::timeout_at(deadline.into(), batcher).await;
    let mut pending = spool.lock().map(|s| s.pending()).unwrap_or(0);
    while pending > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        pending = spool.lock().map(|s| s.pending()).unwrap_or(0);
    }
    shipper.abort();
    if pending > 0 {
        tracing::warn!(
            pending,
            "stopped with unacknowledged batches; they stay in the spool for the next start"
        );
    } else {
        tracing::info!("stopped; every batch was acknowledged");
    }
    Ok(())
}
