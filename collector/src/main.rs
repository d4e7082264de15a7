//! The `headroom-collector` binary: parses the command line and the
//! configuration, sets up logging and runs the server.
#![forbid(unsafe_code)]

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use headroom_collector::config::{Config, Overrides};
use headroom_proto::config::EXIT_BAD_CONFIG;
use headroom_proto::process::{init_tracing, shutdown_signal};
use headroom_proto::telemetry::{self, TelemetryConfig};

/// Headroom's collector: stores what agents send and says when to scale what.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// collector.toml (every key is optional; see collector.example.toml)
    #[arg(long, global = true, env = "HEADROOM_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    overrides: Overrides,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the collector (the default).
    Serve,
    /// Check the configuration and print the effective values.
    Check,
    /// Run the collector fed by a simulated store: 60 days of history, then
    /// live data (data in ./headroom-demo-data unless --data-dir, wiped at start).
    Demo {
        #[command(flatten)]
        overrides: Box<Overrides>,
    },
    /// Alerts to chat.
    Alerts {
        #[command(subcommand)]
        command: AlertsCommand,
    },
}

#[derive(Debug, Subcommand)]
enum AlertsCommand {
    /// Send a test message to one `[[alerts]]` receiver and report the
    /// platform's answer (exit 0 when it accepted the message).
    Test {
        /// The receiver's `name`.
        #[arg(long)]
        receiver: String,
    },
}

/// The command line's overrides: a subcommand's (`demo --data-dir …`) win
/// over those given before it.
fn overrides(cli: &Cli) -> Overrides {
    let Some(Command::Demo { overrides: sub }) = &cli.command else {
        return cli.overrides.clone();
    };
    let (mut merged, top) = ((**sub).clone(), &cli.overrides);
    merged.database_url = merged.database_url.or(top.database_url.clone());
    merged.data_dir = merged.data_dir.or(top.data_dir.clone());
    merged.grpc_listen = merged.grpc_listen.or(top.grpc_listen.clone());
    merged.http_listen = merged.http_listen.or(top.http_listen.clone());
    merged.analysis_interval = merged.analysis_interval.or(top.analysis_interval.clone());
    merged.agent_tokens = merged.agent_tokens.or(top.agent_tokens.clone());
    merged.dashboard_token = merged.dashboard_token.or(top.dashboard_token.clone());
    merged.admin_token = merged.admin_token.or(top.admin_token.clone());
    merged.log_format = merged.log_format.or(top.log_format);
    merged
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), &overrides(&cli)) {
        Ok(config) => config,
        Err(errors) => {
            eprintln!("headroom-collector: {errors}");
            return ExitCode::from(EXIT_BAD_CONFIG as u8);
        }
    };
    init_tracing(config.log.format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Check => {
            let mut shown = config.clone();
            shown.auth.agent_tokens = vec!["***".into(); shown.auth.agent_tokens.len()];
            for token in [&mut shown.auth.dashboard_token, &mut shown.auth.admin_token] {
                if !token.is_empty() {
                    *token = "***".into();
                }
            }
            shown.database_url =
                headroom_collector::store::redact(&config.effective_database_url());
            match toml::to_string_pretty(&shown) {
                Ok(text) => println!("{text}"),
                Err(error) => eprintln!("cannot print the configuration: {error}"),
            }
            ExitCode::SUCCESS
        }
        Command::Serve => run(
            config.telemetry.clone(),
            headroom_collector::serve(config, shutdown_signal()),
        ),
        Command::Demo { .. } => run(
            config.telemetry.clone(),
            headroom_collector::demo::run(config, shutdown_signal()),
        ),
        Command::Alerts {
            command: AlertsCommand::Test { receiver },
        } => alerts_test(&config, &receiver),
    }
}

/// `alerts test --receiver NAME`: prints the platform's answer.
fn alerts_test(config: &Config, receiver: &str) -> ExitCode {
    use headroom_collector::alerts::{probe, retry::Answer};
    let Some(runtime) = runtime(tokio::runtime::Builder::new_current_thread()) else {
        return ExitCode::FAILURE;
    };
    match runtime.block_on(probe::send_test(config, receiver)) {
        Err(error @ probe::ProbeError::UnknownReceiver { .. }) => {
            eprintln!("headroom-collector: {error}");
            ExitCode::from(EXIT_BAD_CONFIG as u8)
        }
        Err(error) => {
            eprintln!("headroom-collector: {error}");
            ExitCode::FAILURE
        }
        Ok((kind, Answer::Http { status, body, .. })) => {
            let body = body.trim();
            let verdict = if (200..300).contains(&status) {
                "accepted"
            } else {
                "refused"
            };
            println!("{receiver} ({kind}): {verdict}: HTTP {status}");
            if !body.is_empty() {
                println!("{body}");
            }
            if (200..300).contains(&status) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Ok((kind, Answer::Network(error))) => {
            println!("{receiver} ({kind}): not sent: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Runs `server` (the collector, or the demo) on a multi-threaded runtime,
/// exporting the collector's own telemetry as `[telemetry]` says (a set-up
/// that fails is logged and the collector runs without it).
fn run<E: std::fmt::Display>(
    telemetry: TelemetryConfig,
    server: impl Future<Output = Result<(), E>>,
) -> ExitCode {
    let Some(runtime) = runtime(tokio::runtime::Builder::new_multi_thread()) else {
        return ExitCode::FAILURE;
    };
    let telemetry = {
        let _entered = runtime.enter();
        telemetry::init(&telemetry, telemetry::COLLECTOR_SERVICE, None).unwrap_or_else(|error| {
            tracing::warn!(error = %error, "running without Headroom's own telemetry");
            telemetry::Telemetry::default()
        })
    };
    let code = match runtime.block_on(server) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "headroom-collector stopped");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    code
}

/// Builds a runtime from `builder` with every driver; says why when it cannot.
fn runtime(mut builder: tokio::runtime::Builder) -> Option<tokio::runtime::Runtime> {
    match builder.enable_all().build() {
        Ok(runtime) => Some(runtime),
        Err(error) => {
            eprintln!("headroom-collector: cannot start the runtime: {error}");
            None
        }
    }
}
