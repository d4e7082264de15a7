//! The shape of the demo's simulated store over time, without noise: a
//! Medusa shop growing from about 5,000 to 50,000 orders a month over 60
//! days, with daily and weekly cycles and a sale spike; its catalog grows
//! until a lookup by handle is slow (the missing index), its Redis fills up
//! to `maxmemory`, its connections creep towards `max_connections` and its
//! checkout slows down. Pure functions of time; `sim.rs` adds the noise and
//! turns them into what the agents send.

/// Milliseconds in a minute, an hour, a day.
pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// Days of history before "now".
pub const HISTORY_DAYS: i64 = 60;
/// Orders a month at the start and at the end of the history.
pub const START_ORDERS_PER_MONTH: f64 = 5_000.0;
pub const END_ORDERS_PER_MONTH: f64 = 50_000.0;
/// The store's local hour at the demo's start (mid-afternoon, near the
/// daily peak, so what is judged "now" is a busy hour).
pub const LOCAL_HOUR_AT_START: i64 = 14;
/// The sale: day of the history, local start hour, hours, traffic factor.
pub const SALE_DAY: i64 = 45;
pub const SALE_START_HOUR: i64 = 18;
pub const SALE_HOURS: i64 = 4;
pub const SALE_FACTOR: f64 = 4.0;

/// The checkout route, as the access log source templates it.
pub const CHECKOUT_ROUTE: &str = "/store/carts/:id/complete";

/// Bytes in a MiB and a GiB.
pub const MIB: f64 = 1_048_576.0;
pub const GIB: f64 = 1_073_741_824.0;
/// The limits of the simulated PostgreSQL, Redis and disk.
pub const MAX_CONNECTIONS: f64 = 100.0;
pub const RESERVED_CONNECTIONS: f64 = 3.0;
pub const REDIS_MAXMEMORY: f64 = 512.0 * MIB;
pub const DISK_BYTES: f64 = 100.0 * GIB;
pub const DISK_MOUNT: &str = "/var/lib/postgresql";

/// Spread of every route's latency (log-space standard deviation).
pub const SIGMA: f64 = 0.45;

/// The store's clock: where the history starts and its local time zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    start_ms: i64,
    /// Added to a unix time to get the store's local time.
    local_offset_ms: i64,
}

impl Shape {
    /// A store whose history spans the `HISTORY_DAYS` before `now_ms`, at
    /// `LOCAL_HOUR_AT_START` local time at `now_ms`.
    pub fn new(now_ms: i64) -> Self {
        Self {
            start_ms: now_ms - HISTORY_DAYS * DAY_MS,
            local_offset_ms: (LOCAL_HOUR_AT_START * HOUR_MS - now_ms).rem_euclid(DAY_MS),
        }
    }

    /// Where the history starts.
    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }

    /// Days since the history started (60 at the demo's start, more live).
    pub fn day(&self, t_ms: i64) -> f64 {
        (t_ms - self.start_ms) as f64 / DAY_MS as f64
    }

    /// The store's local hour of day (0..24) at `t_ms`.
    pub fn local_hour(&self, t_ms: i64) -> f64 {
        (t_ms + self.local_offset_ms).rem_euclid(DAY_MS) as f64 / HOUR_MS as f64
    }

    /// Growth as a share of the final volume: 0.1 at day 0, 1 at day 60.
    pub fn growth(&self, t_ms: i64) -> f64 {
        let ratio = END_ORDERS_PER_MONTH / START_ORDERS_PER_MONTH;
        ratio.powf(self.day(t_ms) / HISTORY_DAYS as f64) / ratio
    }

    /// Share of the history elapsed, 0..1 (held at 1 live).
    pub fn progress(&self, t_ms: i64) -> f64 {
        (self.day(t_ms) / HISTORY_DAYS as f64).clamp(0.0, 1.0)
    }

    /// Daily cycle, mean 1: peak at 15:00, trough at 03:00 local.
    pub fn daily_factor(&self, t_ms: i64) -> f64 {
        let hour = self.local_hour(t_ms);
        1.0 + 0.55 * ((hour - 15.0) / 24.0 * std::f64::consts::TAU).cos()
    }

    /// Weekly cycle, mean 1: busier weekends.
    pub fn weekly_factor(&self, t_ms: i64) -> f64 {
        let local_day = (t_ms + self.local_offset_ms).div_euclid(DAY_MS);
        // 1970-01-01 was a Thursday: weekday 0 is Monday.
        match (local_day + 3).rem_euclid(7) {
            5 | 6 => 1.3,
            _ => 0.88,
        }
    }

    /// Whether the sale is on at `t_ms`.
    pub fn in_sale(&self, t_ms: i64) -> bool {
        let first_local_day = (self.start_ms + self.local_offset_ms).div_euclid(DAY_MS);
        let local = t_ms + self.local_offset_ms;
        let sale_start = (first_local_day + SALE_DAY) * DAY_MS + SALE_START_HOUR * HOUR_MS;
        (sale_start..sale_start + SALE_HOURS * HOUR_MS).contains(&local)
    }

    /// Orders a month at the trend (no cycles): 5,000 growing to 50,000.
    pub fn trend_orders_per_month(&self, t_ms: i64) -> f64 {
        END_ORDERS_PER_MONTH * self.growth(t_ms)
    }

    /// Orders per minute at `t_ms`, with the cycles and the sale.
    pub fn orders_per_minute(&self, t_ms: i64) -> f64 {
        let sale = if self.in_sale(t_ms) { SALE_FACTOR } else { 1.0 };
        self.trend_orders_per_month(t_ms) / (30.0 * 24.0 * 60.0)
            * self.daily_factor(t_ms)
            * self.weekly_factor(t_ms)
            * sale
    }

    /// Storefront page views per minute (about one order per 100 views).
    pub fn views_per_minute(&self, t_ms: i64) -> f64 {
        self.orders_per_minute(t_ms) * 100.0
    }

    /// Live rows of `product`: 2,000 growing to 60,000.
    pub fn product_rows(&self, t_ms: i64) -> f64 {
        2_000.0 + 58_000.0 * self.progress(t_ms).powf(1.5)
    }

    /// Mean time of the lookup by handle: a sequential scan of `product`.
    pub fn product_lookup_ms(&self, t_ms: i64) -> f64 {
        (0.3 + self.product_rows(t_ms) * 0.0009) * (0.85 + 0.15 * self.daily_factor(t_ms))
    }

    /// PostgreSQL connections in use.
    pub fn connections(&self, t_ms: i64) -> f64 {
        let load =
            (0.8 + 0.2 * self.daily_factor(t_ms)) * if self.in_sale(t_ms) { 1.3 } else { 1.0 };
        (16.0 + 68.0 * self.growth(t_ms).powf(0.8) * load)
            .min(MAX_CONNECTIONS - RESERVED_CONNECTIONS)
    }

    /// Bytes Redis would hold without `maxmemory`.
    pub fn redis_wanted_bytes(&self, t_ms: i64) -> f64 {
        (90.0 + 470.0 * self.progress(t_ms).powf(1.3)) * MIB
    }

    /// Redis used memory: the data set, capped just under `maxmemory`.
    pub fn redis_used_bytes(&self, t_ms: i64) -> f64 {
        self.redis_wanted_bytes(t_ms).min(0.985 * REDIS_MAXMEMORY)
    }

    /// Keyspace hit ratio: falls as the data set outgrows memory.
    pub fn redis_hit_ratio(&self, t_ms: i64) -> f64 {
        let over = (self.redis_wanted_bytes(t_ms) / REDIS_MAXMEMORY - 0.95).max(0.0);
        (0.95 - 0.12 * self.progress(t_ms).powi(2) - 1.5 * over).max(0.4)
    }

    /// Keys evicted per minute.
    pub fn redis_evictions_per_minute(&self, t_ms: i64) -> f64 {
        let over = (self.redis_wanted_bytes(t_ms) / REDIS_MAXMEMORY - 0.95).max(0.0);
        over * 20.0 * self.views_per_minute(t_ms)
    }

    /// Median latency of a route (ms).
    pub fn route_median_ms(&self, route: &str, t_ms: i64) -> f64 {
        let p = self.progress(t_ms);
        let load = self.daily_factor(t_ms) * if self.in_sale(t_ms) { 1.6 } else { 1.0 };
        match route {
            CHECKOUT_ROUTE => (150.0 + 640.0 * p * p) * (0.9 + 0.1 * load),
            "/store/products" => 35.0 + self.product_lookup_ms(t_ms) * 1.5,
            "/admin/orders" => 220.0 + 300.0 * p,
            _ => 12.0,
        }
    }

    /// p95 of the checkout at `t_ms` (lognormal, σ 0.45).
    pub fn checkout_p95_ms(&self, t_ms: i64) -> f64 {
        self.route_median_ms(CHECKOUT_ROUTE, t_ms) * (1.645 * SIGMA).exp()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_780_000_000_000;

    fn shape() -> Shape {
        Shape::new(NOW)
    }

    /// Orders in one whole day of the store, from its per-minute rate.
    fn orders_in_day(shape: &Shape, day: i64) -> f64 {
        let from = shape.start_ms() + day * DAY_MS;
        (0..24 * 60)
            .map(|m| shape.orders_per_minute(from + m * MINUTE_MS))
            .sum()
    }

    #[test]
    fn volume_grows_from_about_5k_to_about_50k_orders_a_month() {
        let s = shape();
        // A week's mean daily orders × 30, at each end of the history.
        let monthly = |first_day: i64| {
            (first_day..first_day + 7)
                .map(|d| orders_in_day(&s, d))
                .sum::<f64>()
                / 7.0
                * 30.0
        };
        let start = monthly(0);
        let end = monthly(HISTORY_DAYS - 7);
        assert!((4_500.0..6_500.0).contains(&start), "start {start:.0}");
        assert!((40_000.0..55_000.0).contains(&end), "end {end:.0}");
    }

    #[test]
    fn the_daily_cycle_peaks_in_the_afternoon_and_dips_at_night() {
        let s = shape();
        let day = s.start_ms() + 30 * DAY_MS;
        let by_hour: Vec<(f64, f64)> = (0..24 * 12)
            .map(|i| {
                let t = day + i * 5 * MINUTE_MS;
                (s.local_hour(t), s.daily_factor(t))
            })
            .collect();
        let peak = by_hour.iter().max_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
        let trough = by_hour.iter().min_by(|a, b| a.1.total_cmp(&b.1)).unwrap();
        assert!((14.0..16.0).contains(&peak.0), "peak at {:.1} h", peak.0);
        assert!(
            (2.0..4.0).contains(&trough.0),
            "trough at {:.1} h",
            trough.0
        );
        assert!(peak.1 / trough.1 > 2.5, "{peak:?} vs {trough:?}");
        assert!((s.local_hour(NOW) - LOCAL_HOUR_AT_START as f64).abs() < 1e-9);
    }

    #[test]
    fn weekends_are_busier_and_the_week_averages_to_one() {
        let s = shape();
        let noon = |d: i64| s.start_ms() + d * DAY_MS;
        let factors: Vec<f64> = (0..7).map(|d| s.weekly_factor(noon(d))).collect();
        let mean = factors.iter().sum::<f64>() / 7.0;
        assert!((mean - 1.0).abs() < 0.01, "{factors:?}");
        assert_eq!(factors.iter().filter(|f| **f > 1.0).count(), 2);
    }

    #[test]
    fn the_sale_multiplies_orders_for_a_few_hours_on_day_45() {
        let s = shape();
        let sale: Vec<i64> = (0..HISTORY_DAYS * 24 * 12)
            .map(|i| s.start_ms() + i * 5 * MINUTE_MS)
            .filter(|&t| s.in_sale(t))
            .collect();
        assert_eq!(
            sale.len() as i64,
            SALE_HOURS * 12,
            "5-minute steps in the sale"
        );
        let first = sale[0];
        assert_eq!(
            s.day(first).floor() as i64,
            SALE_DAY,
            "day {}",
            s.day(first)
        );
        let during = s.orders_per_minute(first + HOUR_MS);
        let same_time_day_before = s.orders_per_minute(first + HOUR_MS - DAY_MS);
        assert!(
            during > 3.0 * same_time_day_before,
            "{during} vs {same_time_day_before}"
        );
    }

    #[test]
    fn redis_fills_up_evicts_and_misses_more_at_the_end() {
        let s = shape();
        let (start, end) = (s.start_ms(), NOW);
        assert_eq!(s.redis_evictions_per_minute(start), 0.0);
        assert!(s.redis_evictions_per_minute(end) > 0.0);
        assert!(s.redis_used_bytes(end) / REDIS_MAXMEMORY > 0.95);
        assert!(s.redis_hit_ratio(end) < 0.8 && s.redis_hit_ratio(start) > 0.9);
    }

    #[test]
    fn connections_and_checkout_approach_their_limits_now() {
        let s = shape();
        let usable = MAX_CONNECTIONS - RESERVED_CONNECTIONS;
        assert!(s.connections(NOW) / usable > 0.8, "{}", s.connections(NOW));
        assert!(s.connections(s.start_ms()) / usable < 0.5);
        let p95 = s.checkout_p95_ms(NOW);
        assert!((1_600.0..2_000.0).contains(&p95), "{p95}");
    }
}
