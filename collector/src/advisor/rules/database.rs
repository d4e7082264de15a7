//! Rule `database`: PostgreSQL capacity and health.
//!
//! Symptoms, why they matter and the fix:
//! - connections near `max_connections` (headroom table): new sessions are
//!   refused and requests fail; pool (PgBouncer in transaction mode) or
//!   lower Medusa's pool size per process before raising the limit;
//! - a low buffer cache hit ratio: reads go to disk; give PostgreSQL more
//!   memory (`shared_buffers`, the host's page cache);
//! - temporary files: sorts and hashes spill to disk; raise `work_mem` for
//!   the statements that spill, or fix their plans;
//! - the disk under the database filling up (headroom table): PostgreSQL
//!   stops accepting writes when it is full;
//! - lock waits and deadlocks: requests queue behind each other (in Medusa,
//!   typically concurrent completions of the same cart);
//! - a read-dominated workload under CPU or connection pressure: a read
//!   replica takes the reads off the primary.

use std::collections::{BTreeMap, BTreeSet};

use headroom_proto::signals::postgres::{
    PG_CONNECTIONS_TOTAL, PG_DATABASE_BLKS_HIT, PG_DATABASE_BLKS_READ, PG_DATABASE_DEADLOCKS,
    PG_DATABASE_SIZE_BYTES, PG_DATABASE_TEMP_BYTES, PG_DATABASE_TUP_DELETED,
    PG_DATABASE_TUP_FETCHED, PG_DATABASE_TUP_INSERTED, PG_DATABASE_TUP_RETURNED,
    PG_DATABASE_TUP_UPDATED, PG_LOCK_WAITS, PG_STATEMENT_TEMP_BLKS_WRITTEN,
};

use serde::{Deserialize, Serialize};

use super::helpers::{HitRatio, hit_ratios};
use crate::advisor::needs::{Need, lookback, recent};
use crate::advisor::snapshot::Series;
use crate::advisor::{
    Context, Evidence, Finding, RecKind, Severity, describe_eta, level_confidence,
};
use crate::analysis::DAY_MS;
use crate::analysis::headroom::Headroom;

/// The confidence floor: findings of this rule below it are not emitted
/// (enforced in `rules::evaluate_all`). 0.2: forecasts (connections, disk) are acted on from the headroom table's `MIN_FORECAST_CONFIDENCE` (0.2); levels measured now score by the points behind them (see `level_confidence`).
/// The series this rule reads (connections over the look-back).
pub const NEEDS: &[Need] = &[
    lookback(&PG_CONNECTIONS_TOTAL),
    recent(&PG_DATABASE_BLKS_HIT),
    recent(&PG_DATABASE_BLKS_READ),
    recent(&PG_DATABASE_TEMP_BYTES),
    recent(&PG_STATEMENT_TEMP_BLKS_WRITTEN),
    recent(&PG_DATABASE_SIZE_BYTES),
    recent(&PG_LOCK_WAITS),
    recent(&PG_DATABASE_DEADLOCKS),
    recent(&PG_DATABASE_TUP_RETURNED),
    recent(&PG_DATABASE_TUP_FETCHED),
    recent(&PG_DATABASE_TUP_INSERTED),
    recent(&PG_DATABASE_TUP_UPDATED),
    recent(&PG_DATABASE_TUP_DELETED),
];

pub const MIN_CONFIDENCE: f64 = 0.2;

/// Thresholds of the `database` rule (`[advisor.database]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Connections in use / usable connections at or above this is a
    /// warning. Default 0.8.
    pub connections_warn_utilization: f64,
    /// … and at or above this, critical. Default 0.95.
    pub connections_critical_utilization: f64,
    /// Connections reaching the limit within this many days is a warning.
    /// Default 14.
    pub connections_warn_eta_days: f64,
    /// … and within this many days, critical. Default 3.
    pub connections_critical_eta_days: f64,
    /// A buffer cache hit ratio (blocks hit / blocks accessed, recent
    /// window) below this is low. Default 0.99.
    pub min_buffer_hit_ratio: f64,
    /// Fewer blocks accessed (hit + read) than this in the recent window
    /// say nothing about the hit ratio. Default 10,000.
    pub min_blocks: f64,
    /// Temporary bytes written in the recent window at or above this is a
    /// spill worth fixing. Default 100 MiB.
    pub temp_bytes: f64,
    /// The disk under the database filling up within this many days is a
    /// warning. Default 30.
    pub disk_eta_days: f64,
    /// … and within this many days, critical. Default 7.
    pub disk_critical_eta_days: f64,
    /// Sessions waiting on locks at or above this … Default 5.
    pub lock_waits: f64,
    /// … in at least this many points of the recent window is sustained.
    /// Default 3.
    pub lock_wait_min_points: usize,
    /// Rows read per row written (recent window) at or above this is a
    /// read-dominated workload. Default 20.
    pub read_write_ratio: f64,
    /// Rows read in the recent window below this is an idle database, never
    /// worth a replica. Default 100,000.
    pub min_rows_read: f64,
    /// Utilization of a "host cpu" or "postgres connections" resource of the
    /// same agent at or above this is pressure. Default 0.7.
    pub pressure_utilization: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            connections_warn_utilization: 0.8,
            connections_critical_utilization: 0.95,
            connections_warn_eta_days: 14.0,
            connections_critical_eta_days: 3.0,
            min_buffer_hit_ratio: 0.99,
            min_blocks: 10_000.0,
            temp_bytes: 100.0 * 1_048_576.0,
            disk_eta_days: 30.0,
            disk_critical_eta_days: 7.0,
            lock_waits: 5.0,
            lock_wait_min_points: 3,
            read_write_ratio: 20.0,
            min_rows_read: 100_000.0,
            pressure_utilization: 0.7,
        }
    }
}

/// Key prefix of the read-replica finding (`read_replica/<agent>`), a
/// symptom the fold folds into an advised cause.
pub const READ_REPLICA_KEY: &str = "read_replica/";
/// Key prefix of the buffer-cache finding (`buffer_cache/<agent>/<db>`).
pub const BUFFER_CACHE_KEY: &str = "buffer_cache/";

/// Statements named in a temp-spill finding.
const MAX_SPILLING_STATEMENTS: usize = 3;

/// Findings of this pass.
pub fn evaluate(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    connections(ctx, &mut out);
    buffer_cache(ctx, &mut out);
    temp_spills(ctx, &mut out);
    disk(ctx, &mut out);
    locks(ctx, &mut out);
    read_replica(ctx, &mut out);
    out
}

/// `"kind (agent)"` → `agent`.
fn agent_of(resource: &str) -> &str {
    resource
        .rsplit_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or("")
}

fn days_until(now: i64, eta: i64) -> f64 {
    (eta - now).max(0) as f64 / DAY_MS as f64
}

fn connections(ctx: &Context, out: &mut Vec<Finding>) {
    let config = &ctx.config.database;
    let now = ctx.snapshot.now_ms;
    for h in ctx
        .headroom
        .iter()
        .filter(|h| h.resource.starts_with("postgres connections"))
    {
        let eta_days = h.credible_eta_ms().map(|eta| days_until(now, eta));
        let soon = |days: f64| eta_days.is_some_and(|d| d <= days);
        let severity = if h.utilization >= config.connections_critical_utilization
            || soon(config.connections_critical_eta_days)
        {
            Severity::Critical
        } else if h.utilization >= config.connections_warn_utilization
            || soon(config.connections_warn_eta_days)
        {
            Severity::Warning
        } else {
            continue;
        };
        let agent = agent_of(&h.resource);
        let when = match h.credible_eta_ms() {
            Some(eta) => format!("at this growth they run out {}", describe_eta(now, eta)),
            None => "a traffic peak or one more app process can exhaust them".to_owned(),
        };
        let mut evidence = Evidence::default()
            .against(
                "connections in use / usable",
                h.utilization,
                "ratio",
                config.connections_warn_utilization,
            )
            .fact("connections in use", h.current, "connections")
            .fact(
                "usable connections (max minus superuser reserved)",
                h.limit,
                "connections",
            );
        if let Some(d) = eta_days {
            evidence = evidence.against(
                "days until exhausted",
                d,
                "days",
                config.connections_warn_eta_days,
            );
        }
        if let Some(s) = ctx
            .snapshot
            .find(PG_CONNECTIONS_TOTAL.name, &[("agent", agent)])
        {
            evidence = evidence.series(PG_CONNECTIONS_TOTAL.name, &s.labels, Some(h.limit));
        }
        // A level at or over the warning is measured now; an ETA is a forecast.
        let confidence = if h.utilization >= config.connections_warn_utilization {
            h.confidence.max(level_confidence(h.samples))
        } else {
            h.confidence
        };
        out.push(Finding {
            kind: RecKind::Database,
            key: format!("connections/{agent}"),
            severity,
            title: "PostgreSQL connections near the limit".to_owned(),
            summary: format!(
                "PostgreSQL ({agent}) uses {:.0} of {:.0} usable connections ({:.0}%); {when}. \
                 If nothing is done, new sessions are refused and Medusa requests fail with \
                 \"too many clients\".",
                h.current,
                h.limit,
                h.utilization * 100.0
            ),
            action: "Put a pooler in front of PostgreSQL (PgBouncer in transaction mode) or \
                     lower the maximum of Medusa's knex pool per process (default 10, set through \
                     `projectConfig.databaseDriverOptions`; it is multiplied by server, worker and \
                     cluster processes). Raise \
                     `max_connections` only after that: each connection costs memory."
                .to_owned(),
            evidence,
            confidence,
        });
    }
}

fn buffer_cache(ctx: &Context, out: &mut Vec<Finding>) {
    let config = &ctx.config.database;
    let pairs = hit_ratios(
        ctx,
        PG_DATABASE_BLKS_HIT.name,
        PG_DATABASE_BLKS_READ.name,
        "database",
        config.min_blocks,
    );
    for HitRatio {
        hits: hit,
        misses: read,
        hit_count: h,
        miss_count: r,
        ratio,
    } in pairs
    {
        let (agent, database) = (hit.label("agent"), hit.label("database"));
        let blocks = h + r;
        if ratio >= config.min_buffer_hit_ratio {
            continue;
        }
        out.push(Finding {
            kind: RecKind::Database,
            key: format!("{BUFFER_CACHE_KEY}{agent}/{database}"),
            severity: Severity::Warning,
            title: format!("PostgreSQL reads {database} from disk"),
            summary: format!(
                "Only {:.2}% of block accesses in {database} were served from shared buffers in \
                 the recent window (threshold {:.0}%); {r:.0} blocks came from disk or the OS \
                 cache. If nothing is done, queries slow down as the data grows past memory.",
                ratio * 100.0,
                config.min_buffer_hit_ratio * 100.0
            ),
            action: "Give PostgreSQL more memory: raise `shared_buffers` (about 25% of RAM on a \
                     dedicated host) and `effective_cache_size` (about 75%), or a larger \
                     instance; check first that the statements reading most blocks \
                     (`shared_blks_read`) are not scanning whole tables for want of an index."
                .to_owned(),
            evidence: Evidence::default()
                .against(
                    "buffer cache hit ratio (recent window)",
                    ratio,
                    "ratio",
                    config.min_buffer_hit_ratio,
                )
                .against(
                    "blocks accessed (recent window)",
                    blocks,
                    "blocks",
                    config.min_blocks,
                )
                .series(PG_DATABASE_BLKS_HIT.name, &hit.labels, None)
                .series(PG_DATABASE_BLKS_READ.name, &read.labels, None),
            confidence: (blocks / (blocks + config.min_blocks)).min(0.9),
        });
    }
}

fn temp_spills(ctx: &Context, out: &mut Vec<Finding>) {
    let config = &ctx.config.database;
    let start = ctx.since();
    for temp in ctx.snapshot.named(PG_DATABASE_TEMP_BYTES.name) {
        let (agent, database) = (temp.label("agent"), temp.label("database"));
        if !ctx.usable(temp) {
            continue;
        }
        let bytes = temp.increase_since(start);
        if bytes < config.temp_bytes {
            continue;
        }
        let labels = [("agent", agent), ("database", database)];
        let mut spilling: Vec<(&Series, f64)> = ctx
            .snapshot
            .matching(PG_STATEMENT_TEMP_BLKS_WRITTEN.name, &labels)
            .map(|s| (s, s.sum_since(start)))
            .filter(|&(_, blocks)| blocks > 0.0)
            .collect();
        spilling.sort_by(|a, b| b.1.total_cmp(&a.1));
        spilling.truncate(MAX_SPILLING_STATEMENTS);
        let mut evidence = Evidence::default()
            .against(
                "temporary bytes written (recent window)",
                bytes,
                "bytes",
                config.temp_bytes,
            )
            .series(PG_DATABASE_TEMP_BYTES.name, &temp.labels, None);
        let mut named = Vec::new();
        for (s, blocks) in &spilling {
            let queryid = s.label("queryid");
            let text = ctx
                .snapshot
                .statement_text(database, queryid)
                .unwrap_or("(text not captured)");
            evidence = evidence
                .fact(
                    &format!("temp blocks written by query {queryid}"),
                    *blocks,
                    "blocks",
                )
                .series(PG_STATEMENT_TEMP_BLKS_WRITTEN.name, &s.labels, None)
                .note(format!("queryid {queryid}: {text}"));
            named.push(format!("query {queryid} ({text})"));
        }
        let which = if named.is_empty() {
            "the statements that spill (pg_stat_statements.temp_blks_written)".to_owned()
        } else {
            named.join("; ")
        };
        out.push(Finding {
            kind: RecKind::Database,
            key: format!("temp_spills/{agent}/{database}"),
            severity: Severity::Warning,
            title: format!("Sorts and hashes spill to disk in {database}"),
            summary: format!(
                "{database} wrote {:.0} MiB of temporary files in the recent window (threshold \
                 {:.0} MiB): sorts and hashes did not fit in `work_mem`. If nothing is done, \
                 these statements stay disk-bound and slow down further as tables grow.",
                bytes / 1_048_576.0,
                config.temp_bytes / 1_048_576.0
            ),
            action: format!(
                "Raise `work_mem` for {which}: per transaction (`SET LOCAL work_mem = '64MB'`) \
                 or per role (`ALTER ROLE … SET work_mem`) rather than globally, since every \
                 sort of every connection may use it; or give the sort an index so it need not \
                 sort at all."
            ),
            evidence,
            confidence: if spilling.is_empty() { 0.6 } else { 0.8 },
        });
    }
}

fn disk(ctx: &Context, out: &mut Vec<Finding>) {
    let config = &ctx.config.database;
    let now = ctx.snapshot.now_ms;
    let pg_agents: BTreeSet<&str> = ctx
        .snapshot
        .named(PG_DATABASE_SIZE_BYTES.name)
        .map(|s| s.label("agent"))
        .collect();
    if pg_agents.is_empty() {
        return;
    }
    let disks: Vec<&Headroom> = ctx
        .headroom
        .iter()
        .filter(|h| h.resource.starts_with("disk "))
        .collect();
    let disk_agents: BTreeSet<&str> = disks.iter().map(|h| agent_of(&h.resource)).collect();
    // When the database's agent measures no host, a single host is the
    // database's host.
    let lone_host = pg_agents.is_disjoint(&disk_agents) && disk_agents.len() == 1;
    for h in disks {
        let agent = agent_of(&h.resource);
        if !(pg_agents.contains(agent) || lone_host) {
            continue;
        }
        let Some(eta) = h.credible_eta_ms() else {
            continue;
        };
        let days = days_until(now, eta);
        let severity = if days <= config.disk_critical_eta_days {
            Severity::Critical
        } else if days <= config.disk_eta_days {
            Severity::Warning
        } else {
            continue;
        };
        let mut sizes: BTreeMap<&str, f64> = BTreeMap::new();
        let mut evidence = Evidence::default()
            .against(
                "days until the disk is full",
                days,
                "days",
                config.disk_eta_days,
            )
            .fact("disk used", h.current, "bytes")
            .fact("disk size", h.limit, "bytes");
        for s in ctx
            .snapshot
            .named(PG_DATABASE_SIZE_BYTES.name)
            .filter(|s| lone_host || s.label("agent") == agent)
        {
            if let Some(size) = s.last().map(|(_, v)| v) {
                sizes.insert(s.label("database"), size);
                evidence = evidence.series(PG_DATABASE_SIZE_BYTES.name, &s.labels, None);
            }
        }
        let largest = sizes
            .iter()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(db, size)| {
                format!(
                    " (largest database: {db}, {:.1} GiB)",
                    size / 1_073_741_824.0
                )
            })
            .unwrap_or_default();
        out.push(Finding {
            kind: RecKind::Database,
            key: format!("disk/{}", h.resource),
            severity,
            title: "The database's disk fills up".to_owned(),
            summary: format!(
                "{} is {:.0}% full and growing{largest}; at this rate it is full {}. If nothing \
                 is done, PostgreSQL stops accepting writes then, and checkout fails.",
                h.resource,
                h.utilization * 100.0,
                describe_eta(now, eta)
            ),
            action: "Grow the volume before the ETA, and find what grows: table and index sizes \
                     (pg_total_relation_size), bloat from dead tuples (autovacuum), WAL kept by \
                     an inactive replication slot, and old data that can be archived."
                .to_owned(),
            evidence,
            confidence: h.confidence,
        });
    }
}

fn locks(ctx: &Context, out: &mut Vec<Finding>) {
    let config = &ctx.config.database;
    let start = ctx.since();
    let mut agents: BTreeSet<&str> = ctx
        .snapshot
        .named(PG_LOCK_WAITS.name)
        .map(|s| s.label("agent"))
        .collect();
    agents.extend(
        ctx.snapshot
            .named(PG_DATABASE_DEADLOCKS.name)
            .map(|s| s.label("agent")),
    );
    for agent in agents {
        let waits = ctx
            .snapshot
            .find(PG_LOCK_WAITS.name, &[("agent", agent)])
            .filter(|s| ctx.usable(s));
        let (waiting_points, max_waits) = waits.map_or((0, 0.0), |s| {
            let recent = s.since(start);
            (
                recent
                    .iter()
                    .filter(|&&(_, v)| v >= config.lock_waits)
                    .count(),
                recent.iter().map(|&(_, v)| v).fold(0.0, f64::max),
            )
        });
        let sustained = waiting_points >= config.lock_wait_min_points;
        let labels = [("agent", agent)];
        let deadlock_series: Vec<&Series> = ctx
            .snapshot
            .matching(PG_DATABASE_DEADLOCKS.name, &labels)
            .filter(|s| ctx.usable(s))
            .collect();
        let deadlocks: f64 = deadlock_series
            .iter()
            .map(|s| s.increase_since(start))
            .sum();
        if !sustained && deadlocks <= 0.0 {
            continue;
        }
        let severity = if sustained && deadlocks > 0.0 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let mut evidence = Evidence::default();
        let mut parts = Vec::new();
        if let Some(s) = waits {
            evidence = evidence
                .against(
                    "most sessions waiting on locks (recent window)",
                    max_waits,
                    "sessions",
                    config.lock_waits,
                )
                .against(
                    "points with waits at or above the threshold",
                    waiting_points as f64,
                    "points",
                    config.lock_wait_min_points as f64,
                )
                .series(PG_LOCK_WAITS.name, &s.labels, Some(config.lock_waits));
            if sustained {
                parts.push(format!(
                    "up to {max_waits:.0} sessions waited on locks, at or above {:.0} in \
                     {waiting_points} points of the recent window",
                    config.lock_waits
                ));
            }
        }
        if deadlocks > 0.0 {
            evidence = evidence.against("deadlocks (recent window)", deadlocks, "deadlocks", 0.0);
            for s in &deadlock_series {
                evidence = evidence.series(PG_DATABASE_DEADLOCKS.name, &s.labels, None);
            }
            parts.push(format!("{deadlocks:.0} deadlocks occurred"));
        }
        let n = waiting_points as f64 + deadlocks;
        out.push(Finding {
            kind: RecKind::Database,
            key: format!("locks/{agent}"),
            severity,
            title: "Sessions wait on locks".to_owned(),
            summary: format!(
                "In PostgreSQL ({agent}) {}. Waiting requests hold connections and add their \
                 wait to the response time; if nothing is done, a traffic peak turns waits into \
                 timeouts and failed checkouts.",
                parts.join(" and ")
            ),
            action: "Find who blocks whom while it happens (`SELECT pid, pg_blocking_pids(pid), \
                     wait_event_type, query FROM pg_stat_activity WHERE wait_event_type = \
                     'Lock'`) and set `log_lock_waits = on`. In Medusa the usual cause is cart \
                     completion: concurrent `POST /store/carts/:id/complete` on the same cart \
                     (double clicks, payment webhooks racing the storefront) and the inventory \
                     rows they reserve; use Medusa's locking module (`locking-redis`) and make \
                     the storefront submit once. Keep transactions short and update rows in a \
                     consistent order."
                .to_owned(),
            evidence,
            confidence: (n / (n + 3.0)).clamp(0.4, 0.9),
        });
    }
}

/// Rows read and rows written by `agent`'s databases in the recent window
/// (`pg_stat_database`: returned + fetched; inserted + updated + deleted).
pub fn rows_read(ctx: &Context, agent: &str) -> (f64, f64) {
    rows_between(ctx, agent, ctx.since(), i64::MAX)
}

fn rows_between(ctx: &Context, agent: &str, from: i64, to: i64) -> (f64, f64) {
    let total = |name: &str| -> f64 {
        ctx.snapshot
            .matching(name, &[("agent", agent)])
            .filter(|s| ctx.usable(s))
            .map(|s| {
                // Counter growth between `from` and `to`.
                let upto = s.points.partition_point(|&(t, _)| t <= to);
                let mut head = s.clone();
                head.points.truncate(upto);
                head.sums.truncate(upto);
                head.increase_since(from)
            })
            .sum()
    };
    let reads = total(PG_DATABASE_TUP_RETURNED.name) + total(PG_DATABASE_TUP_FETCHED.name);
    let writes = total(PG_DATABASE_TUP_INSERTED.name)
        + total(PG_DATABASE_TUP_UPDATED.name)
        + total(PG_DATABASE_TUP_DELETED.name);
    (reads, writes)
}

/// A read-dominated workload under CPU or connection pressure that persists
/// (both halves of the recent window read-dominated). The fold removes it
/// when an advised index or scan fix is measured to explain the reads.
fn read_replica(ctx: &Context, out: &mut Vec<Finding>) {
    let config = &ctx.config.database;
    let start = ctx.since();
    let middle = start + ctx.config.recent_ms() / 2;
    let agents: BTreeSet<&str> = ctx
        .snapshot
        .named(PG_DATABASE_TUP_RETURNED.name)
        .map(|s| s.label("agent"))
        .collect();
    for agent in agents {
        let (reads, writes) = rows_read(ctx, agent);
        if reads < config.min_rows_read {
            continue;
        }
        let ratio = reads / writes.max(1.0);
        if ratio < config.read_write_ratio {
            continue;
        }
        // Persistence: each half of the window on its own is read-dominated
        // and busy, so one report or one batch job cannot make it.
        let halves = [
            rows_between(ctx, agent, start, middle),
            rows_between(ctx, agent, middle, i64::MAX),
        ];
        let half_ratios: Vec<f64> = halves.iter().map(|(r, w)| r / w.max(1.0)).collect();
        if halves.iter().zip(&half_ratios).any(|((r, _), ratio)| {
            *r < config.min_rows_read / 2.0 || *ratio < config.read_write_ratio
        }) {
            continue;
        }
        let pressure = ctx
            .headroom
            .iter()
            .filter(|h| {
                (h.resource.starts_with("host cpu")
                    || h.resource.starts_with("postgres connections"))
                    && agent_of(&h.resource) == agent
            })
            .max_by(|a, b| a.utilization.total_cmp(&b.utilization))
            .filter(|h| h.utilization >= config.pressure_utilization);
        let Some(pressure) = pressure else { continue };
        let mut evidence = Evidence::default()
            .against(
                "rows read per row written (recent window)",
                ratio,
                "ratio",
                config.read_write_ratio,
            )
            .against(
                "rows read per row written (first half of the window)",
                half_ratios[0],
                "ratio",
                config.read_write_ratio,
            )
            .against(
                "rows read per row written (second half of the window)",
                half_ratios[1],
                "ratio",
                config.read_write_ratio,
            )
            .against(
                "rows read (recent window)",
                reads,
                "rows",
                config.min_rows_read,
            )
            .against(
                &format!("{} utilization", pressure.resource),
                pressure.utilization,
                "ratio",
                config.pressure_utilization,
            )
            .note("No advised index or scan fix was measured to explain these reads (see the advice's evidence when one does).");
        for s in ctx
            .snapshot
            .matching(PG_DATABASE_TUP_RETURNED.name, &[("agent", agent)])
        {
            evidence = evidence.series(PG_DATABASE_TUP_RETURNED.name, &s.labels, None);
        }
        out.push(Finding {
            kind: RecKind::Database,
            key: format!("{READ_REPLICA_KEY}{agent}"),
            severity: Severity::Info,
            title: "Reads dominate a busy PostgreSQL: consider a read replica".to_owned(),
            summary: format!(
                "PostgreSQL ({agent}) read {ratio:.0} rows for every row written in the recent \
                 window (threshold {:.0}), in both halves of it, while {} is at {:.0}% \
                 (threshold {:.0}%). If nothing is done, reads and checkout writes keep \
                 competing for the same CPU and connections as traffic grows.",
                config.read_write_ratio,
                pressure.resource,
                pressure.utilization * 100.0,
                config.pressure_utilization * 100.0
            ),
            action: "First find what reads: the statements reading the most blocks \
                     (`pg_stat_statements.shared_blks_hit + shared_blks_read`) and the tables \
                     scanned sequentially (`pg_stat_user_tables.seq_tup_read`); an index or a \
                     cache for those is cheaper than a replica. If the reads are spread over \
                     many statements that are each already efficient, add a streaming read \
                     replica and send read-only traffic (storefront catalog, admin lists, \
                     reports) to it, keeping carts and checkout on the primary."
                .to_owned(),
            evidence,
            confidence: (0.5 * pressure.confidence.max(level_confidence(pressure.samples)) + 0.3)
                .min(0.8),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::rules::testing::{keyed, run_rule_with};
    use crate::advisor::{AdvisorConfig, Snapshot};
    use crate::analysis::{HOUR_MS, MINUTE_MS};
    use crate::store::model::Kind;

    const NOW: i64 = 40 * DAY_MS;
    const STEP: i64 = 5 * MINUTE_MS;
    const DB: &[(&str, &str)] = &[("agent", "pg"), ("database", "shop")];

    fn run_with(snap: &Snapshot, headroom: &[Headroom], config: &AdvisorConfig) -> Vec<Finding> {
        run_rule_with(evaluate, snap, headroom, config)
    }

    fn run(snap: &Snapshot, headroom: &[Headroom]) -> Vec<Finding> {
        run_with(snap, headroom, &AdvisorConfig::default())
    }

    /// A counter rising by `each` over `n` five-minute steps ending now.
    fn counter(name: &str, labels: &[(&str, &str)], n: i64, each: f64) -> Series {
        let points = (0..=n)
            .map(|i| (NOW - (n - i) * STEP, 1e6 + i as f64 * each))
            .collect();
        Series::new(name, labels, Kind::Counter, points)
    }

    fn resource(name: &str, utilization: f64, eta_days: Option<f64>) -> Headroom {
        Headroom {
            resource: name.to_owned(),
            current: utilization * 100.0,
            limit: 100.0,
            utilization,
            trend_per_day: eta_days.map(|_| 1.0),
            eta_ms: eta_days.map(|d| NOW + (d * DAY_MS as f64) as i64),
            eta_earliest_ms: None,
            eta_latest_ms: None,
            confidence: 0.6,
            samples: 300,
            history_ms: 14 * DAY_MS,
        }
    }

    fn connections(utilization: f64, eta_days: Option<f64>) -> Vec<Finding> {
        let h = resource("postgres connections (pg)", utilization, eta_days);
        run(&Snapshot::at(NOW), &[h])
    }

    #[test]
    fn connection_utilization_below_at_and_above_the_warning() {
        assert!(connections(0.79, None).is_empty());
        let at = connections(0.8, None);
        assert_eq!(at.len(), 1);
        assert_eq!(at[0].key, "connections/pg");
        assert_eq!(at[0].severity, Severity::Warning);
        assert!(at[0].action.contains("PgBouncer"));
        assert_eq!(connections(0.9, None)[0].severity, Severity::Warning);
    }

    #[test]
    fn connection_utilization_below_at_and_above_critical() {
        assert_eq!(connections(0.94, None)[0].severity, Severity::Warning);
        assert_eq!(connections(0.95, None)[0].severity, Severity::Critical);
        assert_eq!(connections(0.99, None)[0].severity, Severity::Critical);
    }

    #[test]
    fn connection_eta_within_the_horizons() {
        assert!(connections(0.5, Some(15.0)).is_empty());
        assert_eq!(connections(0.5, Some(14.0))[0].severity, Severity::Warning);
        assert_eq!(connections(0.5, Some(4.0))[0].severity, Severity::Warning);
        assert_eq!(connections(0.5, Some(3.0))[0].severity, Severity::Critical);
        assert!(
            connections(0.5, Some(14.0))[0]
                .summary
                .contains("in 14 days")
        );
    }

    #[test]
    fn an_eta_from_too_little_history_is_not_acted_on() {
        // The real store after two minutes: 2% in use, an ETA in 4 hours
        // from a warm-up ramp, and no confidence behind it.
        let mut h = resource("postgres connections (pg)", 0.02, Some(4.0 / 24.0));
        h.confidence = 0.0;
        assert!(run(&Snapshot::at(NOW), &[h.clone()]).is_empty());
        h.confidence = crate::analysis::headroom::MIN_FORECAST_CONFIDENCE;
        assert_eq!(
            run(&Snapshot::at(NOW), &[h])[0].severity,
            Severity::Critical
        );
    }

    #[test]
    fn a_level_near_the_limit_is_trusted_from_its_points_not_its_history() {
        // Fifteen minutes of data: no forecast confidence, but 90 points
        // say the pool is at 90% now; a single point says little.
        let mut h = resource("postgres connections (pg)", 0.9, None);
        h.confidence = 0.0;
        h.samples = 90;
        let f = &run(&Snapshot::at(NOW), std::slice::from_ref(&h))[0];
        assert!(f.confidence >= MIN_CONFIDENCE, "{}", f.confidence);
        h.samples = 1;
        let f = &run(&Snapshot::at(NOW), &[h])[0];
        assert!(f.confidence < MIN_CONFIDENCE, "{}", f.confidence);
    }

    #[test]
    fn no_connection_headroom_says_nothing() {
        assert!(run(&Snapshot::at(NOW), &[]).is_empty());
    }

    fn blocks(hit_each: f64, read_each: f64, steps: i64) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        snap.push(counter("pg_database_blks_hit", DB, steps, hit_each));
        snap.push(counter("pg_database_blks_read", DB, steps, read_each));
        snap
    }

    #[test]
    fn buffer_hit_ratio_below_at_and_above_the_threshold() {
        // 10 steps × 1,000 blocks = 10,000 blocks.
        let below = run(&blocks(980.0, 20.0, 10), &[]);
        assert_eq!(keyed(&below, "buffer_cache/").len(), 1, "{below:#?}");
        assert_eq!(below[0].key, "buffer_cache/pg/shop");
        assert!(run(&blocks(990.0, 10.0, 10), &[]).is_empty(), "at 0.99");
        assert!(run(&blocks(999.0, 1.0, 10), &[]).is_empty());
    }

    #[test]
    fn buffer_hit_ratio_needs_enough_blocks_and_points() {
        assert!(
            run(&blocks(882.0, 18.0, 10), &[]).is_empty(),
            "9,000 blocks"
        );
        assert!(
            run(&blocks(98_000.0, 2_000.0, 1), &[]).is_empty(),
            "one step"
        );
    }

    const MIB: f64 = 1_048_576.0;

    fn spilling(temp_each: f64) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        snap.push(counter("pg_database_temp_bytes", DB, 10, temp_each));
        for (queryid, blocks) in [("7", 500.0), ("8", 0.0)] {
            let labels = [("agent", "pg"), ("database", "shop"), ("queryid", queryid)];
            snap.push(Series::new(
                "pg_statement_temp_blks_written",
                &labels,
                Kind::Gauge,
                vec![(NOW - STEP, blocks), (NOW, blocks)],
            ));
        }
        snap.push_text(
            "pg_query",
            "shop/7",
            "SELECT * FROM \"order\" ORDER BY created_at",
            NOW,
        );
        snap
    }

    #[test]
    fn temp_spills_at_and_above_the_threshold_name_the_statement() {
        let at = run(&spilling(10.0 * MIB), &[]);
        let f = keyed(&at, "temp_spills/");
        assert_eq!(f.len(), 1, "{at:#?}");
        assert!(f[0].action.contains("query 7"), "{}", f[0].action);
        assert!(f[0].action.contains("ORDER BY created_at"));
        assert!(!f[0].action.contains("query 8"));
        assert!(f[0].action.contains("work_mem"));
        assert_eq!(
            keyed(&run(&spilling(20.0 * MIB), &[]), "temp_spills/").len(),
            1
        );
    }

    #[test]
    fn temp_spills_below_the_threshold_are_fine() {
        assert!(run(&spilling(9.0 * MIB), &[]).is_empty());
    }

    fn database_on_disk(eta_days: Option<f64>, disk_agent: &str) -> Vec<Finding> {
        let mut snap = Snapshot::at(NOW);
        snap.push(Series::new(
            "pg_database_size_bytes",
            DB,
            Kind::Gauge,
            vec![(NOW, 5e10)],
        ));
        let h = resource(
            &format!("disk /var/lib/postgresql ({disk_agent})"),
            0.7,
            eta_days,
        );
        run(&snap, &[h])
    }

    #[test]
    fn disk_eta_below_at_and_above_the_horizons() {
        assert!(database_on_disk(Some(31.0), "pg").is_empty());
        let at = database_on_disk(Some(30.0), "pg");
        assert_eq!(at.len(), 1);
        assert_eq!(at[0].severity, Severity::Warning);
        assert_eq!(at[0].key, "disk/disk /var/lib/postgresql (pg)");
        assert!(at[0].summary.contains("largest database: shop"));
        assert_eq!(
            database_on_disk(Some(7.0), "pg")[0].severity,
            Severity::Critical
        );
        assert_eq!(
            database_on_disk(Some(8.0), "pg")[0].severity,
            Severity::Warning
        );
    }

    #[test]
    fn disk_without_eta_or_without_a_database_says_nothing() {
        assert!(database_on_disk(None, "pg").is_empty());
        let h = resource("disk / (pg)", 0.9, Some(2.0));
        assert!(run(&Snapshot::at(NOW), &[h]).is_empty());
    }

    #[test]
    fn a_lone_host_is_taken_as_the_database_host() {
        assert_eq!(database_on_disk(Some(10.0), "host").len(), 1);
    }

    fn lock_waits(values: &[f64], deadlocks_each: f64) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        let n = values.len() as i64;
        let points = values
            .iter()
            .enumerate()
            .map(|(i, &v)| (NOW - (n - 1 - i as i64) * STEP, v))
            .collect();
        snap.push(Series::new(
            "pg_lock_waits",
            &[("agent", "pg")],
            Kind::Gauge,
            points,
        ));
        snap.push(counter("pg_database_deadlocks", DB, 10, deadlocks_each));
        snap
    }

    #[test]
    fn lock_waits_sustained_at_the_threshold_warn_and_name_cart_completion() {
        let found = run(&lock_waits(&[0.0, 5.0, 6.0, 5.0, 0.0], 0.0), &[]);
        let f = keyed(&found, "locks/");
        assert_eq!(f.len(), 1, "{found:#?}");
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].action.contains("/store/carts/:id/complete"));
    }

    #[test]
    fn lock_waits_below_the_threshold_or_not_sustained_are_fine() {
        assert!(run(&lock_waits(&[4.0, 4.0, 4.0, 4.0], 0.0), &[]).is_empty());
        assert!(
            run(&lock_waits(&[0.0, 9.0, 9.0, 0.0], 0.0), &[]).is_empty(),
            "two points"
        );
        assert!(
            run(&lock_waits(&[9.0, 9.0], 0.0), &[]).is_empty(),
            "too few points"
        );
    }

    #[test]
    fn any_deadlock_warns_and_with_sustained_waits_is_critical() {
        let deadlocks = run(&lock_waits(&[0.0, 0.0, 0.0], 1.0), &[]);
        assert_eq!(deadlocks[0].severity, Severity::Warning);
        assert!(deadlocks[0].summary.contains("10 deadlocks"));
        let both = run(&lock_waits(&[6.0, 6.0, 6.0], 1.0), &[]);
        assert_eq!(both[0].severity, Severity::Critical);
    }

    fn workload(reads_each: f64, writes_each: f64) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        snap.push(counter(
            "pg_database_tup_returned",
            DB,
            10,
            reads_each / 2.0,
        ));
        snap.push(counter("pg_database_tup_fetched", DB, 10, reads_each / 2.0));
        snap.push(counter(
            "pg_database_tup_inserted",
            DB,
            10,
            writes_each / 2.0,
        ));
        snap.push(counter(
            "pg_database_tup_updated",
            DB,
            10,
            writes_each / 2.0,
        ));
        snap.push(counter("pg_database_tup_deleted", DB, 10, 0.0));
        snap
    }

    #[test]
    fn read_replica_at_the_ratio_under_pressure() {
        // 10 steps: 200,000 rows read, 10,000 written: exactly 20.
        let cpu = resource("host cpu (pg)", 0.7, None);
        let found = run(&workload(20_000.0, 1_000.0), std::slice::from_ref(&cpu));
        let f = keyed(&found, "read_replica/");
        assert_eq!(f.len(), 1, "{found:#?}");
        assert_eq!(f[0].severity, Severity::Info);
        assert!(
            run(&workload(19_000.0, 1_000.0), std::slice::from_ref(&cpu)).is_empty(),
            "ratio 19"
        );
        assert_eq!(run(&workload(40_000.0, 1_000.0), &[cpu]).len(), 1);
    }

    #[test]
    fn read_replica_needs_pressure_and_traffic() {
        let calm = resource("host cpu (pg)", 0.69, None);
        assert!(run(&workload(40_000.0, 1_000.0), &[calm]).is_empty());
        let other_host = resource("host cpu (web)", 0.95, None);
        assert!(run(&workload(40_000.0, 1_000.0), &[other_host]).is_empty());
        let busy = resource("postgres connections (pg)", 0.75, None);
        assert_eq!(
            keyed(
                &run(&workload(40_000.0, 1_000.0), std::slice::from_ref(&busy)),
                "read_replica/"
            )
            .len(),
            1
        );
        // 9,900 rows read in the window: idle.
        assert!(keyed(&run(&workload(990.0, 0.0), &[busy]), "read_replica/").is_empty());
    }

    #[test]
    fn stale_lock_waits_say_nothing() {
        let mut snap = Snapshot::at(NOW);
        snap.push(Series::new(
            "pg_lock_waits",
            &[("agent", "pg")],
            Kind::Gauge,
            vec![(NOW - HOUR_MS * 3, 50.0)],
        ));
        assert!(run(&snap, &[]).is_empty());
    }
}
