//! Whether an existing index already covers a candidate (pure): the index
//! definition (`pg_get_indexdef()`) is parsed with `pg_query` as an
//! `IndexStmt`, and it covers the candidate when its first key column is the
//! candidate's leading column. An expression as first key, or a definition
//! that does not parse, covers nothing.

use pg_query::protobuf::node::Node as N;

/// The key columns of an index definition, in order; an expression key is
/// `None`. `None` as a whole when `definition` is no CREATE INDEX.
pub fn index_columns(definition: &str) -> Option<Vec<Option<String>>> {
    let parsed = pg_query::parse(definition, pg_query::ParserOptions::DEFAULT).ok()?;
    let [statement] = parsed.protobuf.stmts.as_slice() else {
        return None;
    };
    let Some(N::IndexStmt(index)) = statement.stmt.as_ref().and_then(|s| s.node.as_ref()) else {
        return None;
    };
    Some(
        index
            .index_params
            .iter()
            .map(|param| match param.node.as_ref() {
                Some(N::IndexElem(elem)) if !elem.name.is_empty() => Some(elem.name.clone()),
                _ => None,
            })
            .collect(),
    )
}

/// Whether the index `definition` starts with `columns[0]`.
pub fn covers(definition: &str, columns: &[String]) -> bool {
    let Some(leading) = columns.first() else {
        return false;
    };
    index_columns(definition)
        .and_then(|keys| keys.into_iter().next().flatten())
        .is_some_and(|first| first == *leading)
}

/// Whether any of `definitions` (the indexes of the candidate's table)
/// covers `columns`.
pub fn covered<'a>(definitions: impl IntoIterator<Item = &'a str>, columns: &[String]) -> bool {
    definitions
        .into_iter()
        .any(|definition| covers(definition, columns))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn an_index_starting_with_the_leading_column_covers() {
        let definition =
            "CREATE INDEX orders_email_idx ON public.orders USING btree (email, status)";
        assert!(covers(definition, &columns(&["email"])));
        assert!(covers(definition, &columns(&["email", "created_at"])));
        assert!(covers(
            "CREATE UNIQUE INDEX \"IDX_product_handle\" ON public.product USING btree (handle) \
             WHERE (deleted_at IS NULL)",
            &columns(&["handle"])
        ));
    }

    #[test]
    fn an_index_on_another_leading_column_does_not_cover() {
        let definition =
            "CREATE INDEX orders_status_email_idx ON public.orders USING btree (status, email)";
        assert!(!covers(definition, &columns(&["email"])));
        assert!(!covers(
            "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)",
            &columns(&["email"])
        ));
    }

    #[test]
    fn expressions_nonsense_and_empty_candidates_cover_nothing() {
        assert!(!covers(
            "CREATE INDEX lower_email ON public.orders USING btree (lower(email))",
            &columns(&["email"])
        ));
        assert!(!covers("not an index at all", &columns(&["email"])));
        assert!(!covers(
            "CREATE INDEX i ON t USING btree (email)",
            &columns(&[])
        ));
        assert_eq!(
            index_columns("CREATE INDEX i ON t USING btree (a, lower(b), c)"),
            Some(vec![Some("a".into()), None, Some("c".into())])
        );
    }

    #[test]
    fn any_of_the_tables_indexes_may_cover() {
        let definitions = [
            "CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)",
            "CREATE INDEX headroom_orders_email_idx ON public.orders USING btree (email) \
             WHERE (deleted_at IS NULL)",
        ];
        assert!(covered(definitions, &columns(&["email"])));
        assert!(!covered(definitions, &columns(&["token"])));
    }
}
