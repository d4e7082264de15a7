//! Index candidates of one normalised statement (pure): the statement is
//! parsed with PostgreSQL's own parser (`pg_query`), never with patterns.
//! Only a single plain SELECT is examined. For each base table of its FROM
//! (aliases resolved, schema-qualified or not) the WHERE clause's column
//! predicates on that table give the index columns: equalities (`col = $1`,
//! `col = const`, `col IN (…)`, `col = ANY($1)`) in the order they appear,
//! then at most one range (`<`, `<=`, `>`, `>=`, `BETWEEN`), at most
//! [`MAX_COLUMNS`]. `deleted_at IS NULL` makes the candidate a partial index
//! with that predicate (Medusa soft-deletes). An OR is used only when every
//! arm is an equality on the same column (`a = $1 OR a = $2`); any other OR
//! skips the statement rather than guess. Join conditions (`a.x = b.y`) and
//! the ON clauses of joins give no candidate.

use pg_query::protobuf::{
    self, AExprKind, BoolExprType, KeywordKind, NullTestType, SetOperation, node::Node as N,
};

/// Most columns of one candidate.
pub const MAX_COLUMNS: usize = 3;
/// The soft-delete column whose `IS NULL` becomes the partial predicate.
pub const SOFT_DELETE_COLUMN: &str = "deleted_at";
/// The partial predicate of a soft-deleting query.
pub const SOFT_DELETE_PREDICATE: &str = "deleted_at IS NULL";
/// PostgreSQL's longest identifier, in bytes (NAMEDATALEN - 1).
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// An index that would serve one table of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The schema as written in the statement; `None` when unqualified.
    pub schema: Option<String>,
    pub table: String,
    /// Index columns in order: equalities first, then one range.
    pub columns: Vec<String>,
    /// The partial index predicate, e.g. [`SOFT_DELETE_PREDICATE`].
    pub predicate: Option<String>,
}

/// Why a statement gives no candidates at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    #[error("the statement does not parse: {0}")]
    Parse(String),
    #[error("not a single plain SELECT")]
    NotSelect,
    #[error("its WHERE clause holds an OR that no index column expresses")]
    Or,
}

/// A statement parsed for examination.
#[derive(Debug)]
pub struct Examined {
    pub candidates: Vec<Candidate>,
    /// The highest `$n` of the statement (0 without parameters).
    pub params: usize,
}

/// What a WHERE conjunct says about one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Equality,
    Range,
    IsNull,
}

/// One predicate: a column (its qualifier as written) and its use.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Predicate {
    qualifier: Vec<String>,
    column: String,
    used: Use,
}

/// A base table of FROM and the name it is referred to by.
#[derive(Debug, Clone)]
struct Relation {
    schema: Option<String>,
    table: String,
    alias: Option<String>,
}

/// Parses `sql` and derives its candidates (none for a SELECT without a
/// usable predicate).
pub fn examine(sql: &str) -> Result<Examined, Unsupported> {
    let parsed = pg_query::parse(sql, pg_query::ParserOptions::DEFAULT)
        .map_err(|error| Unsupported::Parse(error.to_string()))?;
    let params = parsed
        .protobuf
        .nodes()
        .iter()
        .filter_map(|(node, ..)| match node {
            pg_query::NodeRef::ParamRef(param) => usize::try_from(param.number).ok(),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let [statement] = parsed.protobuf.stmts.as_slice() else {
        return Err(Unsupported::NotSelect);
    };
    let Some(N::SelectStmt(select)) = statement.stmt.as_ref().and_then(|s| s.node.as_ref()) else {
        return Err(Unsupported::NotSelect);
    };
    if select.op != SetOperation::SetopNone as i32
        || select.with_clause.is_some()
        || select.into_clause.is_some()
    {
        return Err(Unsupported::NotSelect);
    }
    Ok(Examined {
        candidates: select_candidates(select)?,
        params,
    })
}

fn select_candidates(select: &protobuf::SelectStmt) -> Result<Vec<Candidate>, Unsupported> {
    let mut relations = Vec::new();
    // Whether FROM holds something other than base tables (a subquery, a
    // function): an unqualified column may then belong to it.
    let mut opaque = false;
    for item in &select.from_clause {
        collect_relations(item, &mut relations, &mut opaque);
    }
    let mut predicates = Vec::new();
    if let Some(clause) = select.where_clause.as_deref() {
        conjuncts(clause, &mut predicates)?;
    }
    let mut out: Vec<Candidate> = Vec::new();
    for relation in &relations {
        let mine: Vec<&Predicate> = predicates
            .iter()
            .filter(|p| belongs(p, relation, relations.len() == 1 && !opaque))
            .collect();
        if let Some(candidate) = candidate_of(relation, &mine)
            && !out.contains(&candidate)
        {
            out.push(candidate);
        }
    }
    Ok(out)
}

/// Base tables of a FROM item, joins walked (their ON clauses ignored).
fn collect_relations(node: &protobuf::Node, out: &mut Vec<Relation>, opaque: &mut bool) {
    match node.node.as_ref() {
        Some(N::RangeVar(range)) => out.push(Relation {
            schema: (!range.schemaname.is_empty()).then(|| range.schemaname.clone()),
            table: range.relname.clone(),
            alias: range.alias.as_ref().map(|alias| alias.aliasname.clone()),
        }),
        Some(N::JoinExpr(join)) => {
            for side in [join.larg.as_deref(), join.rarg.as_deref()]
                .into_iter()
                .flatten()
            {
                collect_relations(side, out, opaque);
            }
        }
        _ => *opaque = true,
    }
}

/// Flattens ANDs into predicates; an OR is kept only as an equality on one
/// column.
fn conjuncts(node: &protobuf::Node, out: &mut Vec<Predicate>) -> Result<(), Unsupported> {
    match node.node.as_ref() {
        Some(N::BoolExpr(bool_expr)) if bool_expr.boolop == BoolExprType::AndExpr as i32 => {
            for arg in &bool_expr.args {
                conjuncts(arg, out)?;
            }
            Ok(())
        }
        Some(N::BoolExpr(bool_expr)) if bool_expr.boolop == BoolExprType::OrExpr as i32 => {
            let arms: Option<Vec<Predicate>> = bool_expr.args.iter().map(predicate).collect();
            match arms.as_deref() {
                Some([first, rest @ ..])
                    if first.used == Use::Equality
                        && rest.iter().all(|arm| {
                            arm.used == Use::Equality
                                && arm.column == first.column
                                && arm.qualifier == first.qualifier
                        }) =>
                {
                    out.push(first.clone());
                    Ok(())
                }
                _ => Err(Unsupported::Or),
            }
        }
        _ => {
            out.extend(predicate(node));
            Ok(())
        }
    }
}

/// The column predicate `node` expresses, if any.
fn predicate(node: &protobuf::Node) -> Option<Predicate> {
    match node.node.as_ref()? {
        N::NullTest(test) if test.nulltesttype == NullTestType::IsNull as i32 => {
            let (qualifier, column) = column_ref(test.arg.as_deref()?)?;
            (column == SOFT_DELETE_COLUMN).then_some(Predicate {
                qualifier,
                column,
                used: Use::IsNull,
            })
        }
        N::AExpr(expr) => {
            let operator = operator(&expr.name)?;
            let left = expr.lexpr.as_deref()?;
            let right = expr.rexpr.as_deref()?;
            let kind = expr.kind;
            let used = if kind == AExprKind::AexprOp as i32 {
                match operator {
                    "=" => Use::Equality,
                    "<" | "<=" | ">" | ">=" => Use::Range,
                    _ => return None,
                }
            } else if (kind == AExprKind::AexprIn as i32 || kind == AExprKind::AexprOpAny as i32)
                && operator == "="
            {
                Use::Equality
            } else if kind == AExprKind::AexprBetween as i32
                || kind == AExprKind::AexprBetweenSym as i32
            {
                Use::Range
            } else {
                return None;
            };
            // `col op value` or, for a plain operator, `value op col`.
            let (column, value) = match (column_ref(left), column_ref(right)) {
                (Some(column), None) => (column, right),
                (None, Some(column)) if kind == AExprKind::AexprOp as i32 => (column, left),
                _ => return None,
            };
            is_value(value).then_some(Predicate {
                qualifier: column.0,
                column: column.1,
                used,
            })
        }
        _ => None,
    }
}

/// The operator's name (`=`, `<`): its last name part.
fn operator(name: &[protobuf::Node]) -> Option<&str> {
    match name.last()?.node.as_ref()? {
        N::String(s) => Some(s.sval.as_str()),
        _ => None,
    }
}

/// `a.b.col` → (["a", "b"], "col"); `*` and anything else → None.
fn column_ref(node: &protobuf::Node) -> Option<(Vec<String>, String)> {
    let node = match node.node.as_ref()? {
        N::TypeCast(cast) => cast.arg.as_deref()?,
        _ => node,
    };
    let Some(N::ColumnRef(column)) = node.node.as_ref() else {
        return None;
    };
    let mut names = column
        .fields
        .iter()
        .map(|field| match field.node.as_ref() {
            Some(N::String(s)) => Some(s.sval.clone()),
            _ => None,
        })
        .collect::<Option<Vec<String>>>()?;
    let last = names.pop()?;
    Some((names, last))
}

/// A parameter, a constant, a cast of one, or a list of them (IN).
fn is_value(node: &protobuf::Node) -> bool {
    match node.node.as_ref() {
        Some(N::ParamRef(_) | N::AConst(_)) => true,
        Some(N::TypeCast(cast)) => cast.arg.as_deref().is_some_and(is_value),
        Some(N::List(list)) => !list.items.is_empty() && list.items.iter().all(is_value),
        Some(N::AArrayExpr(array)) => array.elements.iter().all(is_value),
        _ => false,
    }
}

/// Whether `predicate` is about `relation`; an unqualified column belongs to
/// the only base table when there is one.
fn belongs(predicate: &Predicate, relation: &Relation, only: bool) -> bool {
    match predicate.qualifier.as_slice() {
        [] => only,
        [name] => match &relation.alias {
            Some(alias) => alias == name,
            None => relation.table == *name,
        },
        [schema, name] => {
            relation.alias.is_none()
                && relation.table == *name
                && relation.schema.as_deref() == Some(schema.as_str())
        }
        _ => false,
    }
}

/// The candidate of one table from its predicates, if any column is usable.
fn candidate_of(relation: &Relation, predicates: &[&Predicate]) -> Option<Candidate> {
    let soft_deleted = predicates.iter().any(|p| p.used == Use::IsNull);
    let usable = |p: &&&Predicate| !(soft_deleted && p.column == SOFT_DELETE_COLUMN);
    let mut columns: Vec<String> = Vec::new();
    for p in predicates
        .iter()
        .filter(usable)
        .filter(|p| p.used == Use::Equality)
    {
        if !columns.contains(&p.column) && columns.len() < MAX_COLUMNS {
            columns.push(p.column.clone());
        }
    }
    if columns.len() < MAX_COLUMNS
        && let Some(range) = predicates
            .iter()
            .filter(usable)
            .find(|p| p.used == Use::Range && !columns.contains(&p.column))
    {
        columns.push(range.column.clone());
    }
    (!columns.is_empty()).then(|| Candidate {
        schema: relation.schema.clone(),
        table: relation.table.clone(),
        columns,
        predicate: soft_deleted.then(|| SOFT_DELETE_PREDICATE.to_owned()),
    })
}

/// `headroom_<table>_<col1>_<col2>_idx`, cut to [`MAX_IDENTIFIER_BYTES`]
/// at a character boundary.
pub fn index_name(table: &str, columns: &[String]) -> String {
    let name = format!("headroom_{table}_{}_idx", columns.join("_"));
    let mut end = name.len().min(MAX_IDENTIFIER_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
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

/// `<schema>.<table> (<cols>)[ WHERE <predicate>]`, identifiers quoted as
/// needed: what follows `ON` in the index's CREATE statement.
pub fn index_target(schema: &str, table: &str, columns: &[String], predicate: &str) -> String {
    let columns: Vec<String> = columns.iter().map(|c| quote_ident(c)).collect();
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
        assert_eq!(c.predicate, None);
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
        let c = one(
            "SELECT * FROM orders WHERE created_at > $1 AND updated_at < $2 AND customer_id = $3",
        );
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
        let c =
            one("SELECT p.id FROM product p WHERE p.handle = $1 AND p.deleted_at IS NULL LIMIT $2");
        assert_eq!(cols(&c), ["handle"]);
        assert_eq!(c.predicate.as_deref(), Some(SOFT_DELETE_PREDICATE));
        // Only the soft-delete test alone: no column, no candidate.
        assert_eq!(
            candidates("SELECT * FROM product WHERE deleted_at IS NULL"),
            Ok(vec![])
        );
        // Another IS NULL is no predicate.
        let c = one("SELECT * FROM product WHERE handle = $1 AND archived_at IS NULL");
        assert_eq!(c.predicate, None);
    }

    #[test]
    fn an_or_it_cannot_express_skips_the_statement() {
        assert_eq!(
            candidates("SELECT * FROM orders WHERE email = $1 OR phone = $2"),
            Err(Unsupported::Or)
        );
        assert_eq!(
            candidates("SELECT * FROM orders WHERE status = $1 AND (a = $2 OR b > $3)"),
            Err(Unsupported::Or)
        );
    }

    #[test]
    fn join_conditions_give_no_candidate_but_filters_do() {
        let found = candidates(
            "SELECT * FROM orders o JOIN customer c ON c.id = o.customer_id \
             WHERE o.total = c.total AND c.email = $1",
        )
        .expect("supported");
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].table, "customer");
        assert_eq!(cols(&found[0]), ["email"]);
        // Unqualified columns are ambiguous with two tables.
        assert_eq!(
            candidates("SELECT * FROM a, b WHERE a.id = b.id AND x = $1"),
            Ok(vec![])
        );
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
            assert_eq!(candidates(sql), Err(Unsupported::NotSelect), "{sql}");
        }
        assert!(matches!(
            candidates("SELEC nonsense"),
            Err(Unsupported::Parse(_))
        ));
    }

    #[test]
    fn the_highest_parameter_is_counted() {
        let examined = examine("SELECT * FROM t WHERE a = $2 AND b IN ($1, $5)").expect("ok");
        assert_eq!(examined.params, 5);
        assert_eq!(examine("SELECT 1").expect("ok").params, 0);
    }

    #[test]
    fn names_are_cut_at_63_bytes_and_quoted_as_needed() {
        assert_eq!(
            index_name("orders", &["email".into(), "status".into()]),
            "headroom_orders_email_status_idx"
        );
        let long = index_name(&"t".repeat(80), &["a".into()]);
        assert_eq!(long.len(), MAX_IDENTIFIER_BYTES);
        assert_eq!(quote_ident("order"), "\"order\"");
        assert_eq!(quote_ident("Cart"), "\"Cart\"");
        assert_eq!(quote_ident("cart_id"), "cart_id");
        assert_eq!(
            definition(
                "public",
                "order",
                &["region_id".into()],
                SOFT_DELETE_PREDICATE
            ),
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS headroom_order_region_id_idx \
             ON public.\"order\" (region_id) WHERE deleted_at IS NULL"
        );
        assert_eq!(
            definition("shop", "orders", &["a".into(), "b".into()], ""),
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS headroom_orders_a_b_idx ON shop.orders (a, b)"
        );
    }
}
