//! Index candidates of one normalised statement (pure): the statement is
//! parsed with PostgreSQL's own parser (`pg_query`), never with patterns.
//! Only a single plain SELECT is examined; every examined statement gives
//! candidates, or a [`Reason`] per table without one, or one
//! [`Unsupported`] for the whole statement.
//!
//! For each base table of FROM (aliases resolved, schema-qualified or not,
//! joins walked) the conditions of WHERE and of the joins' ON clauses are
//! classified by [`predicate`] and give, per table:
//!
//! - a filter candidate: the equality keys in the order they appear, then
//!   at most one range or LIKE-prefix key, at most [`MAX_COLUMNS`];
//! - or, when the statement has a LIMIT and its ORDER BY is on this table
//!   alone, a sort candidate instead: the single-value equality keys, then
//!   the sort keys in their direction (`created_at DESC`), when every
//!   other condition on the table is such an equality or a range on the
//!   first sort key (an IN list or another range breaks the index order);
//! - a join candidate on its key of each equality join (`b.x = a.y`), the
//!   inner side of a nested loop; the planner's verification decides.
//!
//! `deleted_at IS NULL` makes a candidate partial with that predicate
//! (Medusa soft-deletes). An OR is used only when every arm is an equality
//! on the same key (`a = $1 OR a = $2`); any other OR refuses the
//! statement rather than guess. Every candidate's DDL is parsed back with
//! `pg_query` before it is returned: one that would not parse is dropped
//! with a reason, never sent. A view or a partitioned table is examined as
//! its name says: the verification on the real database decides.

use pg_query::protobuf::{self, BoolExprType, SetOperation, node::Node as N};

use super::expr;
use super::keys::{self, IndexShape, KeyElem};
use super::predicate::{self, Filter, Relation, Scope, Seen, Use};
pub use super::reason::{Unserved, Unsupported};

/// Most key elements of one candidate.
pub const MAX_COLUMNS: usize = 3;
/// The partial predicate of a soft-deleting query.
pub const SOFT_DELETE_PREDICATE: &str = "deleted_at IS NULL";
pub use super::keys::{definition, index_target, quote_ident};

/// An index that would serve one table of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The schema as written in the statement; `None` when unqualified.
    pub schema: Option<String>,
    pub table: String,
    /// Key elements in order, each rendered as CREATE INDEX takes it
    /// (see [`keys`]): `email`, `"Cart"`, `lower(email)`,
    /// `(metadata ->> 'sku')`, `created_at DESC`, `handle text_pattern_ops`.
    pub columns: Vec<String>,
    /// The partial index predicate, e.g. [`SOFT_DELETE_PREDICATE`].
    pub predicate: Option<String>,
    /// How many of the last keys are sort keys (0 for a filter or join
    /// candidate): an existing index covers a sort candidate only with all
    /// its keys, a filter candidate with its first.
    pub sorted: usize,
}

/// A statement parsed for examination.
#[derive(Debug)]
pub struct Examined {
    pub candidates: Vec<Candidate>,
    /// The tables that got no candidate, and why.
    pub unserved: Vec<Unserved>,
    /// The highest `$n` of the statement (0 without parameters).
    pub params: usize,
}

/// Parses `sql` and derives its candidates.
pub fn examine(sql: &str) -> Result<Examined, Unsupported> {
    let parsed = pg_query::parse(sql, pg_query::ParserOptions::DEFAULT)
        .map_err(|error| Unsupported::Parse(error.to_string()))?;
    let params = highest_param(sql);
    let statement = match parsed.protobuf.stmts.as_slice() {
        [statement] => statement.stmt.as_ref().and_then(|s| s.node.as_ref()),
        [] => return Err(Unsupported::NotSelect("empty")),
        _ => return Err(Unsupported::NotSelect("several statements")),
    };
    let select = match statement {
        Some(N::SelectStmt(select)) => select,
        Some(N::UpdateStmt(_)) => return Err(Unsupported::NotSelect("an UPDATE")),
        Some(N::InsertStmt(_)) => return Err(Unsupported::NotSelect("an INSERT")),
        Some(N::DeleteStmt(_)) => return Err(Unsupported::NotSelect("a DELETE")),
        Some(N::MergeStmt(_)) => return Err(Unsupported::NotSelect("a MERGE")),
        _ => return Err(Unsupported::NotSelect("a utility statement")),
    };
    if select.op != SetOperation::SetopNone as i32 {
        return Err(Unsupported::NotSelect("a UNION, INTERSECT or EXCEPT"));
    }
    if select.with_clause.is_some() {
        return Err(Unsupported::NotSelect("a WITH query"));
    }
    if select.into_clause.is_some() {
        return Err(Unsupported::NotSelect("a SELECT INTO"));
    }
    if !select.values_lists.is_empty() {
        return Err(Unsupported::NotSelect("a VALUES list"));
    }
    let (candidates, unserved) = select_candidates(select)?;
    Ok(Examined {
        candidates,
        unserved,
        params,
    })
}

/// The highest `$n` of `sql`, from PostgreSQL's own lexer (every clause
/// counts, LIMIT and OFFSET included).
fn highest_param(sql: &str) -> usize {
    let Ok(scanned) = pg_query::scan(sql) else {
        return 0;
    };
    scanned
        .tokens
        .iter()
        .filter(|token| token.token == protobuf::Token::Param as i32)
        .filter_map(|token| {
            let start = usize::try_from(token.start).ok()? + 1;
            let end = usize::try_from(token.end).ok()?;
            sql.get(start..end)?.parse::<usize>().ok()
        })
        .max()
        .unwrap_or(0)
}

/// What the conditions say about one table.
#[derive(Debug, Default)]
struct TableUse {
    filters: Vec<Filter>,
    joins: Vec<KeyElem>,
    unusable: Vec<String>,
}

fn select_candidates(
    select: &protobuf::SelectStmt,
) -> Result<(Vec<Candidate>, Vec<Unserved>), Unsupported> {
    let mut relations = Vec::new();
    let mut conditions = Vec::new();
    let mut opaque = false;
    for item in &select.from_clause {
        collect_relations(item, &mut relations, &mut conditions, &mut opaque);
    }
    if relations.is_empty() {
        return Err(Unsupported::NoTable);
    }
    conditions.extend(select.where_clause.as_deref());
    let scope = Scope {
        relations: &relations,
        opaque,
    };
    let mut seen = Vec::new();
    for condition in conditions {
        conjuncts(condition, &scope, &mut seen)?;
    }
    let mut uses: Vec<TableUse> = relations.iter().map(|_| TableUse::default()).collect();
    // Conditions whose table is unknown are reported on every table.
    let mut anywhere: Vec<String> = Vec::new();
    for item in seen {
        match item {
            Seen::Filter(filter) => uses[filter.relation].filters.push(filter),
            Seen::Join(sides) => {
                for (relation, key) in sides {
                    uses[relation].joins.push(key);
                }
            }
            Seen::Unusable {
                relation: Some(relation),
                why,
            } => uses[relation].unusable.push(why),
            Seen::Unusable {
                relation: None,
                why,
            } => anywhere.push(why),
        }
    }
    let sort = sort_keys(select, &scope);
    let mut candidates: Vec<Candidate> = Vec::new();
    let mut unserved = Vec::new();
    for (index, (relation, usage)) in relations.iter().zip(&uses).enumerate() {
        let sort = sort.as_ref().filter(|(r, _)| *r == index).map(|(_, k)| k);
        let (mine, mut why) = table_candidates(relation, usage, sort);
        let mut added = false;
        for candidate in mine {
            if !candidates.contains(&candidate) {
                candidates.push(candidate);
            }
            added = true;
        }
        if !added {
            why.extend(anywhere.iter().cloned());
            unserved.push(Unserved {
                schema: relation.schema.clone(),
                table: relation.table.clone(),
                seen: why,
            });
        }
    }
    Ok((candidates, unserved))
}

/// Base tables of a FROM item, joins walked; their ON clauses are added to
/// `conditions`.
fn collect_relations<'a>(
    node: &'a protobuf::Node,
    out: &mut Vec<Relation>,
    conditions: &mut Vec<&'a protobuf::Node>,
    opaque: &mut bool,
) {
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
                collect_relations(side, out, conditions, opaque);
            }
            conditions.extend(join.quals.as_deref());
        }
        _ => *opaque = true,
    }
}

/// Flattens ANDs and classifies each condition; an OR is kept only as an
/// equality on one key.
fn conjuncts(node: &protobuf::Node, scope: &Scope, out: &mut Vec<Seen>) -> Result<(), Unsupported> {
    match node.node.as_ref() {
        Some(N::BoolExpr(b)) if b.boolop == BoolExprType::AndExpr as i32 => {
            for arg in &b.args {
                conjuncts(arg, scope, out)?;
            }
            Ok(())
        }
        Some(N::BoolExpr(b)) if b.boolop == BoolExprType::OrExpr as i32 => {
            let arms: Vec<Seen> = b
                .args
                .iter()
                .map(|arm| predicate::classify(arm, scope))
                .collect();
            let same = |a: &Filter, b: &Filter| a.relation == b.relation && a.key == b.key;
            let filters: Option<Vec<&Filter>> = arms
                .iter()
                .map(|arm| match arm {
                    Seen::Filter(f) if matches!(f.used, Use::Equality { .. }) => Some(f),
                    _ => None,
                })
                .collect();
            match filters.as_deref() {
                Some([first, rest @ ..]) if rest.iter().all(|f| same(first, f)) => {
                    out.push(Seen::Filter(Filter {
                        used: Use::Equality { single: false },
                        ..(*first).clone()
                    }));
                    Ok(())
                }
                _ => Err(Unsupported::Or(
                    b.args
                        .iter()
                        .filter_map(expr::deparse)
                        .collect::<Vec<_>>()
                        .join(" OR "),
                )),
            }
        }
        _ => {
            out.push(predicate::classify(node, scope));
            Ok(())
        }
    }
}

/// The ORDER BY keys and their table, when the statement has a LIMIT and
/// sorts on one table's columns only.
fn sort_keys(select: &protobuf::SelectStmt, scope: &Scope) -> Option<(usize, Vec<KeyElem>)> {
    select.limit_count.as_ref()?;
    let mut relation = None;
    let mut keys = Vec::new();
    for item in &select.sort_clause {
        let Some(N::SortBy(sort)) = item.node.as_ref() else {
            return None;
        };
        if !sort.use_op.is_empty() {
            return None;
        }
        let mut node = sort.node.as_deref()?;
        // `ORDER BY "User_id"`: an output column's alias.
        if let Some((qualifier, name)) = expr::as_column(node)
            && qualifier.is_empty()
            && let Some(target) = select
                .target_list
                .iter()
                .find_map(|t| match t.node.as_ref() {
                    Some(N::ResTarget(target)) if target.name == name => target.val.as_deref(),
                    _ => None,
                })
        {
            node = target;
        }
        let found = expr::mentions(node).ok()?;
        if found.params || found.volatile.is_some() {
            return None;
        }
        let mut tables = found
            .columns
            .iter()
            .map(|(qualifier, _)| scope.resolve(qualifier));
        let first = tables.next()??;
        if tables.any(|t| t != Some(first)) || relation.is_some_and(|r| r != first) {
            return None;
        }
        relation = Some(first);
        keys.push(KeyElem::of(node)?.ordered(sort.sortby_dir, sort.sortby_nulls));
    }
    Some((relation?, keys))
}

/// The candidates of one table, or why there is none.
fn table_candidates(
    relation: &Relation,
    usage: &TableUse,
    sort: Option<&Vec<KeyElem>>,
) -> (Vec<Candidate>, Vec<String>) {
    let soft = usage.filters.iter().any(|f| f.used == Use::SoftDelete);
    let predicate = soft.then(|| SOFT_DELETE_PREDICATE.to_owned());
    let mut equalities: Vec<&Filter> = Vec::new();
    for f in &usage.filters {
        if matches!(f.used, Use::Equality { .. })
            && !equalities.iter().any(|e| e.key.same_key(&f.key))
        {
            equalities.push(f);
        }
    }
    let range = usage
        .filters
        .iter()
        .find(|f| matches!(f.used, Use::Range | Use::Prefix));
    let mut keys: Vec<KeyElem> = Vec::new();
    let mut sorted = 0;
    if let Some(sort) = sort.filter(|sort| sorts(usage, sort)) {
        keys.extend(
            equalities
                .iter()
                .filter(|e| e.used == Use::Equality { single: true })
                .map(|e| e.key.clone())
                .take(MAX_COLUMNS - sort.len()),
        );
        // A sort key fixed by an equality orders nothing.
        let rest: Vec<&KeyElem> = sort
            .iter()
            .filter(|s| !keys.iter().any(|k| k.same_key(s)))
            .collect();
        sorted = rest.len();
        keys.extend(rest.into_iter().cloned());
    } else {
        keys.extend(equalities.iter().take(MAX_COLUMNS).map(|e| e.key.clone()));
        if let Some(range) = range
            && keys.len() < MAX_COLUMNS
            && !keys.iter().any(|k| k.same_key(&range.key))
        {
            keys.push(range.key.clone());
        }
    }
    let mut out = Vec::new();
    let mut why = usage.unusable.clone();
    let mut push = |keys: Vec<KeyElem>, sorted: usize, why: &mut Vec<String>| {
        if keys.is_empty() {
            return;
        }
        let columns: Vec<String> = keys.iter().map(KeyElem::render).collect();
        let ddl = keys::definition(
            "s",
            &relation.table,
            &columns,
            predicate.as_deref().unwrap_or(""),
        );
        match IndexShape::parse(&ddl) {
            Some(shape) if shape.keys.len() == columns.len() => {
                let candidate = Candidate {
                    schema: relation.schema.clone(),
                    table: relation.table.clone(),
                    columns,
                    predicate: predicate.clone(),
                    sorted,
                };
                if !out.contains(&candidate) {
                    out.push(candidate);
                }
            }
            _ => why.push(format!(
                "its key ({}) does not render to a valid CREATE INDEX",
                columns.join(", ")
            )),
        }
    };
    let first = keys.first().cloned();
    push(keys, sorted, &mut why);
    // A join key the filter candidate already leads with adds nothing.
    for join in &usage.joins {
        if !first.as_ref().is_some_and(|f| f.same_key(join)) {
            push(vec![join.clone()], 0, &mut why);
        }
    }
    if out.is_empty() && soft {
        why.push(format!(
            "`{SOFT_DELETE_PREDICATE}` alone selects most rows; it only ever becomes a partial index's predicate"
        ));
    }
    (out, why)
}

/// Whether the sort keys may replace the filter: every condition on the
/// table (if any) is a single-value equality, the soft-delete test, or a
/// range on the first sort key, and the sort fits in the key.
fn sorts(usage: &TableUse, sort: &[KeyElem]) -> bool {
    !sort.is_empty()
        && sort.len() <= MAX_COLUMNS
        && usage.filters.iter().all(|f| match f.used {
            Use::Equality { single } => single,
            Use::SoftDelete => true,
            Use::Range | Use::Prefix => sort.first().is_some_and(|s| s.same_key(&f.key)),
        })
}

#[cfg(test)]
#[path = "candidate_tests.rs"]
mod tests;
