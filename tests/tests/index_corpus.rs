//! Corpus cases against a real PostgreSQL: for each, a private cluster
//! database gets a table of at least 50,000 rows shaped like the ORM's,
//! the planner is asked about the statement (with literal values, as
//! PostgreSQL 15 has no `EXPLAIN (GENERIC_PLAN)`) before anything, then
//! with hypopg's hypothetical index built from the same key elements, then
//! after the DDL itself is applied: both plans must use the index. The DDL
//! is the corpus's (`agent/src/sources/postgres/advisor/corpus_data.rs`),
//! which the agent's unit tests assert its code produces exactly. Prints,
//! per case, the DDL and the plan's total cost before and after.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use headroom_tests::pgcluster::PgCluster;
use serde_json::Value;
use tokio_postgres::{Client, SimpleQueryMessage};

include!("../../agent/src/sources/postgres/advisor/corpus_data.rs");

/// One real case: the corpus statement, its literal form, and the table.
struct Real {
    sql: &'static str,
    literal: &'static str,
    setup: &'static str,
}

const REAL: &[Real] = &[
    Real {
        sql: r#"select "p0".* from "product" as "p0" where "p0"."handle" = $1 and "p0"."deleted_at" is null limit $2"#,
        literal: r#"select "p0".* from "product" as "p0" where "p0"."handle" = 'handle-4242' and "p0"."deleted_at" is null limit 1"#,
        setup: "CREATE TABLE product (id text PRIMARY KEY, handle text NOT NULL, status text, created_at timestamptz, collection_id text, deleted_at timestamptz); \
                INSERT INTO product SELECT 'prod_' || i, 'handle-' || i, 'published', now() - i * interval '1 minute', 'pcol_' || (i % 100), CASE WHEN i % 10 = 0 THEN now() END FROM generate_series(1, 60000) i;",
    },
    Real {
        sql: r#"select "c0".* from "customer" as "c0" where lower("c0"."email") = lower($1) and "c0"."deleted_at" is null limit $2"#,
        literal: r#"select "c0".* from "customer" as "c0" where lower("c0"."email") = lower('Customer4242@Example.org') and "c0"."deleted_at" is null limit 1"#,
        setup: "CREATE TABLE customer (id text PRIMARY KEY, email text NOT NULL, deleted_at timestamptz); \
                INSERT INTO customer SELECT 'cus_' || i, 'Customer' || i || '@Example.org', NULL FROM generate_series(1, 60000) i;",
    },
    Real {
        sql: r#"select "o0".* from "order" as "o0" where "o0"."customer_id" = $1 and "o0"."deleted_at" is null order by "o0"."created_at" desc limit $2 offset $3"#,
        literal: r#"select "o0".* from "order" as "o0" where "o0"."customer_id" = 'cus_42' and "o0"."deleted_at" is null order by "o0"."created_at" desc limit 10 offset 0"#,
        setup: "CREATE TABLE \"order\" (id text PRIMARY KEY, customer_id text NOT NULL, total numeric, created_at timestamptz NOT NULL, deleted_at timestamptz); \
                INSERT INTO \"order\" SELECT 'order_' || i, 'cus_' || (i % 5000), i % 300, now() - i * interval '1 minute', NULL FROM generate_series(1, 60000) i;",
    },
    Real {
        sql: r#"SELECT "public"."User"."id", "public"."User"."email" FROM "public"."User" WHERE "public"."User"."email" = $1 LIMIT $2 OFFSET $3"#,
        literal: r#"SELECT "public"."User"."id", "public"."User"."email" FROM "public"."User" WHERE "public"."User"."email" = 'user4242@example.org' LIMIT 1 OFFSET 0"#,
        setup: "CREATE TABLE \"User\" (id serial PRIMARY KEY, email text NOT NULL, name text); \
                INSERT INTO \"User\" (email, name) SELECT 'user' || i || '@example.org', 'User ' || i FROM generate_series(1, 60000) i;",
    },
    Real {
        sql: r#"SELECT "public"."Post"."id" FROM "public"."Post" WHERE ("public"."Post"."authorId" = $1 AND "public"."Post"."published" = $2) ORDER BY "public"."Post"."createdAt" DESC LIMIT $3 OFFSET $4"#,
        literal: r#"SELECT "public"."Post"."id" FROM "public"."Post" WHERE ("public"."Post"."authorId" = 42 AND "public"."Post"."published" = true) ORDER BY "public"."Post"."createdAt" DESC LIMIT 20 OFFSET 0"#,
        setup: "CREATE TABLE \"Post\" (id serial PRIMARY KEY, \"authorId\" int NOT NULL, published boolean NOT NULL, \"createdAt\" timestamp NOT NULL); \
                INSERT INTO \"Post\" (\"authorId\", published, \"createdAt\") SELECT i % 2000, i % 3 <> 0, now() - i * interval '1 minute' FROM generate_series(1, 60000) i;",
    },
    Real {
        sql: r#"SELECT "shop_order"."id" FROM "shop_order" WHERE UPPER("shop_order"."reference"::text) = UPPER($1)"#,
        literal: r#"SELECT "shop_order"."id" FROM "shop_order" WHERE UPPER("shop_order"."reference"::text) = UPPER('ref-4242')"#,
        setup: "CREATE TABLE shop_order (id serial PRIMARY KEY, reference varchar(40) NOT NULL, customer_id int, created timestamptz, shipped_at timestamptz); \
                INSERT INTO shop_order (reference, customer_id, created, shipped_at) SELECT 'REF-' || i, i % 3000, now() - i * interval '1 minute', now() FROM generate_series(1, 60000) i;",
    },
    Real {
        sql: r#"SELECT "shop_product"."id" FROM "shop_product" WHERE "shop_product"."slug"::text LIKE $1"#,
        literal: r#"SELECT "shop_product"."id" FROM "shop_product" WHERE "shop_product"."slug"::text LIKE 'slug-4242%'"#,
        setup: "CREATE TABLE shop_product (id serial PRIMARY KEY, slug varchar(80) NOT NULL, category_id int); \
                INSERT INTO shop_product (slug, category_id) SELECT 'slug-' || i, i % 50 FROM generate_series(1, 60000) i;",
    },
    Real {
        sql: "SELECT * FROM orders WHERE code = $1 || $2",
        literal: "SELECT * FROM orders WHERE code = 'A-' || '4242'",
        setup: "CREATE TABLE orders (id serial PRIMARY KEY, code text NOT NULL, email text, store_id int, created_at timestamptz, total numeric); \
                INSERT INTO orders (code, email, store_id, created_at, total) SELECT 'A-' || i, 'o' || i || '@example.org', i % 500, now() - i * interval '1 minute', i % 100 FROM generate_series(1, 60000) i;",
    },
    Real {
        sql: "SELECT * FROM orders WHERE store_id = $1 ORDER BY created_at DESC LIMIT $2",
        literal: "SELECT * FROM orders WHERE store_id = 42 ORDER BY created_at DESC LIMIT 20",
        setup: "",
    },
    Real {
        sql: "SELECT * FROM products WHERE (metadata->>'sku') = $1",
        literal: "SELECT * FROM products WHERE (metadata->>'sku') = 'sku-4242'",
        setup: "CREATE TABLE products (id serial PRIMARY KEY, handle text NOT NULL, metadata jsonb NOT NULL); \
                INSERT INTO products (handle, metadata) SELECT 'h-' || i, jsonb_build_object('sku', 'sku-' || i, 'color', 'red') FROM generate_series(1, 60000) i;",
    },
    Real {
        sql: "SELECT * FROM orders WHERE date(created_at) = $1",
        literal: "SELECT * FROM orders WHERE date(created_at) = '2020-03-01'",
        // date() of a timestamptz depends on the time zone (not immutable):
        // this table's column is a plain timestamp.
        setup: "DROP TABLE orders; CREATE TABLE orders (id serial PRIMARY KEY, code text, created_at timestamp NOT NULL); \
                INSERT INTO orders (code, created_at) SELECT 'A-' || i, timestamp '2010-01-01' + i * interval '2 hours' FROM generate_series(1, 60000) i;",
    },
    Real {
        sql: "SELECT * FROM events WHERE created_at > now() - $1::interval",
        literal: "SELECT * FROM events WHERE created_at > now() - '1 hour'::interval",
        setup: "CREATE TABLE events (id serial PRIMARY KEY, kind text, created_at timestamptz NOT NULL); \
                INSERT INTO events (kind, created_at) SELECT 'k', now() - i * interval '1 minute' FROM generate_series(1, 60000) i;",
    },
    Real {
        sql: r#"SELECT "User"."id" AS "User_id" FROM "user" "User" ORDER BY "User_id" DESC LIMIT 10"#,
        literal: r#"SELECT "User"."id" AS "User_id" FROM "user" "User" ORDER BY "User_id" DESC LIMIT 10"#,
        setup: "CREATE TABLE \"user\" (id int NOT NULL, email text NOT NULL); \
                INSERT INTO \"user\" SELECT i, 'u' || i || '@example.org' FROM generate_series(1, 60000) i;",
    },
];

/// The plan of `sql` as `EXPLAIN (FORMAT JSON)`.
async fn explain(client: &Client, sql: &str) -> Value {
    let messages = client
        .simple_query(&format!("EXPLAIN (FORMAT JSON) {sql}"))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    let text = messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .expect("a plan");
    serde_json::from_str::<Value>(&text).expect("JSON")[0]["Plan"].clone()
}

fn uses(plan: &Value, index: &str) -> bool {
    plan["Index Name"].as_str() == Some(index)
        || plan["Plans"]
            .as_array()
            .is_some_and(|plans| plans.iter().any(|p| uses(p, index)))
}

fn cost(plan: &Value) -> f64 {
    plan["Total Cost"].as_f64().expect("Total Cost")
}

/// `CREATE INDEX CONCURRENTLY IF NOT EXISTS <name> ON <target>` split;
/// names hold only `[a-z0-9_]`, so the first " ON " ends the name.
fn name_and_target(ddl: &str) -> (&str, &str) {
    let rest = ddl
        .strip_prefix("CREATE INDEX CONCURRENTLY IF NOT EXISTS ")
        .expect("a headroom DDL");
    rest.split_once(" ON ").expect("ON")
}

#[tokio::test(flavor = "multi_thread")]
async fn corpus_ddl_applied_on_a_real_server_is_used_by_the_plan_as_hypopg_predicted() {
    assert!(REAL.len() >= 10);
    let cluster = PgCluster::start();
    cluster.execute("postgres", "CREATE DATABASE corpus").await;
    cluster.execute("corpus", "CREATE EXTENSION hypopg").await;
    let client = cluster.connect("corpus", "postgres").await;
    println!("| statement | DDL | cost before | cost with hypopg | cost after |");
    println!("|---|---|---|---|---|");
    for real in REAL {
        let case = CORPUS
            .iter()
            .find(|c| c.sql == real.sql)
            .unwrap_or_else(|| panic!("not in the corpus: {}", real.sql));
        let [ddl] = case.ddl else {
            panic!("one candidate expected: {}", real.sql)
        };
        let (name, target) = name_and_target(ddl);
        if !real.setup.is_empty() {
            client.batch_execute(real.setup).await.expect(real.setup);
        }
        let table = target.split(" (").next().expect("table");
        client
            .batch_execute(&format!("ANALYZE {table}"))
            .await
            .expect("analyze");

        let before = explain(&client, real.literal).await;
        assert!(!uses(&before, name), "{name} before it exists?");

        let hypothetical: String = client
            .query_one(
                "SELECT indexname::text FROM hypopg_create_index($1)",
                &[&format!("CREATE INDEX ON {target}")],
            )
            .await
            .unwrap_or_else(|e| panic!("hypopg refused {target}: {e}"))
            .get(0);
        let hypo = explain(&client, real.literal).await;
        client
            .batch_execute("SELECT hypopg_reset()")
            .await
            .expect("reset");
        assert!(
            uses(&hypo, &hypothetical),
            "{}\nthe plan ignores the hypothetical {target}: {hypo:#}",
            real.sql
        );

        client
            .batch_execute(ddl)
            .await
            .unwrap_or_else(|e| panic!("{ddl}: {e}"));
        client
            .batch_execute(&format!("ANALYZE {table}"))
            .await
            .expect("analyze");
        let after = explain(&client, real.literal).await;
        assert!(
            uses(&after, name),
            "{}\nthe plan ignores {ddl}: {after:#}",
            real.sql
        );
        assert!(cost(&after) < cost(&before), "{ddl}");
        println!(
            "| `{}` | `{ddl}` | {:.2} | {:.2} | {:.2} |",
            real.sql,
            cost(&before),
            cost(&hypo),
            cost(&after)
        );
    }
}
