//! How each windowed count is bounded, chosen per table from the catalog
//! and a sample of ids, so that no count reads a whole table whatever the
//! id scheme (Medusa's `<prefix>_<ULID>`, uuid, serial, arbitrary text) or
//! the table's size. For each count, the first that applies:
//!
//! 1. [`Method::TimeIndex`]: a valid btree index leads with the count's
//!    time column (`created_at`, or `completed_at` for completed carts),
//!    whole or partial on `deleted_at IS NULL`: the window is an index
//!    range, exact, and costs the rows in the window.
//! 2. [`Method::UlidIds`]: the newest ids by the primary key (a backward
//!    index scan of [`SAMPLE_IDS`] rows) are all `<prefix>_<ULID>` made no
//!    earlier than `ID_SLACK_MS` before their `created_at` (an id made
//!    later, as for imported rows, only widens the scan): the window is
//!    bounded by the smallest id of its start (less the slack), then
//!    filtered exactly on the time column. Exact; costs the rows created
//!    since the bound. For completed carts the bound reaches back
//!    [`COMPLETED_LOOKBACK_MS`] (two hours) before the window and at most
//!    the newest [`COMPLETED_SCAN_CAP`] carts are examined: a cart
//!    completed more than two hours after its creation is not counted, and
//!    when more carts than the cap were created in that time (bots), the
//!    count is marked inexact for that scrape.
//! 3. [`Method::Inserts`] (created counts only): the change of
//!    `pg_stat_user_tables.n_tup_ins` between scrapes, a catalog read.
//!    Precision lost: no split per currency and no order value; rows
//!    inserted and deleted (or bulk-imported) count as created; the
//!    statistics reach the view up to about a second after commit (longer
//!    under lock contention) and restart from zero after a statistics reset
//!    or a crash (that window counts nothing).
//! 4. [`Method::None`] (completed carts only): not counted, the series is
//!    not sent.
//!
//! Sampling (`TABLESAMPLE`) was measured and rejected for windows: a
//! minute holds a handful of rows, so a 1 % page sample reads 0 or 100.
//! The plan is chosen again every [`DETECT_EVERY_SCRAPES`] scrapes and on
//! every new connection, so an empty table that later fills with ULIDs,
//! or an index created later, is picked up.

use tokio_postgres::Client;

use super::window::decode_ulid_ms;
use crate::sources::postgres::own::own_sql;

/// Newest ids read to verify that ids are time-sortable ULIDs.
pub const SAMPLE_IDS: i64 = 32;
/// The plan is chosen again after this many scrapes.
pub const DETECT_EVERY_SCRAPES: u64 = 60;
/// How far before the window a completed cart may have been created, when
/// only its id bounds the scan.
pub const COMPLETED_LOOKBACK_MS: i64 = 2 * 3_600 * 1_000;
/// Most carts examined for completion per scrape, when only ids bound it.
pub const COMPLETED_SCAN_CAP: i64 = 2_000;

/// How one count is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    TimeIndex,
    UlidIds,
    Inserts,
    None,
}

impl Method {
    /// Whether counts by this method are exact (per window, per currency).
    pub fn exact(self) -> bool {
        matches!(self, Method::TimeIndex | Method::UlidIds)
    }
}

/// The methods of the three counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub orders: Method,
    pub carts_created: Method,
    pub carts_completed: Method,
}

/// Columns leading a valid btree index (whole, or partial on
/// `deleted_at IS NULL`) of `order` and `cart` in schema `$1`.
const Q_LEADING: &str = own_sql!(
    "SELECT c.relname::text, a.attname::text FROM pg_index i \
     JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam \
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] \
     WHERE n.nspname = $1 AND c.relname IN ('order', 'cart') AND i.indisvalid AND am.amname = 'btree' \
     AND (i.indpred IS NULL OR pg_get_expr(i.indpred, i.indrelid) = '(deleted_at IS NULL)') \
     AND a.attname IN ('id', 'created_at', 'completed_at')"
);

/// The newest ids by the primary key's order (the table's column, not the
/// text output: a backward index scan of `$1` rows).
const Q_SAMPLE_ORDER: &str = own_sql!(
    "SELECT t.id::text AS sampled, (extract(epoch FROM t.created_at) * 1000)::float8 \
     FROM \"order\" t ORDER BY t.id DESC LIMIT $1"
);
const Q_SAMPLE_CART: &str = own_sql!(
    "SELECT t.id::text AS sampled, (extract(epoch FROM t.created_at) * 1000)::float8 \
     FROM cart t ORDER BY t.id DESC LIMIT $1"
);

/// Fails (42P01, 42501) unless every table counted exists and is readable.
const Q_TABLES_READABLE: &str = own_sql!(
    "SELECT (SELECT 1 FROM \"order\" LIMIT 0), (SELECT 1 FROM order_summary LIMIT 0), \
     (SELECT 1 FROM cart LIMIT 0), (SELECT 1 FROM inventory_level LIMIT 0)"
);

/// Chooses the plan for the tables on `client`'s search path in `schema`.
pub async fn detect(client: &Client, schema: &str) -> Result<Plan, tokio_postgres::Error> {
    client.query_one(Q_TABLES_READABLE, &[]).await?;
    let leading: Vec<(String, String)> = client
        .query(Q_LEADING, &[&schema])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let leads = |table: &str, column: &str| leading.iter().any(|(t, c)| t == table && c == column);
    let mut ulid = [false, false];
    for (slot, (table, sample)) in [("order", Q_SAMPLE_ORDER), ("cart", Q_SAMPLE_CART)]
        .into_iter()
        .enumerate()
    {
        if leads(table, "id") {
            let rows: Vec<(String, f64)> = client
                .query(sample, &[&SAMPLE_IDS])
                .await?
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect();
            ulid[slot] = ulids_sorted_by_time(&rows);
        }
    }
    Ok(choose(&leads, ulid[0], ulid[1]))
}

/// The plan from which columns lead an index and whether ids are ULIDs (pure).
pub fn choose(leads: &dyn Fn(&str, &str) -> bool, order_ulid: bool, cart_ulid: bool) -> Plan {
    let created = |table: &str, ulid: bool| {
        if leads(table, "created_at") {
            Method::TimeIndex
        } else if ulid {
            Method::UlidIds
        } else {
            Method::Inserts
        }
    };
    Plan {
        orders: created("order", order_ulid),
        carts_created: created("cart", cart_ulid),
        carts_completed: if leads("cart", "completed_at") {
            Method::TimeIndex
        } else if cart_ulid {
            Method::UlidIds
        } else {
            Method::None
        },
    }
}

/// Whether every sampled (id, created_at ms) is `<prefix>_<ULID>` made no
/// earlier than `ID_SLACK_MS` before its `created_at`, so that the id
/// bound of a window never excludes a row created in it (pure). An empty
/// sample proves nothing.
pub fn ulids_sorted_by_time(rows: &[(String, f64)]) -> bool {
    !rows.is_empty()
        && rows.iter().all(|(id, created_ms)| {
            decode_ulid_ms(id).is_some_and(|ms| ms as f64 >= created_ms - super::ID_SLACK_MS as f64)
        })
}

#[cfg(test)]
mod tests {
    use super::super::window::id_lower_bound;
    use super::*;

    fn leads_with(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str, &str) -> bool {
        move |t, c| pairs.iter().any(|(pt, pc)| *pt == t && *pc == c)
    }

    #[test]
    fn an_index_on_the_time_column_wins_over_ids() {
        let plan = choose(
            &leads_with(&[("order", "created_at"), ("cart", "completed_at")]),
            true,
            true,
        );
        assert_eq!(plan.orders, Method::TimeIndex);
        assert_eq!(plan.carts_created, Method::UlidIds);
        assert_eq!(plan.carts_completed, Method::TimeIndex);
    }

    #[test]
    fn without_index_or_ulids_created_counts_come_from_inserts() {
        let plan = choose(&leads_with(&[]), false, false);
        assert_eq!(plan.orders, Method::Inserts);
        assert_eq!(plan.carts_created, Method::Inserts);
        assert_eq!(plan.carts_completed, Method::None);
        assert!(!plan.orders.exact());
    }

    #[test]
    fn only_ulids_made_near_their_created_at_are_time_sortable() {
        let ms = 1_795_785_565_109_i64;
        let ulid = format!("{}ZZZZZZZZZZZZZZZZ", id_lower_bound("order", ms));
        assert!(ulids_sorted_by_time(&[(ulid.clone(), ms as f64)]));
        let later = (ms + 3_600_000) as f64;
        assert!(
            !ulids_sorted_by_time(&[(ulid.clone(), later)]),
            "an id made an hour before its created_at would be cut off by the bound"
        );
        let earlier = (ms - 3_600_000) as f64;
        assert!(ulids_sorted_by_time(&[(ulid.clone(), earlier)]));
        let uuid = "0b6f7c1e-8a3d-4d2b-9f5e-2c1a7b9e4d10".to_owned();
        assert!(!ulids_sorted_by_time(&[
            (ulid, ms as f64),
            (uuid, ms as f64)
        ]));
        assert!(!ulids_sorted_by_time(&[("42".to_owned(), ms as f64)]));
        assert!(!ulids_sorted_by_time(&[]));
    }
}
