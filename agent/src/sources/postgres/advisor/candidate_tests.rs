//! Unit tests of `candidate`: the shapes one by one (the corpus of ORM
//! statements is `corpus_tests`).

use super::*;

fn candidates(sql: &str) -> Result<Vec<Candidate>, Unsupported> {
    examine(sql).map(|examined| examined.candidates)
}

fn one(sql: &str) -> Candidate {
    let found = candidates(sql).expect("supported");
    assert_eq!(found.len(), 1, "{sql}: {found:?}");
    found.into_iter().next().expect("one")
}

fn cols(candidate: &Candidate) -> Vec<&str> {
    candidate.columns.iter().map(String::as_str).collect()
}

#[test]
fn equality_on_an_unqualified_table() {
    let c = one("SELECT id, total FROM orders WHERE email = $1");
    assert_eq!((c.schema.as_deref(), c.table.as_str()), (None, "orders"));
    assert_eq!(cols(&c), ["email"]);
    assert_eq!((c.predicate.as_deref(), c.sorted), (None, 0));
}

#[test]
fn aliases_and_schema_qualified_tables_resolve() {
    let c = one("SELECT o.id FROM public.orders o WHERE o.customer_id = $1 AND o.status = 'x'");
    assert_eq!(
        (c.schema.as_deref(), c.table.as_str()),
        (Some("public"), "orders")
    );
    assert_eq!(cols(&c), ["customer_id", "status"]);
    let c = one("SELECT 1 FROM public.orders WHERE public.orders.region = $1");
    assert_eq!(cols(&c), ["region"]);
    let c = one("SELECT 1 FROM orders WHERE orders.region = $1");
    assert_eq!(cols(&c), ["region"]);
}

#[test]
fn in_and_any_are_equalities() {
    let c = one("SELECT * FROM cart WHERE region_id IN ($1, $2, $3) AND currency = ANY($4)");
    assert_eq!(cols(&c), ["region_id", "currency"]);
    let c = one("SELECT * FROM cart WHERE id = $1 OR id = $2");
    assert_eq!(cols(&c), ["id"]);
}

#[test]
fn the_range_comes_last_and_only_one() {
    let c =
        one("SELECT * FROM orders WHERE created_at > $1 AND updated_at < $2 AND customer_id = $3");
    assert_eq!(cols(&c), ["customer_id", "created_at"]);
    let c = one("SELECT * FROM orders WHERE total BETWEEN $1 AND $2 AND status = $3");
    assert_eq!(cols(&c), ["status", "total"]);
    let c = one("SELECT * FROM orders WHERE $1 <= total");
    assert_eq!(cols(&c), ["total"]);
}

#[test]
fn at_most_three_columns() {
    let c = one("SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3 AND d = $4 AND e > $5");
    assert_eq!(cols(&c), ["a", "b", "c"]);
}

#[test]
fn deleted_at_is_null_becomes_the_partial_predicate() {
    let c = one("SELECT p.id FROM product p WHERE p.handle = $1 AND p.deleted_at IS NULL LIMIT $2");
    assert_eq!(cols(&c), ["handle"]);
    assert_eq!(c.predicate.as_deref(), Some(SOFT_DELETE_PREDICATE));
    // The soft-delete test alone: no key, a reason.
    let examined = examine("SELECT * FROM product WHERE deleted_at IS NULL").expect("ok");
    assert!(examined.candidates.is_empty());
    assert_eq!(examined.unserved[0].code(), "no_usable_predicate");
    assert!(
        examined.unserved[0]
            .to_string()
            .contains("deleted_at IS NULL")
    );
    // Another IS NULL is an ordinary key.
    let c = one("SELECT * FROM product WHERE handle = $1 AND archived_at IS NULL");
    assert_eq!(cols(&c), ["handle", "archived_at"]);
    assert_eq!(c.predicate, None);
}

#[test]
fn value_sides_may_be_any_stable_expression() {
    for (sql, key) in [
        ("SELECT * FROM t WHERE code = $1 || $2", "code"),
        ("SELECT * FROM t WHERE email = lower($1)", "email"),
        ("SELECT * FROM t WHERE id = $1::text", "id"),
        (
            "SELECT * FROM t WHERE created_at > now() - $1::interval",
            "created_at",
        ),
        ("SELECT * FROM t WHERE day = current_date", "day"),
    ] {
        assert_eq!(cols(&one(sql)), [key], "{sql}");
    }
    let examined = examine("SELECT * FROM t WHERE id = (random() * $1)::int").expect("ok");
    assert!(examined.candidates.is_empty());
    assert!(
        examined.unserved[0].to_string().contains("random()"),
        "{:?}",
        examined.unserved
    );
}

#[test]
fn a_function_or_cast_of_the_column_gives_an_expression_key() {
    for (sql, key) in [
        ("SELECT * FROM c WHERE lower(c.email) = $1", "lower(email)"),
        (
            "SELECT * FROM p WHERE (metadata->>'sku') = $1",
            "(metadata ->> 'sku')",
        ),
        (
            "SELECT * FROM o WHERE date(o.created_at) = $1",
            "date(created_at)",
        ),
        ("SELECT * FROM o WHERE o.code::text = $1", "(code::text)"),
        (
            "SELECT * FROM u WHERE lower(\"Email\") = $1",
            "lower(\"Email\")",
        ),
    ] {
        assert_eq!(cols(&one(sql)), [key], "{sql}");
    }
}

#[test]
fn a_limited_sort_puts_the_sort_keys_after_the_equalities() {
    let c = one("SELECT * FROM orders WHERE store_id = $1 ORDER BY created_at DESC LIMIT $2");
    assert_eq!(cols(&c), ["store_id", "created_at DESC"]);
    assert_eq!(c.sorted, 1);
    // Without a LIMIT the sort is not the index's business.
    let c = one("SELECT * FROM orders WHERE store_id = $1 ORDER BY created_at DESC");
    assert_eq!((cols(&c), c.sorted), (vec!["store_id"], 0));
    // An IN list breaks the order: the filter wins.
    let c = one("SELECT * FROM orders WHERE store_id IN ($1, $2) ORDER BY created_at LIMIT 10");
    assert_eq!((cols(&c), c.sorted), (vec!["store_id"], 0));
    // A range on the sort key is served by it.
    let c = one(
        "SELECT * FROM orders WHERE store_id = $1 AND created_at < $2 ORDER BY created_at DESC LIMIT 5",
    );
    assert_eq!(cols(&c), ["store_id", "created_at DESC"]);
}

#[test]
fn like_prefixes_get_the_pattern_operator_class_and_the_rest_a_reason() {
    assert_eq!(
        cols(&one("SELECT * FROM p WHERE handle LIKE 'shirt%'")),
        ["handle text_pattern_ops"]
    );
    assert_eq!(
        cols(&one("SELECT * FROM p WHERE handle LIKE $1")),
        ["handle text_pattern_ops"]
    );
    for (sql, words) in [
        ("SELECT * FROM p WHERE email ILIKE $1", "ILIKE"),
        ("SELECT * FROM p WHERE handle LIKE '%shirt'", "wildcard"),
        ("SELECT * FROM p WHERE status <> $1", "<>"),
        ("SELECT * FROM p WHERE status NOT IN ($1, $2)", "NOT IN"),
        ("SELECT * FROM p WHERE tags @> $1", "@>"),
    ] {
        let examined = examine(sql).expect("ok");
        assert!(examined.candidates.is_empty(), "{sql}");
        let reason = examined.unserved[0].to_string();
        assert_eq!(examined.unserved[0].code(), "no_usable_predicate");
        assert!(reason.contains(words), "{sql}: {reason}");
    }
}

#[test]
fn an_or_it_cannot_express_skips_the_statement() {
    assert!(matches!(
        candidates("SELECT * FROM orders WHERE email = $1 OR phone = $2"),
        Err(Unsupported::Or(_))
    ));
    assert!(matches!(
        candidates("SELECT * FROM orders WHERE status = $1 AND (a = $2 OR b > $3)"),
        Err(Unsupported::Or(_))
    ));
}

#[test]
fn join_equalities_give_each_side_its_key_and_filters_stay() {
    let found = candidates(
        "SELECT * FROM orders o JOIN customer c ON c.id = o.customer_id \
         WHERE o.total > c.total AND c.email = $1",
    )
    .expect("supported");
    let shapes: Vec<(&str, Vec<&str>)> =
        found.iter().map(|c| (c.table.as_str(), cols(c))).collect();
    assert_eq!(
        shapes,
        [
            ("orders", vec!["customer_id"]),
            ("customer", vec!["email"]),
            ("customer", vec!["id"]),
        ]
    );
    // Unqualified columns are ambiguous with two tables: a reason each.
    let examined = examine("SELECT * FROM a, b WHERE a.id = b.id AND x = $1").expect("ok");
    assert_eq!(examined.candidates.len(), 2);
    assert!(examined.unserved.is_empty());
}

#[test]
fn only_plain_selects_are_examined() {
    for sql in [
        "UPDATE orders SET total = $1 WHERE id = $2",
        "DELETE FROM orders WHERE email = $1",
        "INSERT INTO orders (email) VALUES ($1)",
        "SELECT * FROM a WHERE x = $1 UNION SELECT * FROM b WHERE y = $2",
        "WITH w AS (SELECT * FROM a) SELECT * FROM w WHERE x = $1",
        "SELECT $1; SELECT $2",
    ] {
        let reason = candidates(sql).expect_err(sql);
        assert_eq!(reason.code(), "not_select", "{sql}");
    }
    assert_eq!(
        candidates("SELEC nonsense").expect_err("no parse").code(),
        "parse_error"
    );
    assert_eq!(
        candidates("SELECT 1").expect_err("no table"),
        Unsupported::NoTable
    );
}

#[test]
fn the_highest_parameter_is_counted() {
    let examined = examine("SELECT * FROM t WHERE a = $2 AND b IN ($1, $5)").expect("ok");
    assert_eq!(examined.params, 5);
    assert_eq!(examine("SELECT 1 FROM t").expect("ok").params, 0);
    // LIMIT and OFFSET parameters count too (a prepared statement needs them all).
    let examined =
        examine("SELECT * FROM t WHERE a = $1 ORDER BY b LIMIT $2 OFFSET $3").expect("ok");
    assert_eq!(examined.params, 3);
}

#[test]
fn a_soft_deleting_limited_sort_keeps_the_partial_predicate() {
    let c = one(
        "SELECT id, total FROM orders WHERE store_id = $1 AND deleted_at IS NULL \
         ORDER BY created_at DESC LIMIT $2",
    );
    assert_eq!(cols(&c), ["store_id", "created_at DESC"]);
    assert_eq!(c.predicate.as_deref(), Some(SOFT_DELETE_PREDICATE));
    assert_eq!(c.sorted, 1);
}
