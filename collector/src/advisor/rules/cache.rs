//! Rule `cache`: Redis hit ratio, evictions, memory, and cacheable hot reads.
//!
//! Symptoms and why they matter:
//! - a low (and falling) keyspace hit ratio: the cache costs a round trip
//!   and saves little; every miss goes to PostgreSQL;
//! - evictions under `maxmemory`: Redis drops keys to make room, and when
//!   Medusa's event bus or workflow engine share the instance, jobs and
//!   workflow state can be lost with them;
//! - memory growing towards `maxmemory` (from the headroom table): evictions
//!   or write errors start on the day it is reached;
//! - one identical, cheap `SELECT` run thousands of times an hour: the
//!   database answers the same question again and again; Medusa's caching
//!   module would answer it from Redis;
//! - a store past a volume tier with no Redis at all: Medusa's in-memory
//!   event bus, workflow engine, locking and cache lose their state on every
//!   restart and cannot be shared between the server and worker processes.
//!
//! The fixes are named in each finding's action.

use headroom_proto::signals::medusa::MEDUSA_ORDERS_PER_MINUTE;
use headroom_proto::signals::postgres::{
    PG_STATEMENT_CALLS, PG_STATEMENT_EXEC_MS, PG_STATEMENT_ROWS,
};
use headroom_proto::signals::redis::{
    REDIS_EVICTED_KEYS, REDIS_KEYSPACE_HITS, REDIS_KEYSPACE_MISSES, REDIS_MAXMEMORY_BYTES,
    REDIS_USED_MEMORY_BYTES,
};

use serde::{Deserialize, Serialize};

use super::helpers::{HitRatio, hit_ratios, weighted_mean};
use crate::advisor::needs::{Need, lookback, recent};
use crate::advisor::{Context, Evidence, Finding, RecKind, Severity, describe_eta};
use crate::analysis::{self, DAY_MS, HOUR_MS};

/// The confidence floor: findings of this rule below it are not emitted
/// (enforced in `rules::evaluate_all`). 0.2: the in-memory-modules finding at its minimum order history (a day) scores about 0.28, a hit ratio at `min_lookups` 0.5; a forecast (Redis memory) is acted on from the headroom table's `MIN_FORECAST_CONFIDENCE` (0.2).
/// The series this rule reads (hit-rate trend, memory growth and order history over the look-back).
pub const NEEDS: &[Need] = &[
    lookback(&REDIS_KEYSPACE_HITS),
    lookback(&REDIS_KEYSPACE_MISSES),
    recent(&REDIS_EVICTED_KEYS),
    recent(&REDIS_MAXMEMORY_BYTES),
    lookback(&REDIS_USED_MEMORY_BYTES),
    recent(&PG_STATEMENT_CALLS),
    recent(&PG_STATEMENT_EXEC_MS),
    recent(&PG_STATEMENT_ROWS),
    lookback(&MEDUSA_ORDERS_PER_MINUTE),
];

pub const MIN_CONFIDENCE: f64 = 0.2;

/// Thresholds of the `cache` rule (`[advisor.cache]`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// A keyspace hit ratio over the recent window below this is low.
    /// Default 0.8.
    pub min_hit_ratio: f64,
    /// Fewer lookups (hits + misses) than this in the recent window say
    /// nothing about the hit ratio. Default 1,000.
    pub min_lookups: f64,
    /// More evicted keys than this in the recent window, with `maxmemory`
    /// set, is a warning. Default 0 (any eviction).
    pub max_evictions: f64,
    /// Redis memory reaching `maxmemory` within this many days (headroom
    /// ETA) is a warning. Default 14.
    pub memory_eta_days: f64,
    /// A `SELECT` called at least this often per hour (recent window,
    /// scaled to an hour) is hot. Default 10,000.
    pub hot_read_calls_per_hour: f64,
    /// A hot read returning more rows per call than this is not a simple
    /// lookup. Default 10.
    pub hot_read_max_rows_per_call: f64,
    /// A hot read slower than this per call (mean, ms) is the index rule's
    /// business, not a cache's. Default 10 ms.
    pub hot_read_max_mean_ms: f64,
    /// Orders per month (mean order rate over the look-back, × 30 days) from
    /// which a store without Redis should move Medusa's modules to Redis.
    /// Default 5,000.
    pub in_memory_tier_orders_per_month: f64,
    /// Less order history than this (hours) does not establish a volume
    /// tier. Default 24.
    pub min_order_history_hours: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            min_hit_ratio: 0.8,
            min_lookups: 1_000.0,
            max_evictions: 0.0,
            memory_eta_days: 14.0,
            hot_read_calls_per_hour: 10_000.0,
            hot_read_max_rows_per_call: 10.0,
            hot_read_max_mean_ms: 10.0,
            in_memory_tier_orders_per_month: 5_000.0,
            min_order_history_hours: 24.0,
        }
    }
}

/// Minutes in 30 days.
const MINUTES_PER_MONTH: f64 = 30.0 * 24.0 * 60.0;

/// Findings of this pass.
pub fn evaluate(ctx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    hit_ratio(ctx, &mut out);
    evictions(ctx, &mut out);
    memory(ctx, &mut out);
    hot_reads(ctx, &mut out);
    in_memory_modules(ctx, &mut out);
    out
}

fn hit_ratio(ctx: &Context, out: &mut Vec<Finding>) {
    let config = &ctx.config.cache;
    let pairs = hit_ratios(
        ctx,
        REDIS_KEYSPACE_HITS.name,
        REDIS_KEYSPACE_MISSES.name,
        "instance",
        config.min_lookups,
    );
    for HitRatio {
        hits,
        misses,
        hit_count: h,
        miss_count: m,
        ratio,
    } in pairs
    {
        let (agent, instance) = (hits.label("agent"), hits.label("instance"));
        let lookups = h + m;
        if ratio >= config.min_hit_ratio {
            continue;
        }
        // The ratio per stored bucket, for its trend over the look-back.
        let miss_rates = misses.rate();
        let ratios: Vec<(i64, f64)> = hits
            .rate()
            .into_iter()
            .filter_map(|(t, hr)| {
                let mr = miss_rates.iter().find(|&&(tm, _)| tm == t)?.1;
                (hr + mr > 0.0).then(|| (t, hr / (hr + mr)))
            })
            .collect();
        let analysis = analysis::analyze(&ratios);
        let falling = analysis
            .trend
            .as_ref()
            .filter(|t| t.significant && t.slope_per_day < 0.0);
        let (severity, trend_text) = match falling {
            Some(t) => (
                Severity::Warning,
                format!(
                    " and falling by {:.1} points a day",
                    -t.slope_per_day * 100.0
                ),
            ),
            None => (Severity::Info, String::new()),
        };
        let mut evidence = Evidence::default()
            .against(
                "keyspace hit ratio (recent window)",
                ratio,
                "ratio",
                config.min_hit_ratio,
            )
            .against(
                "lookups (recent window)",
                lookups,
                "lookups",
                config.min_lookups,
            )
            .series(REDIS_KEYSPACE_HITS.name, &hits.labels, None)
            .series(REDIS_KEYSPACE_MISSES.name, &misses.labels, None)
            .note(
                "Keyspace counters count every key lookup on the instance: when Medusa's event \
                 bus or workflow engine share it, their queue polling counts too, and the ratio \
                 understates the cache's own.",
            );
        if let Some(t) = falling {
            evidence = evidence.fact("hit ratio trend", t.slope_per_day, "per day");
        }
        let confidence = (0.4 + 0.4 * analysis::headroom::confidence(&analysis))
            .min(lookups / (lookups + config.min_lookups));
        out.push(Finding {
            kind: RecKind::Cache,
            key: format!("hit_ratio/{agent}/{instance}"),
            severity,
            title: format!("Low Redis hit ratio on {instance}"),
            summary: format!(
                "Only {:.0}% of Redis lookups on {instance} hit in the recent window (threshold \
                 {:.0}%){trend_text}. A cache miss sends the app to the data's source (usually \
                 PostgreSQL): if nothing is done the cache keeps costing a round trip while the \
                 source carries the load it should spare.",
                ratio * 100.0,
                config.min_hit_ratio * 100.0
            ),
            action: "Check what misses: TTLs shorter than the data's real lifetime, keys that \
                     embed per-request values (ids, timestamps, locale) so they never repeat, \
                     and invalidation that clears whole namespaces on every write. With Medusa's \
                     caching module (`@medusajs/medusa/caching-redis`), raise the TTL of stable \
                     data (products, regions, shipping options) and cache only queries that \
                     repeat."
                .to_owned(),
            evidence,
            confidence,
        });
    }
}

fn evictions(ctx: &Context, out: &mut Vec<Finding>) {
    let config = &ctx.config.cache;
    let (now, stale) = (ctx.snapshot.now_ms, ctx.config.stale_ms());
    for evicted in ctx.snapshot.named(REDIS_EVICTED_KEYS.name) {
        let (agent, instance) = (evicted.label("agent"), evicted.label("instance"));
        if !ctx.usable(evicted) {
            continue;
        }
        let max_series = ctx.snapshot.find(
            REDIS_MAXMEMORY_BYTES.name,
            &[("agent", agent), ("instance", instance)],
        );
        let Some(max) = max_series
            .and_then(|s| s.fresh(now, stale))
            .filter(|m| *m > 0.0)
        else {
            continue;
        };
        let count = evicted.increase_since(ctx.since());
        if count <= config.max_evictions {
            continue;
        }
        let used_series = ctx.snapshot.find(
            REDIS_USED_MEMORY_BYTES.name,
            &[("agent", agent), ("instance", instance)],
        );
        let mut evidence = Evidence::default()
            .against(
                "evicted keys (recent window)",
                count,
                "keys",
                config.max_evictions,
            )
            .fact("maxmemory", max, "bytes")
            .series(
                REDIS_EVICTED_KEYS.name,
                &evicted.labels,
                Some(config.max_evictions),
            );
        if let Some(used) = used_series {
            if let Some(u) = used.fresh(now, stale) {
                evidence = evidence.fact("used memory", u, "bytes");
            }
            evidence = evidence.series(REDIS_USED_MEMORY_BYTES.name, &used.labels, Some(max));
        }
        out.push(Finding {
            kind: RecKind::Cache,
            key: format!("evictions/{agent}/{instance}"),
            severity: Severity::Warning,
            title: format!("Redis {instance} is evicting keys"),
            summary: format!(
                "Redis {instance} evicted {count:.0} keys in the recent window: it is full at \
                 maxmemory ({:.0} MiB) and drops keys to make room. If nothing is done, cached \
                 data keeps being thrown away, and if Medusa's event bus, workflow engine or \
                 locking share this instance, queued events and workflow state can be lost.",
                max / 1_048_576.0
            ),
            action: "Raise `maxmemory` (or the instance size). Keep Medusa's event bus, workflow \
                     engine and locking on an instance with `maxmemory-policy noeviction`, and \
                     the cache on its own instance with `allkeys-lru`; check the cache's TTLs so \
                     keys expire before they must be evicted."
                .to_owned(),
            evidence,
            confidence: (count / (count + 10.0)).clamp(0.5, 0.95),
        });
    }
}

fn memory(ctx: &Context, out: &mut Vec<Finding>) {
    let config = &ctx.config.cache;
    let now = ctx.snapshot.now_ms;
    let horizon = now + (config.memory_eta_days * DAY_MS as f64) as i64;
    for h in ctx
        .headroom
        .iter()
        .filter(|h| h.resource.starts_with("redis memory"))
    {
        let Some(eta) = h.credible_eta_ms().filter(|&eta| eta <= horizon) else {
            continue;
        };
        let days = (eta - now).max(0) as f64 / DAY_MS as f64;
        let mut evidence = Evidence::default()
            .against("days until maxmemory", days, "days", config.memory_eta_days)
            .fact("used memory", h.current, "bytes")
            .fact("maxmemory", h.limit, "bytes")
            .fact("utilization", h.utilization, "ratio");
        if let Some(growth) = h.trend_per_day {
            evidence = evidence.fact("growth", growth, "bytes per day");
        }
        if let Some(instance) = instance_of(&h.resource)
            && let Some(used) = ctx
                .snapshot
                .matching(REDIS_USED_MEMORY_BYTES.name, &[("instance", instance)])
                .next()
        {
            evidence = evidence.series(REDIS_USED_MEMORY_BYTES.name, &used.labels, Some(h.limit));
        }
        out.push(Finding {
            kind: RecKind::Cache,
            key: format!("memory/{}", h.resource),
            severity: Severity::Warning,
            title: format!("{} reaches maxmemory soon", capitalize(&h.resource)),
            summary: format!(
                "{} is at {:.0}% of maxmemory and growing; at this rate it is full {}. If \
                 nothing is done Redis then evicts keys or refuses writes, depending on \
                 `maxmemory-policy`.",
                capitalize(&h.resource),
                h.utilization * 100.0,
                describe_eta(now, eta)
            ),
            action: "Find what grows (`redis-cli --bigkeys`, `MEMORY USAGE`, keys without TTL): \
                     give cached entries a TTL, then raise `maxmemory` or the instance size if \
                     the data set really needs the room."
                .to_owned(),
            evidence,
            confidence: h.confidence,
        });
    }
}

/// `redis memory (i)` → `i`.
fn instance_of(resource: &str) -> Option<&str> {
    resource.split_once('(')?.1.strip_suffix(')')
}

fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn hot_reads(ctx: &Context, out: &mut Vec<Finding>) {
    let config = &ctx.config.cache;
    let start = ctx.since();
    let per_hour = HOUR_MS as f64 / ctx.config.recent_ms().max(1) as f64;
    for calls in ctx.snapshot.named(PG_STATEMENT_CALLS.name) {
        let (agent, database, queryid) = (
            calls.label("agent"),
            calls.label("database"),
            calls.label("queryid"),
        );
        if queryid == "other" || !ctx.usable(calls) {
            continue;
        }
        let n = calls.sum_since(start);
        let rate = n * per_hour;
        if rate < config.hot_read_calls_per_hour || n <= 0.0 {
            continue;
        }
        let Some(text) = ctx.snapshot.statement_text(database, queryid) else {
            continue;
        };
        if !is_plain_select(text) {
            continue;
        }
        let labels = [
            ("agent", agent),
            ("database", database),
            ("queryid", queryid),
        ];
        let sum = |name: &str| ctx.snapshot.find(name, &labels).map(|s| s.sum_since(start));
        let (Some(rows), Some(exec_ms)) =
            (sum(PG_STATEMENT_ROWS.name), sum(PG_STATEMENT_EXEC_MS.name))
        else {
            continue;
        };
        let (rows_per_call, mean_ms) = (rows / n, exec_ms / n);
        if rows_per_call > config.hot_read_max_rows_per_call
            || mean_ms > config.hot_read_max_mean_ms
        {
            continue;
        }
        let points = calls.since(start).len() as f64;
        out.push(Finding {
            kind: RecKind::Cache,
            key: format!("hot_read/{database}/{queryid}"),
            severity: Severity::Info,
            title: format!("Identical read repeated {rate:.0} times an hour"),
            summary: format!(
                "The same cheap SELECT (query {queryid} on {database}) ran about {rate:.0} times \
                 an hour in the recent window (threshold {:.0}), returning {rows_per_call:.1} \
                 rows in {mean_ms:.2} ms per call. Each call is a database round trip; whether \
                 its answer changes between calls is not measured here (check how often the \
                 rows it reads are written). If it rarely changes and nothing is done, this \
                 read grows with traffic and holds pool connections that checkout needs. \
                 Statement: {}",
                config.hot_read_calls_per_hour, text
            ),
            action: "Cache it: enable Medusa's caching module (`@medusajs/medusa/caching-redis`, \
                     with Redis) and turn caching on for the query or data fetch that issues \
                     this statement, with a TTL matching how often the data changes and \
                     invalidation on its writes."
                .to_owned(),
            evidence: Evidence::default()
                .against(
                    "calls per hour (recent window)",
                    rate,
                    "calls/h",
                    config.hot_read_calls_per_hour,
                )
                .against(
                    "rows per call",
                    rows_per_call,
                    "rows",
                    config.hot_read_max_rows_per_call,
                )
                .against(
                    "mean time per call",
                    mean_ms,
                    "ms",
                    config.hot_read_max_mean_ms,
                )
                .series(PG_STATEMENT_CALLS.name, &calls.labels, None)
                .note(format!("queryid {queryid}: {}", text)),
            confidence: (points / (points + 3.0)).min(0.9),
        });
    }
}

/// A read-only `SELECT` (no locking clause, no data-modifying CTE).
fn is_plain_select(text: &str) -> bool {
    let upper = text.trim_start().to_ascii_uppercase();
    upper.starts_with("SELECT")
        && ![
            "FOR UPDATE",
            "FOR SHARE",
            "FOR NO KEY",
            "FOR KEY SHARE",
            "NEXTVAL(",
        ]
        .iter()
        .any(|w| upper.contains(w))
}

fn in_memory_modules(ctx: &Context, out: &mut Vec<Finding>) {
    let config = &ctx.config.cache;
    let now = ctx.snapshot.now_ms;
    if ctx
        .snapshot
        .series
        .iter()
        .any(|s| s.name.starts_with("redis_"))
    {
        return;
    }
    // Several agents may read the same store: the busiest one speaks.
    let best = ctx
        .snapshot
        .named(MEDUSA_ORDERS_PER_MINUTE.name)
        .filter(|s| s.fresh(now, ctx.config.stale_ms()).is_some())
        .filter_map(|s| {
            let span = s.points.last()?.0 - s.points.first()?.0;
            Some((s, weighted_mean(&s.points)?, span))
        })
        .filter(|&(_, _, span)| span as f64 >= config.min_order_history_hours * HOUR_MS as f64)
        .max_by(|a, b| a.1.total_cmp(&b.1));
    let Some((series, per_minute, span)) = best else {
        return;
    };
    let per_month = per_minute * MINUTES_PER_MONTH;
    if per_month < config.in_memory_tier_orders_per_month {
        return;
    }
    let days = span as f64 / DAY_MS as f64;
    out.push(Finding {
        kind: RecKind::Cache,
        key: "in_memory_modules".to_owned(),
        severity: Severity::Warning,
        title: "No Redis seen at this order volume".to_owned(),
        summary: format!(
            "The store takes about {per_month:.0} orders a month (threshold {:.0}), yet Headroom \
             sees no Redis at all: either Medusa runs its in-memory modules, or its Redis is \
             not watched (add a `redis` source to the agent). In the first case, if nothing \
             is done, every restart or deploy drops queued events and in-flight workflows, \
             locks and cache are not shared between the server and worker processes, and \
             sessions are lost.",
            config.in_memory_tier_orders_per_month
        ),
        action: "Add Redis and switch Medusa's modules to it in `medusa-config`: caching \
                 (`@medusajs/medusa/caching-redis`), event bus \
                 (`@medusajs/medusa/event-bus-redis`), workflow engine \
                 (`@medusajs/medusa/workflow-engine-redis`) and locking \
                 (`@medusajs/medusa/locking-redis`), and set `projectConfig.redisUrl` for \
                 sessions."
            .to_owned(),
        evidence: Evidence::default()
            .against(
                "orders per month (mean rate × 30 days)",
                per_month,
                "orders",
                config.in_memory_tier_orders_per_month,
            )
            .against(
                "order history",
                days * 24.0,
                "hours",
                config.min_order_history_hours,
            )
            .fact("Redis series seen", 0.0, "series")
            .series(MEDUSA_ORDERS_PER_MINUTE.name, &series.labels, None),
        confidence: (0.6 * days / (days + 7.0) + 0.2).min(0.7),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::rules::testing::{keyed, run_rule_with};
    use crate::advisor::{AdvisorConfig, Series, Snapshot};
    use crate::analysis::MINUTE_MS;
    use crate::analysis::headroom::Headroom;
    use crate::store::model::Kind;

    const NOW: i64 = 40 * DAY_MS;
    const STEP: i64 = 5 * MINUTE_MS;

    fn run_with(snap: &Snapshot, headroom: &[Headroom], config: &AdvisorConfig) -> Vec<Finding> {
        run_rule_with(evaluate, snap, headroom, config)
    }

    fn run(snap: &Snapshot) -> Vec<Finding> {
        run_with(snap, &[], &AdvisorConfig::default())
    }

    /// Cumulative counter from `(time, increment)` steps.
    fn counter(name: &str, labels: &[(&str, &str)], steps: &[(i64, f64)]) -> Series {
        let mut total = 0.0;
        let points = steps
            .iter()
            .map(|&(t, d)| {
                total += d;
                (t, total)
            })
            .collect();
        Series::new(name, labels, Kind::Counter, points)
    }

    /// `n` five-minute steps ending now, plus a baseline point before them.
    fn recent_steps(n: i64, each: f64) -> Vec<(i64, f64)> {
        (0..=n)
            .map(|i| (NOW - (n - i) * STEP, if i == 0 { 0.0 } else { each }))
            .collect()
    }

    const REDIS: &[(&str, &str)] = &[("agent", "r"), ("instance", "cache")];

    fn redis(hits: &[(i64, f64)], misses: &[(i64, f64)]) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        snap.push(counter("redis_keyspace_hits", REDIS, hits));
        snap.push(counter("redis_keyspace_misses", REDIS, misses));
        snap
    }

    #[test]
    fn hit_ratio_at_the_threshold_is_fine() {
        // 12 steps of 80 hits / 20 misses: 1,200 lookups at 0.8.
        let found = run(&redis(&recent_steps(12, 80.0), &recent_steps(12, 20.0)));
        assert!(keyed(&found, "hit_ratio/").is_empty(), "{found:#?}");
    }

    #[test]
    fn hit_ratio_below_the_threshold_is_reported_as_info_when_steady() {
        let found = run(&redis(&recent_steps(12, 70.0), &recent_steps(12, 30.0)));
        let f = keyed(&found, "hit_ratio/");
        assert_eq!(f.len(), 1, "{found:#?}");
        assert_eq!(f[0].key, "hit_ratio/r/cache");
        assert_eq!(f[0].severity, Severity::Info);
        assert!(f[0].summary.contains("70%"), "{}", f[0].summary);
    }

    #[test]
    fn hit_ratio_above_the_threshold_is_fine() {
        let found = run(&redis(&recent_steps(12, 95.0), &recent_steps(12, 5.0)));
        assert!(keyed(&found, "hit_ratio/").is_empty());
    }

    #[test]
    fn lookups_at_the_minimum_count_and_below_it_do_not() {
        // 10 steps × 100 = 1,000 lookups.
        let at = run(&redis(&recent_steps(10, 70.0), &recent_steps(10, 30.0)));
        assert_eq!(keyed(&at, "hit_ratio/").len(), 1);
        let below = run(&redis(&recent_steps(10, 63.0), &recent_steps(10, 27.0)));
        assert!(keyed(&below, "hit_ratio/").is_empty());
    }

    #[test]
    fn hit_ratio_with_too_few_or_stale_points_says_nothing() {
        let few = run(&redis(&recent_steps(1, 7_000.0), &recent_steps(1, 3_000.0)));
        assert!(keyed(&few, "hit_ratio/").is_empty());
        let stale: Vec<(i64, f64)> = recent_steps(12, 70.0)
            .into_iter()
            .map(|(t, v)| (t - DAY_MS, v))
            .collect();
        let stale_misses: Vec<(i64, f64)> =
            stale.iter().map(|&(t, v)| (t, v * 3.0 / 7.0)).collect();
        assert!(keyed(&run(&redis(&stale, &stale_misses)), "hit_ratio/").is_empty());
    }

    #[test]
    fn a_falling_hit_ratio_is_a_warning() {
        // Ten days of hourly points, the ratio sliding from 0.95 to 0.6.
        let hours = 10 * 24;
        let mut hits = Vec::new();
        let mut misses = Vec::new();
        for i in 0..=hours {
            let t = NOW - 2 * HOUR_MS - (hours - i) * HOUR_MS;
            let noise = 0.02 * (((i * 7_919) % 11) as f64 - 5.0) / 5.0;
            let ratio = 0.95 - 0.35 * i as f64 / hours as f64 + noise;
            hits.push((t, 1_000.0 * ratio));
            misses.push((t, 1_000.0 * (1.0 - ratio)));
        }
        hits.extend(recent_steps(12, 60.0).into_iter().skip(1));
        misses.extend(recent_steps(12, 40.0).into_iter().skip(1));
        let found = run(&redis(&hits, &misses));
        let f = keyed(&found, "hit_ratio/");
        assert_eq!(f.len(), 1, "{found:#?}");
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].summary.contains("falling"));
    }

    fn evicting(evicted_each: f64, maxmemory: f64) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        snap.push(counter(
            "redis_evicted_keys",
            REDIS,
            &recent_steps(12, evicted_each),
        ));
        snap.push(Series::new(
            "redis_maxmemory_bytes",
            REDIS,
            Kind::Gauge,
            vec![(NOW, maxmemory)],
        ));
        snap.push(Series::new(
            "redis_used_memory_bytes",
            REDIS,
            Kind::Gauge,
            vec![(NOW, maxmemory)],
        ));
        snap
    }

    #[test]
    fn no_evictions_are_fine_and_any_eviction_under_maxmemory_warns() {
        assert!(keyed(&run(&evicting(0.0, 1e9)), "evictions/").is_empty());
        let found = run(&evicting(1.0, 1e9));
        let f = keyed(&found, "evictions/");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::Warning);
        assert!(f[0].action.contains("noeviction"));
    }

    #[test]
    fn evictions_at_and_below_a_configured_maximum_are_fine() {
        let mut config = AdvisorConfig::default();
        config.cache.max_evictions = 24.0;
        assert!(keyed(&run_with(&evicting(2.0, 1e9), &[], &config), "evictions/").is_empty());
        assert!(keyed(&run_with(&evicting(1.0, 1e9), &[], &config), "evictions/").is_empty());
        assert_eq!(
            keyed(&run_with(&evicting(3.0, 1e9), &[], &config), "evictions/").len(),
            1
        );
    }

    #[test]
    fn evictions_without_maxmemory_or_with_too_few_points_say_nothing() {
        assert!(keyed(&run(&evicting(5.0, 0.0)), "evictions/").is_empty());
        let mut snap = Snapshot::at(NOW);
        snap.push(counter("redis_evicted_keys", REDIS, &recent_steps(1, 50.0)));
        snap.push(Series::new(
            "redis_maxmemory_bytes",
            REDIS,
            Kind::Gauge,
            vec![(NOW, 1e9)],
        ));
        assert!(keyed(&run(&snap), "evictions/").is_empty());
    }

    fn redis_memory(eta_days: Option<f64>) -> Headroom {
        Headroom {
            resource: "redis memory (cache)".to_owned(),
            current: 8e8,
            limit: 1e9,
            utilization: 0.8,
            trend_per_day: Some(1e7),
            eta_ms: eta_days.map(|d| NOW + (d * DAY_MS as f64) as i64),
            eta_earliest_ms: None,
            eta_latest_ms: None,
            confidence: 0.7,
            samples: 500,
            history_ms: 20 * DAY_MS,
        }
    }

    #[test]
    fn memory_eta_at_below_and_above_the_horizon() {
        let snap = Snapshot::at(NOW);
        let config = AdvisorConfig::default();
        let at = run_with(&snap, &[redis_memory(Some(14.0))], &config);
        assert_eq!(keyed(&at, "memory/").len(), 1);
        assert_eq!(at[0].key, "memory/redis memory (cache)");
        assert!(at[0].summary.contains("in 14 days"), "{}", at[0].summary);
        assert_eq!(at[0].confidence, 0.7);
        assert_eq!(
            keyed(
                &run_with(&snap, &[redis_memory(Some(3.0))], &config),
                "memory/"
            )
            .len(),
            1
        );
        assert!(
            keyed(
                &run_with(&snap, &[redis_memory(Some(15.0))], &config),
                "memory/"
            )
            .is_empty()
        );
    }

    #[test]
    fn memory_without_an_eta_or_other_resources_say_nothing() {
        let snap = Snapshot::at(NOW);
        let config = AdvisorConfig::default();
        assert!(run_with(&snap, &[redis_memory(None)], &config).is_empty());
        let mut host = redis_memory(Some(2.0));
        host.resource = "host memory (db)".to_owned();
        assert!(run_with(&snap, &[host], &config).is_empty());
    }

    const STMT: &[(&str, &str)] = &[("agent", "pg"), ("database", "shop"), ("queryid", "42")];

    /// Ten five-minute points ending now of a statement's delta gauges.
    fn statement(calls_each: f64, rows_per_call: f64, mean_ms: f64, text: &str) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        let points = |v: f64| {
            (0..10)
                .map(|i| (NOW - (9 - i) * STEP, v))
                .collect::<Vec<_>>()
        };
        snap.push(Series::new(
            "pg_statement_calls",
            STMT,
            Kind::Gauge,
            points(calls_each),
        ));
        snap.push(Series::new(
            "pg_statement_rows",
            STMT,
            Kind::Gauge,
            points(calls_each * rows_per_call),
        ));
        snap.push(Series::new(
            "pg_statement_exec_ms",
            STMT,
            Kind::Gauge,
            points(calls_each * mean_ms),
        ));
        snap.push_text("pg_query", "shop/42", text, NOW);
        snap
    }

    const SELECT: &str = r#"SELECT "region"."id" FROM "region" WHERE "region"."id" = $1 AND "region"."deleted_at" IS NULL"#;

    #[test]
    fn hot_read_at_the_call_threshold_is_a_cache_candidate() {
        let found = run(&statement(1_000.0, 1.0, 0.2, SELECT));
        let f = keyed(&found, "hot_read/");
        assert_eq!(f.len(), 1, "{found:#?}");
        assert_eq!(f[0].key, "hot_read/shop/42");
        assert_eq!(f[0].severity, Severity::Info);
        assert!(f[0].action.contains("@medusajs/medusa/caching-redis"));
        assert!(
            f[0].summary.contains("10000 times an hour"),
            "{}",
            f[0].summary
        );
    }

    #[test]
    fn hot_read_below_the_call_threshold_is_not() {
        assert!(run(&statement(999.0, 1.0, 0.2, SELECT)).is_empty());
        assert_eq!(run(&statement(5_000.0, 1.0, 0.2, SELECT)).len(), 1);
    }

    #[test]
    fn hot_read_rows_and_time_per_call_are_held_to_their_limits() {
        assert_eq!(
            run(&statement(1_000.0, 10.0, 10.0, SELECT)).len(),
            1,
            "at both limits"
        );
        assert_eq!(
            run(&statement(1_000.0, 9.0, 9.0, SELECT)).len(),
            1,
            "below both"
        );
        assert!(
            run(&statement(1_000.0, 11.0, 0.2, SELECT)).is_empty(),
            "too many rows"
        );
        assert!(
            run(&statement(1_000.0, 1.0, 11.0, SELECT)).is_empty(),
            "too slow"
        );
    }

    #[test]
    fn writes_and_locking_reads_are_not_cache_candidates() {
        assert!(
            run(&statement(
                2_000.0,
                1.0,
                0.2,
                "UPDATE cart SET x = $1 WHERE id = $2"
            ))
            .is_empty()
        );
        let locking = format!("{SELECT} FOR UPDATE");
        assert!(run(&statement(2_000.0, 1.0, 0.2, &locking)).is_empty());
    }

    #[test]
    fn hot_read_with_too_few_points_or_no_text_says_nothing() {
        let mut snap = Snapshot::at(NOW);
        snap.push(Series::new(
            "pg_statement_calls",
            STMT,
            Kind::Gauge,
            vec![(NOW, 50_000.0)],
        ));
        snap.push(Series::new(
            "pg_statement_rows",
            STMT,
            Kind::Gauge,
            vec![(NOW, 50_000.0)],
        ));
        snap.push(Series::new(
            "pg_statement_exec_ms",
            STMT,
            Kind::Gauge,
            vec![(NOW, 100.0)],
        ));
        snap.push_text("pg_query", "shop/42", SELECT, NOW);
        assert!(run(&snap).is_empty());
        let mut no_text = statement(2_000.0, 1.0, 0.2, SELECT);
        no_text.texts.clear();
        assert!(run(&no_text).is_empty());
    }

    /// Hourly order rates over `hours` ending now.
    fn orders(per_minute: f64, hours: i64) -> Snapshot {
        let mut snap = Snapshot::at(NOW);
        let points = (0..=hours)
            .map(|i| (NOW - (hours - i) * HOUR_MS, per_minute))
            .collect();
        snap.push(Series::new(
            "medusa_orders_per_minute",
            &[("agent", "shop")],
            Kind::Gauge,
            points,
        ));
        snap
    }

    #[test]
    fn store_past_the_volume_tier_without_redis_is_told_to_use_redis_modules() {
        let found = run(&orders(0.2, 72));
        let f = keyed(&found, "in_memory_modules");
        assert_eq!(f.len(), 1, "{found:#?}");
        assert_eq!(f[0].severity, Severity::Warning);
        for module in [
            "caching-redis",
            "event-bus-redis",
            "workflow-engine-redis",
            "locking-redis",
        ] {
            assert!(f[0].action.contains(module), "{module}");
        }
    }

    #[test]
    fn volume_tier_at_and_below_the_threshold() {
        let mut config = AdvisorConfig::default();
        // 0.125 orders a minute is exactly 5,400 a month.
        config.cache.in_memory_tier_orders_per_month = 5_400.0;
        assert_eq!(run_with(&orders(0.125, 72), &[], &config).len(), 1, "at");
        assert!(
            run(&orders(0.1, 72)).is_empty(),
            "4,320 a month is below 5,000"
        );
    }

    #[test]
    fn volume_tier_needs_history_and_no_redis() {
        assert!(run(&orders(1.0, 12)).is_empty(), "12 hours are too little");
        let mut with_redis = orders(1.0, 72);
        with_redis.push(Series::new(
            "redis_used_memory_bytes",
            REDIS,
            Kind::Gauge,
            vec![(NOW, 1e6)],
        ));
        assert!(keyed(&run(&with_redis), "in_memory_modules").is_empty());
    }
}
