//! `INFO` text, parsed (pure): its `key:value` fields, `commandstats` and
//! `keyspace`, and the record and samples one scrape ships.

use std::collections::HashMap;

use headroom_proto::signals::redis::{REDIS_COMMAND_CALLS, REDIS_COMMAND_USEC, REDIS_KEYS};
use headroom_proto::v1;

use crate::sources::{counter, gauge};

/// One `cmdstat_*` line of `INFO commandstats`.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandStat {
    /// Lower-case, `client|list` for subcommands.
    pub command: String,
    pub calls: u64,
    /// Total time spent in the command, in microseconds.
    pub usec: u64,
}

/// `INFO` text, split into its fields, commands and databases.
#[derive(Debug, Default, PartialEq)]
pub struct Info {
    /// `key:value` lines of every section but commandstats and keyspace.
    pub fields: HashMap<String, String>,
    pub commands: Vec<CommandStat>,
    /// `(db, keys)`, e.g. `("db0", 42)`.
    pub keyspace: Vec<(String, u64)>,
}

impl Info {
    /// Parses `INFO` output (pure). Unknown lines are skipped.
    pub fn parse(text: &str) -> Self {
        let mut info = Info::default();
        let mut section = String::new();
        for line in text.lines().map(str::trim) {
            if let Some(name) = line.strip_prefix('#') {
                section = name.trim().to_ascii_lowercase();
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            match section.as_str() {
                "commandstats" => {
                    if let Some(command) = key.strip_prefix("cmdstat_") {
                        let values = pairs(value);
                        info.commands.push(CommandStat {
                            command: command.to_ascii_lowercase(),
                            calls: number(&values, "calls"),
                            usec: number(&values, "usec"),
                        });
                    }
                }
                "keyspace" => {
                    info.keyspace
                        .push((key.to_owned(), number(&pairs(value), "keys")));
                }
                _ => {
                    info.fields.insert(key.to_owned(), value.to_owned());
                }
            }
        }
        info
    }

    /// A field as text.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }

    pub(super) fn u64(&self, key: &str) -> u64 {
        self.text(key).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    pub(super) fn f64(&self, key: &str) -> f64 {
        self.text(key).and_then(|v| v.parse().ok()).unwrap_or(0.0)
    }
}

/// `a=1,b=2` → pairs.
fn pairs(value: &str) -> Vec<(&str, &str)> {
    value
        .split(',')
        .filter_map(|pair| pair.split_once('='))
        .collect()
}

fn number(pairs: &[(&str, &str)], key: &str) -> u64 {
    pairs
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// `INFO` → the typed record (pure).
pub fn stats(info: &Info, instance: &str, latency_ms: f64, now_ms: i64) -> v1::RedisStats {
    v1::RedisStats {
        timestamp_ms: now_ms,
        instance: instance.to_owned(),
        keyspace_hits: info.u64("keyspace_hits"),
        keyspace_misses: info.u64("keyspace_misses"),
        evicted_keys: info.u64("evicted_keys"),
        expired_keys: info.u64("expired_keys"),
        used_memory: info.u64("used_memory"),
        maxmemory: info.u64("maxmemory"),
        mem_fragmentation_ratio: info.f64("mem_fragmentation_ratio"),
        connected_clients: info.u64("connected_clients"),
        instantaneous_ops_per_sec: info.f64("instantaneous_ops_per_sec"),
        rejected_connections: info.u64("rejected_connections"),
        latency_ms,
    }
}

/// The `top` commands by total time as `redis_command_calls` and
/// `redis_command_usec` counters, the rest summed as `command="other"`
/// (pure). A command that enters or leaves the top moves its counts into or
/// out of `other`, which then reads as a counter reset.
pub fn command_samples(
    commands: &[CommandStat],
    top: usize,
    instance: &str,
    now_ms: i64,
) -> Vec<v1::Sample> {
    let mut sorted: Vec<&CommandStat> = commands.iter().collect();
    sorted.sort_by(|a, b| b.usec.cmp(&a.usec).then_with(|| a.command.cmp(&b.command)));
    let split = top.min(sorted.len());
    let (named, rest) = sorted.split_at(split);
    let mut rows: Vec<(&str, u64, u64)> = named
        .iter()
        .map(|c| (c.command.as_str(), c.calls, c.usec))
        .collect();
    if !rest.is_empty() {
        let calls = rest.iter().map(|c| c.calls).sum();
        let usec = rest.iter().map(|c| c.usec).sum();
        rows.push(("other", calls, usec));
    }
    rows.into_iter()
        .flat_map(|(command, calls, usec)| {
            let labels = [("instance", instance), ("command", command)];
            [
                counter(&REDIS_COMMAND_CALLS, &labels, now_ms, calls as f64),
                counter(&REDIS_COMMAND_USEC, &labels, now_ms, usec as f64),
            ]
        })
        .collect()
}

/// `redis_keys{db}` gauges (pure).
pub fn keyspace_samples(
    keyspace: &[(String, u64)],
    instance: &str,
    now_ms: i64,
) -> Vec<v1::Sample> {
    keyspace
        .iter()
        .map(|(db, keys)| {
            gauge(
                &REDIS_KEYS,
                &[("instance", instance), ("db", db)],
                now_ms,
                *keys as f64,
            )
        })
        .collect()
}

/// Everything one scrape ships (pure).
pub fn batch(info: &Info, instance: &str, latency_ms: f64, top: usize, now_ms: i64) -> v1::Batch {
    let mut samples = command_samples(&info.commands, top, instance, now_ms);
    samples.extend(keyspace_samples(&info.keyspace, instance, now_ms));
    v1::Batch {
        samples,
        redis: vec![stats(info, instance, latency_ms, now_ms)],
        ..v1::Batch::default()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(crate) const INFO: &str = "# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n\r\n\
        # Clients\r\nconnected_clients:3\r\n\r\n\
        # Memory\r\nused_memory:1048576\r\nmaxmemory:0\r\nmaxmemory_policy:noeviction\r\n\
        mem_fragmentation_ratio:1.25\r\n\r\n\
        # Stats\r\ninstantaneous_ops_per_sec:42\r\nrejected_connections:1\r\nexpired_keys:5\r\n\
        evicted_keys:6\r\nkeyspace_hits:100\r\nkeyspace_misses:7\r\n\r\n\
        # Replication\r\nrole:master\r\n\r\n\
        # Commandstats\r\n\
        cmdstat_get:calls=10,usec=500,usec_per_call=50.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_set:calls=4,usec=900,usec_per_call=225.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_client|list:calls=1,usec=30,usec_per_call=30.00,rejected_calls=0,failed_calls=0\r\n\
        cmdstat_ping:calls=2,usec=20,usec_per_call=10.00,rejected_calls=0,failed_calls=0\r\n\r\n\
        # Keyspace\r\ndb0:keys=12,expires=1,avg_ttl=0\r\ndb3:keys=4,expires=0,avg_ttl=0\r\n";

    fn values(samples: &[v1::Sample], name: &str) -> Vec<(String, f64)> {
        samples
            .iter()
            .filter(|s| s.name == name)
            .map(|s| {
                let label = s
                    .labels
                    .iter()
                    .find(|l| l.key == "command" || l.key == "db")
                    .map(|l| l.value.clone())
                    .unwrap_or_default();
                (label, s.value)
            })
            .collect()
    }

    #[test]
    fn info_text_becomes_one_record() {
        let info = Info::parse(INFO);
        let record = stats(&info, "cache:6379", 0.25, 1_000);
        assert_eq!(
            record,
            v1::RedisStats {
                timestamp_ms: 1_000,
                instance: "cache:6379".into(),
                keyspace_hits: 100,
                keyspace_misses: 7,
                evicted_keys: 6,
                expired_keys: 5,
                used_memory: 1_048_576,
                maxmemory: 0,
                mem_fragmentation_ratio: 1.25,
                connected_clients: 3,
                instantaneous_ops_per_sec: 42.0,
                rejected_connections: 1,
                latency_ms: 0.25,
            }
        );
    }

    #[test]
    fn missing_fields_read_as_zero() {
        let record = stats(
            &Info::parse("# Memory\r\nused_memory:12\r\n"),
            "h:1",
            1.0,
            0,
        );
        assert_eq!(record.used_memory, 12);
        assert_eq!(record.maxmemory, 0);
        assert_eq!(record.keyspace_hits, 0);
    }

    #[test]
    fn the_busiest_commands_are_kept_and_the_rest_summed_as_other() {
        let info = Info::parse(INFO);
        let samples = command_samples(&info.commands, 2, "h:1", 5);
        assert_eq!(
            values(&samples, REDIS_COMMAND_USEC.name),
            vec![
                ("set".into(), 900.0),
                ("get".into(), 500.0),
                ("other".into(), 50.0)
            ]
        );
        assert_eq!(
            values(&samples, REDIS_COMMAND_CALLS.name),
            vec![
                ("set".into(), 4.0),
                ("get".into(), 10.0),
                ("other".into(), 3.0)
            ]
        );
        assert!(
            samples
                .iter()
                .all(|s| s.kind == v1::MetricKind::Counter as i32 && s.timestamp_ms == 5)
        );
    }

    #[test]
    fn no_other_when_every_command_fits_and_only_other_with_top_zero() {
        let info = Info::parse(INFO);
        let all = command_samples(&info.commands, 10, "h:1", 0);
        assert_eq!(all.len(), 8);
        assert!(
            values(&all, REDIS_COMMAND_CALLS.name)
                .iter()
                .all(|(c, _)| c != "other")
        );
        assert!(
            values(&all, REDIS_COMMAND_CALLS.name)
                .iter()
                .any(|(c, _)| c == "client|list")
        );
        let none = command_samples(&info.commands, 0, "h:1", 0);
        assert_eq!(
            values(&none, REDIS_COMMAND_CALLS.name),
            vec![("other".into(), 17.0)]
        );
    }

    #[test]
    fn keyspace_becomes_key_gauges_per_database() {
        let info = Info::parse(INFO);
        let samples = keyspace_samples(&info.keyspace, "h:1", 0);
        assert_eq!(
            values(&samples, REDIS_KEYS.name),
            vec![("db0".into(), 12.0), ("db3".into(), 4.0)]
        );
        assert!(
            samples
                .iter()
                .all(|s| s.kind == v1::MetricKind::Gauge as i32)
        );
    }

    #[test]
    fn a_batch_holds_the_record_commands_and_keyspace() {
        let batch = batch(&Info::parse(INFO), "h:1", 0.5, 10, 9);
        assert_eq!(batch.redis.len(), 1);
        assert_eq!(batch.samples.len(), 8 + 2);
    }
}
