//! Inventory levels whose reserved quantity exceeds the stocked one, read
//! by a rolling scan: no index can serve a comparison of two columns, so
//! each scrape reads the next [`CHUNK_BLOCKS`] heap blocks of
//! `inventory_level` (a TID range scan, PostgreSQL 14+) and the totals are
//! published when a pass over the whole table completes. The cost per
//! scrape is bounded by the chunk, whatever the table's size; the price is
//! freshness: a table of `B` blocks is fully read every `B / CHUNK_BLOCKS`
//! scrapes (10⁶ levels, about 13,000 blocks: about 3.5 hours at one
//! scrape a minute), and a level moved by an update during a pass may be counted
//! twice or missed. The gauges repeat the last complete pass's totals.
//! Before PostgreSQL 14 a ctid range is no index, so only a table of at
//! most one chunk is read (whole, every scrape); a larger one is not.

use crate::sources::postgres::own::own_sql;

/// Heap blocks read per scrape (8 KiB each: 512 KiB; about 3 ms when
/// none is cached, on the 2-core test machine).
pub const CHUNK_BLOCKS: i64 = 64;
/// First server version with TID range scans.
pub const TID_RANGE_VERSION: i32 = 140_000;

/// Oversold levels among the tuples `[$1, $2)` (tids as text, see [`tid`]).
pub const Q_CHUNK: &str = own_sql!(
    "SELECT count(*)::float8, coalesce(sum(reserved_quantity - stocked_quantity), 0)::float8 \
     FROM inventory_level WHERE ctid >= $1::text::tid AND ctid < $2::text::tid \
     AND deleted_at IS NULL AND reserved_quantity > stocked_quantity"
);

/// The first tuple of `block`, as text for a `::tid` cast.
pub fn tid(block: i64) -> String {
    format!("({block},0)")
}

/// The rolling scan's position and totals.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Rolling {
    next_block: i64,
    levels: f64,
    units: f64,
    /// (levels, units) of the last complete pass.
    last: Option<(f64, f64)>,
}

impl Rolling {
    /// The blocks to read next, `[from, to)`, for a table of `blocks`
    /// blocks on a server of `version`; `None` when nothing can be read
    /// boundedly.
    pub fn next_range(&mut self, blocks: i64, version: i32) -> Option<(i64, i64)> {
        if version < TID_RANGE_VERSION && blocks > CHUNK_BLOCKS {
            return None;
        }
        if self.next_block >= blocks {
            // The table shrank (or is empty): start a pass over.
            self.next_block = 0;
        }
        let to = if version < TID_RANGE_VERSION {
            blocks.max(1)
        } else {
            (self.next_block + CHUNK_BLOCKS).min(blocks.max(1))
        };
        Some((self.next_block, to))
    }

    /// Adds a chunk's totals; a pass completes when `to` reached the end.
    pub fn add(&mut self, to: i64, blocks: i64, levels: f64, units: f64) {
        self.levels += levels;
        self.units += units;
        if to >= blocks {
            self.last = Some((self.levels, self.units));
            self.levels = 0.0;
            self.units = 0.0;
            self.next_block = 0;
        } else {
            self.next_block = to;
        }
    }

    /// (levels, units) of the last complete pass.
    pub fn last(&self) -> Option<(f64, f64)> {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pass_covers_every_block_once_and_publishes_at_its_end() {
        let mut rolling = Rolling::default();
        let blocks = CHUNK_BLOCKS * 2 + 10;
        let mut ranges = Vec::new();
        for _ in 0..3 {
            let (from, to) = rolling.next_range(blocks, 150_000).unwrap();
            ranges.push((from, to));
            assert_eq!(rolling.last(), None, "no total before a pass ends");
            rolling.add(to, blocks, 1.0, 2.0);
        }
        assert_eq!(
            ranges,
            vec![
                (0, CHUNK_BLOCKS),
                (CHUNK_BLOCKS, CHUNK_BLOCKS * 2),
                (CHUNK_BLOCKS * 2, blocks)
            ]
        );
        assert_eq!(rolling.last(), Some((3.0, 6.0)));
        assert_eq!(rolling.next_range(blocks, 150_000), Some((0, CHUNK_BLOCKS)));
    }

    #[test]
    fn a_small_table_is_read_whole_every_scrape_and_an_empty_one_reads_nothing() {
        let mut rolling = Rolling::default();
        let (from, to) = rolling.next_range(3, 150_000).unwrap();
        rolling.add(to, 3, 2.0, 5.0);
        assert_eq!((from, to), (0, 3));
        assert_eq!(rolling.last(), Some((2.0, 5.0)));
        let (_, to) = rolling.next_range(0, 150_000).unwrap();
        rolling.add(to, 0, 0.0, 0.0);
        assert_eq!(rolling.last(), Some((0.0, 0.0)));
    }

    #[test]
    fn before_tid_range_scans_only_a_small_table_is_read() {
        let mut rolling = Rolling::default();
        assert_eq!(rolling.next_range(CHUNK_BLOCKS + 1, 130_000), None);
        assert_eq!(
            rolling.next_range(CHUNK_BLOCKS, 130_000),
            Some((0, CHUNK_BLOCKS))
        );
    }
}
