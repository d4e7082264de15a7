//! Expressions of a parsed statement (pure): a walk over the expression
//! nodes an index predicate may hold, the columns an expression mentions,
//! whether it calls a volatile function, and its SQL text deparsed by
//! `pg_query` (PostgreSQL's own deparser), never assembled by hand.
//!
//! The walk knows the nodes of scalar expressions: column references,
//! parameters, constants, operators, function calls, casts, `COALESCE`,
//! `GREATEST`/`LEAST`, `CASE`, `IS [NOT] NULL`, array and row
//! constructors, subscripts and field selections, `COLLATE`. Anything else
//! (a subquery, an aggregate or window call) is [`Opaque`]: the caller then
//! gives the expression no use.

use pg_query::protobuf::{self, CoercionForm, node::Node as N};

/// Functions whose value changes from one call to the next within a
/// statement: a value side calling one is evaluated per row, so no index
/// condition can use it. PostgreSQL marks them VOLATILE; the list holds the
/// built-in ones an application calls (user-defined functions are unknown
/// at parse level and left to the planner's verification).
pub const VOLATILE_FUNCTIONS: &[&str] = &[
    "random",
    "random_normal",
    "setseed",
    "clock_timestamp",
    "timeofday",
    "nextval",
    "currval",
    "lastval",
    "setval",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "txid_current",
    "pg_current_xact_id",
    "pg_sleep",
    "dblink",
];

/// An expression holds a node the walk does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Opaque;

/// Calls `visit` on `node` and every node below it (pre-order), mutably.
pub fn walk_mut(
    node: &mut protobuf::Node,
    visit: &mut dyn FnMut(&mut protobuf::Node),
) -> Result<(), Opaque> {
    visit(node);
    let Some(inner) = node.node.as_mut() else {
        return Ok(());
    };
    let mut children: Vec<&mut protobuf::Node> = Vec::new();
    match inner {
        N::ColumnRef(_)
        | N::ParamRef(_)
        | N::AConst(_)
        | N::SqlvalueFunction(_)
        | N::String(_)
        | N::AStar(_) => {}
        N::AExpr(expr) => {
            children.extend(expr.lexpr.as_deref_mut());
            children.extend(expr.rexpr.as_deref_mut());
        }
        N::BoolExpr(expr) => children.extend(expr.args.iter_mut()),
        N::FuncCall(call) => {
            if call.over.is_some()
                || call.agg_star
                || call.agg_distinct
                || call.agg_filter.is_some()
                || !call.agg_order.is_empty()
            {
                return Err(Opaque);
            }
            children.extend(call.args.iter_mut());
        }
        N::TypeCast(cast) => children.extend(cast.arg.as_deref_mut()),
        N::CollateClause(collate) => children.extend(collate.arg.as_deref_mut()),
        N::List(list) => children.extend(list.items.iter_mut()),
        N::AArrayExpr(array) => children.extend(array.elements.iter_mut()),
        N::RowExpr(row) => children.extend(row.args.iter_mut()),
        N::CoalesceExpr(expr) => children.extend(expr.args.iter_mut()),
        N::MinMaxExpr(expr) => children.extend(expr.args.iter_mut()),
        N::NullTest(test) => children.extend(test.arg.as_deref_mut()),
        N::BooleanTest(test) => children.extend(test.arg.as_deref_mut()),
        N::CaseExpr(case) => {
            children.extend(case.arg.as_deref_mut());
            children.extend(case.args.iter_mut());
            children.extend(case.defresult.as_deref_mut());
        }
        N::CaseWhen(when) => {
            children.extend(when.expr.as_deref_mut());
            children.extend(when.result.as_deref_mut());
        }
        N::AIndirection(indirection) => {
            children.extend(indirection.arg.as_deref_mut());
            children.extend(indirection.indirection.iter_mut());
        }
        N::AIndices(indices) => {
            children.extend(indices.lidx.as_deref_mut());
            children.extend(indices.uidx.as_deref_mut());
        }
        _ => return Err(Opaque),
    }
    for child in children {
        walk_mut(child, visit)?;
    }
    Ok(())
}

/// What an expression refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mentions {
    /// Its column references as written: (qualifier, column).
    pub columns: Vec<(Vec<String>, String)>,
    /// Whether it holds a `$n` parameter.
    pub params: bool,
    /// The first volatile function it calls, if any.
    pub volatile: Option<String>,
}

/// The columns, parameters and volatile calls of `node`.
pub fn mentions(node: &protobuf::Node) -> Result<Mentions, Opaque> {
    let mut out = Mentions::default();
    let mut copy = node.clone();
    walk_mut(&mut copy, &mut |n| match n.node.as_ref() {
        Some(N::ColumnRef(column)) => {
            if let Some(reference) = column_parts(column) {
                out.columns.push(reference);
            }
        }
        Some(N::ParamRef(_)) => out.params = true,
        Some(N::FuncCall(call)) => {
            if out.volatile.is_none()
                && let Some(name) = function_name(call)
                && VOLATILE_FUNCTIONS.contains(&name.as_str())
            {
                out.volatile = Some(name);
            }
        }
        _ => {}
    })?;
    Ok(out)
}

/// `a.b.col` → (["a", "b"], "col"); `*` → None.
pub fn column_parts(column: &protobuf::ColumnRef) -> Option<(Vec<String>, String)> {
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

/// The unqualified, lower-case name of a function call.
pub fn function_name(call: &protobuf::FuncCall) -> Option<String> {
    match call.funcname.last()?.node.as_ref()? {
        N::String(s) => Some(s.sval.to_lowercase()),
        _ => None,
    }
}

/// The bare column `node` is (a `ColumnRef`, not `*`), if it is one.
pub fn as_column(node: &protobuf::Node) -> Option<(Vec<String>, String)> {
    match node.node.as_ref()? {
        N::ColumnRef(column) => column_parts(column),
        _ => None,
    }
}

/// Whether CREATE INDEX accepts `node` as a key without parentheses: a
/// function called with the ordinary call syntax.
pub fn is_plain_call(node: &protobuf::Node) -> bool {
    matches!(node.node.as_ref(), Some(N::FuncCall(call))
        if call.funcformat == CoercionForm::CoerceExplicitCall as i32)
}

/// `node` with every column reference cut to its column name (the table
/// qualifier dropped), as an index expression on that table writes it.
pub fn unqualified(node: &protobuf::Node) -> Result<protobuf::Node, Opaque> {
    let mut copy = node.clone();
    walk_mut(&mut copy, &mut |n| {
        if let Some(N::ColumnRef(column)) = n.node.as_mut()
            && column.fields.len() > 1
        {
            let last = column.fields.split_off(column.fields.len() - 1);
            column.fields = last;
        }
    })?;
    Ok(copy)
}

/// The SQL text of the expression `node`, as PostgreSQL's deparser writes
/// it (identifiers quoted where needed).
pub fn deparse(node: &protobuf::Node) -> Option<String> {
    let select = protobuf::Node {
        node: Some(N::SelectStmt(Box::new(protobuf::SelectStmt {
            target_list: vec![protobuf::Node {
                node: Some(N::ResTarget(Box::new(protobuf::ResTarget {
                    val: Some(Box::new(node.clone())),
                    ..protobuf::ResTarget::default()
                }))),
            }],
            limit_option: protobuf::LimitOption::Default as i32,
            op: protobuf::SetOperation::SetopNone as i32,
            ..protobuf::SelectStmt::default()
        }))),
    };
    let text = select.deparse(pg_query::DeparseOptions::default()).ok()?;
    text.strip_prefix("SELECT ").map(str::to_owned)
}

/// The comparable form of an index key expression: the qualifier dropped,
/// and below the top node the casts `pg_get_indexdef` adds (a constant's
/// type, a `varchar` column read as `text`) removed, so that
/// `lower((email)::text)` and `lower(email)`, or `(data ->> 'sku'::text)`
/// and `(data ->> 'sku')`, compare equal. The top node is kept: `col::text`
/// is another key than `col`.
pub fn normalised(node: &protobuf::Node) -> Option<String> {
    let mut copy = unqualified(node).ok()?;
    let mut first = true;
    walk_mut(&mut copy, &mut |n| {
        if std::mem::take(&mut first) {
            return;
        }
        strip_implicit_cast(n);
    })
    .ok()?;
    // The walk visits a node before its children: a cast removed is
    // replaced by its argument, whose own children are then visited.
    deparse(&copy)
}

/// Replaces `n` by its argument when `n` casts a constant, or casts a
/// column to a text type.
fn strip_implicit_cast(n: &mut protobuf::Node) {
    loop {
        let Some(N::TypeCast(cast)) = n.node.as_ref() else {
            return;
        };
        let Some(arg) = cast.arg.as_deref() else {
            return;
        };
        let to_text = cast.type_name.as_ref().is_some_and(|t| {
            t.names.last().and_then(|n| n.node.as_ref()).is_some_and(
                |n| matches!(n, N::String(s) if ["text", "varchar", "bpchar"].contains(&s.sval.as_str())),
            )
        });
        let strip = match arg.node.as_ref() {
            Some(N::AConst(_)) => true,
            Some(N::ColumnRef(_)) => to_text,
            _ => false,
        };
        if !strip {
            return;
        }
        *n = arg.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The WHERE clause of `SELECT 1 FROM t WHERE <condition>`.
    fn condition(sql: &str) -> protobuf::Node {
        let parsed = pg_query::parse(&format!("SELECT 1 FROM t WHERE {sql}"), 0).expect("parses");
        let statement = parsed.protobuf.stmts[0].stmt.clone().expect("stmt");
        let Some(N::SelectStmt(select)) = statement.node else {
            panic!("select")
        };
        *select.where_clause.expect("where")
    }

    #[test]
    fn expressions_deparse_as_postgres_writes_them() {
        assert_eq!(
            deparse(&condition("lower(t.email)")).as_deref(),
            Some("lower(t.email)")
        );
        assert_eq!(
            deparse(&unqualified(&condition("lower(t.\"Email\")")).expect("walks")).as_deref(),
            Some("lower(\"Email\")")
        );
        assert_eq!(
            deparse(&condition("metadata->>'sku'")).as_deref(),
            Some("metadata ->> 'sku'")
        );
    }

    #[test]
    fn mentions_find_columns_parameters_and_volatile_calls() {
        let found = mentions(&condition("lower($1) || p.code || random()::text")).expect("walks");
        assert_eq!(
            found.columns,
            vec![(vec!["p".to_owned()], "code".to_owned())]
        );
        assert!(found.params);
        assert_eq!(found.volatile.as_deref(), Some("random"));
        assert_eq!(mentions(&condition("x IN (SELECT 1)")), Err(Opaque));
        assert_eq!(mentions(&condition("count(*) > 1")), Err(Opaque));
    }

    #[test]
    fn normalising_drops_the_casts_pg_get_indexdef_adds_below_the_top() {
        assert_eq!(
            normalised(&condition("lower((email)::text)")),
            normalised(&condition("lower(email)"))
        );
        assert_eq!(
            normalised(&condition("(metadata ->> 'sku'::text)")),
            normalised(&condition("metadata->>'sku'"))
        );
        assert_ne!(
            normalised(&condition("(code)::text")),
            normalised(&condition("code"))
        );
        assert!(is_plain_call(&condition("lower(email)")));
        assert!(!is_plain_call(&condition("email::text")));
    }
}
