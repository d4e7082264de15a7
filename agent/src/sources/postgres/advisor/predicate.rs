//! What one condition of a statement (a WHERE or ON conjunct, never an AND)
//! says about the tables of its FROM (pure): a filter an index can serve
//! (a key and how it is used), an equality join between two tables, or an
//! unusable condition with the reason in words.
//!
//! A filter is `key op value`, `value op key` (plain operators) or a test
//! on the key: the key side is a column or an expression over columns of
//! one table only (no parameter in it); the value side is any expression
//! without a column of the same table and without a volatile function
//! ([`expr::VOLATILE_FUNCTIONS`]). A column of another table on the value
//! side makes an equality a join condition. The uses:
//!
//! | condition | use |
//! |---|---|
//! | `=`, `IN (…)` with one value, `IS NULL`, a boolean column, `IS TRUE` | equality, single value |
//! | `IN (…)`, `= ANY(…)` | equality, several values (breaks a sort) |
//! | `<`, `<=`, `>`, `>=`, `BETWEEN`, `IS NOT NULL` | range |
//! | `LIKE 'prefix%'`, `LIKE $1` | prefix: a range on a `text_pattern_ops` key |
//! | `deleted_at IS NULL` (the bare column) | the soft-delete partial predicate |
//!
//! `IS NULL` on another column is an equality (a btree finds NULLs as an
//! index condition); `IS NOT NULL` a range, since it selects one end of the
//! index. A btree serves `LIKE` with a constant prefix only under the C
//! collation, unless the key carries the `text_pattern_ops` operator class,
//! hence the class on every prefix key. Unusable: `<>`, `NOT IN`, `NOT
//! LIKE`, `ILIKE`, `SIMILAR TO`, a pattern starting with a wildcard,
//! `IS DISTINCT FROM`, other operators (`@>`, `~`, …: not a btree's),
//! subqueries, two columns of one table compared, a volatile value.

use pg_query::protobuf::{
    self, AExprKind, BoolExprType, BoolTestType, NullTestType, node::Node as N,
};

use super::expr;
use super::keys::{KeyElem, PATTERN_OPCLASS};

/// The soft-delete column whose `IS NULL` becomes the partial predicate.
pub const SOFT_DELETE_COLUMN: &str = "deleted_at";

/// A base table of FROM and the name it is referred to by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub schema: Option<String>,
    pub table: String,
    pub alias: Option<String>,
}

/// The tables a condition's columns may belong to.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub relations: &'a [Relation],
    /// FROM also holds a subquery or a function: an unqualified column may
    /// be theirs.
    pub opaque: bool,
}

impl Scope<'_> {
    /// The relation a column reference with `qualifier` belongs to.
    pub fn resolve(&self, qualifier: &[String]) -> Option<usize> {
        let found = |matches: &dyn Fn(&Relation) -> bool| {
            let mut all = self
                .relations
                .iter()
                .enumerate()
                .filter(|(_, r)| matches(r));
            let (index, _) = all.next()?;
            all.next().is_none().then_some(index)
        };
        match qualifier {
            [] => (self.relations.len() == 1 && !self.opaque).then_some(0),
            [name] => found(&|r| match &r.alias {
                Some(alias) => alias == name,
                None => r.table == *name,
            }),
            [schema, name] => found(&|r| {
                r.alias.is_none() && r.table == *name && r.schema.as_deref() == Some(schema)
            }),
            _ => None,
        }
    }
}

/// How a filter uses its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    /// Rows with one value of the key (`single`) or several (IN, ANY).
    Equality {
        single: bool,
    },
    Range,
    /// `LIKE` with a leading constant or a parameter as pattern.
    Prefix,
    /// `deleted_at IS NULL`.
    SoftDelete,
}

/// A condition an index on one table can serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub relation: usize,
    pub key: KeyElem,
    pub used: Use,
}

/// What one condition says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Filter(Filter),
    /// `a.x = b.y`: each side, its relation and key.
    Join([(usize, KeyElem); 2]),
    /// A condition no index serves, on `relation` when known, and why.
    Unusable {
        relation: Option<usize>,
        why: String,
    },
}

/// One side of a comparison.
enum Side {
    /// An expression over columns of one table only.
    Key {
        relation: usize,
        key: KeyElem,
        label: String,
    },
    /// No column of any table: a parameter, constant or expression of them.
    Value,
    /// Why it is neither.
    Other(String),
}

fn side(node: &protobuf::Node, scope: &Scope) -> (Side, Option<usize>, Option<String>) {
    let Ok(found) = expr::mentions(node) else {
        return (
            Side::Other("a subquery or an aggregate".to_owned()),
            None,
            None,
        );
    };
    let label = expr::deparse(node).unwrap_or_else(|| "an expression".to_owned());
    let mut relations: Vec<Option<usize>> = found
        .columns
        .iter()
        .map(|(qualifier, _)| scope.resolve(qualifier))
        .collect();
    relations.dedup();
    match relations.as_slice() {
        [] if found.volatile.is_some() => (
            Side::Other(format!(
                "`{label}`, which calls the volatile function `{}()`",
                found.volatile.unwrap_or_default()
            )),
            None,
            None,
        ),
        [] => (Side::Value, None, None),
        [Some(relation)] => {
            let relation = *relation;
            let label = expr::deparse(&expr::unqualified(node).unwrap_or_else(|_| node.clone()))
                .unwrap_or(label);
            if found.params {
                return (
                    Side::Other(format!(
                        "`{label}` mixes the column with a parameter, which no index key holds"
                    )),
                    Some(relation),
                    Some(label),
                );
            }
            if let Some(function) = found.volatile {
                return (
                    Side::Other(format!(
                        "`{label}` calls the volatile function `{function}()`"
                    )),
                    Some(relation),
                    Some(label),
                );
            }
            match KeyElem::of(node) {
                Some(key) => (
                    Side::Key {
                        relation,
                        key,
                        label: label.clone(),
                    },
                    Some(relation),
                    Some(label),
                ),
                None => (
                    Side::Other(format!("`{label}` cannot be written as an index key")),
                    Some(relation),
                    Some(label),
                ),
            }
        }
        [None, ..] | [_, None, ..] => (
            Side::Other(format!(
                "`{label}`, whose table is unknown (an unqualified column with several tables in FROM, or a column of a subquery)"
            )),
            None,
            None,
        ),
        _ => (
            Side::Other(format!("`{label}`, which mixes columns of several tables")),
            None,
            None,
        ),
    }
}

/// The operator's name (`=`, `<`, `~~`): its last name part.
fn operator(name: &[protobuf::Node]) -> &str {
    match name.last().and_then(|n| n.node.as_ref()) {
        Some(N::String(s)) => s.sval.as_str(),
        _ => "?",
    }
}

fn unusable(relation: Option<usize>, why: String) -> Seen {
    Seen::Unusable { relation, why }
}

fn filter(relation: usize, key: KeyElem, used: Use) -> Seen {
    Seen::Filter(Filter {
        relation,
        key,
        used,
    })
}

/// What the condition `node` (no AND) says.
pub fn classify(node: &protobuf::Node, scope: &Scope) -> Seen {
    match node.node.as_ref() {
        Some(N::AExpr(a)) => comparison(a, scope),
        Some(N::NullTest(test)) => {
            let Some(arg) = test.arg.as_deref() else {
                return unusable(None, "an empty IS NULL test".to_owned());
            };
            let is_null = test.nulltesttype == NullTestType::IsNull as i32;
            match side(arg, scope) {
                (Side::Key { relation, key, .. }, ..) => {
                    let bare = expr::as_column(arg).is_some();
                    let used = match (is_null, &key.expr) {
                        (true, super::keys::KeyExpr::Column(c))
                            if bare && c == SOFT_DELETE_COLUMN =>
                        {
                            Use::SoftDelete
                        }
                        (true, _) => Use::Equality { single: true },
                        (false, _) => Use::Range,
                    };
                    filter(relation, key, used)
                }
                (Side::Value, ..) => unusable(None, "a NULL test of no column".to_owned()),
                (Side::Other(why), relation, _) => {
                    unusable(relation, format!("{why} is tested for NULL"))
                }
            }
        }
        Some(N::BooleanTest(test)) => {
            let Some(arg) = test.arg.as_deref() else {
                return unusable(None, "an empty boolean test".to_owned());
            };
            let kind = test.booltesttype;
            match side(arg, scope) {
                (Side::Key { relation, key, .. }, ..)
                    if kind == BoolTestType::IsTrue as i32
                        || kind == BoolTestType::IsFalse as i32 =>
                {
                    filter(relation, key, Use::Equality { single: true })
                }
                (
                    Side::Key {
                        relation, label, ..
                    },
                    ..,
                ) => unusable(
                    Some(relation),
                    format!(
                        "`{label}` is tested with IS NOT TRUE, IS NOT FALSE or IS UNKNOWN, which an index cannot serve"
                    ),
                ),
                (_, relation, _) => {
                    unusable(relation, "a boolean test of no single column".to_owned())
                }
            }
        }
        Some(N::ColumnRef(_)) => match side(node, scope) {
            (Side::Key { relation, key, .. }, ..) => {
                filter(relation, key, Use::Equality { single: true })
            }
            (Side::Other(why), relation, _) => {
                unusable(relation, format!("{why} is used as a condition"))
            }
            (Side::Value, ..) => unusable(None, "a constant condition".to_owned()),
        },
        Some(N::BoolExpr(b)) if b.boolop == BoolExprType::NotExpr as i32 => {
            match b.args.first().map(|arg| (arg, expr::as_column(arg))) {
                Some((arg, Some(_))) => match side(arg, scope) {
                    (Side::Key { relation, key, .. }, ..) => {
                        filter(relation, key, Use::Equality { single: true })
                    }
                    (_, relation, _) => {
                        unusable(relation, "a NOT of a column of unknown table".to_owned())
                    }
                },
                _ => {
                    let relation = b.args.first().and_then(|arg| side(arg, scope).1);
                    unusable(
                        relation,
                        "a NOT (…) condition, which an index cannot serve".to_owned(),
                    )
                }
            }
        }
        Some(N::SubLink(link)) => {
            let relation = link.testexpr.as_deref().and_then(|t| side(t, scope).1);
            unusable(
                relation,
                "a subquery condition (EXISTS, IN (SELECT …)), which Headroom does not examine"
                    .to_owned(),
            )
        }
        _ => {
            let (_, relation, label) = side(node, scope);
            unusable(
                relation,
                format!(
                    "the condition `{}` is no comparison of a column with a value",
                    label.or_else(|| expr::deparse(node)).unwrap_or_default()
                ),
            )
        }
    }
}

/// A binary comparison (`=`, `<`, IN, ANY, BETWEEN, LIKE, …).
fn comparison(a: &protobuf::AExpr, scope: &Scope) -> Seen {
    let op = operator(&a.name).to_owned();
    let kind = AExprKind::try_from(a.kind).unwrap_or(AExprKind::Undefined);
    let (Some(left), Some(right)) = (a.lexpr.as_deref(), a.rexpr.as_deref()) else {
        let (_, relation, _) = a
            .lexpr
            .as_deref()
            .or(a.rexpr.as_deref())
            .map_or((Side::Value, None, None), |n| side(n, scope));
        return unusable(
            relation,
            format!("a unary `{op}` condition, which an index cannot serve"),
        );
    };
    let (l, r) = (side(left, scope), side(right, scope));
    // Orient as (key, value); only plain operators may be reversed.
    let (key, value_node, value) = match (l, r) {
        (
            (
                Side::Key {
                    relation: a_rel,
                    key: a_key,
                    label: a_label,
                },
                ..,
            ),
            (
                Side::Key {
                    relation: b_rel,
                    key: b_key,
                    label: b_label,
                },
                ..,
            ),
        ) => {
            if a_rel == b_rel {
                return unusable(
                    Some(a_rel),
                    format!(
                        "`{a_label}` is compared with `{b_label}` of the same table, which no index serves"
                    ),
                );
            }
            if kind == AExprKind::AexprOp && op == "=" {
                return Seen::Join([(a_rel, a_key), (b_rel, b_key)]);
            }
            return unusable(
                Some(a_rel),
                format!(
                    "`{a_label}` is joined to `{b_label}` with `{op}`, which is no equality join"
                ),
            );
        }
        (key @ (Side::Key { .. }, ..), value) => (key, right, value),
        (value, key @ (Side::Key { .. }, ..)) if kind == AExprKind::AexprOp => (key, left, value),
        ((Side::Other(why), relation, _), _) | (_, (Side::Other(why), relation, _)) => {
            return unusable(relation, format!("{why} is compared with `{op}`"));
        }
        _ => return unusable(None, "a comparison of no column".to_owned()),
    };
    let (
        Side::Key {
            relation,
            key,
            label,
        },
        ..,
    ) = key
    else {
        return unusable(None, "a comparison of no column".to_owned());
    };
    if let (Side::Other(why), ..) = value {
        return unusable(Some(relation), format!("`{label}` is compared with {why}"));
    }
    let used = match (kind, op.as_str()) {
        (AExprKind::AexprOp, "=") => Use::Equality { single: true },
        (AExprKind::AexprOp, "<" | "<=" | ">" | ">=") => Use::Range,
        (AExprKind::AexprIn, "=") => Use::Equality {
            single: matches!(value_node.node.as_ref(), Some(N::List(list)) if list.items.len() == 1),
        },
        (AExprKind::AexprOpAny, "=") => Use::Equality { single: false },
        (AExprKind::AexprBetween | AExprKind::AexprBetweenSym, _) => Use::Range,
        (AExprKind::AexprLike, "~~") => match pattern_prefix(value_node) {
            Ok(()) => Use::Prefix,
            Err(why) => {
                return unusable(
                    Some(relation),
                    format!("`{label}` is compared with LIKE {why}"),
                );
            }
        },
        (AExprKind::AexprOp | AExprKind::AexprIn, "<>" | "!=") => {
            let what = if kind == AExprKind::AexprIn {
                "NOT IN"
            } else {
                "`<>`"
            };
            return unusable(
                Some(relation),
                format!(
                    "`{label}` is compared with {what}, which selects nearly every row and no index serves"
                ),
            );
        }
        (AExprKind::AexprLike, _) => {
            return unusable(
                Some(relation),
                format!("`{label}` is compared with NOT LIKE, which a btree cannot serve"),
            );
        }
        (AExprKind::AexprIlike, _) => {
            return unusable(
                Some(relation),
                format!(
                    "`{label}` is compared with `ILIKE`, which a btree cannot serve (an index on `lower({label})` with `lower({label}) LIKE lower($1)` could)"
                ),
            );
        }
        (AExprKind::AexprSimilar, _) => {
            return unusable(
                Some(relation),
                format!("`{label}` is compared with SIMILAR TO, which a btree cannot serve"),
            );
        }
        (AExprKind::AexprDistinct | AExprKind::AexprNotDistinct, _) => {
            return unusable(
                Some(relation),
                format!("`{label}` is compared with IS [NOT] DISTINCT FROM, which no index serves"),
            );
        }
        (AExprKind::AexprNotBetween | AExprKind::AexprNotBetweenSym, _) => {
            return unusable(
                Some(relation),
                format!("`{label}` is compared with NOT BETWEEN, which no index serves"),
            );
        }
        _ => {
            return unusable(
                Some(relation),
                format!(
                    "`{label}` is compared with `{op}`, which a btree cannot serve (a GIN or GiST index may; Headroom proposes btree indexes only)"
                ),
            );
        }
    };
    let key = if used == Use::Prefix {
        KeyElem {
            opclass: Some(PATTERN_OPCLASS.to_owned()),
            ..key
        }
    } else {
        key
    };
    filter(relation, key, used)
}

/// Whether a LIKE pattern can lead an index scan: `Err` says why not. A
/// constant must not start with a wildcard (nor a concatenation starting
/// with one); any other value (a parameter, `upper($1)`) is known when the
/// plan is made for its value, and the verification decides.
fn pattern_prefix(node: &protobuf::Node) -> Result<(), &'static str> {
    match node.node.as_ref() {
        Some(N::TypeCast(cast)) => cast.arg.as_deref().map_or(Ok(()), pattern_prefix),
        // `LIKE x ESCAPE e` is `like_escape(x, e)`.
        Some(N::FuncCall(call)) if expr::function_name(call).as_deref() == Some("like_escape") => {
            call.args.first().map_or(Ok(()), pattern_prefix)
        }
        Some(N::AExpr(concat)) if operator(&concat.name) == "||" => {
            concat.lexpr.as_deref().map_or(Ok(()), pattern_prefix)
        }
        Some(N::AConst(constant)) => match &constant.val {
            Some(protobuf::a_const::Val::Sval(s)) => match s.sval.chars().next() {
                Some('%' | '_') | None => {
                    Err("a pattern that begins with a wildcard, which no btree serves")
                }
                Some(_) => Ok(()),
            },
            _ => Err("a pattern that is no text"),
        },
        _ => Ok(()),
    }
}
