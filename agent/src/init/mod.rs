//! `headroom-agent init`: finds what runs on this host (PostgreSQL, Redis,
//! web server access logs, a Medusa project and its OpenTelemetry), asks on
//! a terminal only for what it cannot find (the collector endpoint), writes
//! a commented `agent.toml` holding only what it found, loads it with the
//! agent's own loader and runs `check` on it. Detectors do the I/O
//! (`postgres`, `redis`, `logs`, `medusa`); deciding (`otel`) and
//! rendering (`render`, `summary`) are pure.

mod dotenv;
mod logs;
mod medusa;
mod otel;
mod plan;
mod postgres;
mod prompt;
mod redis;
mod render;
mod summary;

use std::collections::BTreeMap;
use std::io::{IsTerminal as _, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use headroom_proto::config::EXIT_BAD_CONFIG;

use crate::config::{Config, DEFAULT_ENDPOINT, hostname};
use medusa::Project;
use plan::{Collector, EndpointOrigin, Found, FoundSource, Plan};

/// How long each address is given to answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// `headroom-agent init` flags.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the configuration.
    #[arg(long, default_value = "agent.toml")]
    output: PathBuf,
    /// Overwrite --output when it exists.
    #[arg(long)]
    force: bool,
    /// Never prompt: take the flags, and defaults for what they leave out.
    #[arg(long)]
    non_interactive: bool,
    /// The collector's gRPC endpoint [default: asked on a terminal, else http://127.0.0.1:4317].
    #[arg(long)]
    collector: Option<String>,
    /// The agent's id [default: this machine's hostname].
    #[arg(long)]
    agent_id: Option<String>,
    /// The Medusa project: the directory holding medusa-config.ts (or .js) and its .env.
    #[arg(long, default_value = ".")]
    medusa_dir: PathBuf,
    /// Where web servers write their logs: nginx/*access.log and caddy/*.log are looked for under it.
    #[arg(long, default_value = "/var/log")]
    log_dir: PathBuf,
}

/// Runs `init`; the exit code is 0 once the file is written and loads,
/// whatever `check` then finds.
pub fn run(args: Args, runtime: &tokio::runtime::Runtime) -> ExitCode {
    if args.output.exists() && !args.force {
        eprintln!(
            "headroom-agent init: {} already exists; pass --force to overwrite it, or --output to write elsewhere",
            args.output.display()
        );
        return ExitCode::FAILURE;
    }
    if let Some(endpoint) = &args.collector
        && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
    {
        eprintln!(
            "headroom-agent init: --collector `{endpoint}` must start with http:// or https://"
        );
        return ExitCode::from(EXIT_BAD_CONFIG as u8);
    }
    let environment: BTreeMap<String, String> = std::env::vars().collect();
    let project = Project::find(&args.medusa_dir);
    println!("headroom-agent init: looking at this host");
    let mut detected = runtime.block_on(detect(project.as_ref(), &environment, &args.log_dir));

    let collector = match collector(&args) {
        Ok(collector) => collector,
        Err(error) => {
            eprintln!("headroom-agent init: cannot read the answer: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(project) = &project {
        let endpoint = project.var(&otel::ENDPOINT_VARS, &environment);
        let explicit = collector.origin != EndpointOrigin::Default;
        let (otlp, notes) = otel::plan(
            project,
            endpoint.as_ref(),
            (&collector.endpoint, explicit),
            |address| std::net::TcpListener::bind(address).is_ok(),
        );
        detected.sources.extend(otlp);
        detected.notes.extend(notes);
    } else {
        println!(
            "no Medusa project in {} (no medusa-config.ts): pass --medusa-dir to point at it",
            args.medusa_dir.display()
        );
    }
    let plan = Plan {
        agent_id: args.agent_id.clone(),
        hostname: hostname(),
        collector,
        sources: detected.sources,
        notes: detected.notes,
    };
    if let Err(error) = write(&args.output, &render::render(&plan), args.force) {
        eprintln!(
            "headroom-agent init: cannot write {}: {error}",
            args.output.display()
        );
        return ExitCode::FAILURE;
    }
    print!("{}", summary::summary(&plan, &args.output));

    let env_token = std::env::var("HEADROOM_AGENT_TOKEN").ok();
    let config = match Config::load(&args.output, env_token) {
        Ok(config) => config,
        Err(errors) => {
            // A bug in the renderer: the file is left for the report.
            eprintln!("headroom-agent init: the written file does not load: {errors}");
            return ExitCode::from(EXIT_BAD_CONFIG as u8);
        }
    };
    println!(
        "\nchecking {} (as `headroom-agent check --config {}` does):",
        args.output.display(),
        args.output.display()
    );
    let (report, ok) = runtime.block_on(crate::check::check(&config, crate::hello(&config, 0)));
    print!("{report}");
    if ok {
        println!(
            "check: everything works; start it with `headroom-agent run --config {}`",
            args.output.display()
        );
    } else {
        println!(
            "check: some checks failed (FAIL above); fix them and run `headroom-agent check --config {}`",
            args.output.display()
        );
    }
    let _ = std::io::stdout().flush();
    ExitCode::SUCCESS
}

/// The collector endpoint: the flag, else the answer on a terminal, else
/// the default.
fn collector(args: &Args) -> std::io::Result<Collector> {
    if let Some(endpoint) = &args.collector {
        return Ok(Collector {
            endpoint: endpoint.clone(),
            origin: EndpointOrigin::Flag,
        });
    }
    if !args.non_interactive && std::io::stdin().is_terminal() {
        let answer = prompt::collector_endpoint(
            &mut std::io::stdin().lock(),
            &mut std::io::stdout(),
            DEFAULT_ENDPOINT,
        )?;
        if let Some(endpoint) = answer {
            return Ok(Collector {
                endpoint,
                origin: EndpointOrigin::Prompt,
            });
        }
    }
    Ok(Collector {
        endpoint: DEFAULT_ENDPOINT.to_owned(),
        origin: EndpointOrigin::Default,
    })
}

/// Sources found and notes, before the collector is known.
#[derive(Debug, Default)]
struct Detected {
    sources: Vec<Found>,
    notes: Vec<String>,
}

async fn detect(
    project: Option<&Project>,
    environment: &BTreeMap<String, String>,
    log_dir: &Path,
) -> Detected {
    let mut detected = Detected::default();
    let database_url = project.and_then(|p| p.var(&["DATABASE_URL"], environment));
    let redis_url = project.and_then(|p| p.var(&["REDIS_URL"], environment));

    // PostgreSQL: one source per server, the most specific way to reach it.
    let candidates = postgres::candidates(
        database_url
            .as_ref()
            .map(|v| (v.value.as_str(), v.how.as_str())),
        environment,
        Path::new(postgres::SOCKET_DIR),
    );
    let answers = futures::future::join_all(
        candidates
            .iter()
            .map(|candidate| postgres::probe(&candidate.url, PROBE_TIMEOUT)),
    )
    .await;
    let mut servers = Vec::new();
    let mut refused = Vec::new();
    for (candidate, answer) in candidates.iter().zip(&answers) {
        match answer {
            Ok(answer) if !servers.contains(&answer.server) => {
                servers.push(answer.server.clone());
                detected.sources.push(Found {
                    how: format!("{}; {}", candidate.how, answer.version),
                    source: FoundSource::Postgres {
                        url: candidate.url.clone(),
                        statements: answer.statements,
                    },
                });
            }
            Ok(_) => {}
            Err(failure) if candidate.configured => detected
                .notes
                .push(format!("{}: {}", candidate.how, failure.reason)),
            Err(failure) if failure.answered => refused.push(failure.reason.clone()),
            Err(_) => {}
        }
    }
    if servers.is_empty() {
        detected.notes.extend(refused);
    }
    if let (Some(project), Some(database_url)) = (project, &database_url) {
        let store = candidates
            .iter()
            .zip(&answers)
            .find(|(candidate, _)| candidate.url == database_url.value);
        if let Some((_, Ok(answer))) = store {
            detected.sources.push(Found {
                how: format!("{} with {}", project.describe(), database_url.how),
                source: FoundSource::Medusa {
                    url: database_url.value.clone(),
                    tables: answer.medusa_tables,
                },
            });
        }
    } else if let Some(project) = project {
        detected.notes.push(format!(
            "{}: no DATABASE_URL in its .env or the environment, so no medusa source",
            project.describe()
        ));
    }

    // Redis.
    let candidates = redis::candidates(
        redis_url
            .as_ref()
            .map(|v| (v.value.as_str(), v.how.as_str())),
    );
    let answers = futures::future::join_all(
        candidates
            .iter()
            .map(|candidate| redis::probe(&candidate.url, PROBE_TIMEOUT)),
    )
    .await;
    let mut servers = Vec::new();
    for (candidate, answer) in candidates.iter().zip(answers) {
        match answer {
            Ok(server) if !servers.contains(&server) => {
                servers.push(server);
                detected.sources.push(Found {
                    how: candidate.how.clone(),
                    source: FoundSource::Redis {
                        url: candidate.url.clone(),
                    },
                });
            }
            Ok(_) => {}
            Err(failure) if candidate.configured || failure.answered => detected
                .notes
                .push(format!("{}: {}", candidate.how, failure.reason)),
            Err(_) => {}
        }
    }

    // This machine.
    if std::fs::read_to_string("/proc/stat").is_ok() {
        detected.sources.push(Found {
            how: "/proc/stat is readable".into(),
            source: FoundSource::Host,
        });
    }

    // Access logs, by absolute path (the agent may run elsewhere).
    let log_dir = log_dir
        .canonicalize()
        .unwrap_or_else(|_| log_dir.to_owned());
    for log in logs::find(&log_dir) {
        let path = log.path.display().to_string();
        match logs::last_lines(&log.path).map(|lines| logs::sniff(log.server, &lines)) {
            Ok(Ok(format)) => detected.sources.push(Found {
                how: format!("{}'s access log in {}", log.server.name(), log_dir.display()),
                source: FoundSource::AccessLog {
                    name: log.name(),
                    path: log.path.clone(),
                    format,
                },
            }),
            Ok(Err(reason)) => detected.notes.push(format!("{path}: {reason}")),
            Err(error) => detected.notes.push(format!(
                "{path}: cannot read it ({error}); the agent's user needs read access (e.g. the adm group)"
            )),
        }
    }
    order(&mut detected.sources);
    detected
}

/// Sources in a fixed order: databases, cache, host, logs, store, traces.
fn order(sources: &mut [Found]) {
    sources.sort_by_key(|found| match found.source {
        FoundSource::Postgres { .. } => 0,
        FoundSource::Redis { .. } => 1,
        FoundSource::Host => 2,
        FoundSource::AccessLog { .. } => 3,
        FoundSource::Medusa { .. } => 4,
        FoundSource::Otlp { .. } => 5,
    });
}

/// Writes `text` readable by its owner only (it may hold credentials);
/// without `force` an existing file is never replaced.
fn write(path: &Path, text: &str, force: bool) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).mode(0o600);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}
