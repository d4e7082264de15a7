//! Index key elements and the DDL built from them (pure), one rendering for
//! both sides: the keys of a candidate and the keys of an existing index
//! (`pg_get_indexdef`, parsed with `pg_query` into [`IndexShape`]).
//!
//! A rendered key element is exactly what CREATE INDEX takes between the
//! parentheses: a column as PostgreSQL's `quote_ident` writes it (`email`,
//! `"Cart"`), a function call as deparsed (`lower(email)`), any other
//! expression deparsed and parenthesised (`(metadata ->> 'sku')`,
//! `(code::text)`), then ` COLLATE "x"`, an operator class
//! (` text_pattern_ops`), ` DESC`, and ` NULLS FIRST` / ` NULLS LAST` when
//! not the direction's default. Index names are `headroom_<table>_<keys>_idx`
//! with the keys reduced to lower-case letters, digits and `_`, cut to 63
//! bytes with a hash of the full name when cut, so two cut names never meet.

use pg_query::protobuf::{self, KeywordKind, SortByDir, SortByNulls, node::Node as N};

use super::expr;

/// PostgreSQL's longest identifier, in bytes (NAMEDATALEN - 1).
pub const MAX_IDENTIFIER_BYTES: usize = 63;
/// The operator class that lets a btree serve `LIKE 'prefix%'` under any
/// collation (a default btree serves it only under the C collation).
pub const PATTERN_OPCLASS: &str = "text_pattern_ops";

/// What one key element indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyExpr {
    /// A column, by name.
    Column(String),
    /// An expression: its deparsed SQL, its comparable form
    /// ([`expr::normalised`]) and whether it is a plain function call.
    Expression {
        sql: String,
        normal: String,
        call: bool,
    },
}

/// One key element of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyElem {
    pub expr: KeyExpr,
    pub collation: Option<String>,
    pub opclass: Option<String>,
    pub desc: bool,
    /// Explicit NULLS FIRST (`Some(true)`) or LAST (`Some(false)`) when it is
    /// not the direction's default.
    pub nulls_first: Option<bool>,
}

impl KeyElem {
    pub fn column(name: &str) -> Self {
        Self {
            expr: KeyExpr::Column(name.to_owned()),
            collation: None,
            opclass: None,
            desc: false,
            nulls_first: None,
        }
    }

    /// A key on the expression `node` (a column reference stays a column);
    /// `None` when it cannot be deparsed.
    pub fn of(node: &protobuf::Node) -> Option<Self> {
        if let Some((_, column)) = expr::as_column(node) {
            return Some(Self::column(&column));
        }
        let bare = expr::unqualified(node).ok()?;
        Some(Self {
            expr: KeyExpr::Expression {
                sql: expr::deparse(&bare)?,
                normal: expr::normalised(&bare)?,
                call: expr::is_plain_call(&bare),
            },
            ..Self::column("")
        })
    }

    /// With the sort direction and NULLS placement of a `SortBy` / an
    /// `IndexElem`, normalised to what differs from the default.
    pub fn ordered(mut self, dir: i32, nulls: i32) -> Self {
        self.desc = dir == SortByDir::SortbyDesc as i32;
        self.nulls_first = if nulls == SortByNulls::SortbyNullsFirst as i32 && !self.desc {
            Some(true)
        } else if nulls == SortByNulls::SortbyNullsLast as i32 && self.desc {
            Some(false)
        } else {
            None
        };
        self
    }

    /// The key element as CREATE INDEX takes it.
    pub fn render(&self) -> String {
        let mut out = match &self.expr {
            KeyExpr::Column(name) => quote_ident(name),
            KeyExpr::Expression {
                sql, call: true, ..
            } => sql.clone(),
            KeyExpr::Expression { sql, .. } => format!("({sql})"),
        };
        if let Some(collation) = &self.collation {
            out.push_str(" COLLATE ");
            out.push_str(&quote_ident(collation));
        }
        if let Some(opclass) = &self.opclass {
            out.push(' ');
            out.push_str(&quote_ident(opclass));
        }
        if self.desc {
            out.push_str(" DESC");
        }
        match self.nulls_first {
            Some(true) => out.push_str(" NULLS FIRST"),
            Some(false) => out.push_str(" NULLS LAST"),
            None => {}
        }
        out
    }

    /// Whether `self` and `other` index the same thing the same way (the
    /// expression compared in its normalised form), direction aside.
    pub fn same_key(&self, other: &Self) -> bool {
        let what = match (&self.expr, &other.expr) {
            (KeyExpr::Column(a), KeyExpr::Column(b)) => a == b,
            (KeyExpr::Expression { normal: a, .. }, KeyExpr::Expression { normal: b, .. }) => {
                a == b
            }
            _ => false,
        };
        what && self.collation == other.collation && self.opclass == other.opclass
    }

    /// Whether `self` orders as `other`, or as its reverse when `flipped`.
    pub fn same_order(&self, other: &Self, flipped: bool) -> bool {
        let nulls = |k: &Self| k.nulls_first.unwrap_or(k.desc);
        if flipped {
            self.desc != other.desc && nulls(self) != nulls(other)
        } else {
            self.desc == other.desc && nulls(self) == nulls(other)
        }
    }

    /// Parses one rendered key element back (as rendered by [`render`] or
    /// `pg_get_indexdef`).
    ///
    /// [`render`]: Self::render
    pub fn parse(rendered: &str) -> Option<Self> {
        let shape = IndexShape::parse(&format!("CREATE INDEX ON t ({rendered})"))?;
        let [key] = <[KeyElem; 1]>::try_from(shape.keys).ok()?;
        Some(key)
    }

    /// From a parsed `IndexElem`.
    fn of_elem(elem: &protobuf::IndexElem) -> Option<Self> {
        let base = if elem.name.is_empty() {
            Self::of(elem.expr.as_deref()?)?
        } else {
            Self::column(&elem.name)
        };
        Some(
            Self {
                collation: last_name(&elem.collation),
                opclass: last_name(&elem.opclass),
                ..base
            }
            .ordered(elem.ordering, elem.nulls_ordering),
        )
    }
}

/// The last part of a qualified name (`pg_catalog.text_pattern_ops`).
fn last_name(names: &[protobuf::Node]) -> Option<String> {
    match names.last()?.node.as_ref()? {
        N::String(s) => Some(s.sval.clone()),
        _ => None,
    }
}

/// An index definition as `pg_query` parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexShape {
    pub unique: bool,
    /// The access method (`btree`, `gin`, `hash`, …), lower case.
    pub method: String,
    pub keys: Vec<KeyElem>,
    /// The INCLUDE columns, rendered.
    pub include: Vec<String>,
    /// The predicate of a partial index as deparsed, "" for none.
    pub predicate: String,
}

impl IndexShape {
    /// Parses a CREATE INDEX statement; `None` for anything else.
    pub fn parse(definition: &str) -> Option<Self> {
        let parsed = pg_query::parse(definition, pg_query::ParserOptions::DEFAULT).ok()?;
        let [statement] = parsed.protobuf.stmts.as_slice() else {
            return None;
        };
        let Some(N::IndexStmt(index)) = statement.stmt.as_ref().and_then(|s| s.node.as_ref())
        else {
            return None;
        };
        let keys = index
            .index_params
            .iter()
            .map(|param| match param.node.as_ref() {
                Some(N::IndexElem(elem)) => KeyElem::of_elem(elem),
                _ => None,
            })
            .collect::<Option<Vec<KeyElem>>>()?;
        let include = index
            .index_including_params
            .iter()
            .map(|param| match param.node.as_ref() {
                Some(N::IndexElem(elem)) => KeyElem::of_elem(elem).map(|k| k.render()),
                _ => None,
            })
            .collect::<Option<Vec<String>>>()?;
        let predicate = match index.where_clause.as_deref() {
            Some(clause) => expr::deparse(clause)?,
            None => String::new(),
        };
        Some(Self {
            unique: index.unique || index.primary,
            method: if index.access_method.is_empty() {
                "btree".to_owned()
            } else {
                index.access_method.to_lowercase()
            },
            keys,
            include,
            predicate,
        })
    }

    pub fn rendered_keys(&self) -> Vec<String> {
        self.keys.iter().map(KeyElem::render).collect()
    }
}

/// A partial-index predicate in its comparable form ("" stays "").
pub fn normalise_predicate(predicate: &str) -> Option<String> {
    if predicate.trim().is_empty() {
        return Some(String::new());
    }
    IndexShape::parse(&format!("CREATE INDEX ON t (x) WHERE {predicate}")).map(|s| s.predicate)
}

/// `ident` as PostgreSQL's `quote_ident` writes it: bare when it is a
/// lower-case name that is no reserved word, double-quoted otherwise.
pub fn quote_ident(ident: &str) -> String {
    let plain = ident
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && ident
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let keyword = pg_query::scan(ident).ok().is_some_and(|scanned| {
        scanned.tokens.iter().any(|token| {
            token.keyword_kind != KeywordKind::NoKeyword as i32
                && token.keyword_kind != KeywordKind::UnreservedKeyword as i32
        })
    });
    if plain && !keyword {
        ident.to_owned()
    } else {
        format!("\"{}\"", ident.replace('"', "\"\""))
    }
}

/// `headroom_<table>_<keys>_idx`: each rendered key reduced to lower-case
/// letters and digits joined by `_` (`lower(email)` → `lower_email`,
/// `created_at DESC` → `created_at_desc`); longer than 63 bytes, it is cut
/// at a character boundary and ends with 8 hex digits of a hash of the
/// whole name instead.
pub fn index_name(table: &str, columns: &[String]) -> String {
    let parts: Vec<String> = std::iter::once(table)
        .chain(columns.iter().map(String::as_str))
        .map(sanitise)
        .filter(|part| !part.is_empty())
        .collect();
    let name = format!("headroom_{}_idx", parts.join("_"));
    if name.len() <= MAX_IDENTIFIER_BYTES {
        return name;
    }
    let suffix = format!("_{:08x}", fnv1a(&name) as u32);
    let mut end = MAX_IDENTIFIER_BYTES - suffix.len();
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{suffix}", name[..end].trim_end_matches('_'))
}

/// Lower-case alphanumerics of `text`, each other run as one `_`.
fn sanitise(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// FNV-1a, 64 bits: stable across builds and platforms.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `<schema>.<table> (<keys>)[ WHERE <predicate>]`, the keys as rendered:
/// what follows `ON` in the index's CREATE statement.
pub fn index_target(schema: &str, table: &str, columns: &[String], predicate: &str) -> String {
    let mut target = format!(
        "{}.{} ({})",
        quote_ident(schema),
        quote_ident(table),
        columns.join(", ")
    );
    if !predicate.is_empty() {
        target.push_str(" WHERE ");
        target.push_str(predicate);
    }
    target
}

/// The statement an operator runs:
/// `CREATE INDEX CONCURRENTLY IF NOT EXISTS <name> ON <target>`.
pub fn definition(schema: &str, table: &str, columns: &[String], predicate: &str) -> String {
    format!(
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS {} ON {}",
        quote_ident(&index_name(table, columns)),
        index_target(schema, table, columns, predicate)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(definition: &str) -> Vec<String> {
        IndexShape::parse(definition)
            .expect("parses")
            .rendered_keys()
    }

    #[test]
    fn existing_definitions_render_key_by_key() {
        assert_eq!(
            keys("CREATE INDEX i ON public.t USING btree (a, lower((b)::text), c DESC)"),
            ["a", "lower(b::text)", "c DESC"]
        );
        assert_eq!(
            keys("CREATE INDEX i ON public.t USING btree (((metadata ->> 'sku'::text)))"),
            ["(metadata ->> 'sku'::text)"]
        );
        assert_eq!(
            keys(
                "CREATE INDEX i ON t (\"Cart\" text_pattern_ops, d DESC NULLS LAST, e NULLS FIRST, f DESC NULLS FIRST)"
            ),
            [
                "\"Cart\" text_pattern_ops",
                "d DESC NULLS LAST",
                "e NULLS FIRST",
                "f DESC"
            ]
        );
        let shape = IndexShape::parse(
            "CREATE UNIQUE INDEX \"IDX_x\" ON public.product USING gin (tags) INCLUDE (id) WHERE (deleted_at IS NULL)",
        )
        .expect("parses");
        assert!(shape.unique);
        assert_eq!(shape.method, "gin");
        assert_eq!(shape.include, ["id"]);
        assert_eq!(shape.predicate, "deleted_at IS NULL");
        assert_eq!(IndexShape::parse("SELECT 1"), None);
        assert_eq!(IndexShape::parse("not sql"), None);
    }

    #[test]
    fn rendered_keys_parse_back_to_the_same_key() {
        for rendered in [
            "email",
            "\"Cart\"",
            "lower(email)",
            "(metadata ->> 'sku')",
            "(code::text)",
            "created_at DESC",
            "handle text_pattern_ops",
            "date(created_at)",
        ] {
            let key = KeyElem::parse(rendered).expect(rendered);
            assert_eq!(key.render(), rendered);
        }
        let a = KeyElem::parse("lower((email)::text)").expect("parses");
        let b = KeyElem::parse("lower(email)").expect("parses");
        assert!(a.same_key(&b));
        let plain = KeyElem::parse("code").expect("parses");
        let cast = KeyElem::parse("(code::text)").expect("parses");
        assert!(!plain.same_key(&cast));
    }

    #[test]
    fn names_are_sanitised_cut_at_63_bytes_and_never_collide_when_cut() {
        assert_eq!(
            index_name("orders", &["email".into(), "status".into()]),
            "headroom_orders_email_status_idx"
        );
        assert_eq!(
            index_name(
                "User",
                &[
                    "lower(email)".into(),
                    "(metadata ->> 'sku')".into(),
                    "created_at DESC".into()
                ]
            ),
            "headroom_user_lower_email_metadata_sku_created_at_desc_idx"
        );
        let a = index_name(&"t".repeat(80), &["a".into()]);
        let b = index_name(&"t".repeat(80), &["b".into()]);
        assert_eq!(a.len(), MAX_IDENTIFIER_BYTES);
        assert_ne!(a, b);
        let unicode = index_name(&"é".repeat(40), &["a".into()]);
        assert!(unicode.len() <= MAX_IDENTIFIER_BYTES);
    }

    #[test]
    fn identifiers_are_quoted_as_postgres_quotes_them() {
        assert_eq!(quote_ident("order"), "\"order\"");
        assert_eq!(quote_ident("Cart"), "\"Cart\"");
        assert_eq!(quote_ident("cart_id"), "cart_id");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn definitions_join_the_rendered_keys() {
        assert_eq!(
            definition(
                "public",
                "order",
                &["region_id".into()],
                "deleted_at IS NULL"
            ),
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS headroom_order_region_id_idx \
             ON public.\"order\" (region_id) WHERE deleted_at IS NULL"
        );
        assert_eq!(
            definition(
                "shop",
                "orders",
                &["lower(email)".into(), "created_at DESC".into()],
                ""
            ),
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS headroom_orders_lower_email_created_at_desc_idx \
             ON shop.orders (lower(email), created_at DESC)"
        );
        assert_eq!(
            normalise_predicate("(deleted_at IS NULL)").as_deref(),
            Some("deleted_at IS NULL")
        );
        assert_eq!(normalise_predicate("").as_deref(), Some(""));
    }
}
