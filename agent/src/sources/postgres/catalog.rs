//! When the postgres source reads the catalog-wide statistics: its tables
//! and indexes (`tables`) and the database's size. These cost the most of a
//! scrape on a wide schema — `pg_table_size`, `pg_indexes_size` and
//! `pg_database_size` `stat` every file of every relation, and
//! `pg_get_indexdef` deparses every index — while they change slowly. So
//! they are read at the first scrape, then at most every
//! `catalog_interval`, and at once when the set of relations changes.
//!
//! A change is found in two steps, so that a scrape without DDL costs two
//! counter reads: every scrape reads the rows inserted into and deleted
//! from `pg_class` (its `pg_stat` counters: any CREATE or DROP moves them,
//! as do temporary tables, an ANALYZE does not); when they moved, the
//! version of the set of relations (`Q_VERSION`: the count and the sum of
//! the oids of the database's tables and indexes, temporary ones aside) is
//! read, and a new version reads the catalog. PostgreSQL publishes those
//! counters when the session that ran the DDL ends its transaction (within
//! about 10 s when it then idles), so a new or dropped index is seen
//! within a scrape or two. Between reads, the index advisor works on the
//! tables and indexes held here, and the scrape sends none: the collector
//! keeps the last ones (its staleness horizon, `stale_after`, 10 minutes
//! by default, must stay longer than `catalog_interval`).

use headroom_proto::v1;

use super::own::own_sql;
use super::tables::Reading;

/// The version of the database's set of relations.
pub const Q_VERSION: &str = own_sql!(
    "SELECT count(*)::int8, coalesce(sum(oid::int8), 0)::int8 FROM pg_class \
     WHERE relkind IN ('r', 'p', 'i', 'I', 'm') AND relpersistence <> 't'"
);

/// The size of the connected database (every file of it is `stat`ed).
pub const Q_DATABASE_SIZE: &str = own_sql!("SELECT pg_database_size(current_database())::float8");

/// The set of relations as the version read saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Tables, partitioned tables, materialized views and indexes.
    pub relations: i64,
    /// The sum of their oids: a drop and a create in one interval move it.
    pub oid_sum: i64,
}

/// What the last catalog read found.
#[derive(Debug)]
struct Held {
    read_ms: i64,
    version: Version,
    reading: Reading,
}

/// The schedule and the last reading.
#[derive(Debug)]
pub struct Catalog {
    interval_ms: i64,
    held: Option<Held>,
    /// `pg_class`'s inserted + deleted rows at the last scrape.
    churn: Option<i64>,
}

impl Catalog {
    /// Nothing read yet; reads at most every `interval_ms` once read.
    pub fn new(interval_ms: i64) -> Self {
        Self {
            interval_ms,
            held: None,
            churn: None,
        }
    }

    /// Notes `pg_class`'s churn of this scrape; whether the version must
    /// be read (nothing held yet, or the churn moved).
    pub fn churned(&mut self, churn: i64) -> bool {
        let moved = self.held.is_none() || self.churn != Some(churn);
        self.churn = Some(churn);
        moved
    }

    /// Whether this scrape must read the catalog (pure): nothing is held,
    /// the version read (if it was) differs, or `catalog_interval` has
    /// passed.
    pub fn due(&self, version: Option<Version>, now_ms: i64) -> bool {
        self.held.as_ref().is_none_or(|held| {
            version.is_some_and(|version| version != held.version)
                || now_ms.saturating_sub(held.read_ms) >= self.interval_ms
        })
    }

    /// Keeps a new reading, with the version read now or else the held one.
    pub fn store(&mut self, now_ms: i64, version: Option<Version>, reading: Reading) {
        let version = version
            .or(self.held.as_ref().map(|held| held.version))
            .unwrap_or(Version {
                relations: -1,
                oid_sum: -1,
            });
        self.held = Some(Held {
            read_ms: now_ms,
            version,
            reading,
        });
    }

    /// The tables and indexes last read (empty before the first read).
    pub fn held(&self) -> (&[v1::PgTable], &[v1::PgIndex]) {
        self.held.as_ref().map_or((&[], &[]), |held| {
            (&held.reading.tables[..], &held.reading.indexes[..])
        })
    }

    /// Forgets the reading (a new session may be another server).
    pub fn forget(&mut self) {
        self.held = None;
        self.churn = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: Version = Version {
        relations: 10,
        oid_sum: 1_000,
    };

    fn reading(table: &str) -> Reading {
        Reading {
            tables: vec![v1::PgTable {
                table: table.into(),
                ..v1::PgTable::default()
            }],
            ..Reading::default()
        }
    }

    #[test]
    fn reads_at_first_then_only_when_the_interval_passed() {
        let mut catalog = Catalog::new(300_000);
        assert!(catalog.churned(7), "nothing held: read the version");
        assert!(catalog.due(Some(V1), 0));
        catalog.store(0, Some(V1), reading("cart"));
        assert!(!catalog.churned(7), "no DDL: no version read");
        assert!(!catalog.due(None, 15_000));
        assert!(!catalog.due(None, 299_999));
        assert!(catalog.due(None, 300_000));
        assert_eq!(catalog.held().0[0].table, "cart");
    }

    #[test]
    fn a_created_or_dropped_relation_reads_at_once() {
        let mut catalog = Catalog::new(300_000);
        catalog.churned(7);
        catalog.store(0, Some(V1), reading("cart"));
        assert!(catalog.churned(8), "pg_class moved: read the version");
        let created = Version {
            relations: 11,
            oid_sum: 1_500,
        };
        assert!(catalog.due(Some(created), 15_000));
        // One dropped and another created: the count is the same, the sum is not.
        let swapped = Version {
            relations: 10,
            oid_sum: 1_200,
        };
        assert!(catalog.due(Some(swapped), 15_000));
        // A temporary table came and went: pg_class moved, the version did not.
        assert!(!catalog.due(Some(V1), 15_000));
    }

    #[test]
    fn a_periodic_read_keeps_the_version_it_had() {
        let mut catalog = Catalog::new(300_000);
        catalog.churned(7);
        catalog.store(0, Some(V1), reading("cart"));
        catalog.store(300_000, None, reading("order"));
        assert!(!catalog.due(Some(V1), 315_000));
        assert_eq!(catalog.held().0[0].table, "order");
    }

    #[test]
    fn a_forgotten_reading_is_read_again_and_holds_nothing() {
        let mut catalog = Catalog::new(300_000);
        catalog.churned(7);
        catalog.store(0, Some(V1), reading("cart"));
        catalog.forget();
        assert!(catalog.churned(7));
        assert!(catalog.due(None, 1));
        assert!(catalog.held().0.is_empty());
    }
}
