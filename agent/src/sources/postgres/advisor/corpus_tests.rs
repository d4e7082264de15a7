//! The corpus: statements as `pg_stat_statements` normalises them (`$n`
//! for every constant), in the shapes MikroORM (Medusa), Prisma, TypeORM,
//! Sequelize, Django, Rails and hand-written SQL emit, each with the exact
//! DDL expected (an unqualified table rendered in `public`) or none, and
//! the reason code of each table left without a candidate (or of the whole
//! statement). Every DDL produced must parse back with `pg_query` to the
//! same keys, and its name must fit in 63 bytes. `tests/tests/index_corpus.rs`
//! runs a subset of [`CORPUS`] against a real PostgreSQL with hypopg.

use super::candidate::{self, Candidate, examine};
use super::keys::{IndexShape, MAX_IDENTIFIER_BYTES, index_name};

include!("corpus_data.rs");

/// The DDL of a parse-level candidate (an unqualified table in `public`).
pub fn ddl(candidate: &Candidate) -> String {
    candidate::definition(
        candidate.schema.as_deref().unwrap_or("public"),
        &candidate.table,
        &candidate.columns,
        candidate.predicate.as_deref().unwrap_or(""),
    )
}

/// What the parse level makes of `sql`: the DDL and the reason codes.
pub fn outcome(sql: &str) -> (Vec<String>, Vec<&'static str>) {
    match examine(sql) {
        Ok(examined) => (
            examined.candidates.iter().map(ddl).collect(),
            examined.unserved.iter().map(|u| u.code()).collect(),
        ),
        Err(reason) => (Vec::new(), vec![reason.code()]),
    }
}

#[test]
fn the_corpus_is_large_and_covers_every_origin() {
    assert!(CORPUS.len() >= 60, "{}", CORPUS.len());
    for origin in [
        "mikroorm",
        "prisma",
        "typeorm",
        "sequelize",
        "django",
        "rails",
        "sql",
        "bad",
    ] {
        assert!(
            CORPUS.iter().filter(|c| c.origin == origin).count() >= 5,
            "{origin}"
        );
    }
}

#[test]
fn every_corpus_statement_gives_its_expected_ddl_or_reason() {
    let mut wrong = Vec::new();
    for case in CORPUS {
        let (ddl, reasons) = outcome(case.sql);
        if ddl != case.ddl || reasons != case.reasons {
            wrong.push(format!(
                "{} {}\n  expected {:?} {:?}\n  got      {:?} {:?}",
                case.origin, case.sql, case.ddl, case.reasons, ddl, reasons
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_statement_gives_candidates_or_reasons_never_neither() {
    for case in CORPUS {
        let (ddl, reasons) = outcome(case.sql);
        assert!(!ddl.is_empty() || !reasons.is_empty(), "{}", case.sql);
    }
}

#[test]
fn every_ddl_parses_back_to_its_keys_with_a_name_that_fits() {
    for case in CORPUS {
        let Ok(examined) = examine(case.sql) else {
            continue;
        };
        for candidate in &examined.candidates {
            let ddl = ddl(candidate);
            let shape = IndexShape::parse(&ddl).unwrap_or_else(|| panic!("{ddl}"));
            assert_eq!(shape.rendered_keys(), candidate.columns, "{ddl}");
            assert_eq!(
                shape.predicate,
                candidate.predicate.clone().unwrap_or_default(),
                "{ddl}"
            );
            let name = index_name(&candidate.table, &candidate.columns);
            assert!(name.len() <= MAX_IDENTIFIER_BYTES, "{name}");
        }
    }
}

#[test]
fn reasons_name_what_was_seen_in_a_full_sentence() {
    let examined = examine(
        r#"select "p0".* from "product" as "p0" where "p0"."title" ilike $1 and "p0"."deleted_at" is null"#,
    )
    .expect("examined");
    let reason = examined.unserved[0].to_string();
    assert!(
        reason.starts_with("No index candidate for `product`: "),
        "{reason}"
    );
    assert!(
        reason.contains("`title` is compared with `ILIKE`, which a btree cannot serve"),
        "{reason}"
    );
    assert!(reason.ends_with('.'), "{reason}");
}

#[test]
fn arbitrary_text_never_panics() {
    for sql in [
        "",
        ";",
        "SELECT",
        "SELECT * FROM",
        "SELECT * FROM t WHERE a = ANY(ARRAY[$1, $2])",
        "SELECT * FROM t WHERE (a, b) = ($1, $2)",
        "SELECT * FROM t WHERE a[1] = $1",
        "SELECT * FROM t WHERE (t.data).field = $1",
        "SELECT * FROM t WHERE CASE WHEN a THEN b END = $1",
        "SELECT * FROM t WHERE a = $1 COLLATE \"C\"",
        "SELECT * FROM t WHERE coalesce(a, b) = $1",
        "SELECT * FROM t WHERE NOT (a = $1)",
        "SELECT * FROM t WHERE a IS TRUE AND b IS NOT TRUE",
        "SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE u.t_id = t.id)",
        "SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.t_id = t.id) x WHERE t.a = $1",
        "SELECT * FROM ONLY t WHERE a = $1 ORDER BY 1 LIMIT 1",
        "SELECT * FROM t WHERE a = $1 ORDER BY b USING < LIMIT 1",
        "SELECT * FROM t WHERE a = $1 ORDER BY lower(b), c DESC LIMIT 1",
        "SELECT * FROM t WHERE a = $1 ORDER BY random() LIMIT 1",
        "SELECT * FROM t WHERE a = $1 FETCH FIRST 3 ROWS ONLY",
        "SELECT * FROM generate_series(1, 10) g WHERE g > $1",
        "\u{0}",
    ] {
        let (ddl, reasons) = outcome(sql);
        assert!(!ddl.is_empty() || !reasons.is_empty(), "{sql:?}");
        for d in &ddl {
            assert!(IndexShape::parse(d).is_some(), "{d}");
        }
    }
}
