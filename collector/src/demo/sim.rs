//! The demo's simulated store on the wire: [`Sim::step`] turns an interval
//! of the store's [`Shape`] (plus seeded noise) into what the real agents'
//! sources would send for it, with the same series names, labels, counters,
//! texts, index candidates and histogram buckets (the postgres, medusa,
//! host, redis and access_log sources); its static assets are served by the
//! origin, without a CDN's cache status. Pure and deterministic.

use headroom_proto::latency::BOUNDS_MS;
use headroom_proto::samples::{counter, gauge};
use headroom_proto::signals::access_log::{
    ACCESS_LOG_BYTES_TOTAL, ACCESS_LOG_LINES_UNPARSED_TOTAL, ACCESS_LOG_REQUESTS_TOTAL,
};
use headroom_proto::signals::agent::UP;
use headroom_proto::signals::host::{
    HOST_FILESYSTEM_AVAILABLE_BYTES, HOST_FILESYSTEM_SIZE_BYTES, HOST_FILESYSTEM_USED_BYTES,
};
use headroom_proto::signals::http::HTTP_ROUTE_LATENCY_MS;
use headroom_proto::signals::medusa::{
    MEDUSA_CARTS_COMPLETED_PER_MINUTE, MEDUSA_CARTS_COMPLETED_TOTAL,
    MEDUSA_CARTS_CREATED_PER_MINUTE, MEDUSA_CARTS_CREATED_TOTAL, MEDUSA_ORDER_VALUE_PER_MINUTE,
    MEDUSA_ORDER_VALUE_TOTAL, MEDUSA_ORDERS_ESTIMATE, MEDUSA_ORDERS_PER_MINUTE,
    MEDUSA_ORDERS_TOTAL, MEDUSA_PRODUCTS_ESTIMATE,
};
use headroom_proto::signals::postgres::{
    PG_CONNECTIONS_TOTAL, PG_MAX_CONNECTIONS, PG_SUPERUSER_RESERVED_CONNECTIONS,
};
use headroom_proto::v1;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::shape::{
    CHECKOUT_ROUTE, DISK_BYTES, DISK_MOUNT, GIB, MAX_CONNECTIONS, REDIS_MAXMEMORY,
    RESERVED_CONNECTIONS, SIGMA, Shape,
};
pub use super::shape::{DAY_MS, HOUR_MS, MINUTE_MS};

/// The PostgreSQL database the demo's statements run in.
pub const DATABASE: &str = "medusa";
/// The Redis instance (`host:port`, as the agent labels it).
pub const REDIS_INSTANCE: &str = "cache.internal:6379";
/// The access log source's name.
pub const ACCESS_LOG: &str = "nginx";

/// The lookup by handle that lacks an index (Medusa's product page).
const PRODUCT_QUERYID: &str = "-5732410917331146201";
const PRODUCT_QUERY: &str = "SELECT \"product\".* FROM \"product\" WHERE \"product\".\"handle\" = $1 AND \"product\".\"deleted_at\" IS NULL LIMIT $2";
const PRODUCT_CANDIDATE: &str = "CREATE INDEX CONCURRENTLY IF NOT EXISTS headroom_product_handle_idx ON public.product (handle) WHERE deleted_at IS NULL";

/// A statement of the simulated workload.
struct Statement {
    queryid: &'static str,
    query: &'static str,
    /// Calls per page view.
    per_view: f64,
    /// Calls per order.
    per_order: f64,
    rows_per_call: f64,
}

const STATEMENTS: &[Statement] = &[
    Statement {
        queryid: PRODUCT_QUERYID,
        query: PRODUCT_QUERY,
        per_view: 0.6,
        per_order: 0.0,
        rows_per_call: 1.0,
    },
    Statement {
        queryid: "3110457720495153361",
        query: "SELECT \"region\".* FROM \"region\" WHERE \"region\".\"id\" = $1 AND \"region\".\"deleted_at\" IS NULL",
        per_view: 1.5,
        per_order: 0.0,
        rows_per_call: 1.0,
    },
    Statement {
        queryid: "-818825370913458431",
        query: "UPDATE \"cart\" SET \"completed_at\" = $1, \"updated_at\" = $2 WHERE \"id\" = $3",
        per_view: 0.0,
        per_order: 1.0,
        rows_per_call: 1.0,
    },
    Statement {
        queryid: "7349213856721093455",
        query: "INSERT INTO \"order\" (\"id\", \"region_id\", \"customer_id\", \"currency_code\", \"email\", \"created_at\") VALUES ($1, $2, $3, $4, $5, $6)",
        per_view: 0.0,
        per_order: 1.0,
        rows_per_call: 1.0,
    },
];

/// An HTTP route of the access log (as its templates name it), its
/// requests per page view and per order, and its response size.
struct Route {
    method: &'static str,
    route: &'static str,
    per_view: f64,
    per_order: f64,
    bytes: f64,
}

const ROUTES: &[Route] = &[
    Route {
        method: "POST",
        route: CHECKOUT_ROUTE,
        per_view: 0.0,
        per_order: 1.0,
        bytes: 4_000.0,
    },
    Route {
        method: "GET",
        route: "/store/products",
        per_view: 0.8,
        per_order: 0.0,
        bytes: 24_000.0,
    },
    Route {
        method: "GET",
        route: "/admin/orders",
        per_view: 0.01,
        per_order: 0.0,
        bytes: 60_000.0,
    },
    Route {
        method: "GET",
        route: "/static/*.jpg",
        per_view: 2.5,
        per_order: 0.0,
        bytes: 140_000.0,
    },
];

/// What the demo's agents send for one interval, one batch per agent
/// (sequence numbers are the feeder's business).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tick {
    /// `demo-db`: postgres, medusa and host sources.
    pub db: v1::Batch,
    /// `demo-redis`: the redis source.
    pub redis: v1::Batch,
    /// `demo-web`: the access_log source in front of the storefront.
    pub web: v1::Batch,
}

impl Tick {
    /// Points the collector will store for this tick.
    pub fn points(&self) -> usize {
        [&self.db, &self.redis, &self.web]
            .iter()
            .map(|b| {
                b.samples.len()
                    + b.pg_statements.len() * 7
                    + b.pg_tables.len() * v1::PgTable::FIELDS
                    + b.pg_indexes.len() * 3
                    + b.index_candidates.len()
                    + b.index_verdicts.len()
                    + b.redis.len() * 11
                    + b.http_routes.len() * (BOUNDS_MS.len() + 4)
            })
            .sum()
    }

    /// Appends `other`'s contents (batches several steps into one).
    pub fn extend(&mut self, other: Tick) {
        for (into, from) in [
            (&mut self.db, other.db),
            (&mut self.redis, other.redis),
            (&mut self.web, other.web),
        ] {
            into.extend(from);
        }
    }
}

/// Cumulative counters, as the sources report them.
#[derive(Debug, Default)]
struct Totals {
    orders: f64,
    order_value: f64,
    carts_created: f64,
    carts_completed: f64,
    product_seq_scan: f64,
    product_seq_tup_read: f64,
    product_idx_scan: f64,
    order_idx_scan: f64,
    cart_idx_scan: f64,
    order_inserts: f64,
    cart_inserts: f64,
    redis_hits: f64,
    redis_misses: f64,
    redis_evicted: f64,
    redis_expired: f64,
    static_requests: f64,
    dynamic_requests: f64,
    static_bytes: f64,
    dynamic_bytes: f64,
}

/// The simulated store.
#[derive(Debug)]
pub struct Sim {
    shape: Shape,
    rng: StdRng,
    totals: Totals,
    /// Start of the access log's current window (routes flush when asked).
    routes_from_ms: i64,
}

impl Sim {
    /// A store whose history spans the `HISTORY_DAYS` before `now_ms`.
    pub fn new(seed: u64, now_ms: i64) -> Self {
        let shape = Shape::new(now_ms);
        Self {
            shape,
            rng: StdRng::seed_from_u64(seed),
            totals: Totals::default(),
            routes_from_ms: shape.start_ms(),
        }
    }

    /// The noiseless shape this store follows.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// `±share` of noise.
    fn noise(&mut self, share: f64) -> f64 {
        1.0 + self.rng.random_range(-share..=share)
    }

    /// What the agents send for `[from_ms, to_ms)`. With `flush_routes`,
    /// the access log also flushes its route histograms for the window
    /// since the last flush; `all_routes` false keeps only the checkout's.
    pub fn step(&mut self, from_ms: i64, to_ms: i64, flush_routes: bool, all_routes: bool) -> Tick {
        let minutes = (to_ms - from_ms) as f64 / MINUTE_MS as f64;
        let mid = from_ms + (to_ms - from_ms) / 2;
        let t = to_ms;
        let orders = self.shape.orders_per_minute(mid) * minutes * self.noise(0.08);
        let views = self.shape.views_per_minute(mid) * minutes * self.noise(0.08);
        let mut tick = Tick::default();
        self.database(&mut tick.db, mid, t, from_ms, orders, views, minutes);
        self.redis(&mut tick.redis, mid, t, views, minutes);
        self.access_log(&mut tick.web, t, views, orders);
        if flush_routes {
            self.routes(&mut tick.web, t, all_routes);
        }
        tick
    }

    #[allow(clippy::too_many_arguments)]
    fn database(
        &mut self,
        batch: &mut v1::Batch,
        mid: i64,
        t: i64,
        from: i64,
        orders: f64,
        views: f64,
        minutes: f64,
    ) {
        let connections = (self.shape.connections(mid) * self.noise(0.04)).round();
        batch.samples.extend([
            gauge(&UP, &[("source", "postgres"), ("type", "postgres")], t, 1.0),
            gauge(&PG_CONNECTIONS_TOTAL, &[], t, connections),
            gauge(&PG_MAX_CONNECTIONS, &[], t, MAX_CONNECTIONS),
            gauge(
                &PG_SUPERUSER_RESERVED_CONNECTIONS,
                &[],
                t,
                RESERVED_CONNECTIONS,
            ),
        ]);
        // Medusa's business volume.
        let carts = orders * 3.2;
        let value = orders * 74.0 * self.noise(0.1);
        self.totals.orders += orders;
        self.totals.order_value += value;
        self.totals.carts_created += carts;
        self.totals.carts_completed += orders;
        let usd = [("currency", "usd")];
        let per_minute = |n: f64| if minutes > 0.0 { n / minutes } else { 0.0 };
        batch.samples.extend([
            counter(&MEDUSA_ORDERS_TOTAL, &usd, t, self.totals.orders.round()),
            counter(
                &MEDUSA_ORDER_VALUE_TOTAL,
                &usd,
                t,
                self.totals.order_value.round(),
            ),
            gauge(&MEDUSA_ORDER_VALUE_PER_MINUTE, &usd, t, per_minute(value)),
            gauge(&MEDUSA_ORDERS_PER_MINUTE, &[], t, per_minute(orders)),
            counter(
                &MEDUSA_CARTS_CREATED_TOTAL,
                &[],
                t,
                self.totals.carts_created.round(),
            ),
            counter(
                &MEDUSA_CARTS_COMPLETED_TOTAL,
                &[],
                t,
                self.totals.carts_completed.round(),
            ),
            gauge(&MEDUSA_CARTS_CREATED_PER_MINUTE, &[], t, per_minute(carts)),
            gauge(
                &MEDUSA_CARTS_COMPLETED_PER_MINUTE,
                &[],
                t,
                per_minute(orders),
            ),
            gauge(
                &MEDUSA_PRODUCTS_ESTIMATE,
                &[],
                t,
                self.shape.product_rows(mid).round(),
            ),
            gauge(
                &MEDUSA_ORDERS_ESTIMATE,
                &[],
                t,
                (2_000.0 + self.totals.orders).round(),
            ),
        ]);
        // The host under the database.
        let used =
            (18.0 * GIB + 30.0 * GIB * self.shape.progress(mid).powf(1.2)) * self.noise(0.002);
        let mount = [("mount", DISK_MOUNT)];
        batch.samples.extend([
            gauge(&HOST_FILESYSTEM_SIZE_BYTES, &mount, t, DISK_BYTES),
            gauge(&HOST_FILESYSTEM_USED_BYTES, &mount, t, used.round()),
            gauge(
                &HOST_FILESYSTEM_AVAILABLE_BYTES,
                &mount,
                t,
                (DISK_BYTES - used).round(),
            ),
        ]);
        // pg_stat_statements, as deltas over the interval.
        let lookup_ms = self.shape.product_lookup_ms(mid);
        let rows = self.shape.product_rows(mid);
        for s in STATEMENTS {
            let calls = (views * s.per_view + orders * s.per_order).round();
            let mean = match s.queryid {
                PRODUCT_QUERYID => lookup_ms,
                _ if s.per_order > 0.0 => 1.2 + 0.6 * self.shape.progress(mid),
                _ => 0.05,
            } * self.noise(0.05);
            let blocks = if s.queryid == PRODUCT_QUERYID {
                rows / 60.0
            } else {
                4.0
            };
            batch.pg_statements.push(v1::PgStatement {
                timestamp_ms: t,
                start_ms: from,
                database: DATABASE.into(),
                queryid: s.queryid.into(),
                query: s.query.into(),
                calls: calls as u64,
                total_exec_ms: calls * mean,
                mean_exec_ms: mean,
                rows: (calls * s.rows_per_call) as u64,
                shared_blks_hit: (calls * blocks) as u64,
                shared_blks_read: (calls * blocks * 0.002) as u64,
                temp_blks_written: 0,
                other: false,
                fingerprint: String::new(),
            });
        }
        // pg_stat_user_tables: the product lookups scan the whole table.
        let lookups = (views * STATEMENTS[0].per_view).round();
        self.totals.product_seq_scan += lookups;
        self.totals.product_seq_tup_read += lookups * rows;
        self.totals.product_idx_scan += views * 0.4;
        self.totals.order_idx_scan += orders * 6.0 + views * 0.02;
        self.totals.cart_idx_scan += carts * 12.0;
        self.totals.order_inserts += orders;
        self.totals.cart_inserts += carts;
        let order_rows = 2_000.0 + self.totals.orders;
        let cart_rows = 6_000.0 + self.totals.carts_created;
        let tables = [
            (
                "product",
                rows,
                self.totals.product_seq_scan,
                self.totals.product_seq_tup_read,
                self.totals.product_idx_scan,
                rows - 2_000.0,
                2_400.0,
            ),
            (
                "order",
                order_rows,
                40.0,
                40.0 * 2_000.0,
                self.totals.order_idx_scan,
                self.totals.order_inserts,
                1_100.0,
            ),
            (
                "cart",
                cart_rows,
                25.0,
                25.0 * 6_000.0,
                self.totals.cart_idx_scan,
                self.totals.cart_inserts,
                700.0,
            ),
        ];
        for (table, live, seq_scan, seq_tup_read, idx_scan, inserts, row_bytes) in tables {
            batch.pg_tables.push(v1::PgTable {
                timestamp_ms: t,
                database: DATABASE.into(),
                schema: "public".into(),
                table: table.into(),
                seq_scan: seq_scan as u64,
                seq_tup_read: seq_tup_read as u64,
                idx_scan: idx_scan as u64,
                n_live_tup: live.round() as u64,
                n_dead_tup: (live * 0.02) as u64,
                table_bytes: (live * row_bytes) as u64,
                index_bytes: (live * 90.0) as u64,
                n_tup_ins: inserts as u64,
                // The planner's estimate follows the live rows here.
                estimated_rows: live.round() as u64,
            });
        }
        for (table, index, idx_scan, rows_of) in [
            (
                "product",
                "product_pkey",
                self.totals.product_idx_scan,
                rows,
            ),
            (
                "order",
                "order_pkey",
                self.totals.order_idx_scan,
                order_rows,
            ),
        ] {
            batch.pg_indexes.push(v1::PgIndex {
                timestamp_ms: t,
                database: DATABASE.into(),
                schema: "public".into(),
                table: table.into(),
                index: index.into(),
                definition: format!(
                    "CREATE UNIQUE INDEX {index} ON public.\"{table}\" USING btree (id)"
                ),
                idx_scan: idx_scan as u64,
                idx_tup_read: idx_scan as u64,
                size_bytes: (rows_of * 40.0) as u64,
                is_unique: true,
                keys: vec!["id".into()],
                predicate: String::new(),
                method: "btree".into(),
                include: Vec::new(),
            });
        }
        // The agent's index advisor proposes an index once the table is
        // big enough for the lookup to be slow (hypopg-verified costs).
        if rows >= 10_000.0 {
            batch.index_candidates.push(v1::IndexCandidate {
                timestamp_ms: t,
                database: DATABASE.into(),
                queryid: PRODUCT_QUERYID.into(),
                schema: "public".into(),
                table: "product".into(),
                columns: vec!["handle".into()],
                predicate: "deleted_at IS NULL".into(),
                definition: PRODUCT_CANDIDATE.into(),
                method: "hypopg".into(),
                cost_before: (rows * 0.0125 + rows / 60.0).round(),
                cost_after: Some(8.3),
                uses_index: Some(true),
                table_rows: rows.round() as u64,
            });
        }
        // The advisor's verdict on the lookup: a candidate, or too small.
        let (verdict, reason, definition) = if rows >= 10_000.0 {
            (
                "candidate",
                format!(
                    "an index on public.product (handle) would serve it; public.product has about {rows:.0} rows"
                ),
                PRODUCT_CANDIDATE.to_owned(),
            )
        } else {
            (
                "table_too_small",
                format!(
                    "public.product has about {rows:.0} rows (planner estimate), fewer than 10000"
                ),
                String::new(),
            )
        };
        batch.index_verdicts.push(v1::IndexVerdict {
            timestamp_ms: t,
            database: DATABASE.into(),
            queryid: PRODUCT_QUERYID.into(),
            verdict: verdict.into(),
            reason,
            schema: "public".into(),
            table: "product".into(),
            table_rows: Some(rows.round() as u64),
            definition,
        });
    }

    fn redis(&mut self, batch: &mut v1::Batch, mid: i64, t: i64, views: f64, minutes: f64) {
        let lookups = views * 8.0;
        let ratio = (self.shape.redis_hit_ratio(mid) * self.noise(0.01)).min(1.0);
        self.totals.redis_hits += (lookups * ratio).round();
        self.totals.redis_misses += (lookups * (1.0 - ratio)).round();
        self.totals.redis_evicted +=
            (self.shape.redis_evictions_per_minute(mid) * minutes * self.noise(0.1)).round();
        self.totals.redis_expired += (lookups * 0.02).round();
        let used = self.shape.redis_used_bytes(mid) * self.noise(0.003);
        batch.redis.push(v1::RedisStats {
            timestamp_ms: t,
            instance: REDIS_INSTANCE.into(),
            keyspace_hits: self.totals.redis_hits as u64,
            keyspace_misses: self.totals.redis_misses as u64,
            evicted_keys: self.totals.redis_evicted as u64,
            expired_keys: self.totals.redis_expired as u64,
            used_memory: used.min(REDIS_MAXMEMORY) as u64,
            maxmemory: REDIS_MAXMEMORY as u64,
            mem_fragmentation_ratio: 1.08 * self.noise(0.02),
            connected_clients: (12.0 + self.shape.connections(mid) / 4.0).round() as u64,
            instantaneous_ops_per_sec: (lookups * 1.4 / (minutes * 60.0).max(1.0)).round(),
            rejected_connections: 0,
            latency_ms: 0.3 * self.noise(0.2),
        });
    }

    fn access_log(&mut self, batch: &mut v1::Batch, t: i64, views: f64, orders: f64) {
        // Every page view pulls its images, scripts and styles from the
        // origin: no cache status in the log, no CDN in front.
        let statics = views * 4.0;
        let dynamics = views * 2.2 + orders * 6.0;
        self.totals.static_requests += statics.round();
        self.totals.dynamic_requests += dynamics.round();
        self.totals.static_bytes += (statics * 95_000.0).round();
        self.totals.dynamic_bytes += (dynamics * 9_000.0).round();
        for (kind, requests, bytes) in [
            (
                "static",
                self.totals.static_requests,
                self.totals.static_bytes,
            ),
            (
                "dynamic",
                self.totals.dynamic_requests,
                self.totals.dynamic_bytes,
            ),
        ] {
            let labels = [("source", ACCESS_LOG), ("kind", kind)];
            batch
                .samples
                .push(counter(&ACCESS_LOG_REQUESTS_TOTAL, &labels, t, requests));
            batch
                .samples
                .push(counter(&ACCESS_LOG_BYTES_TOTAL, &labels, t, bytes));
        }
        batch.samples.push(counter(
            &ACCESS_LOG_LINES_UNPARSED_TOTAL,
            &[("source", ACCESS_LOG)],
            t,
            0.0,
        ));
    }

    /// The access log's route histograms for the window since the last flush.
    fn routes(&mut self, batch: &mut v1::Batch, t: i64, all: bool) {
        let from = self.routes_from_ms;
        self.routes_from_ms = t;
        let minutes = (t - from) as f64 / MINUTE_MS as f64;
        let mid = from + (t - from) / 2;
        for r in ROUTES.iter().filter(|r| all || r.route == CHECKOUT_ROUTE) {
            let n = ((self.shape.views_per_minute(mid) * r.per_view
                + self.shape.orders_per_minute(mid) * r.per_order)
                * minutes
                * self.noise(0.1))
            .round();
            if n < 1.0 {
                continue;
            }
            let median = self.shape.route_median_ms(r.route, mid) * self.noise(0.05);
            let (buckets, sum) = lognormal_buckets(n as u64, median);
            batch.http_routes.push(v1::HttpRoute {
                timestamp_ms: t,
                start_ms: from,
                origin: "access_log".into(),
                method: r.method.into(),
                route: r.route.into(),
                status_class: "2xx".into(),
                latency: Some(v1::Histogram {
                    name: HTTP_ROUTE_LATENCY_MS.name.into(),
                    labels: Vec::new(),
                    start_ms: from,
                    timestamp_ms: t,
                    bounds: BOUNDS_MS.to_vec(),
                    bucket_counts: buckets,
                    count: n as u64,
                    sum,
                }),
                response_bytes: (n * r.bytes) as u64,
            });
        }
    }
}

/// `count` observations of a lognormal latency with `median_ms`, as the
/// shared buckets (bounds + `+Inf`), and their expected sum.
pub fn lognormal_buckets(count: u64, median_ms: f64) -> (Vec<u64>, f64) {
    let cdf = |x: f64| {
        0.5 * (1.0
            + statrs::function::erf::erf(
                (x.ln() - median_ms.ln()) / (SIGMA * std::f64::consts::SQRT_2),
            ))
    };
    let mut buckets = Vec::with_capacity(BOUNDS_MS.len() + 1);
    let mut below = 0u64;
    for bound in BOUNDS_MS {
        let cumulative = ((count as f64) * cdf(bound)).round() as u64;
        let cumulative = cumulative.clamp(below, count);
        buckets.push(cumulative - below);
        below = cumulative;
    }
    buckets.push(count - below);
    let mean = median_ms * (SIGMA * SIGMA / 2.0).exp();
    (buckets, mean * count as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    #[test]
    fn the_catalog_outgrows_sequential_scans_and_the_candidate_appears_late() {
        let mut s = Sim::new(7, NOW);
        let early = s.step(
            s.shape().start_ms(),
            s.shape().start_ms() + 5 * MINUTE_MS,
            true,
            true,
        );
        assert!(early.db.index_candidates.is_empty());
        let last = NOW - 5 * MINUTE_MS;
        let late = s.step(last, NOW, true, true);
        let candidate = &late.db.index_candidates[0];
        assert!(candidate.table_rows >= 50_000, "{candidate:?}");
        assert!(candidate.definition.contains("ON public.product (handle)"));
        assert!(
            s.shape().product_lookup_ms(NOW)
                > 10.0 * s.shape().product_lookup_ms(s.shape().start_ms())
        );
    }

    #[test]
    fn counters_never_go_down_and_steps_are_deterministic() {
        let run = || {
            let mut s = Sim::new(3, NOW);
            (0..20)
                .map(|i| {
                    let from = s.shape().start_ms() + i * 5 * MINUTE_MS;
                    s.step(from, from + 5 * MINUTE_MS, true, true)
                })
                .collect::<Vec<_>>()
        };
        let (a, b) = (run(), run());
        assert_eq!(a, b);
        let hits: Vec<u64> = a.iter().map(|t| t.redis.redis[0].keyspace_hits).collect();
        assert!(hits.windows(2).all(|w| w[0] <= w[1]), "{hits:?}");
    }

    #[test]
    fn lognormal_buckets_hold_every_observation_around_the_median() {
        let (buckets, sum) = lognormal_buckets(1_000, 500.0);
        assert_eq!(buckets.len(), BOUNDS_MS.len() + 1);
        assert_eq!(buckets.iter().sum::<u64>(), 1_000);
        let through = |bound: f64| -> u64 {
            BOUNDS_MS
                .iter()
                .zip(&buckets)
                .take_while(|(b, _)| **b <= bound)
                .map(|(_, c)| c)
                .sum()
        };
        // The median (500 ms) lies in the bucket (431, 512].
        assert!(through(431.0) < 500 && through(512.0) > 500, "{buckets:?}");
        assert!(sum > 500.0 * 1_000.0);
    }
}
