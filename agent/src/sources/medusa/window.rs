//! The windows between scrapes: where the next one starts (the first
//! scrape only sets it), the cumulative totals since the agent started,
//! per-currency grouping with a cap, and the smallest Medusa id of a time
//! (ids are `<prefix>_<ULID>`, so the primary key bounds a time range).

use std::collections::BTreeMap;

use headroom_proto::signals::medusa::{
    MEDUSA_CARTS_COMPLETED_PER_MINUTE, MEDUSA_CARTS_COMPLETED_TOTAL,
    MEDUSA_CARTS_CREATED_PER_MINUTE, MEDUSA_CARTS_CREATED_TOTAL, MEDUSA_ORDER_VALUE_PER_MINUTE,
    MEDUSA_ORDER_VALUE_TOTAL, MEDUSA_ORDERS_PER_MINUTE, MEDUSA_ORDERS_TOTAL,
};
use headroom_proto::v1;

use crate::sources::{counter, gauge};

/// Distinct currencies kept as labels; the rest are summed as `other`.
pub const MAX_CURRENCIES: usize = 50;

/// The windows' bookkeeping: where the next window starts, and the
/// cumulative totals since the agent started.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Window {
    /// The previous window's end (database clock, text for exactness, and ms).
    start: Option<(String, f64)>,
    orders: BTreeMap<String, Volume>,
    carts_created: f64,
    carts_completed: f64,
}

/// Orders and their value.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Volume {
    pub orders: f64,
    pub value: f64,
}

/// What one window read.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Reading {
    /// (currency, orders, value) rows, when counted exactly.
    pub orders: Vec<(String, f64, f64)>,
    /// Orders of all currencies, when only their number is known (counted
    /// from inserts): no per-currency counters are sent for the window.
    pub orders_only: Option<f64>,
    pub carts_created: f64,
    /// `None` when completed carts cannot be counted boundedly.
    pub carts_completed: Option<f64>,
}

impl Window {
    /// The window to read, as (start, start in ms), once a baseline exists.
    pub fn start(&self) -> Option<&(String, f64)> {
        self.start.as_ref()
    }

    /// Moves the window's start to `now` (text and ms).
    pub fn advance(&mut self, now: String, now_ms: f64) {
        self.start = Some((now, now_ms));
    }

    /// Adds the reading of a window `minutes` long; returns the per-minute
    /// gauges and the counters, stamped `ts`.
    pub fn record(&mut self, reading: &Reading, minutes: f64, ts: i64) -> Vec<v1::Sample> {
        let mut window: BTreeMap<String, Volume> = self
            .orders
            .keys()
            .map(|c| (c.clone(), Volume::default()))
            .collect();
        for (currency, orders, value) in &reading.orders {
            let currency = currency.to_lowercase();
            let key = if window.contains_key(&currency) || window.len() < MAX_CURRENCIES {
                currency
            } else {
                "other".to_owned()
            };
            let entry = window.entry(key).or_default();
            entry.orders += orders;
            entry.value += value;
        }
        self.carts_created += reading.carts_created;
        if let Some(completed) = reading.carts_completed {
            self.carts_completed += completed;
        }
        let per_minute = |count: f64| if minutes > 0.0 { count / minutes } else { 0.0 };
        let mut out = Vec::new();
        let mut all_orders = 0.0;
        if let Some(orders) = reading.orders_only {
            all_orders = orders;
            window.clear();
        }
        for (currency, volume) in &window {
            let total = self.orders.entry(currency.clone()).or_default();
            total.orders += volume.orders;
            total.value += volume.value;
            all_orders += volume.orders;
            let labels = [("currency", currency.as_str())];
            out.push(counter(&MEDUSA_ORDERS_TOTAL, &labels, ts, total.orders));
            out.push(counter(&MEDUSA_ORDER_VALUE_TOTAL, &labels, ts, total.value));
            out.push(gauge(
                &MEDUSA_ORDER_VALUE_PER_MINUTE,
                &labels,
                ts,
                per_minute(volume.value),
            ));
        }
        out.push(gauge(
            &MEDUSA_ORDERS_PER_MINUTE,
            &[],
            ts,
            per_minute(all_orders),
        ));
        out.push(counter(
            &MEDUSA_CARTS_CREATED_TOTAL,
            &[],
            ts,
            self.carts_created,
        ));
        out.push(gauge(
            &MEDUSA_CARTS_CREATED_PER_MINUTE,
            &[],
            ts,
            per_minute(reading.carts_created),
        ));
        if let Some(completed) = reading.carts_completed {
            out.push(counter(
                &MEDUSA_CARTS_COMPLETED_TOTAL,
                &[],
                ts,
                self.carts_completed,
            ));
            out.push(gauge(
                &MEDUSA_CARTS_COMPLETED_PER_MINUTE,
                &[],
                ts,
                per_minute(completed),
            ));
        }
        out
    }
}

/// Crockford base32, as ULIDs use it.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The smallest Medusa id (`<prefix>_<ULID>`) made at or after `ms`: the
/// ULID's first 10 characters are its millisecond timestamp.
pub fn id_lower_bound(prefix: &str, ms: i64) -> String {
    let mut time = ms.max(0) as u64;
    let mut chars = [b'0'; 10];
    for slot in chars.iter_mut().rev() {
        *slot = CROCKFORD[(time % 32) as usize];
        time /= 32;
    }
    format!("{prefix}_{}", String::from_utf8_lossy(&chars))
}

/// The millisecond time of a `<prefix>_<ULID>` id, `None` when the part
/// after the last `_` is not a ULID (26 Crockford characters).
pub fn decode_ulid_ms(id: &str) -> Option<i64> {
    let (_, ulid) = id.rsplit_once('_')?;
    if ulid.len() != 26 {
        return None;
    }
    let mut ms: i64 = 0;
    for (i, byte) in ulid.bytes().enumerate() {
        let digit = CROCKFORD.iter().position(|c| *c == byte)? as i64;
        if i < 10 {
            ms = ms.checked_mul(32)?.checked_add(digit)?;
        }
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(samples: &[v1::Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        samples
            .iter()
            .find(|s| {
                s.name == name
                    && s.labels.len() == labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.iter().any(|l| l.key == *k && l.value == *v))
            })
            .map(|s| s.value)
    }

    #[test]
    fn ids_bound_by_their_ulid_time() {
        assert_eq!(id_lower_bound("order", 0), "order_0000000000");
        // An order of the Medusa lab: order_01M8EJJ8XNZ0DZHWYTDPBFKSFZ,
        // made at 2026-11-27T13:19:25.109Z.
        let bound = id_lower_bound("order", 1_795_785_565_109);
        assert_eq!(bound, "order_01M8EJJ8XN");
        assert!(bound.as_str() <= "order_01M8EJJ8XNZ0DZHWYTDPBFKSFZ");
        assert!(
            id_lower_bound("order", 1_795_785_565_110).as_str()
                > "order_01M8EJJ8XNZ0DZHWYTDPBFKSFZ"
        );
        assert!(id_lower_bound("cart", 1_000) < id_lower_bound("cart", 1_001));
        assert_eq!(id_lower_bound("cart", 32), "cart_0000000010");
    }

    #[test]
    fn ulids_decode_to_their_time_and_other_ids_do_not() {
        assert_eq!(
            decode_ulid_ms("order_01M8EJJ8XNZ0DZHWYTDPBFKSFZ"),
            Some(1_795_785_565_109)
        );
        assert_eq!(decode_ulid_ms("cart_01M8EJJ8XNZ0DZHWYTDPBFKSF"), None);
        assert_eq!(decode_ulid_ms("cart_01M8EJJ8XNZ0DZHWYTDPBFKSFU"), None);
        assert_eq!(decode_ulid_ms("0b6f7c1e-8a3d-4d2b-9f5e-2c1a7b9e4d10"), None);
        assert_eq!(decode_ulid_ms("12345"), None);
    }

    #[test]
    fn orders_known_only_by_number_send_no_currency_and_no_completed_carts() {
        let mut window = Window::default();
        let samples = window.record(
            &Reading {
                orders_only: Some(6.0),
                carts_created: 4.0,
                ..Reading::default()
            },
            2.0,
            1,
        );
        assert_eq!(value(&samples, "medusa_orders_per_minute", &[]), Some(3.0));
        assert!(samples.iter().all(|s| s.name != "medusa_orders_total"));
        assert!(
            samples
                .iter()
                .all(|s| !s.name.starts_with("medusa_carts_completed"))
        );
        assert_eq!(
            value(&samples, "medusa_carts_created_per_minute", &[]),
            Some(2.0)
        );
    }

    #[test]
    fn windows_sum_per_currency_and_keep_seen_currencies_at_zero() {
        let mut window = Window::default();
        assert!(window.start().is_none(), "the first scrape is a baseline");
        window.advance("t0".into(), 0.0);
        let first = Reading {
            orders: vec![("EUR".into(), 3.0, 30.0), ("usd".into(), 1.0, 5.5)],
            carts_created: 6.0,
            carts_completed: Some(4.0),
            ..Reading::default()
        };
        let samples = window.record(&first, 2.0, 10);
        assert_eq!(value(&samples, "medusa_orders_per_minute", &[]), Some(2.0));
        assert_eq!(
            value(
                &samples,
                "medusa_order_value_per_minute",
                &[("currency", "eur")]
            ),
            Some(15.0)
        );
        assert_eq!(
            value(&samples, "medusa_orders_total", &[("currency", "usd")]),
            Some(1.0)
        );
        assert_eq!(
            value(&samples, "medusa_carts_created_per_minute", &[]),
            Some(3.0)
        );
        let second = Reading {
            orders: vec![("usd".into(), 2.0, 4.5)],
            carts_completed: Some(0.0),
            ..Reading::default()
        };
        let samples = window.record(&second, 1.0, 20);
        assert_eq!(
            value(
                &samples,
                "medusa_order_value_per_minute",
                &[("currency", "eur")]
            ),
            Some(0.0),
            "a quiet currency reads 0, not missing"
        );
        assert_eq!(
            value(&samples, "medusa_order_value_total", &[("currency", "usd")]),
            Some(10.0)
        );
        assert_eq!(
            value(&samples, "medusa_orders_total", &[("currency", "eur")]),
            Some(3.0)
        );
        assert_eq!(
            value(&samples, "medusa_carts_created_total", &[]),
            Some(6.0)
        );
        assert_eq!(
            value(&samples, "medusa_carts_completed_total", &[]),
            Some(4.0)
        );
        assert_eq!(
            value(&samples, "medusa_carts_created_per_minute", &[]),
            Some(0.0)
        );
    }

    #[test]
    fn currencies_beyond_the_cap_become_other() {
        let mut window = Window::default();
        let orders = (0..MAX_CURRENCIES + 3)
            .map(|i| (format!("c{i:02}"), 1.0, 1.0))
            .collect();
        let samples = window.record(
            &Reading {
                orders,
                ..Reading::default()
            },
            1.0,
            1,
        );
        assert_eq!(
            value(&samples, "medusa_orders_total", &[("currency", "other")]),
            Some(3.0)
        );
        assert_eq!(value(&samples, "medusa_orders_per_minute", &[]), Some(53.0));
    }

    #[test]
    fn a_zero_length_window_reads_zero_per_minute() {
        let mut window = Window::default();
        let samples = window.record(
            &Reading {
                carts_created: 2.0,
                ..Reading::default()
            },
            0.0,
            1,
        );
        assert_eq!(
            value(&samples, "medusa_carts_created_per_minute", &[]),
            Some(0.0)
        );
        assert_eq!(
            value(&samples, "medusa_carts_created_total", &[]),
            Some(2.0)
        );
    }
}
