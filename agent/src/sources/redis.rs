//! Redis: `INFO all` reduced to one `RedisStats` record per scrape (hits and
//! misses, evictions, expirations, memory against `maxmemory`,
//! fragmentation, clients, ops/s, rejected connections and the round trip
//! of a `PING`), plus per-command calls and time from `commandstats` (the
//! `commandstats_top` busiest commands by time, the rest summed as
//! `command="other"`) and key counts per database from `keyspace`.
//!
//! Privileges: `PING` and `INFO` only. With ACLs: `ACL SETUSER headroom on
//! >PASSWORD +ping +info`. The password goes in `url`
//! (`redis://:PASSWORD@host:6379`, or `redis://USER:PASSWORD@…`) and never
//! appears in labels, logs or findings: the instance is always `host:port`.
//! The connection is opened on the first scrape and dropped after any error,
//! to be re-opened at the next. `INFO` parsing lives in `info`.

use std::time::{Duration, Instant};

use ::redis::aio::MultiplexedConnection;
use ::redis::{AsyncConnectionConfig, ConnectionAddr, ErrorKind, IntoConnectionInfo, RedisError};
use headroom_proto::config::HumanDuration;
use headroom_proto::v1;
use serde::Deserialize;

use super::{Finding, ScrapeError, Source};
use info::{Info, batch};

mod info;

/// Default scrape interval.
pub const DEFAULT_INTERVAL: HumanDuration = HumanDuration::secs(15);
/// Default connect (and command) timeout.
pub const DEFAULT_CONNECT_TIMEOUT: HumanDuration = HumanDuration::secs(5);
/// Default number of commands reported on their own; the rest are `other`.
pub const DEFAULT_COMMANDSTATS_TOP: usize = 10;
/// Upper bound of `commandstats_top`, to keep cardinality bounded.
pub const MAX_COMMANDSTATS_TOP: usize = 100;

/// `[[sources]] type = "redis"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub name: Option<String>,
    /// `redis://[[user]:password@]host:port[/db]`
    pub url: String,
    pub interval: HumanDuration,
    /// Bounds the connection and every command.
    pub connect_timeout: HumanDuration,
    /// Commands reported by name (busiest by total time); the rest are
    /// summed as `command="other"`.
    pub commandstats_top: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: None,
            url: String::new(),
            interval: DEFAULT_INTERVAL,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            commandstats_top: DEFAULT_COMMANDSTATS_TOP,
        }
    }
}

impl Config {
    /// `url` must be a plain `redis://` URL; `interval` at least 100ms;
    /// `commandstats_top` at most [`MAX_COMMANDSTATS_TOP`].
    pub fn validate(&self) -> Result<(), String> {
        if self.url.is_empty() {
            return Err("`url` is required, e.g. redis://127.0.0.1:6379".into());
        }
        if self.url.starts_with("rediss://") {
            return Err(
                "`url`: TLS (rediss://) is not built into this agent yet; use redis:// on a private network"
                    .into(),
            );
        }
        // The error texts of the URL parser never contain the URL itself.
        self.url
            .as_str()
            .into_connection_info()
            .map_err(|error| format!("`url` is not a Redis URL (redis://host:port): {error}"))?;
        if self.interval.0 < Duration::from_millis(100) {
            return Err("`interval` must be at least 100ms".into());
        }
        if self.connect_timeout.0.is_zero() {
            return Err("`connect_timeout` must be above zero".into());
        }
        if self.commandstats_top > MAX_COMMANDSTATS_TOP {
            return Err(format!(
                "`commandstats_top` must be at most {MAX_COMMANDSTATS_TOP} (each command is two series)"
            ));
        }
        Ok(())
    }
}

/// Every section, so that `commandstats` and `keyspace` come in one round
/// trip (a list of sections needs Redis 7; `all` works everywhere).
const INFO_SECTIONS: &str = "all";

/// The source: its configuration and, once connected, a connection.
pub struct RedisSource {
    name: String,
    config: Config,
    connection: Option<MultiplexedConnection>,
}

impl RedisSource {
    /// A source that connects on its first scrape.
    pub fn new(name: String, config: Config) -> Self {
        Self {
            name,
            config,
            connection: None,
        }
    }

    /// `host:port` of the URL, without user or password.
    pub fn endpoint(&self) -> String {
        endpoint(&self.config.url)
    }

    async fn connect(&mut self) -> Result<&mut MultiplexedConnection, RedisError> {
        let connection = match self.connection.take() {
            Some(connection) => connection,
            None => {
                let client = ::redis::Client::open(self.config.url.as_str())?;
                let timeout = Some(self.config.connect_timeout.0);
                let options = AsyncConnectionConfig::new()
                    .set_connection_timeout(timeout)
                    .set_response_timeout(timeout);
                client
                    .get_multiplexed_async_connection_with_config(&options)
                    .await?
            }
        };
        Ok(self.connection.insert(connection))
    }

    /// `PING` (timed) then `INFO`.
    async fn ping_and_info(&mut self) -> Result<(f64, Info), RedisError> {
        let connection = self.connect().await?;
        let started = Instant::now();
        let _: String = ::redis::cmd("PING").query_async(connection).await?;
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        let text: String = ::redis::cmd("INFO")
            .arg(INFO_SECTIONS)
            .query_async(connection)
            .await?;
        Ok((latency_ms, Info::parse(&text)))
    }
}

/// `host:port` of a Redis URL (the socket path for `redis+unix://`), never
/// its credentials.
pub fn endpoint(url: &str) -> String {
    match url.into_connection_info() {
        Ok(info) => match info.addr() {
            ConnectionAddr::Tcp(host, port) => format!("{host}:{port}"),
            other => other.to_string(),
        },
        Err(_) => "<invalid url>".into(),
    }
}

/// What a Redis error means and how to fix it; never mentions the URL.
pub(crate) fn diagnose(error: &RedisError, endpoint: &str) -> String {
    let code = error.code().unwrap_or_default();
    if error.is_connection_refusal() {
        format!(
            "nothing accepts connections at {endpoint}: is Redis running there, and is `url` right?"
        )
    } else if error.kind() == ErrorKind::AuthenticationFailed || code == "WRONGPASS" {
        format!(
            "Redis at {endpoint} refused the login: check the user and password in `url` \
             (redis://:PASSWORD@host:port, or redis://USER:PASSWORD@host:port with ACL users)"
        )
    } else if code == "NOAUTH" {
        format!(
            "Redis at {endpoint} requires a password: put it in `url` as redis://:PASSWORD@host:port"
        )
    } else if code == "NOPERM" {
        format!(
            "the Redis user may not run PING or INFO at {endpoint}: ACL SETUSER <user> +ping +info"
        )
    } else if error.is_timeout() {
        format!(
            "Redis at {endpoint} did not answer in time: check the host, the port and any firewall"
        )
    } else {
        format!("cannot read Redis at {endpoint}: {error}")
    }
}

#[async_trait::async_trait]
impl Source for RedisSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn scrape(&mut self, now_ms: i64) -> Result<v1::Batch, ScrapeError> {
        match self.ping_and_info().await {
            Ok((latency_ms, info)) => Ok(batch(
                &info,
                &self.endpoint(),
                latency_ms,
                self.config.commandstats_top,
                now_ms,
            )),
            Err(error) => {
                self.connection = None;
                Err(ScrapeError(diagnose(&error, &self.endpoint())))
            }
        }
    }

    async fn check(&mut self) -> Vec<Finding> {
        let endpoint = self.endpoint();
        let (latency_ms, info) = match self.ping_and_info().await {
            Ok(read) => read,
            Err(error) => {
                self.connection = None;
                return vec![Finding::problem(
                    format!("cannot read Redis at {endpoint}"),
                    diagnose(&error, &endpoint),
                )];
            }
        };
        check_findings(&endpoint, latency_ms, &info)
    }
}

/// What `check` says about a reachable instance (pure).
fn check_findings(endpoint: &str, latency_ms: f64, info: &Info) -> Vec<Finding> {
    let version = info.text("redis_version").unwrap_or("unknown version");
    let role = info.text("role").unwrap_or("unknown role");
    let mut findings = vec![Finding::ok(format!(
        "connected to {endpoint} (Redis {version}, {role}); PING took {latency_ms:.2}ms"
    ))];
    let policy = info.text("maxmemory_policy").unwrap_or("noeviction");
    match info.u64("maxmemory") {
        0 => findings.push(Finding::problem(
            format!(
                "maxmemory is not set at {endpoint}: Redis grows until the machine runs out of memory, \
                 and eviction can't protect memory"
            ),
            "CONFIG SET maxmemory <bytes> (below the memory Redis may use, leaving room for \
             fragmentation and forks) and CONFIG SET maxmemory-policy allkeys-lru (or volatile-lru \
             when only keys with a TTL may go), then CONFIG REWRITE to keep them",
        )),
        bytes => findings.push(Finding::ok(format!(
            "maxmemory is {bytes} bytes with maxmemory-policy {policy}{}",
            if policy == "noeviction" {
                " (writes fail with OOM errors once it is reached)"
            } else {
                ""
            }
        ))),
    }
    if info.commands.is_empty() {
        findings.push(Finding::problem(
            "INFO returned no commandstats: per-command figures will be missing",
            "allow INFO's commandstats section for this user, or upgrade Redis",
        ));
    } else {
        findings.push(Finding::ok(format!(
            "commandstats lists {} commands",
            info.commands.len()
        )));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::info::tests::INFO;
    use super::*;

    #[test]
    fn credentials_never_reach_the_instance_or_labels() {
        let url = "redis://admin:s3cret-pw@cache.internal:6380/2";
        let instance = endpoint(url);
        assert_eq!(instance, "cache.internal:6380");
        assert_eq!(endpoint("redis://:s3cret-pw@10.0.0.1"), "10.0.0.1:6379");
        assert_eq!(endpoint("http://nope"), "<invalid url>");
        let batch = batch(&Info::parse(INFO), &instance, 1.0, 1, 0);
        for sample in &batch.samples {
            for label in &sample.labels {
                assert!(!label.value.contains("s3cret"), "{label:?}");
            }
        }
        assert!(!batch.redis[0].instance.contains("s3cret"));
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let message = diagnose(&refused, &instance);
        assert!(message.contains("cache.internal:6380") && !message.contains("s3cret"));
    }

    #[test]
    fn config_requires_a_redis_url_and_sane_values() {
        let error = Config::default().validate().expect_err("no url");
        assert!(error.contains("`url` is required"));
        let with = |url: &str| Config {
            url: url.into(),
            ..Config::default()
        };
        assert!(with("redis://127.0.0.1:6379").validate().is_ok());
        assert!(with("postgres://h/db").validate().is_err());
        let tls = with("rediss://:pw@h:6379").validate().expect_err("tls");
        assert!(tls.contains("TLS") && !tls.contains("pw@"));
        let fast = Config {
            interval: HumanDuration(Duration::from_millis(1)),
            ..with("redis://h")
        };
        assert!(fast.validate().expect_err("too fast").contains("interval"));
        let wide = Config {
            commandstats_top: MAX_COMMANDSTATS_TOP + 1,
            ..with("redis://h")
        };
        assert!(
            wide.validate()
                .expect_err("too wide")
                .contains("commandstats_top")
        );
    }

    #[test]
    fn check_flags_an_unset_maxmemory_with_the_fix() {
        let findings = check_findings("h:1", 0.3, &Info::parse(INFO));
        assert!(findings[0].ok && findings[0].what.contains("7.0.15"));
        assert!(findings[0].what.contains("master"));
        let maxmemory = &findings[1];
        assert!(!maxmemory.ok && maxmemory.what.contains("eviction can't protect memory"));
        let fix = maxmemory.fix.as_deref().unwrap_or_default();
        assert!(fix.contains("CONFIG SET maxmemory") && fix.contains("maxmemory-policy"));
        let limited = Info::parse("maxmemory:1000\nmaxmemory_policy:allkeys-lru\n");
        assert!(check_findings("h:1", 0.3, &limited)[1].ok);
    }

    #[test]
    fn auth_errors_say_where_the_password_goes() {
        let wrong = RedisError::from((ErrorKind::AuthenticationFailed, "bad"));
        assert!(diagnose(&wrong, "h:1").contains("refused the login"));
    }
}
