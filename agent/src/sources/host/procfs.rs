//! Pure parsers of the `/proc` files the host source reads: each takes a
//! file's text and the scrape time and returns samples, or says what is
//! wrong with the text. CPU time comes in USER_HZ ticks, which the kernel
//! fixes at 100 per second for user space on every architecture Linux
//! ships (what `getconf CLK_TCK` prints).

use headroom_proto::signals::Signal;
use headroom_proto::signals::host::{
    HOST_CPU_SECONDS_TOTAL, HOST_CPUS, HOST_DISK_IO_TIME_SECONDS_TOTAL, HOST_DISK_READ_BYTES_TOTAL,
    HOST_DISK_READS_COMPLETED_TOTAL, HOST_DISK_WRITES_COMPLETED_TOTAL,
    HOST_DISK_WRITTEN_BYTES_TOTAL, HOST_LOAD1, HOST_LOAD5, HOST_LOAD15,
    HOST_MEMORY_AVAILABLE_BYTES, HOST_MEMORY_TOTAL_BYTES, HOST_MEMORY_USED_BYTES,
    HOST_NETWORK_RECEIVE_BYTES_TOTAL, HOST_NETWORK_RECEIVE_DROPS_TOTAL,
    HOST_NETWORK_RECEIVE_ERRORS_TOTAL, HOST_NETWORK_RECEIVE_PACKETS_TOTAL,
    HOST_NETWORK_TRANSMIT_BYTES_TOTAL, HOST_NETWORK_TRANSMIT_DROPS_TOTAL,
    HOST_NETWORK_TRANSMIT_ERRORS_TOTAL, HOST_NETWORK_TRANSMIT_PACKETS_TOTAL, HOST_SWAP_TOTAL_BYTES,
    HOST_SWAP_USED_BYTES,
};
use headroom_proto::v1;

use super::HostError;
use crate::sources::{counter, gauge};

/// Ticks per second of `/proc/stat` (USER_HZ).
pub const USER_HZ: f64 = 100.0;
/// Bytes per sector in `/proc/diskstats`.
const SECTOR_BYTES: f64 = 512.0;

/// A parser: a file's text and the scrape time → samples.
pub(super) type Parser = fn(&str, i64) -> Result<Vec<v1::Sample>, HostError>;

fn format_error(path: &str, reason: impl Into<String>) -> HostError {
    HostError::Format {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Modes of the `cpu` line of `/proc/stat`, in column order. `guest` and
/// `guest_nice` follow but are already counted in `user` and `nice`.
const CPU_MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

/// `/proc/stat` → `host_cpu_seconds_total{mode}` and `host_cpus` (pure).
pub fn parse_stat(text: &str, now_ms: i64) -> Result<Vec<v1::Sample>, HostError> {
    let total = text
        .lines()
        .find(|line| line.split_whitespace().next() == Some("cpu"))
        .ok_or_else(|| format_error("stat", "no aggregate `cpu` line"))?;
    let ticks: Vec<f64> = total
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|error| format_error("stat", format!("`cpu` line: {error}")))?;
    if ticks.len() < 4 {
        return Err(format_error("stat", "`cpu` line has fewer than 4 columns"));
    }
    let cpus = text
        .lines()
        .filter(|line| {
            line.strip_prefix("cpu")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .count();
    let mut out: Vec<v1::Sample> = CPU_MODES
        .iter()
        .zip(&ticks)
        .map(|(mode, ticks)| {
            counter(
                &HOST_CPU_SECONDS_TOTAL,
                &[("mode", mode)],
                now_ms,
                ticks / USER_HZ,
            )
        })
        .collect();
    out.push(gauge(&HOST_CPUS, &[], now_ms, cpus as f64));
    Ok(out)
}

/// `/proc/meminfo` → memory and swap gauges in bytes (pure).
pub fn parse_meminfo(text: &str, now_ms: i64) -> Result<Vec<v1::Sample>, HostError> {
    let field = |key: &str| -> Option<f64> {
        text.lines().find_map(|line| {
            let (name, rest) = line.split_once(':')?;
            if name.trim() != key {
                return None;
            }
            let mut parts = rest.split_whitespace();
            let value: f64 = parts.next()?.parse().ok()?;
            Some(match parts.next() {
                Some("kB") => value * 1024.0,
                _ => value,
            })
        })
    };
    let total = field("MemTotal").ok_or_else(|| format_error("meminfo", "no MemTotal"))?;
    // MemAvailable exists since Linux 3.14; before it, free + caches is the usual estimate.
    let available = field("MemAvailable").unwrap_or_else(|| {
        field("MemFree").unwrap_or(0.0)
            + field("Buffers").unwrap_or(0.0)
            + field("Cached").unwrap_or(0.0)
    });
    let swap_total = field("SwapTotal").unwrap_or(0.0);
    let swap_free = field("SwapFree").unwrap_or(0.0);
    Ok(vec![
        gauge(&HOST_MEMORY_TOTAL_BYTES, &[], now_ms, total),
        gauge(&HOST_MEMORY_AVAILABLE_BYTES, &[], now_ms, available),
        gauge(
            &HOST_MEMORY_USED_BYTES,
            &[],
            now_ms,
            (total - available).max(0.0),
        ),
        gauge(&HOST_SWAP_TOTAL_BYTES, &[], now_ms, swap_total),
        gauge(
            &HOST_SWAP_USED_BYTES,
            &[],
            now_ms,
            (swap_total - swap_free).max(0.0),
        ),
    ])
}

/// `/proc/loadavg` → `host_load1`, `host_load5`, `host_load15` (pure).
pub fn parse_loadavg(text: &str, now_ms: i64) -> Result<Vec<v1::Sample>, HostError> {
    let loads: Vec<f64> = text
        .split_whitespace()
        .take(3)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|error| format_error("loadavg", format!("{error}")))?;
    let [one, five, fifteen] = loads[..] else {
        return Err(format_error("loadavg", "fewer than 3 load averages"));
    };
    Ok(vec![
        gauge(&HOST_LOAD1, &[], now_ms, one),
        gauge(&HOST_LOAD5, &[], now_ms, five),
        gauge(&HOST_LOAD15, &[], now_ms, fifteen),
    ])
}

/// Whether a `/proc/diskstats` device is a physical disk: not a loop, RAM,
/// floppy, optical, device-mapper or md device (they would count the same
/// I/O twice, or none), and not a partition of one.
pub fn is_physical_disk(name: &str) -> bool {
    const VIRTUAL: [&str; 7] = ["loop", "ram", "zram", "fd", "sr", "dm-", "md"];
    if VIRTUAL.iter().any(|prefix| name.starts_with(prefix)) {
        return false;
    }
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    let numbered = stem.len() < name.len();
    if name.starts_with("nvme") || name.starts_with("mmcblk") {
        // nvme0n1 and mmcblk0 are disks; nvme0n1p2 and mmcblk0p1 partitions.
        !(numbered && stem.ends_with('p'))
    } else if ["sd", "vd", "hd", "xvd"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
    {
        // sda, vdb, xvda are disks; sda1 is a partition.
        !numbered
    } else {
        true
    }
}

/// Counters of `/proc/diskstats`: column after the device name, name, scale
/// (sectors are 512 bytes whatever the device's own; times are in ms).
const DISK_COUNTERS: [(usize, &Signal, f64); 5] = [
    (0, &HOST_DISK_READS_COMPLETED_TOTAL, 1.0),
    (2, &HOST_DISK_READ_BYTES_TOTAL, SECTOR_BYTES),
    (4, &HOST_DISK_WRITES_COMPLETED_TOTAL, 1.0),
    (6, &HOST_DISK_WRITTEN_BYTES_TOTAL, SECTOR_BYTES),
    (9, &HOST_DISK_IO_TIME_SECONDS_TOTAL, 0.001),
];

/// `/proc/diskstats` → I/O counters per physical disk (pure).
pub fn parse_diskstats(text: &str, now_ms: i64) -> Result<Vec<v1::Sample>, HostError> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut fields = line.split_whitespace().skip(2);
        let Some(device) = fields.next() else {
            continue;
        };
        if !is_physical_disk(device) {
            continue;
        }
        let values: Vec<f64> = fields
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|error| format_error("diskstats", format!("{device}: {error}")))?;
        if values.len() < 11 {
            return Err(format_error(
                "diskstats",
                format!(
                    "{device} has {} counters, expected at least 11",
                    values.len()
                ),
            ));
        }
        for (column, name, scale) in DISK_COUNTERS {
            out.push(counter(
                name,
                &[("device", device)],
                now_ms,
                values[column] * scale,
            ));
        }
    }
    Ok(out)
}

/// Counters of `/proc/net/dev`, by their column after the interface name.
const NET_COUNTERS: [(usize, &Signal); 8] = [
    (0, &HOST_NETWORK_RECEIVE_BYTES_TOTAL),
    (1, &HOST_NETWORK_RECEIVE_PACKETS_TOTAL),
    (2, &HOST_NETWORK_RECEIVE_ERRORS_TOTAL),
    (3, &HOST_NETWORK_RECEIVE_DROPS_TOTAL),
    (8, &HOST_NETWORK_TRANSMIT_BYTES_TOTAL),
    (9, &HOST_NETWORK_TRANSMIT_PACKETS_TOTAL),
    (10, &HOST_NETWORK_TRANSMIT_ERRORS_TOTAL),
    (11, &HOST_NETWORK_TRANSMIT_DROPS_TOTAL),
];

/// `/proc/net/dev` → traffic counters per interface but `lo` (pure).
pub fn parse_net_dev(text: &str, now_ms: i64) -> Result<Vec<v1::Sample>, HostError> {
    let mut out = Vec::new();
    // Two header lines, then `iface: 16 numbers`.
    for line in text.lines().skip(2) {
        let Some((interface, rest)) = line.split_once(':') else {
            continue;
        };
        let interface = interface.trim();
        if interface == "lo" {
            continue;
        }
        let values: Vec<f64> = rest
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|error| format_error("net/dev", format!("{interface}: {error}")))?;
        if values.len() < 12 {
            return Err(format_error(
                "net/dev",
                format!("{interface} has {} columns, expected 16", values.len()),
            ));
        }
        for (column, name) in NET_COUNTERS {
            out.push(counter(
                name,
                &[("interface", interface)],
                now_ms,
                values[column],
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(crate) const STAT: &str = "cpu  1000 20 300 40000 50 6 7 8 9 10\n\
        cpu0 500 10 150 20000 25 3 3 4 0 0\ncpu1 500 10 150 20000 25 3 4 4 0 0\n\
        intr 12345 0 0\nctxt 999\nbtime 1700000000\nprocs_running 2\n";
    pub(crate) const MEMINFO: &str = "MemTotal:       16384000 kB\nMemFree:         1000000 kB\n\
        MemAvailable:    4096000 kB\nBuffers:          100000 kB\nCached:          2000000 kB\n\
        SwapTotal:       2048000 kB\nSwapFree:        1024000 kB\n";
    pub(crate) const DISKSTATS: &str = "   7       0 loop0 50 0 400 10 0 0 0 0 0 20 10 0 0 0 0\n\
        \x20 8       0 sda 100 5 2000 300 40 2 800 500 0 1500 800 0 0 0 0 0 0\n\
        \x20 8       1 sda1 90 5 1900 280 40 2 800 500 0 1400 780 0 0 0 0 0 0\n\
        259      0 nvme0n1 10 0 80 1 20 0 160 2 0 30 3\n\
        259      1 nvme0n1p1 10 0 80 1 20 0 160 2 0 30 3\n\
        253      0 dm-0 10 0 80 1 20 0 160 2 0 30 3\n";
    pub(crate) const NET_DEV: &str = "Inter-|   Receive                                                |  Transmit\n \
        face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n\
        \x20   lo: 5000 50 0 0 0 0 0 0 5000 50 0 0 0 0 0 0\n\
        \x20 eth0: 1000 10 1 2 0 0 0 0 3000 30 3 4 0 0 0 0\n";

    pub(crate) fn value(samples: &[v1::Sample], name: &str, label: Option<&str>) -> Option<f64> {
        samples
            .iter()
            .find(|s| s.name == name && label.is_none_or(|l| s.labels.iter().any(|x| x.value == l)))
            .map(|s| s.value)
    }

    #[test]
    fn stat_becomes_cpu_seconds_by_mode_and_a_cpu_count() {
        let samples = parse_stat(STAT, 7).expect("parses");
        assert_eq!(samples.len(), CPU_MODES.len() + 1);
        let cpu = |mode| value(&samples, HOST_CPU_SECONDS_TOTAL.name, Some(mode));
        assert_eq!(cpu("user"), Some(10.0));
        assert_eq!(cpu("idle"), Some(400.0));
        assert_eq!(cpu("steal"), Some(0.08));
        assert_eq!(value(&samples, HOST_CPUS.name, None), Some(2.0));
        assert!(
            samples
                .iter()
                .filter(|s| s.name == HOST_CPU_SECONDS_TOTAL.name)
                .all(|s| s.kind == v1::MetricKind::Counter as i32 && s.timestamp_ms == 7)
        );
        assert!(parse_stat("intr 1 2\n", 0).is_err());
        assert!(parse_stat("cpu 1 x 3 4\n", 0).is_err());
    }

    #[test]
    fn meminfo_becomes_bytes_with_used_as_total_minus_available() {
        let samples = parse_meminfo(MEMINFO, 0).expect("parses");
        let get = |name| value(&samples, name, None);
        assert_eq!(
            get(HOST_MEMORY_TOTAL_BYTES.name),
            Some(16_384_000.0 * 1024.0)
        );
        assert_eq!(
            get(HOST_MEMORY_AVAILABLE_BYTES.name),
            Some(4_096_000.0 * 1024.0)
        );
        assert_eq!(
            get(HOST_MEMORY_USED_BYTES.name),
            Some(12_288_000.0 * 1024.0)
        );
        assert_eq!(get(HOST_SWAP_TOTAL_BYTES.name), Some(2_048_000.0 * 1024.0));
        assert_eq!(get(HOST_SWAP_USED_BYTES.name), Some(1_024_000.0 * 1024.0));
        let old_kernel = MEMINFO.replace("MemAvailable:    4096000 kB\n", "");
        let samples = parse_meminfo(&old_kernel, 0).expect("parses");
        assert_eq!(
            value(&samples, HOST_MEMORY_AVAILABLE_BYTES.name, None),
            Some(3_100_000.0 * 1024.0),
            "free + buffers + cached"
        );
        assert!(parse_meminfo("SwapTotal: 0 kB\n", 0).is_err());
    }

    #[test]
    fn loadavg_becomes_three_gauges() {
        let samples = parse_loadavg("0.52 1.50 2.25 1/467 12345\n", 0).expect("parses");
        let loads: Vec<(&str, f64)> = samples.iter().map(|s| (s.name.as_str(), s.value)).collect();
        assert_eq!(
            loads,
            vec![
                (HOST_LOAD1.name, 0.52),
                (HOST_LOAD5.name, 1.5),
                (HOST_LOAD15.name, 2.25)
            ]
        );
        assert!(parse_loadavg("0.5 0.4\n", 0).is_err());
        assert!(parse_loadavg("", 0).is_err());
    }

    #[test]
    fn diskstats_counts_physical_disks_only_in_bytes_and_seconds() {
        let samples = parse_diskstats(DISKSTATS, 0).expect("parses");
        let devices: std::collections::BTreeSet<&str> = samples
            .iter()
            .flat_map(|s| s.labels.iter().map(|l| l.value.as_str()))
            .collect();
        assert_eq!(
            devices.into_iter().collect::<Vec<_>>(),
            vec!["nvme0n1", "sda"]
        );
        let sda = |name| value(&samples, name, Some("sda"));
        assert_eq!(sda(HOST_DISK_READS_COMPLETED_TOTAL.name), Some(100.0));
        assert_eq!(sda(HOST_DISK_READ_BYTES_TOTAL.name), Some(2000.0 * 512.0));
        assert_eq!(sda(HOST_DISK_WRITES_COMPLETED_TOTAL.name), Some(40.0));
        assert_eq!(sda(HOST_DISK_WRITTEN_BYTES_TOTAL.name), Some(800.0 * 512.0));
        assert_eq!(sda(HOST_DISK_IO_TIME_SECONDS_TOTAL.name), Some(1.5));
        assert!(parse_diskstats("8 0 sda 1 2 3\n", 0).is_err());
    }

    #[test]
    fn partitions_and_virtual_devices_are_not_physical_disks() {
        for disk in [
            "sda", "vdb", "xvda", "hdc", "nvme0n1", "nvme10n2", "mmcblk0",
        ] {
            assert!(is_physical_disk(disk), "{disk}");
        }
        for other in [
            "sda1",
            "vdb2",
            "xvda1",
            "nvme0n1p1",
            "mmcblk0p2",
            "loop3",
            "ram0",
            "zram0",
            "dm-1",
            "md127",
            "sr0",
            "fd0",
        ] {
            assert!(!is_physical_disk(other), "{other}");
        }
    }

    #[test]
    fn net_dev_counts_every_interface_but_lo() {
        let samples = parse_net_dev(NET_DEV, 0).expect("parses");
        assert_eq!(samples.len(), NET_COUNTERS.len());
        assert!(samples.iter().all(|s| s.labels[0].value == "eth0"));
        let eth0 = |name| value(&samples, name, Some("eth0"));
        assert_eq!(eth0(HOST_NETWORK_RECEIVE_BYTES_TOTAL.name), Some(1000.0));
        assert_eq!(eth0(HOST_NETWORK_RECEIVE_PACKETS_TOTAL.name), Some(10.0));
        assert_eq!(eth0(HOST_NETWORK_RECEIVE_ERRORS_TOTAL.name), Some(1.0));
        assert_eq!(eth0(HOST_NETWORK_RECEIVE_DROPS_TOTAL.name), Some(2.0));
        assert_eq!(eth0(HOST_NETWORK_TRANSMIT_BYTES_TOTAL.name), Some(3000.0));
        assert_eq!(eth0(HOST_NETWORK_TRANSMIT_DROPS_TOTAL.name), Some(4.0));
        assert!(parse_net_dev("h\nh\n eth0: 1 2 3\n", 0).is_err());
    }
}
