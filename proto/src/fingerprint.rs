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
//! Behind the crate's `fingerprint` feature (it links libpg_query), so the
//! trace aggregator itself stays free of it: it is handed
//! [`statement`] as a plain function.

/// The fingerprint of `sql`, or `None` when it does not parse (a
/// truncated text, another dialect, `?` placeholders).
pub fn statement(sql: &str) -> Option<u64> {
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
        let started = std::time::Instant::now();
        for _ in 0..runs {
            assert!(statement(sql).is_some());
        }
        let each = started.elapsed().as_secs_f64() * 1e6 / f64::from(runs);
        eprintln!(
            "fingerprint of a {}-byte statement: {each:.1} µs each over {runs} runs",
            sql.len()
        );
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
