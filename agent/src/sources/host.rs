//! The machine itself, read cheaply from `/proc` and `statvfs`: CPU time by
//! mode (`/proc/stat`), memory and swap (`/proc/meminfo`), load averages
//! (`/proc/loadavg`), space on the configured mounts (`statvfs(2)` through
//! `rustix`, no `unsafe`), I/O per physical disk (`/proc/diskstats`) and
//! traffic per network interface but `lo` (`/proc/net/dev`).
//!
//! Privileges: none; any user can read these files. CPU seconds assume
//! USER_HZ = 100 (see `procfs`). The parsers live in `procfs`, each a pure
//! function of a file's text. A scrape fails (`up = 0`) if any file or mount cannot be read; its error
//! names each one, and `check` says which.

use std::path::{Path, PathBuf};
use std::time::Duration;

use headroom_proto::config::HumanDuration;
use headroom_proto::signals::host::{
    HOST_CPU_SECONDS_TOTAL, HOST_CPUS, HOST_DISK_READS_COMPLETED_TOTAL,
    HOST_FILESYSTEM_AVAILABLE_BYTES, HOST_FILESYSTEM_INODES, HOST_FILESYSTEM_INODES_FREE,
    HOST_FILESYSTEM_SIZE_BYTES, HOST_FILESYSTEM_USED_BYTES, HOST_LOAD1,
    HOST_MEMORY_AVAILABLE_BYTES, HOST_MEMORY_TOTAL_BYTES, HOST_NETWORK_RECEIVE_BYTES_TOTAL,
};
use headroom_proto::v1;
use serde::Deserialize;

use super::gauge;
use super::{Finding, ScrapeError, Source};
use procfs::Parser;

mod procfs;

/// Default scrape interval.
pub const DEFAULT_INTERVAL: HumanDuration = HumanDuration::secs(15);
/// Default root of the proc filesystem.
pub const DEFAULT_PROC_ROOT: &str = "/proc";
/// Default mount points whose space is reported.
pub const DEFAULT_DISKS: [&str; 1] = ["/"];

/// `[[sources]] type = "host"`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub name: Option<String>,
    pub interval: HumanDuration,
    /// Where the proc filesystem is mounted (a fixture directory in tests,
    /// the host's `/proc` bind-mounted elsewhere in a container).
    pub proc_root: PathBuf,
    /// Mount points whose size, free space and inodes are reported.
    pub disks: Vec<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            name: None,
            interval: DEFAULT_INTERVAL,
            proc_root: PathBuf::from(DEFAULT_PROC_ROOT),
            disks: DEFAULT_DISKS.iter().map(PathBuf::from).collect(),
        }
    }
}

impl Config {
    /// `interval` at least 100ms; `proc_root` and `disks` absolute, no
    /// mount listed twice.
    pub fn validate(&self) -> Result<(), String> {
        if self.interval.0 < Duration::from_millis(100) {
            return Err("`interval` must be at least 100ms".into());
        }
        if !self.proc_root.is_absolute() {
            return Err(format!(
                "`proc_root`: `{}` must be an absolute path such as /proc",
                self.proc_root.display()
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for disk in &self.disks {
            if !disk.is_absolute() {
                return Err(format!(
                    "`disks`: `{}` must be an absolute mount point such as /var/lib/postgresql",
                    disk.display()
                ));
            }
            if !seen.insert(disk) {
                return Err(format!("`disks`: `{}` is listed twice", disk.display()));
            }
        }
        Ok(())
    }
}

/// Why part of a scrape failed.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not in the expected format: {reason}")]
    Format { path: String, reason: String },
    #[error("cannot statvfs {mount}: {source}")]
    Statvfs {
        mount: String,
        source: std::io::Error,
    },
}

/// The source: configuration only (nothing to connect to).
pub struct HostSource {
    name: String,
    config: Config,
}

impl HostSource {
    /// A host source reading `config.proc_root`.
    pub fn new(name: String, config: Config) -> Self {
        Self { name, config }
    }
}

/// Space and inodes of one filesystem, as `statvfs` reports them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FsSpace {
    pub size_bytes: f64,
    /// Free for unprivileged users (excludes the root reserve).
    pub available_bytes: f64,
    pub used_bytes: f64,
    pub inodes: f64,
    pub inodes_free: f64,
}

/// One mount's space → gauges labelled `mount` (pure).
pub fn filesystem_samples(mount: &str, space: &FsSpace, now_ms: i64) -> Vec<v1::Sample> {
    let labels = [("mount", mount)];
    vec![
        gauge(
            &HOST_FILESYSTEM_SIZE_BYTES,
            &labels,
            now_ms,
            space.size_bytes,
        ),
        gauge(
            &HOST_FILESYSTEM_AVAILABLE_BYTES,
            &labels,
            now_ms,
            space.available_bytes,
        ),
        gauge(
            &HOST_FILESYSTEM_USED_BYTES,
            &labels,
            now_ms,
            space.used_bytes,
        ),
        gauge(&HOST_FILESYSTEM_INODES, &labels, now_ms, space.inodes),
        gauge(
            &HOST_FILESYSTEM_INODES_FREE,
            &labels,
            now_ms,
            space.inodes_free,
        ),
    ]
}

fn statvfs(mount: &Path) -> Result<FsSpace, HostError> {
    let stat = rustix::fs::statvfs(mount).map_err(|errno| HostError::Statvfs {
        mount: mount.display().to_string(),
        source: errno.into(),
    })?;
    let block = stat.f_frsize as f64;
    Ok(FsSpace {
        size_bytes: stat.f_blocks as f64 * block,
        available_bytes: stat.f_bavail as f64 * block,
        used_bytes: stat.f_blocks.saturating_sub(stat.f_bfree) as f64 * block,
        inodes: stat.f_files as f64,
        inodes_free: stat.f_ffree as f64,
    })
}

/// Every file read, with its parser, relative to `proc_root`.
const FILES: [(&str, Parser); 5] = [
    ("stat", procfs::parse_stat),
    ("meminfo", procfs::parse_meminfo),
    ("loadavg", procfs::parse_loadavg),
    ("diskstats", procfs::parse_diskstats),
    ("net/dev", procfs::parse_net_dev),
];

fn read_file(
    proc_root: &Path,
    file: &str,
    parse: Parser,
    now_ms: i64,
) -> Result<Vec<v1::Sample>, HostError> {
    let path = proc_root.join(file);
    let text = std::fs::read_to_string(&path).map_err(|source| HostError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text, now_ms).map_err(|error| match error {
        HostError::Format { reason, .. } => HostError::Format {
            path: path.display().to_string(),
            reason,
        },
        other => other,
    })
}

/// One thing a scrape reads (a `/proc` file or a mount) and what it gave.
struct Part {
    what: String,
    result: Result<Vec<v1::Sample>, HostError>,
}

/// Reads every file and mount (blocking).
fn read_all(config: &Config, now_ms: i64) -> Vec<Part> {
    let files = FILES.iter().map(|(file, parse)| Part {
        what: config.proc_root.join(file).display().to_string(),
        result: read_file(&config.proc_root, file, *parse, now_ms),
    });
    let mounts = config.disks.iter().map(|mount| {
        let what = mount.display().to_string();
        let result = statvfs(mount).map(|space| filesystem_samples(&what, &space, now_ms));
        Part { what, result }
    });
    files.chain(mounts).collect()
}

/// A few words on what a part holds, for `check`.
fn summary(samples: &[v1::Sample]) -> String {
    let count = |name: &str| samples.iter().filter(|s| s.name == name).count();
    let value = |name: &str| {
        samples
            .iter()
            .find(|s| s.name == name)
            .map_or(0.0, |s| s.value)
    };
    let gib = |bytes: f64| bytes / f64::from(1u32 << 30);
    let first = samples.first().map_or("", |s| s.name.as_str());
    if first == HOST_CPU_SECONDS_TOTAL.name {
        format!("{} CPUs", value(HOST_CPUS.name))
    } else if first == HOST_MEMORY_TOTAL_BYTES.name {
        format!(
            "{:.1} GiB of memory, {:.1} GiB available",
            gib(value(HOST_MEMORY_TOTAL_BYTES.name)),
            gib(value(HOST_MEMORY_AVAILABLE_BYTES.name))
        )
    } else if first == HOST_LOAD1.name {
        format!("load average {}", value(HOST_LOAD1.name))
    } else if first == HOST_DISK_READS_COMPLETED_TOTAL.name {
        format!(
            "{} physical disks",
            count(HOST_DISK_READS_COMPLETED_TOTAL.name)
        )
    } else if first == HOST_NETWORK_RECEIVE_BYTES_TOTAL.name {
        format!(
            "{} network interfaces (lo excluded)",
            count(HOST_NETWORK_RECEIVE_BYTES_TOTAL.name)
        )
    } else if first == HOST_FILESYSTEM_SIZE_BYTES.name {
        format!(
            "{:.1} GiB filesystem, {:.1} GiB available",
            gib(value(HOST_FILESYSTEM_SIZE_BYTES.name)),
            gib(value(HOST_FILESYSTEM_AVAILABLE_BYTES.name))
        )
    } else {
        "nothing to report".into()
    }
}

impl HostSource {
    /// Reads off the runtime's threads (a hung network mount must not stall
    /// them), bounded by the interval.
    async fn read(&self, now_ms: i64) -> Result<Vec<Part>, ScrapeError> {
        let config = self.config.clone();
        let task = tokio::task::spawn_blocking(move || read_all(&config, now_ms));
        match tokio::time::timeout(self.config.interval.0, task).await {
            Ok(Ok(parts)) => Ok(parts),
            Ok(Err(error)) => Err(ScrapeError(format!("reading the host failed: {error}"))),
            Err(_) => Err(ScrapeError(format!(
                "reading /proc and the disks took longer than the interval ({}): is a mount in `disks` hung?",
                self.config.interval
            ))),
        }
    }
}

#[async_trait::async_trait]
impl Source for HostSource {
    fn name(&self) -> &str {
        &self.name
    }

    async fn scrape(&mut self, now_ms: i64) -> Result<v1::Batch, ScrapeError> {
        let mut samples = Vec::new();
        let mut errors = Vec::new();
        for part in self.read(now_ms).await? {
            match part.result {
                Ok(part) => samples.extend(part),
                Err(error) => errors.push(error.to_string()),
            }
        }
        if !errors.is_empty() {
            return Err(ScrapeError(errors.join("; ")));
        }
        Ok(v1::Batch {
            samples,
            ..v1::Batch::default()
        })
    }

    async fn check(&mut self) -> Vec<Finding> {
        let parts = match self.read(0).await {
            Ok(parts) => parts,
            Err(error) => return vec![Finding::problem(error.0, "check `proc_root` and `disks`")],
        };
        parts
            .into_iter()
            .map(|part| match part.result {
                Ok(samples) => Finding::ok(format!("{}: {}", part.what, summary(&samples))),
                Err(error @ HostError::Statvfs { .. }) => Finding::problem(
                    error.to_string(),
                    "list only existing mount points in `disks` (see `findmnt`)",
                ),
                Err(error) => Finding::problem(
                    error.to_string(),
                    "point `proc_root` at a Linux proc filesystem (the host's /proc, bind-mounted read-only in a container)",
                ),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::procfs::tests::{DISKSTATS, MEMINFO, NET_DEV, STAT, value};
    use super::*;

    #[test]
    fn filesystem_space_becomes_gauges_per_mount() {
        let space = FsSpace {
            size_bytes: 100.0,
            available_bytes: 30.0,
            used_bytes: 60.0,
            inodes: 10.0,
            inodes_free: 4.0,
        };
        let samples = filesystem_samples("/data", &space, 0);
        assert_eq!(
            value(&samples, "host_filesystem_used_bytes", Some("/data")),
            Some(60.0)
        );
        assert!(
            samples
                .iter()
                .all(|s| s.kind == v1::MetricKind::Gauge as i32)
        );
        let root = statvfs(Path::new("/")).expect("statvfs /");
        assert!(root.size_bytes > 0.0 && root.used_bytes <= root.size_bytes);
    }

    #[test]
    fn config_wants_absolute_paths_and_a_sane_interval() {
        assert!(Config::default().validate().is_ok());
        let relative = Config {
            disks: vec!["data".into()],
            ..Config::default()
        };
        assert!(
            relative
                .validate()
                .expect_err("relative")
                .contains("`disks`")
        );
        let twice = Config {
            disks: vec!["/".into(), "/".into()],
            ..Config::default()
        };
        assert!(twice.validate().expect_err("twice").contains("twice"));
        let proc_root = Config {
            proc_root: "proc".into(),
            ..Config::default()
        };
        assert!(
            proc_root
                .validate()
                .expect_err("relative")
                .contains("proc_root")
        );
        let fast = Config {
            interval: HumanDuration(Duration::from_millis(5)),
            ..Config::default()
        };
        assert!(fast.validate().expect_err("fast").contains("interval"));
    }

    fn fixture_root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("net")).expect("net dir");
        for (file, text) in [
            ("stat", STAT),
            ("meminfo", MEMINFO),
            ("loadavg", "0.1 0.2 0.3 1/1 1\n"),
            ("diskstats", DISKSTATS),
            ("net/dev", NET_DEV),
        ] {
            std::fs::write(dir.path().join(file), text).expect("fixture");
        }
        dir
    }

    #[tokio::test]
    async fn a_scrape_reads_every_file_under_proc_root() {
        let dir = fixture_root();
        let mut source = HostSource::new(
            "host".into(),
            Config {
                proc_root: dir.path().to_owned(),
                ..Config::default()
            },
        );
        let batch = source.scrape(42).await.expect("scrapes");
        for name in [
            "host_cpus",
            "host_memory_total_bytes",
            "host_load15",
            "host_disk_io_time_seconds_total",
            "host_network_transmit_bytes_total",
            "host_filesystem_size_bytes",
        ] {
            assert!(value(&batch.samples, name, None).is_some(), "{name}");
        }
        let findings = source.check().await;
        assert!(findings.iter().all(|f| f.ok), "{findings:?}");
        assert!(findings.iter().any(|f| f.what.contains("2 CPUs")));
    }

    #[tokio::test]
    async fn a_missing_file_or_mount_fails_the_scrape_and_check_names_it() {
        let dir = fixture_root();
        std::fs::remove_file(dir.path().join("loadavg")).expect("remove");
        let mut source = HostSource::new(
            "host".into(),
            Config {
                proc_root: dir.path().to_owned(),
                disks: vec!["/no/such/mount".into()],
                ..Config::default()
            },
        );
        let error = source.scrape(0).await.expect_err("fails").0;
        assert!(
            error.contains("loadavg") && error.contains("/no/such/mount"),
            "{error}"
        );
        let problems: Vec<Finding> = source.check().await.into_iter().filter(|f| !f.ok).collect();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[1]
                .fix
                .as_deref()
                .unwrap_or_default()
                .contains("`disks`")
        );
    }

    #[tokio::test]
    async fn the_real_proc_is_readable_here() {
        let mut source = HostSource::new("host".into(), Config::default());
        let findings = source.check().await;
        assert!(findings.iter().all(|f| f.ok), "{findings:?}");
    }
}
