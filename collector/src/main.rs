//! The `headroom-collector` binary: parses the command line and the
//! configuration, sets up logging and runs the server.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use headroom_collector::config::{Config, Overrides};
use headroom_proto::config::EXIT_BAD_CONFIG;
use headroom_proto::process::{init_tracing, shutdown_signal};

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref(), &cli.overrides) {
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
            shown.database_url =
                headroom_collector::store::redact(&config.effective_database_url());
            match toml::to_string_pretty(&shown) {
                Ok(text) => println!("{text}"),
                Err(error) => eprintln!("cannot print the configuration: {error}"),
            }
            ExitCode::SUCCESS
        }
        Command::Serve => run(config),
    }
}

fn run(config: Config) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("headroom-collector: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(headroom_collector::serve(config, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %error, "headroom-collector stopped");
            ExitCode::FAILURE
        }
    }
}
