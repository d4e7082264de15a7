//! How the agent recognises its own work on a PostgreSQL server it watches:
//! every session it opens is named [`APPLICATION_NAME`] (visible in
//! `pg_stat_activity`), and every statement it sends starts with the SQL
//! comment [`MARKER`] (visible in `pg_stat_statements`, which has no
//! application name).
//!
//! Why a comment rather than fingerprints of the agent's queries:
//! `pg_stat_statements` stores a statement's text as it was submitted, with
//! constants replaced by `$n` and comments kept, so a marker survives
//! normalisation for every kind of statement the agent sends, including
//! ones built at run time (the medusa source's schema-qualified counts, the
//! index advisor's `EXPLAIN` of an application's statement, its hypopg
//! calls, `BEGIN`/`SET`/`ROLLBACK`), which no fixed list of fingerprints can
//! cover. Its limits: an application statement whose text and role match
//! one of the agent's exactly shares its `pg_stat_statements` entry, and
//! the entry keeps the text of whichever ran first; and the marker must
//! lead each statement (so multi-statement strings are never sent).
//! Statements an extension runs inside one of the agent's calls are nested
//! and carry no marker: those the agent is known to cause
//! ([`EXTENSION_STATEMENTS`], hypopg's search for a free oid) are counted
//! as the agent's own by their exact text.
//! `tests/tests/observer_cost.rs` checks on a real server that each
//! top-level entry of the agent's role carries the marker.

/// `application_name` of every session the agent opens.
pub const APPLICATION_NAME: &str = "headroom-agent";

/// The comment every statement of the agent starts with. `own_sql!` spells
/// the same text for literals; a test keeps the two equal.
pub const MARKER: &str = "/* headroom-agent */";

/// Statements that extensions the agent calls run inside its statements
/// (nested, so without the marker), as `pg_stat_statements` normalises
/// them: hypopg looks for a free oid when it creates a hypothetical index.
pub const EXTENSION_STATEMENTS: [&str; 1] =
    ["SELECT max(oid) FROM pg_catalog.pg_class WHERE oid < $1"];

/// A SQL literal with [`MARKER`] in front (for `const` queries).
macro_rules! own_sql {
    ($sql:expr) => {
        concat!("/* headroom-agent */ ", $sql)
    };
}
pub(crate) use own_sql;

/// A statement built at run time, with [`MARKER`] in front.
pub fn mark(sql: &str) -> String {
    format!("{MARKER} {sql}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_macro_and_the_function_spell_the_same_marker() {
        assert_eq!(own_sql!("SELECT 1"), mark("SELECT 1"));
        assert!(own_sql!("SELECT 1").starts_with(MARKER));
    }
}
