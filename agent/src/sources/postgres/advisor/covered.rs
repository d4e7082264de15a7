//! Whether an existing index already covers a candidate (pure), from the
//! index's key elements, predicate and method as the agent parsed them
//! with `pg_query` (`v1::PgIndex` fields `keys`, `predicate`, `method`;
//! the definition is parsed again only for a record without them).
//!
//! A btree index covers a candidate when its leading key elements are the
//! candidate's — the first one for a filter or join candidate (an index
//! leading with the same key already finds the rows), all of them for a
//! sort candidate (the order must come from the index; the sort keys'
//! directions as written or all reversed, which a backward scan reads) —
//! comparing expressions in their normalised deparsed form, collations
//! and operator classes exactly; and when its predicate is compatible: a
//! plain index serves any need, a partial one only the same predicate
//! (a partial index with another predicate does not cover a non-partial
//! need). Other methods (gin, hash, …) cover nothing: the candidates are
//! btree needs.

use headroom_proto::v1;

use super::keys::{self, IndexShape, KeyElem};

/// The parsed keys, predicate and method of `index`.
fn shape(index: &v1::PgIndex) -> Option<(Vec<KeyElem>, String, String)> {
    if index.keys.is_empty() {
        let shape = IndexShape::parse(&index.definition)?;
        return Some((shape.keys, shape.predicate, shape.method));
    }
    let keys = index
        .keys
        .iter()
        .map(|key| KeyElem::parse(key))
        .collect::<Option<Vec<_>>>()?;
    Some((
        keys,
        keys::normalise_predicate(&index.predicate)?,
        index.method.clone(),
    ))
}

/// Whether `index` covers the need of `columns` (rendered keys, the last
/// `sorted` of them sort keys) under `predicate` ("" for none).
pub fn covers(index: &v1::PgIndex, columns: &[String], predicate: &str, sorted: usize) -> bool {
    let Some((existing, existing_predicate, method)) = shape(index) else {
        return false;
    };
    let Some(wanted) = columns
        .iter()
        .map(|key| KeyElem::parse(key))
        .collect::<Option<Vec<_>>>()
    else {
        return false;
    };
    let Some(predicate) = keys::normalise_predicate(predicate) else {
        return false;
    };
    let prefix = if sorted > 0 { wanted.len() } else { 1 };
    if method != "btree"
        || wanted.is_empty()
        || existing.len() < prefix
        || !(existing_predicate.is_empty() || existing_predicate == predicate)
    {
        return false;
    }
    let pairs = || wanted.iter().zip(&existing).take(prefix);
    if !pairs().all(|(w, e)| w.same_key(e)) {
        return false;
    }
    let sort = || pairs().skip(prefix - sorted.min(prefix));
    sort().all(|(w, e)| w.same_order(e, false)) || sort().all(|(w, e)| w.same_order(e, true))
}

/// Whether any of `indexes` (those of the candidate's table) covers it.
pub fn covered<'a>(
    indexes: impl IntoIterator<Item = &'a v1::PgIndex>,
    columns: &[String],
    predicate: &str,
    sorted: usize,
) -> bool {
    indexes
        .into_iter()
        .any(|index| covers(index, columns, predicate, sorted))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record as the agent sends it, fields parsed from `definition`.
    fn index(definition: &str) -> v1::PgIndex {
        let shape = IndexShape::parse(definition).expect("parses");
        v1::PgIndex {
            definition: definition.to_owned(),
            keys: shape.rendered_keys(),
            predicate: shape.predicate,
            method: shape.method,
            ..v1::PgIndex::default()
        }
    }

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn an_index_leading_with_the_first_key_covers_a_filter() {
        let i = index("CREATE INDEX orders_email_idx ON public.orders USING btree (email, status)");
        assert!(covers(&i, &cols(&["email"]), "", 0));
        assert!(covers(&i, &cols(&["email", "created_at"]), "", 0));
        assert!(!covers(&i, &cols(&["status"]), "", 0));
        assert!(!covers(&i, &[], "", 0));
    }

    #[test]
    fn expression_keys_compare_in_their_normalised_form() {
        let i = index("CREATE INDEX i ON public.customer USING btree (lower((email)::text))");
        assert!(covers(&i, &cols(&["lower(email)"]), "", 0));
        assert!(!covers(&i, &cols(&["email"]), "", 0));
        let sku = index("CREATE INDEX i ON public.p USING btree (((metadata ->> 'sku'::text)))");
        assert!(covers(&sku, &cols(&["(metadata ->> 'sku')"]), "", 0));
        let plain = index("CREATE INDEX i ON public.p USING btree (code)");
        assert!(!covers(&plain, &cols(&["(code::text)"]), "", 0));
    }

    #[test]
    fn operator_classes_must_match() {
        let plain = index("CREATE INDEX i ON public.p USING btree (handle)");
        assert!(!covers(&plain, &cols(&["handle text_pattern_ops"]), "", 0));
        let pattern = index("CREATE INDEX i ON public.p USING btree (handle text_pattern_ops)");
        assert!(covers(&pattern, &cols(&["handle text_pattern_ops"]), "", 0));
    }

    #[test]
    fn a_sort_needs_every_key_in_order_or_all_reversed() {
        let one = index("CREATE INDEX i ON public.o USING btree (store_id)");
        let need = cols(&["store_id", "created_at DESC"]);
        assert!(!covers(&one, &need, "", 1));
        assert!(covers(&one, &need, "", 0));
        let asc = index("CREATE INDEX i ON public.o USING btree (store_id, created_at)");
        assert!(covers(&asc, &need, "", 1));
        let mixed = cols(&["a DESC", "b"]);
        let same = index("CREATE INDEX i ON t (a, b)");
        assert!(!covers(&same, &mixed, "", 2));
        let reversed = index("CREATE INDEX i ON t (a, b DESC)");
        assert!(covers(&reversed, &mixed, "", 2));
    }

    #[test]
    fn predicates_must_be_compatible() {
        let partial = index(
            "CREATE UNIQUE INDEX \"IDX_product_handle\" ON public.product USING btree (handle) \
             WHERE (deleted_at IS NULL)",
        );
        assert!(covers(
            &partial,
            &cols(&["handle"]),
            "deleted_at IS NULL",
            0
        ));
        assert!(!covers(&partial, &cols(&["handle"]), "", 0));
        let other =
            index("CREATE INDEX i ON public.product USING btree (handle) WHERE (status = 'x')");
        assert!(!covers(&other, &cols(&["handle"]), "deleted_at IS NULL", 0));
        let plain = index("CREATE INDEX i ON public.product USING btree (handle)");
        assert!(covers(&plain, &cols(&["handle"]), "deleted_at IS NULL", 0));
    }

    #[test]
    fn other_methods_nonsense_and_old_records_are_handled() {
        assert!(!covers(
            &index("CREATE INDEX i ON t USING gin (tags)"),
            &cols(&["tags"]),
            "",
            0
        ));
        assert!(!covers(
            &index("CREATE INDEX i ON t USING hash (email)"),
            &cols(&["email"]),
            "",
            0
        ));
        let nonsense = v1::PgIndex {
            definition: "not an index at all".into(),
            ..v1::PgIndex::default()
        };
        assert!(!covers(&nonsense, &cols(&["email"]), "", 0));
        // A record without the parsed fields: the definition is parsed.
        let old = v1::PgIndex {
            definition: "CREATE INDEX i ON public.orders USING btree (email)".into(),
            ..v1::PgIndex::default()
        };
        assert!(covered([&old], &cols(&["email"]), "", 0));
    }
}
