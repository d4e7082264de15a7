//! Signals of the agent's `host` source: `/proc` (CPU, memory, load, disks,
//! network) and `statvfs` of the watched mounts.

use super::{Signal, signal};

pub const HOST_CPU_SECONDS_TOTAL: Signal = signal!(
    Host,
    counter "host_cpu_seconds_total",
    Seconds,
    ["mode"],
    "CPU time spent in each mode, summed over every CPU (/proc/stat)."
);
pub const HOST_CPUS: Signal = signal!(
    Host,
    gauge "host_cpus",
    Count,
    [],
    "CPUs the host has online."
);
pub const HOST_MEMORY_TOTAL_BYTES: Signal = signal!(
    Host,
    gauge "host_memory_total_bytes",
    Bytes,
    [],
    "Memory of the host (MemTotal)."
);
pub const HOST_MEMORY_AVAILABLE_BYTES: Signal = signal!(
    Host,
    gauge "host_memory_available_bytes",
    Bytes,
    [],
    "Memory available to new work without swapping (MemAvailable)."
);
pub const HOST_MEMORY_USED_BYTES: Signal = signal!(
    Host,
    gauge "host_memory_used_bytes",
    Bytes,
    [],
    "Memory in use: total minus available."
);
pub const HOST_SWAP_TOTAL_BYTES: Signal = signal!(
    Host,
    gauge "host_swap_total_bytes",
    Bytes,
    [],
    "Swap space of the host."
);
pub const HOST_SWAP_USED_BYTES: Signal = signal!(
    Host,
    gauge "host_swap_used_bytes",
    Bytes,
    [],
    "Swap space in use."
);
pub const HOST_LOAD1: Signal = signal!(
    Host,
    gauge "host_load1",
    Count,
    [],
    "Load average over 1 minute (/proc/loadavg)."
);
pub const HOST_LOAD5: Signal = signal!(
    Host,
    gauge "host_load5",
    Count,
    [],
    "Load average over 5 minutes (/proc/loadavg)."
);
pub const HOST_LOAD15: Signal = signal!(
    Host,
    gauge "host_load15",
    Count,
    [],
    "Load average over 15 minutes (/proc/loadavg)."
);
pub const HOST_DISK_READS_COMPLETED_TOTAL: Signal = signal!(
    Host,
    counter "host_disk_reads_completed_total",
    Count,
    ["device"],
    "Reads completed by the physical disk (/proc/diskstats)."
);
pub const HOST_DISK_READ_BYTES_TOTAL: Signal = signal!(
    Host,
    counter "host_disk_read_bytes_total",
    Bytes,
    ["device"],
    "Bytes read from the physical disk (/proc/diskstats sectors × 512)."
);
pub const HOST_DISK_WRITES_COMPLETED_TOTAL: Signal = signal!(
    Host,
    counter "host_disk_writes_completed_total",
    Count,
    ["device"],
    "Writes completed by the physical disk (/proc/diskstats)."
);
pub const HOST_DISK_WRITTEN_BYTES_TOTAL: Signal = signal!(
    Host,
    counter "host_disk_written_bytes_total",
    Bytes,
    ["device"],
    "Bytes written to the physical disk (/proc/diskstats sectors × 512)."
);
pub const HOST_DISK_IO_TIME_SECONDS_TOTAL: Signal = signal!(
    Host,
    counter "host_disk_io_time_seconds_total",
    Seconds,
    ["device"],
    "Time the physical disk was busy with I/O (/proc/diskstats)."
);
pub const HOST_NETWORK_RECEIVE_BYTES_TOTAL: Signal = signal!(
    Host,
    counter "host_network_receive_bytes_total",
    Bytes,
    ["interface"],
    "Bytes received by the interface (/proc/net/dev)."
);
pub const HOST_NETWORK_RECEIVE_PACKETS_TOTAL: Signal = signal!(
    Host,
    counter "host_network_receive_packets_total",
    Count,
    ["interface"],
    "Packets received by the interface (/proc/net/dev)."
);
pub const HOST_NETWORK_RECEIVE_ERRORS_TOTAL: Signal = signal!(
    Host,
    counter "host_network_receive_errors_total",
    Count,
    ["interface"],
    "Receive errors of the interface (/proc/net/dev)."
);
pub const HOST_NETWORK_RECEIVE_DROPS_TOTAL: Signal = signal!(
    Host,
    counter "host_network_receive_drops_total",
    Count,
    ["interface"],
    "Received packets the interface dropped (/proc/net/dev)."
);
pub const HOST_NETWORK_TRANSMIT_BYTES_TOTAL: Signal = signal!(
    Host,
    counter "host_network_transmit_bytes_total",
    Bytes,
    ["interface"],
    "Bytes sent by the interface (/proc/net/dev)."
);
pub const HOST_NETWORK_TRANSMIT_PACKETS_TOTAL: Signal = signal!(
    Host,
    counter "host_network_transmit_packets_total",
    Count,
    ["interface"],
    "Packets sent by the interface (/proc/net/dev)."
);
pub const HOST_NETWORK_TRANSMIT_ERRORS_TOTAL: Signal = signal!(
    Host,
    counter "host_network_transmit_errors_total",
    Count,
    ["interface"],
    "Transmit errors of the interface (/proc/net/dev)."
);
pub const HOST_NETWORK_TRANSMIT_DROPS_TOTAL: Signal = signal!(
    Host,
    counter "host_network_transmit_drops_total",
    Count,
    ["interface"],
    "Outgoing packets the interface dropped (/proc/net/dev)."
);
pub const HOST_FILESYSTEM_SIZE_BYTES: Signal = signal!(
    Host,
    gauge "host_filesystem_size_bytes",
    Bytes,
    ["mount"],
    "Size of the filesystem mounted at mount."
);
pub const HOST_FILESYSTEM_AVAILABLE_BYTES: Signal = signal!(
    Host,
    gauge "host_filesystem_available_bytes",
    Bytes,
    ["mount"],
    "Space unprivileged writers may still use on the filesystem."
);
pub const HOST_FILESYSTEM_USED_BYTES: Signal = signal!(
    Host,
    gauge "host_filesystem_used_bytes",
    Bytes,
    ["mount"],
    "Space in use on the filesystem."
);
pub const HOST_FILESYSTEM_INODES: Signal = signal!(
    Host,
    gauge "host_filesystem_inodes",
    Count,
    ["mount"],
    "Inodes of the filesystem."
);
pub const HOST_FILESYSTEM_INODES_FREE: Signal = signal!(
    Host,
    gauge "host_filesystem_inodes_free",
    Count,
    ["mount"],
    "Free inodes of the filesystem."
);

/// Every signal of this family.
pub const ALL: &[Signal] = &[
    HOST_CPU_SECONDS_TOTAL,
    HOST_CPUS,
    HOST_MEMORY_TOTAL_BYTES,
    HOST_MEMORY_AVAILABLE_BYTES,
    HOST_MEMORY_USED_BYTES,
    HOST_SWAP_TOTAL_BYTES,
    HOST_SWAP_USED_BYTES,
    HOST_LOAD1,
    HOST_LOAD5,
    HOST_LOAD15,
    HOST_DISK_READS_COMPLETED_TOTAL,
    HOST_DISK_READ_BYTES_TOTAL,
    HOST_DISK_WRITES_COMPLETED_TOTAL,
    HOST_DISK_WRITTEN_BYTES_TOTAL,
    HOST_DISK_IO_TIME_SECONDS_TOTAL,
    HOST_NETWORK_RECEIVE_BYTES_TOTAL,
    HOST_NETWORK_RECEIVE_PACKETS_TOTAL,
    HOST_NETWORK_RECEIVE_ERRORS_TOTAL,
    HOST_NETWORK_RECEIVE_DROPS_TOTAL,
    HOST_NETWORK_TRANSMIT_BYTES_TOTAL,
    HOST_NETWORK_TRANSMIT_PACKETS_TOTAL,
    HOST_NETWORK_TRANSMIT_ERRORS_TOTAL,
    HOST_NETWORK_TRANSMIT_DROPS_TOTAL,
    HOST_FILESYSTEM_SIZE_BYTES,
    HOST_FILESYSTEM_AVAILABLE_BYTES,
    HOST_FILESYSTEM_USED_BYTES,
    HOST_FILESYSTEM_INODES,
    HOST_FILESYSTEM_INODES_FREE,
];
