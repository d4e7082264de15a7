//! Reading `EXPLAIN (FORMAT JSON)` output (pure): the plan's total cost and
//! whether a given index (a hypothetical one, by its hypopg name) appears
//! anywhere in it.

use serde_json::Value;

/// The root plan of `EXPLAIN (FORMAT JSON)` output.
fn root(explain: &str) -> Option<Value> {
    let value: Value = serde_json::from_str(explain).ok()?;
    value.get(0)?.get("Plan").cloned()
}

/// The root node's `Total Cost`.
pub fn total_cost(explain: &str) -> Option<f64> {
    root(explain)?.get("Total Cost")?.as_f64()
}

/// Whether any node of the plan scans the index `name`.
pub fn uses_index(explain: &str, name: &str) -> bool {
    fn walk(node: &Value, name: &str) -> bool {
        node.get("Index Name").and_then(Value::as_str) == Some(name)
            || node
                .get("Plans")
                .and_then(Value::as_array)
                .is_some_and(|plans| plans.iter().any(|plan| walk(plan, name)))
    }
    root(explain).is_some_and(|plan| walk(&plan, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEQ: &str = r#"[{"Plan": {"Node Type": "Seq Scan", "Relation Name": "orders",
        "Startup Cost": 0.00, "Total Cost": 1093.00, "Plan Rows": 1}}]"#;
    const HYPO: &str = r#"[{"Plan": {"Node Type": "Limit", "Total Cost": 8.31, "Plans": [
        {"Node Type": "Index Scan", "Index Name": "<13931>btree_orders_email",
         "Total Cost": 8.30}]}}]"#;

    #[test]
    fn the_root_total_cost_is_read() {
        assert_eq!(total_cost(SEQ), Some(1093.0));
        assert_eq!(total_cost(HYPO), Some(8.31));
        assert_eq!(total_cost("not json"), None);
        assert_eq!(total_cost("[]"), None);
    }

    #[test]
    fn a_nested_index_scan_is_found_by_name() {
        assert!(uses_index(HYPO, "<13931>btree_orders_email"));
        assert!(!uses_index(HYPO, "<1>btree_orders_token"));
        assert!(!uses_index(SEQ, "<13931>btree_orders_email"));
    }
}
