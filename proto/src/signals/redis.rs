//! Signals of the agent's `redis` source: the series the collector makes of
//! its `RedisStats` record, and the per-command and per-database samples.

use super::{Signal, signal};

pub const REDIS_KEYSPACE_HITS: Signal = signal!(
    Redis,
    counter "redis_keyspace_hits",
    Count,
    ["instance"],
    "Key lookups that found the key (INFO keyspace_hits)."
);
pub const REDIS_KEYSPACE_MISSES: Signal = signal!(
    Redis,
    counter "redis_keyspace_misses",
    Count,
    ["instance"],
    "Key lookups that did not find the key (INFO keyspace_misses)."
);
pub const REDIS_EVICTED_KEYS: Signal = signal!(
    Redis,
    counter "redis_evicted_keys",
    Count,
    ["instance"],
    "Keys evicted to stay under maxmemory (INFO evicted_keys)."
);
pub const REDIS_EXPIRED_KEYS: Signal = signal!(
    Redis,
    counter "redis_expired_keys",
    Count,
    ["instance"],
    "Keys removed because their TTL ran out (INFO expired_keys)."
);
pub const REDIS_REJECTED_CONNECTIONS: Signal = signal!(
    Redis,
    counter "redis_rejected_connections",
    Count,
    ["instance"],
    "Connections refused because of maxclients (INFO rejected_connections)."
);
pub const REDIS_USED_MEMORY_BYTES: Signal = signal!(
    Redis,
    gauge "redis_used_memory_bytes",
    Bytes,
    ["instance"],
    "Memory Redis has allocated for its data (INFO used_memory)."
);
pub const REDIS_MAXMEMORY_BYTES: Signal = signal!(
    Redis,
    gauge "redis_maxmemory_bytes",
    Bytes,
    ["instance"],
    "The maxmemory setting; 0 when unlimited."
);
pub const REDIS_MEM_FRAGMENTATION_RATIO: Signal = signal!(
    Redis,
    gauge "redis_mem_fragmentation_ratio",
    Ratio,
    ["instance"],
    "Resident memory over used memory (INFO mem_fragmentation_ratio)."
);
pub const REDIS_CONNECTED_CLIENTS: Signal = signal!(
    Redis,
    gauge "redis_connected_clients",
    Count,
    ["instance"],
    "Client connections open now."
);
pub const REDIS_OPS_PER_SEC: Signal = signal!(
    Redis,
    gauge "redis_ops_per_sec",
    PerSecond,
    ["instance"],
    "Commands per second as Redis measures it now (instantaneous_ops_per_sec)."
);
pub const REDIS_LATENCY_MS: Signal = signal!(
    Redis,
    gauge "redis_latency_ms",
    Milliseconds,
    ["instance"],
    "Round trip of the agent's PING."
);
pub const REDIS_COMMAND_CALLS: Signal = signal!(
    Redis,
    counter "redis_command_calls",
    Count,
    ["instance", "command"],
    "Calls of the command (INFO commandstats; the busiest by time, the rest as other)."
);
pub const REDIS_COMMAND_USEC: Signal = signal!(
    Redis,
    counter "redis_command_usec",
    Microseconds,
    ["instance", "command"],
    "Time Redis spent in the command (INFO commandstats)."
);
pub const REDIS_KEYS: Signal = signal!(
    Redis,
    gauge "redis_keys",
    Count,
    ["instance", "db"],
    "Keys in each logical database (INFO keyspace)."
);

/// Every signal of this family.
pub const ALL: &[Signal] = &[
    REDIS_KEYSPACE_HITS,
    REDIS_KEYSPACE_MISSES,
    REDIS_EVICTED_KEYS,
    REDIS_EXPIRED_KEYS,
    REDIS_REJECTED_CONNECTIONS,
    REDIS_USED_MEMORY_BYTES,
    REDIS_MAXMEMORY_BYTES,
    REDIS_MEM_FRAGMENTATION_RATIO,
    REDIS_CONNECTED_CLIENTS,
    REDIS_OPS_PER_SEC,
    REDIS_LATENCY_MS,
    REDIS_COMMAND_CALLS,
    REDIS_COMMAND_USEC,
    REDIS_KEYS,
];
