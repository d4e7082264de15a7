//! `headroom-agent init` end to end: the real binary looks at this machine
//! (its PostgreSQL on 127.0.0.1:5432 and Redis on 6379), a fixture nginx
//! access log (through `--log-dir`, so /var/log is not needed) and a
//! fixture Medusa project (`medusa-config.ts`, `.env`, `instrumentation.ts`),
//! writes agent.toml and runs `check` on it against a real collector.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use headroom_tests::{Collector, CollectorOptions, PgDatabase, bin, free_port};

const TOKEN: &str = "init-e2e-agent-token";
/// A password in the store's DATABASE_URL: the machine's server trusts
/// 127.0.0.1, so it is accepted and ignored.
const PASSWORD: &str = "init-e2e-secret";

/// Runs `headroom-agent init ARGS` in `dir` with none of the variables
/// init reads set, except the agent token.
fn init(dir: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(bin("headroom-agent"));
    command.arg("init").args(args).current_dir(dir);
    for key in [
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGPASSWORD",
        "DATABASE_URL",
        "REDIS_URL",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "HEADROOM_AGENT_CONFIG",
    ] {
        command.env_remove(key);
    }
    command
        .env("HEADROOM_AGENT_TOKEN", TOKEN)
        .env("NO_COLOR", "1")
        .output()
        .expect("headroom-agent runs")
}

fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The `[[sources]]` of a written file, as TOML tables.
fn sources(file: &toml::Table) -> Vec<toml::Table> {
    file.get("sources")
        .and_then(|sources| sources.as_array())
        .map(|sources| {
            sources
                .iter()
                .map(|source| source.as_table().expect("a table").clone())
                .collect()
        })
        .unwrap_or_default()
}

fn read_toml(path: &Path) -> toml::Table {
    let text = std::fs::read_to_string(path).expect("the file was written");
    text.parse()
        .unwrap_or_else(|error| panic!("{error}\n{text}"))
}

fn string<'a>(table: &'a toml::Table, key: &str) -> &'a str {
    table
        .get(key)
        .and_then(|value| value.as_str())
        .unwrap_or_else(|| panic!("no string `{key}` in {table:?}"))
}

/// One nginx `combined` line with `$request_time` appended.
const NGINX_LINE: &str = "203.0.113.9 - - [27/Nov/2026:13:00:00 +0000] \"POST /store/carts/cart_01HZX3Q4M2N5P6R7S8T9V00001/complete HTTP/1.1\" 200 321 \"-\" \"Mozilla/5.0\" 0.287\n";

#[tokio::test]
async fn init_configures_what_runs_here_and_checks_it() {
    let collector = Collector::start(CollectorOptions {
        agent_tokens: vec![TOKEN.into()],
        ..CollectorOptions::default()
    })
    .await;
    let database = PgDatabase::create();
    let database_url = database
        .url
        .replace("postgres@", &format!("postgres:{PASSWORD}@"));
    let otlp_port = free_port();

    let root = tempfile::tempdir().expect("tempdir");
    let shop = root.path().join("shop");
    std::fs::create_dir_all(&shop).expect("mkdir");
    std::fs::write(
        shop.join("medusa-config.ts"),
        "import { loadEnv, defineConfig } from \"@medusajs/framework/utils\"\n\
         loadEnv(process.env.NODE_ENV || \"development\", process.cwd())\n\
         module.exports = defineConfig({ projectConfig: { databaseUrl: process.env.DATABASE_URL, redisUrl: process.env.REDIS_URL } })\n",
    )
    .expect("write");
    std::fs::write(
        shop.join(".env"),
        format!(
            "# the store's settings\nDATABASE_URL={database_url}\nREDIS_URL=redis://127.0.0.1:6379\n\
             OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{otlp_port}\nJWT_SECRET=supersecret\n"
        ),
    )
    .expect("write");
    std::fs::write(
        shop.join("instrumentation.ts"),
        "import { registerOtel } from \"@medusajs/medusa\"\n\
         import { OTLPTraceExporter } from \"@opentelemetry/exporter-trace-otlp-grpc\"\n\
         export function register() {\n  registerOtel({ serviceName: \"shop\", exporter: new OTLPTraceExporter() })\n}\n",
    )
    .expect("write");
    let logs = root.path().join("log");
    std::fs::create_dir_all(logs.join("nginx")).expect("mkdir");
    std::fs::write(logs.join("nginx/access.log"), NGINX_LINE.repeat(5)).expect("write");
    std::fs::write(logs.join("nginx/access.log.1"), NGINX_LINE).expect("write");
    let work = root.path().join("work");
    std::fs::create_dir_all(&work).expect("mkdir");

    let output = init(
        &work,
        &[
            "--non-interactive",
            "--collector",
            &collector.endpoint(),
            "--agent-id",
            "init-e2e",
            "--medusa-dir",
            &shop.display().to_string(),
            "--log-dir",
            &logs.display().to_string(),
        ],
    );
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "init failed:\n{stdout}\n{stderr}");

    let path = work.join("agent.toml");
    let file = read_toml(&path);
    let written = std::fs::read_to_string(&path).expect("read");
    assert_eq!(
        string(file["agent"].as_table().expect("[agent]"), "id"),
        "init-e2e"
    );
    assert_eq!(
        string(
            file["collector"].as_table().expect("[collector]"),
            "endpoint"
        ),
        collector.endpoint()
    );
    let sources = sources(&file);
    let types: Vec<&str> = sources.iter().map(|s| string(s, "type")).collect();
    assert_eq!(
        types,
        ["postgres", "redis", "host", "access_log", "medusa", "otlp"],
        "one source per thing found (the store's database, 127.0.0.1:5432 and the \
         socket are one server; REDIS_URL and 6379 one Redis; no Caddy log):\n{written}"
    );
    assert_eq!(
        string(&sources[0], "url"),
        database_url,
        "the store's database, as found"
    );
    assert_eq!(string(&sources[1], "url"), "redis://127.0.0.1:6379");
    let log = logs
        .join("nginx/access.log")
        .canonicalize()
        .expect("canonical");
    assert_eq!(string(&sources[3], "path"), log.display().to_string());
    assert_eq!(string(&sources[3], "format"), "nginx_combined");
    assert_eq!(string(&sources[4], "url"), database_url);
    assert_eq!(
        string(&sources[5], "listen"),
        format!("127.0.0.1:{otlp_port}"),
        "the store already exports to a free local port: the source listens there"
    );
    assert!(
        written.contains("# Found: DATABASE_URL in"),
        "each source says how it was found:\n{written}"
    );

    assert!(
        !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
        "a found password reached the terminal:\n{stdout}\n{stderr}"
    );
    assert!(!stdout.contains(TOKEN) && !stderr.contains(TOKEN));
    assert!(
        stdout.contains("already exports its traces to"),
        "init says what the store's exporter points at:\n{stdout}"
    );
    assert!(
        stdout.contains("checking agent.toml")
            && stdout.contains("source medusa (medusa):")
            && stdout.contains(&format!(
                "ok   the collector at {} accepted this agent's token and Hello",
                collector.endpoint()
            )),
        "check ran on the written file:\n{stdout}"
    );

    // The agent's own `check` loads the file (exit 64 would be a bad config).
    let check = Command::new(bin("headroom-agent"))
        .args(["check", "--config", "agent.toml"])
        .current_dir(&work)
        .env("HEADROOM_AGENT_TOKEN", TOKEN)
        .output()
        .expect("check runs");
    let (check_out, check_err) = text(&check);
    assert_ne!(
        check.status.code(),
        Some(64),
        "the written file does not load:\n{check_err}"
    );
    assert!(check_out.contains("source otlp (otlp):"), "{check_out}");
}

#[tokio::test]
async fn non_interactive_init_without_a_collector_takes_the_default_and_says_so() {
    let root = tempfile::tempdir().expect("tempdir");
    let empty_logs = root.path().join("no-logs");
    std::fs::create_dir_all(&empty_logs).expect("mkdir");
    let output = init(
        root.path(),
        &[
            "--non-interactive",
            "--log-dir",
            &empty_logs.display().to_string(),
        ],
    );
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "init failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("no --collector given, using the default http://127.0.0.1:4317"),
        "{stdout}"
    );
    assert!(stdout.contains("no Medusa project in ."), "{stdout}");
    let file = read_toml(&root.path().join("agent.toml"));
    assert_eq!(
        string(
            file["collector"].as_table().expect("[collector]"),
            "endpoint"
        ),
        "http://127.0.0.1:4317"
    );
    let types: Vec<String> = sources(&file)
        .iter()
        .map(|s| string(s, "type").to_owned())
        .collect();
    assert_eq!(
        types,
        ["postgres", "redis", "host"],
        "the machine's PostgreSQL and Redis, and nothing that is not here"
    );
    assert!(stdout.contains("checking agent.toml"), "{stdout}");
}

#[tokio::test]
async fn init_never_overwrites_a_file_without_force() {
    let root = tempfile::tempdir().expect("tempdir");
    let path = root.path().join("mine.toml");
    std::fs::write(&path, "# my own configuration\n").expect("write");
    let empty_logs = root.path().join("no-logs");
    std::fs::create_dir_all(&empty_logs).expect("mkdir");
    let args = [
        "--non-interactive",
        "--output",
        "mine.toml",
        "--log-dir",
        &empty_logs.display().to_string(),
    ];

    let output = init(root.path(), &args);
    let (stdout, stderr) = text(&output);
    assert!(
        !output.status.success(),
        "init overwrote the file:\n{stdout}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "# my own configuration\n"
    );

    let output = init(root.path(), &[&args[..], &["--force"]].concat());
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let file = read_toml(&path);
    assert!(file.contains_key("collector"), "{file:?}");
}
