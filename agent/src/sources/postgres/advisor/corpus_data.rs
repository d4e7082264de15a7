// The index-advice corpus as data, no imports: included by the agent's
// `advisor::corpus_tests` (parse level: each statement's exact DDL or
// reason codes) and by `tests/tests/index_corpus.rs` (a real PostgreSQL
// with hypopg applies the same DDL). Statements are as `pg_stat_statements`
// normalises them; an unqualified table's DDL is rendered in `public`.

/// One statement and what the parse level makes of it.
#[allow(dead_code)]
pub struct Case {
    pub origin: &'static str,
    pub sql: &'static str,
    /// The candidates' DDL, in order.
    pub ddl: &'static [&'static str],
    /// The reason codes: the statement's, or one per table without a
    /// candidate, in FROM order.
    pub reasons: &'static [&'static str],
}

const fn case(
    origin: &'static str,
    sql: &'static str,
    ddl: &'static [&'static str],
    reasons: &'static [&'static str],
) -> Case {
    Case {
        origin,
        sql,
        ddl,
        reasons,
    }
}

macro_rules! ddl {
    ($($rest:literal),* $(,)?) => {
        &[$(concat!("CREATE INDEX CONCURRENTLY IF NOT EXISTS ", $rest)),*]
    };
}

pub const CORPUS: &[Case] = &[
    // MikroORM, as Medusa v2 runs it.
    case(
        "mikroorm",
        r#"select "p0".* from "product" as "p0" where "p0"."handle" = $1 and "p0"."deleted_at" is null limit $2"#,
        ddl!["headroom_product_handle_idx ON public.product (handle) WHERE deleted_at IS NULL"],
        &[],
    ),
    case(
        "mikroorm",
        r#"select "c0".* from "cart" as "c0" where "c0"."id" = $1 and "c0"."deleted_at" is null limit $2"#,
        ddl!["headroom_cart_id_idx ON public.cart (id) WHERE deleted_at IS NULL"],
        &[],
    ),
    case(
        "mikroorm",
        r#"select "l0".* from "cart_line_item" as "l0" where "l0"."cart_id" in ($1) and "l0"."deleted_at" is null order by "l0"."created_at" asc"#,
        ddl![
            "headroom_cart_line_item_cart_id_idx ON public.cart_line_item (cart_id) WHERE deleted_at IS NULL"
        ],
        &[],
    ),
    case(
        "mikroorm",
        r#"select "p0".* from "product_variant" as "p0" where "p0"."product_id" in ($1, $2, $3) and "p0"."deleted_at" is null"#,
        ddl![
            "headroom_product_variant_product_id_idx ON public.product_variant (product_id) WHERE deleted_at IS NULL"
        ],
        &[],
    ),
    case(
        "mikroorm",
        r#"select "o0".* from "order" as "o0" where "o0"."customer_id" = $1 and "o0"."deleted_at" is null order by "o0"."created_at" desc limit $2 offset $3"#,
        ddl![
            r#"headroom_order_customer_id_created_at_desc_idx ON public."order" (customer_id, created_at DESC) WHERE deleted_at IS NULL"#
        ],
        &[],
    ),
    case(
        "mikroorm",
        r#"select "s0".* from "shipping_option" as "s0" where "s0"."service_zone_id" in ($1, $2) and "s0"."deleted_at" is null"#,
        ddl![
            "headroom_shipping_option_service_zone_id_idx ON public.shipping_option (service_zone_id) WHERE deleted_at IS NULL"
        ],
        &[],
    ),
    case(
        "mikroorm",
        r#"select "p0".*, "p1"."id" as "p1__id" from "product" as "p0" left join "product_collection" as "p1" on "p0"."collection_id" = "p1"."id" where "p0"."deleted_at" is null and "p0"."status" = $1 order by "p0"."created_at" desc limit $2"#,
        ddl![
            "headroom_product_status_created_at_desc_idx ON public.product (status, created_at DESC) WHERE deleted_at IS NULL",
            "headroom_product_collection_id_idx ON public.product (collection_id) WHERE deleted_at IS NULL",
            "headroom_product_collection_id_idx ON public.product_collection (id)",
        ],
        &[],
    ),
    case(
        "mikroorm",
        r#"select count(*) as "count" from "product" as "p0" where "p0"."deleted_at" is null"#,
        &[],
        &["no_usable_predicate"],
    ),
    case(
        "mikroorm",
        r#"select "i0".* from "inventory_level" as "i0" where "i0"."inventory_item_id" in ($1) and "i0"."location_id" in ($2) and "i0"."deleted_at" is null"#,
        ddl![
            "headroom_inventory_level_inventory_item_id_location_id_idx ON public.inventory_level (inventory_item_id, location_id) WHERE deleted_at IS NULL"
        ],
        &[],
    ),
    case(
        "mikroorm",
        r#"select "p0".* from "price" as "p0" where "p0"."price_set_id" in ($1, $2) and "p0"."deleted_at" is null and ("p0"."min_quantity" is null or "p0"."min_quantity" <= $3)"#,
        &[],
        &["unsupported_or"],
    ),
    case(
        "mikroorm",
        r#"select "c0".* from "customer" as "c0" where lower("c0"."email") = lower($1) and "c0"."deleted_at" is null limit $2"#,
        ddl![
            "headroom_customer_lower_email_idx ON public.customer (lower(email)) WHERE deleted_at IS NULL"
        ],
        &[],
    ),
    case(
        "mikroorm",
        r#"select "p0".* from "product" as "p0" where "p0"."title" ilike $1 and "p0"."deleted_at" is null limit $2"#,
        &[],
        &["no_usable_predicate"],
    ),
    case(
        "mikroorm",
        r#"select "r0".* from "region_country" as "r0" where "r0"."iso_2" = $1 limit $2"#,
        ddl!["headroom_region_country_iso_2_idx ON public.region_country (iso_2)"],
        &[],
    ),
    case(
        "mikroorm",
        r#"select "p0".* from "payment_session" as "p0" where "p0"."payment_collection_id" = $1 and "p0"."deleted_at" is null"#,
        ddl![
            "headroom_payment_session_payment_collection_id_idx ON public.payment_session (payment_collection_id) WHERE deleted_at IS NULL"
        ],
        &[],
    ),
    // Prisma: schema-qualified, quoted mixed-case, LIMIT/OFFSET.
    case(
        "prisma",
        r#"SELECT "public"."User"."id", "public"."User"."email" FROM "public"."User" WHERE "public"."User"."email" = $1 LIMIT $2 OFFSET $3"#,
        ddl![r#"headroom_user_email_idx ON public."User" (email)"#],
        &[],
    ),
    case(
        "prisma",
        r#"SELECT "public"."Post"."id" FROM "public"."Post" WHERE ("public"."Post"."authorId" = $1 AND "public"."Post"."published" = $2) ORDER BY "public"."Post"."createdAt" DESC LIMIT $3 OFFSET $4"#,
        ddl![
            r#"headroom_post_authorid_published_createdat_desc_idx ON public."Post" ("authorId", published, "createdAt" DESC)"#
        ],
        &[],
    ),
    case(
        "prisma",
        r#"SELECT "public"."Order"."id" FROM "public"."Order" WHERE "public"."Order"."customerId" IN ($1,$2,$3) OFFSET $4"#,
        ddl![r#"headroom_order_customerid_idx ON public."Order" ("customerId")"#],
        &[],
    ),
    case(
        "prisma",
        r#"SELECT COUNT(*) FROM (SELECT "public"."User"."id" FROM "public"."User" WHERE "public"."User"."role" = CAST($1::text AS "public"."Role") OFFSET $2) AS "sub""#,
        &[],
        &["no_table"],
    ),
    case(
        "prisma",
        r#"SELECT "public"."User"."id" FROM "public"."User" WHERE "public"."User"."email" LIKE $1 OFFSET $2"#,
        ddl![
            r#"headroom_user_email_text_pattern_ops_idx ON public."User" (email text_pattern_ops)"#
        ],
        &[],
    ),
    case(
        "prisma",
        r#"SELECT "public"."User"."id" FROM "public"."User" WHERE ("public"."User"."email" ILIKE $1 OR "public"."User"."name" ILIKE $2) OFFSET $3"#,
        &[],
        &["unsupported_or"],
    ),
    case(
        "prisma",
        r#"SELECT "public"."Session"."id" FROM "public"."Session" WHERE "public"."Session"."expires" < $1 OFFSET $2"#,
        ddl![r#"headroom_session_expires_idx ON public."Session" (expires)"#],
        &[],
    ),
    case(
        "prisma",
        r#"SELECT "public"."Order"."id" FROM "public"."Order" WHERE "public"."Order"."status" = CAST($1::text AS "public"."OrderStatus") LIMIT $2 OFFSET $3"#,
        ddl![r#"headroom_order_status_idx ON public."Order" (status)"#],
        &[],
    ),
    // TypeORM: quoted aliases, `"User"."id" AS "User_id"`.
    case(
        "typeorm",
        r#"SELECT "User"."id" AS "User_id", "User"."email" AS "User_email" FROM "user" "User" WHERE "User"."email" = $1 LIMIT 1"#,
        ddl![r#"headroom_user_email_idx ON public."user" (email)"#],
        &[],
    ),
    case(
        "typeorm",
        r#"SELECT "Photo"."id" AS "Photo_id" FROM "photo" "Photo" LEFT JOIN "user" "User" ON "User"."id"="Photo"."userId" WHERE "Photo"."userId" = $1 ORDER BY "Photo"."createdAt" DESC LIMIT 10"#,
        ddl![
            r#"headroom_photo_userid_createdat_desc_idx ON public.photo ("userId", "createdAt" DESC)"#,
            r#"headroom_user_id_idx ON public."user" (id)"#,
        ],
        &[],
    ),
    case(
        "typeorm",
        r#"SELECT DISTINCT "distinctAlias"."Post_id" AS "ids_Post_id" FROM (SELECT "Post"."id" AS "Post_id" FROM "post" "Post" WHERE "Post"."authorId" = $1) "distinctAlias" ORDER BY "Post_id" ASC LIMIT 10"#,
        &[],
        &["no_table"],
    ),
    case(
        "typeorm",
        r#"SELECT "Order"."id" AS "Order_id" FROM "order" "Order" WHERE "Order"."createdAt" BETWEEN $1 AND $2 AND "Order"."status" = $3"#,
        ddl![r#"headroom_order_status_createdat_idx ON public."order" (status, "createdAt")"#],
        &[],
    ),
    case(
        "typeorm",
        r#"SELECT "User"."id" AS "User_id" FROM "user" "User" WHERE ( "User"."email" = $1 ) AND ( "User"."deletedAt" IS NULL )"#,
        ddl![r#"headroom_user_email_deletedat_idx ON public."user" (email, "deletedAt")"#],
        &[],
    ),
    case(
        "typeorm",
        r#"SELECT "User"."id" AS "User_id" FROM "user" "User" ORDER BY "User_id" DESC LIMIT 10"#,
        ddl![r#"headroom_user_id_desc_idx ON public."user" (id DESC)"#],
        &[],
    ),
    // Sequelize: plural tables, `AS "Model"`, `"deletedAt"` paranoid.
    case(
        "sequelize",
        r#"SELECT "id", "email" FROM "Users" AS "User" WHERE "User"."email" = $1 LIMIT 1"#,
        ddl![r#"headroom_users_email_idx ON public."Users" (email)"#],
        &[],
    ),
    case(
        "sequelize",
        r#"SELECT "id" FROM "Orders" AS "Order" WHERE "Order"."UserId" = $1 AND "Order"."deletedAt" IS NULL ORDER BY "Order"."createdAt" DESC LIMIT 20"#,
        ddl![
            r#"headroom_orders_userid_deletedat_createdat_desc_idx ON public."Orders" ("UserId", "deletedAt", "createdAt" DESC)"#
        ],
        &[],
    ),
    case(
        "sequelize",
        r#"SELECT "Product"."id" FROM "Products" AS "Product" WHERE "Product"."price" >= $1 AND "Product"."price" <= $2"#,
        ddl![r#"headroom_products_price_idx ON public."Products" (price)"#],
        &[],
    ),
    case(
        "sequelize",
        r#"SELECT "User"."id" FROM "Users" AS "User" WHERE "User"."status" != $1"#,
        &[],
        &["no_usable_predicate"],
    ),
    case(
        "sequelize",
        r#"SELECT "Order"."id", "User"."id" AS "User.id" FROM "Orders" AS "Order" LEFT OUTER JOIN "Users" AS "User" ON "Order"."UserId" = "User"."id" WHERE "Order"."status" = $1"#,
        ddl![
            r#"headroom_orders_status_idx ON public."Orders" (status)"#,
            r#"headroom_orders_userid_idx ON public."Orders" ("UserId")"#,
            r#"headroom_users_id_idx ON public."Users" (id)"#,
        ],
        &[],
    ),
    // Django: `"app_model"."col"`, UPPER(...) for iexact, ::text LIKE.
    case(
        "django",
        r#"SELECT "auth_user"."id", "auth_user"."username" FROM "auth_user" WHERE "auth_user"."username" = $1 LIMIT $2"#,
        ddl!["headroom_auth_user_username_idx ON public.auth_user (username)"],
        &[],
    ),
    case(
        "django",
        r#"SELECT "shop_order"."id" FROM "shop_order" WHERE UPPER("shop_order"."reference"::text) = UPPER($1)"#,
        ddl![
            "headroom_shop_order_upper_reference_text_idx ON public.shop_order (upper(reference::text))"
        ],
        &[],
    ),
    case(
        "django",
        r#"SELECT "shop_product"."id" FROM "shop_product" WHERE "shop_product"."slug"::text LIKE $1"#,
        ddl![
            "headroom_shop_product_slug_text_text_pattern_ops_idx ON public.shop_product ((slug::text) text_pattern_ops)"
        ],
        &[],
    ),
    case(
        "django",
        r#"SELECT "shop_product"."id" FROM "shop_product" WHERE "shop_product"."slug" LIKE $1 ESCAPE $2"#,
        ddl![
            "headroom_shop_product_slug_text_pattern_ops_idx ON public.shop_product (slug text_pattern_ops)"
        ],
        &[],
    ),
    case(
        "django",
        r#"SELECT "blog_entry"."id" FROM "blog_entry" WHERE UPPER("blog_entry"."headline"::text) LIKE UPPER($1)"#,
        ddl![
            "headroom_blog_entry_upper_headline_text_text_pattern_ops_idx ON public.blog_entry (upper(headline::text) text_pattern_ops)"
        ],
        &[],
    ),
    case(
        "django",
        r#"SELECT "shop_order"."id" FROM "shop_order" WHERE ("shop_order"."customer_id" = $1 AND "shop_order"."created" >= $2) ORDER BY "shop_order"."created" DESC LIMIT $3"#,
        ddl![
            "headroom_shop_order_customer_id_created_desc_idx ON public.shop_order (customer_id, created DESC)"
        ],
        &[],
    ),
    case(
        "django",
        r#"SELECT "shop_item"."id" FROM "shop_item" INNER JOIN "shop_order" ON ("shop_item"."order_id" = "shop_order"."id") WHERE "shop_order"."customer_id" = $1"#,
        ddl![
            "headroom_shop_item_order_id_idx ON public.shop_item (order_id)",
            "headroom_shop_order_customer_id_idx ON public.shop_order (customer_id)",
            "headroom_shop_order_id_idx ON public.shop_order (id)",
        ],
        &[],
    ),
    case(
        "django",
        r#"SELECT "shop_product"."id" FROM "shop_product" WHERE "shop_product"."category_id" IN ($1, $2, $3, $4)"#,
        ddl!["headroom_shop_product_category_id_idx ON public.shop_product (category_id)"],
        &[],
    ),
    case(
        "django",
        r#"SELECT "shop_order"."id" FROM "shop_order" WHERE "shop_order"."shipped_at" IS NULL"#,
        ddl!["headroom_shop_order_shipped_at_idx ON public.shop_order (shipped_at)"],
        &[],
    ),
    case(
        "django",
        r#"SELECT "shop_order"."id" FROM "shop_order" WHERE ("shop_order"."created" AT TIME ZONE $1)::date = $2"#,
        &[],
        &["no_usable_predicate"],
    ),
    // Rails / ActiveRecord.
    case(
        "rails",
        r#"SELECT "users".* FROM "users" WHERE "users"."email" = $1 LIMIT $2"#,
        ddl!["headroom_users_email_idx ON public.users (email)"],
        &[],
    ),
    case(
        "rails",
        r#"SELECT "orders".* FROM "orders" WHERE "orders"."user_id" = $1 ORDER BY "orders"."created_at" DESC LIMIT $2"#,
        ddl![
            "headroom_orders_user_id_created_at_desc_idx ON public.orders (user_id, created_at DESC)"
        ],
        &[],
    ),
    case(
        "rails",
        r#"SELECT "line_items".* FROM "line_items" WHERE "line_items"."order_id" IN ($1, $2, $3)"#,
        ddl!["headroom_line_items_order_id_idx ON public.line_items (order_id)"],
        &[],
    ),
    case(
        "rails",
        r#"SELECT COUNT(*) FROM "orders" WHERE "orders"."state" = $1 AND "orders"."completed_at" IS NOT NULL"#,
        ddl!["headroom_orders_state_completed_at_idx ON public.orders (state, completed_at)"],
        &[],
    ),
    case(
        "rails",
        r#"SELECT "products".* FROM "products" WHERE "products"."deleted_at" IS NULL AND "products"."slug" = $1 LIMIT $2"#,
        ddl!["headroom_products_slug_idx ON public.products (slug) WHERE deleted_at IS NULL"],
        &[],
    ),
    case(
        "rails",
        r#"SELECT "users".* FROM "users" WHERE "users"."id" = $1 LIMIT $2 FOR UPDATE"#,
        ddl!["headroom_users_id_idx ON public.users (id)"],
        &[],
    ),
    case(
        "rails",
        r#"SELECT 1 AS one FROM "users" WHERE "users"."email" = $1 AND "users"."id" != $2 LIMIT $3"#,
        ddl!["headroom_users_email_idx ON public.users (email)"],
        &[],
    ),
    case(
        "rails",
        r#"SELECT "orders".* FROM "orders" INNER JOIN "users" ON "users"."id" = "orders"."user_id" WHERE "users"."email" = $1"#,
        ddl![
            "headroom_orders_user_id_idx ON public.orders (user_id)",
            "headroom_users_email_idx ON public.users (email)",
            "headroom_users_id_idx ON public.users (id)",
        ],
        &[],
    ),
    case(
        "rails",
        r#"SELECT "users".* FROM "users" WHERE (lower(email) = $1)"#,
        ddl!["headroom_users_lower_email_idx ON public.users (lower(email))"],
        &[],
    ),
    case(
        "rails",
        r#"SELECT "orders".* FROM "orders" WHERE "orders"."state" NOT IN ($1, $2)"#,
        &[],
        &["no_usable_predicate"],
    ),
    // Hand-written SQL.
    case(
        "sql",
        "SELECT * FROM orders WHERE code = $1 || $2",
        ddl!["headroom_orders_code_idx ON public.orders (code)"],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM customers WHERE email = lower($1)",
        ddl!["headroom_customers_email_idx ON public.customers (email)"],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE ref = $1::text",
        ddl!["headroom_orders_ref_idx ON public.orders (ref)"],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM events WHERE created_at > now() - $1::interval",
        ddl!["headroom_events_created_at_idx ON public.events (created_at)"],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM products WHERE (metadata->>'sku') = $1",
        ddl!["headroom_products_metadata_sku_idx ON public.products ((metadata ->> 'sku'))"],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE date(created_at) = $1",
        ddl!["headroom_orders_date_created_at_idx ON public.orders (date(created_at))"],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE created_at::date = $1",
        ddl!["headroom_orders_created_at_date_idx ON public.orders ((created_at::date))"],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM products WHERE handle LIKE 'shirt%'",
        ddl![
            "headroom_products_handle_text_pattern_ops_idx ON public.products (handle text_pattern_ops)"
        ],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM products WHERE handle LIKE '%shirt'",
        &[],
        &["no_usable_predicate"],
    ),
    case(
        "sql",
        "SELECT * FROM products WHERE handle NOT LIKE $1",
        &[],
        &["no_usable_predicate"],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE status <> $1",
        &[],
        &["no_usable_predicate"],
    ),
    case(
        "sql",
        "SELECT * FROM t WHERE id = (random() * $1)::int",
        &[],
        &["no_usable_predicate"],
    ),
    case(
        "sql",
        "SELECT * FROM sessions WHERE token = gen_random_uuid()::text",
        &[],
        &["no_usable_predicate"],
    ),
    case(
        "sql",
        "SELECT * FROM orders o, customers c WHERE o.customer_id = c.id AND c.email = $1",
        ddl![
            "headroom_orders_customer_id_idx ON public.orders (customer_id)",
            "headroom_customers_email_idx ON public.customers (email)",
            "headroom_customers_id_idx ON public.customers (id)",
        ],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE store_id = $1 ORDER BY created_at DESC LIMIT $2",
        ddl![
            "headroom_orders_store_id_created_at_desc_idx ON public.orders (store_id, created_at DESC)"
        ],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE store_id = $1 ORDER BY created_at DESC NULLS LAST LIMIT $2",
        ddl![
            "headroom_orders_store_id_created_at_desc_nulls_last_idx ON public.orders (store_id, created_at DESC NULLS LAST)"
        ],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE lower(email) = $1 AND deleted_at IS NULL ORDER BY created_at DESC LIMIT 1",
        ddl![
            "headroom_orders_lower_email_created_at_desc_idx ON public.orders (lower(email), created_at DESC) WHERE deleted_at IS NULL"
        ],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM t WHERE a = $1 AND b = $2 AND c = $3 AND d = $4",
        ddl!["headroom_t_a_b_c_idx ON public.t (a, b, c)"],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM users WHERE is_active AND org_id = $1",
        ddl!["headroom_users_is_active_org_id_idx ON public.users (is_active, org_id)"],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE email = $1 OR phone = $2",
        &[],
        &["unsupported_or"],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE status = $1 OR status = $2",
        ddl!["headroom_orders_status_idx ON public.orders (status)"],
        &[],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE tags @> $1",
        &[],
        &["no_usable_predicate"],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE total = discount",
        &[],
        &["no_usable_predicate"],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE (price * $1) > $2",
        &[],
        &["no_usable_predicate"],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE email ILIKE $1",
        &[],
        &["no_usable_predicate"],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE email IS DISTINCT FROM $1",
        &[],
        &["no_usable_predicate"],
    ),
    case(
        "sql",
        "SELECT * FROM orders WHERE id IN (SELECT order_id FROM items WHERE sku = $1)",
        &[],
        &["no_usable_predicate"],
    ),
    case("sql", "SELECT * FROM orders", &[], &["no_predicate"]),
    case(
        "sql",
        "SELECT * FROM a JOIN b ON a.id = b.a_id WHERE x = $1",
        ddl![
            "headroom_a_id_idx ON public.a (id)",
            "headroom_b_a_id_idx ON public.b (a_id)",
        ],
        &[],
    ),
    // Bad input: never a panic, never wrong DDL.
    case("bad", "SELEC * FORM orders", &[], &["parse_error"]),
    case("bad", "SELECT * FROM orders WHERE", &[], &["parse_error"]),
    case(
        "bad",
        "UPDATE orders SET status = $1 WHERE id = $2",
        &[],
        &["not_select"],
    ),
    case(
        "bad",
        "WITH x AS (SELECT 1) SELECT * FROM x",
        &[],
        &["not_select"],
    ),
    case("bad", "SELECT $1", &[], &["no_table"]),
    case(
        "bad",
        r#"SELECT * FROM "Cart" WHERE "Cart"."customerId" = $1"#,
        ddl![r#"headroom_cart_customerid_idx ON public."Cart" ("customerId")"#],
        &[],
    ),
    case(
        "bad",
        r#"SELECT * FROM "Cart" c JOIN "LineItem" li ON li."cartId" = c.id WHERE c.id = $1"#,
        ddl![
            r#"headroom_cart_id_idx ON public."Cart" (id)"#,
            r#"headroom_lineitem_cartid_idx ON public."LineItem" ("cartId")"#,
        ],
        &[],
    ),
    case(
        "bad",
        "SELECT * FROM audit.events WHERE actor_id = $1",
        ddl!["headroom_events_actor_id_idx ON audit.events (actor_id)"],
        &[],
    ),
    case(
        "bad",
        "SELECT * FROM active_products_view WHERE handle = $1",
        ddl!["headroom_active_products_view_handle_idx ON public.active_products_view (handle)"],
        &[],
    ),
    case(
        "bad",
        "SELECT * FROM measurements WHERE logdate >= $1 AND city_id = $2",
        ddl!["headroom_measurements_city_id_logdate_idx ON public.measurements (city_id, logdate)"],
        &[],
    ),
    case(
        "bad",
        "SELECT * FROM abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk WHERE abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk = $1",
        ddl![
            "headroom_abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrs_028819b8 ON public.abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk (abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk)"
        ],
        &[],
    ),
    case(
        "bad",
        r#"SELECT * FROM "we""ird" WHERE "a""b" = $1"#,
        ddl![r#"headroom_we_ird_a_b_idx ON public."we""ird" ("a""b")"#],
        &[],
    ),
];

