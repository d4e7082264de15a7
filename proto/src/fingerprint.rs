//! Statement fingerprints, the one place both sides of the join are made:
//! the agent fingerprints each `pg_stat_statements` text (`$n` placeholders)
//! and the OTLP receivers (agent and collector) each span's `db.statement`
//! (literals inlined), and the two meet because both are PostgreSQL's own
//! parse tree hashed by `pg_query` without constants, parameter values,
//! comments, whitespace or the length of `IN (…)` lists.
//!
//! What is kept is 64 bits of that hash: no text, no value. Relation names
//! count without their schema (`public.cart` and `cart` meet) and with runs
//! of two or more digits ignored (partitions `order_2025_01`, `_02` meet),
//! as pg_query's defaults for PostgreSQL 18 have it.
//!
//! Parsing is the cost (see BENCHMARKS.md), so a fingerprint is
//! remembered by the text's shape: a keyed hash of the text with its
//! string and number literals blanked, never the text itself.
//!
//! Behind the crate's `fingerprint` feature (it links libpg_query), so the
//! trace aggregator itself stays free of it: it is handed
//! [`statement`] as a plain function.

/// The fingerprint of `sql`, or `None` when it does not parse (a
/// truncated text, another dialect, `?` placeholders). Remembered by the
/// shape of the text (see [`shape`]): a store runs the same few hundred
/// statements with different values, and parsing costs far more than
/// scanning.
pub fn statement(sql: &str) -> Option<u64> {
    let Some(key) = shape(sql) else {
        return parse(sql);
    };
    if let Some(known) = CACHE
        .lock()
        .ok()
        .and_then(|cache| cache.as_ref()?.get(&key).copied())
    {
        return known;
    }
    let fingerprint = parse(sql);
    if let Ok(mut cache) = CACHE.lock() {
        let cache = cache.get_or_insert_with(HashMap::new);
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, fingerprint);
    }
    fingerprint
}

/// Shapes remembered, process-wide (16 bytes each); when full, the cache
/// starts again.
pub const CACHE_ENTRIES: usize = 8_192;

/// Shape → fingerprint. Keys are hashes: no text is held.
static CACHE: Mutex<Option<HashMap<u64, Option<u64>>>> = Mutex::new(None);

/// The keys' hash, randomly keyed once per process.
static SHAPE_HASH: OnceLock<RandomState> = OnceLock::new();

fn parse(sql: &str) -> Option<u64> {
    if sql.trim().is_empty() {
        return None;
    }
    pg_query::fingerprint(
        sql,
        pg_query::ParserOptions::DEFAULT,
        pg_query::FingerprintOptions::DEFAULT,
    )
    .ok()
    .map(|fingerprint| fingerprint.value)
}

/// A keyed hash of `sql` with every string and number literal blanked:
/// two texts with one shape differ only in their values, so they have one
/// fingerprint. `None` (not cached) for texts a plain scan could misread:
/// comments and dollar quoting.
fn shape(sql: &str) -> Option<u64> {
    let bytes = sql.as_bytes();
    if sql.contains("--") || sql.contains("/*") || dollar_quoted(bytes) {
        return None;
    }
    let mut hasher = SHAPE_HASH.get_or_init(RandomState::new).build_hasher();
    let identifier = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$';
    let (mut i, mut kept) = (0, 0);
    while i < bytes.len() {
        let b = bytes[i];
        let end = if b == b'\'' {
            // `E'…'` (not `ELSE'…'`) takes backslash escapes.
            let escapes = i > 0
                && matches!(bytes[i - 1], b'E' | b'e')
                && (i < 2 || !identifier(bytes[i - 2]));
            Some(quoted_end(bytes, i, b'\'', escapes))
        } else if b == b'"' {
            i = quoted_end(bytes, i, b'"', false);
            continue;
        } else if b.is_ascii_digit() && (i == 0 || !identifier(bytes[i - 1])) {
            let mut j = i;
            while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
                j += 1;
            }
            Some(j)
        } else {
            None
        };
        match end {
            Some(end) => {
                hasher.write(&bytes[kept..i]);
                hasher.write_u8(0);
                (i, kept) = (end, end);
            }
            None => i += 1,
        }
    }
    hasher.write(&bytes[kept..]);
    Some(hasher.finish())
}

/// Where the literal opened by `quote` at `start` ends (after its closing
/// quote; a doubled quote is part of it, and so is a backslash-escaped one
/// when `escapes`), or the text's end.
fn quoted_end(bytes: &[u8], start: usize, quote: u8, escapes: bool) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if escapes && bytes[i] == b'\\' {
            i += 2;
        } else if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Whether `$` opens a dollar-quoted string (`$$`, `$tag$`) rather than a
/// parameter (`$1`).
fn dollar_quoted(bytes: &[u8]) -> bool {
    bytes.windows(2).any(|pair| {
        pair[0] == b'$' && (pair[1] == b'$' || pair[1].is_ascii_alphabetic() || pair[1] == b'_')
    })
}

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::{Mutex, OnceLock};

pub use crate::otlp::statements::hex;

#[cfg(test)]
mod tests {
    use super::*;

    fn same(span: &str, normalised: &str) {
        let (a, b) = (statement(span), statement(normalised));
        assert!(a.is_some(), "does not parse: {span}");
        assert_eq!(a, b, "\n{span}\n{normalised}");
    }

    #[test]
    fn the_hex_is_pg_querys_own() {
        let sql = "SELECT * FROM contacts WHERE name='Paul'";
        let own = pg_query::fingerprint(sql, 0, 0).expect("parses");
        assert_eq!(statement(sql).map(hex), Some(own.hex));
    }

    #[test]
    fn a_mikroorm_statement_with_literals_meets_its_pg_stat_statements_form() {
        // As Medusa's `pg.query:SELECT` span carries it, then as
        // pg_stat_statements normalises the same statement.
        same(
            "select \"c0\".\"id\", \"c0\".\"email\", \"c0\".\"currency_code\" from \"public\".\"cart\" as \"c0\" \
             where \"c0\".\"deleted_at\" is null and \"c0\".\"id\" = 'cart_01JDX4ZQ6Y3RKFQZ' \
             and \"c0\".\"email\" = 'jane@example.com' order by \"c0\".\"created_at\" asc limit 1",
            "select \"c0\".\"id\", \"c0\".\"email\", \"c0\".\"currency_code\" from \"public\".\"cart\" as \"c0\" \
             where \"c0\".\"deleted_at\" is null and \"c0\".\"id\" = $1 \
             and \"c0\".\"email\" = $2 order by \"c0\".\"created_at\" asc limit $3",
        );
    }

    #[test]
    fn in_lists_meet_whatever_their_length_and_form() {
        same(
            "select * from \"line_item\" as \"l0\" where \"l0\".\"cart_id\" in ('a', 'b', 'c')",
            "select * from \"line_item\" as \"l0\" where \"l0\".\"cart_id\" in ($1, $2, $3, $4)",
        );
        same(
            "select * from line_item where cart_id in (1, 2, 3)",
            "select * from line_item where cart_id = any($1)",
        );
    }

    #[test]
    fn casts_comments_whitespace_and_schema_do_not_matter() {
        same(
            "/* mikro-orm */ SELECT id FROM public.product_variant\n  WHERE sku = 'A-1'::text AND deleted_at IS NULL -- sku",
            "SELECT id FROM product_variant WHERE sku = $1::text AND deleted_at IS NULL",
        );
        same(
            "insert into \"cart\" (\"id\", \"email\") values ('cart_1', 'a@b.c') returning \"id\"",
            "insert into \"cart\" (\"id\", \"email\") values ($1, $2) returning \"id\"",
        );
        same(
            "update \"cart\" set \"email\" = 'x@y.z', \"updated_at\" = '2026-12-02T05:00:00.000Z' where \"id\" = 'cart_1'",
            "update \"cart\" set \"email\" = $1, \"updated_at\" = $2 where \"id\" = $3",
        );
    }

    #[test]
    fn different_statements_differ() {
        let a = statement("SELECT * FROM cart WHERE id = $1");
        for other in [
            "SELECT * FROM cart WHERE email = $1",
            "SELECT * FROM line_item WHERE id = $1",
            "SELECT id FROM cart WHERE id = $1",
            "SELECT * FROM cart WHERE id = $1 AND deleted_at IS NULL",
        ] {
            assert_ne!(a, statement(other), "{other}");
        }
    }

    /// Not a check: prints what fingerprinting one Medusa-sized statement
    /// costs (`cargo test -p headroom-proto --features fingerprint --
    /// --ignored --nocapture prints_the_cost`).
    #[test]
    #[ignore]
    fn prints_the_cost_of_fingerprinting_a_span_statement() {
        let sql = "select \"c0\".\"id\", \"c0\".\"email\", \"c0\".\"currency_code\", \"c0\".\"region_id\", \
                   \"c0\".\"customer_id\", \"c0\".\"sales_channel_id\", \"c0\".\"metadata\", \"c0\".\"completed_at\", \
                   \"c0\".\"created_at\", \"c0\".\"updated_at\", \"c0\".\"deleted_at\" from \"public\".\"cart\" as \"c0\" \
                   left join \"public\".\"line_item\" as \"l1\" on \"c0\".\"id\" = \"l1\".\"cart_id\" and \"l1\".\"deleted_at\" is null \
                   where \"c0\".\"deleted_at\" is null and \"c0\".\"id\" in ('cart_01JDX4ZQ6Y3RKFQZ', 'cart_01JDX4ZQ6Y3RKFQA') \
                   order by \"c0\".\"created_at\" asc limit 15";
        let runs = 20_000;
        let time = |f: &dyn Fn() -> Option<u64>| {
            let started = std::time::Instant::now();
            for _ in 0..runs {
                assert!(f().is_some());
            }
            started.elapsed().as_secs_f64() * 1e6 / f64::from(runs)
        };
        let parsed = time(&|| parse(sql));
        let remembered = time(&|| statement(sql));
        eprintln!(
            "fingerprint of a {}-byte statement over {runs} runs: parsed {parsed:.1} µs each, \
             remembered by shape {remembered:.1} µs each",
            sql.len()
        );
    }

    #[test]
    fn a_remembered_shape_gives_what_parsing_gives() {
        let texts = [
            "select * from cart where id = 'cart_1' and total > 10.5",
            "select * from cart where id = 'it''s' and total > 2",
            "select * from cart where id = E'it\\'s' and total > 3",
            "select * from \"cart 2\" where \"id\" = 'x'",
            "select * from cart2 where id = $1",
            "select * from cart where id = $tag$x$tag$",
            "select * from cart -- 'comment\n where id = 'a'",
            "select * from cart where id = 'unterminated",
        ];
        for _ in 0..2 {
            for text in texts {
                assert_eq!(statement(text), parse(text), "{text}");
            }
        }
        assert_eq!(
            shape("select 1 from t where a = 'x' and b = 2"),
            shape("select 7 from t where a = 'yy' and b = 30")
        );
        assert_ne!(
            shape("select * from t where a = 'x'"),
            shape("select * from t where b = 'x'")
        );
        assert_ne!(shape("select * from t1"), shape("select * from t2"));
        assert_eq!(shape("select * from t where a = $$x$$"), None);
        assert_eq!(shape("select 1 /* c */"), None);
    }

    #[test]
    fn what_does_not_parse_has_no_fingerprint() {
        assert_eq!(statement("select * from cart where id = ?"), None);
        assert_eq!(
            statement("select * from cart where id = 'cut at 4096 by"),
            None
        );
        assert_eq!(statement("  "), None);
    }
}
