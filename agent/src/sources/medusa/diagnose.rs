//! What the medusa source's errors mean and how to fix them, and the
//! `check` findings about Medusa's tables (pure).

use super::{STATEMENT_TIMEOUT_MS, quote_ident};
use crate::sources::Finding;

/// What an error means and how to fix it.
pub fn diagnose(error: &tokio_postgres::Error, endpoint: &str, schema: &str) -> String {
    if let Some(db) = error.as_db_error() {
        match db.code().code() {
            "42P01" => {
                return format!(
                    "{} at {endpoint} (schema {schema}): is this a Medusa v2 database?",
                    db.message()
                );
            }
            "42501" => {
                return format!(
                    "{} at {endpoint}: grant the role SELECT on Medusa's tables (run `headroom-agent check`)",
                    db.message()
                );
            }
            "57014" => {
                return format!(
                    "a query at {endpoint} took longer than {STATEMENT_TIMEOUT_MS} ms and was cancelled: {}",
                    db.message()
                );
            }
            _ => {}
        }
    }
    if let Some(db) = error.as_db_error() {
        return format!(
            "PostgreSQL at {endpoint} answered with an error: {}",
            db.message()
        );
    }
    let source = std::error::Error::source(error)
        .map(ToString::to_string)
        .unwrap_or_default();
    format!("cannot reach PostgreSQL at {endpoint}: {error} {source}")
}

/// Check findings from (table, exists, can select) rows (pure).
pub fn table_findings(schema: &str, user: &str, rows: &[(String, bool, bool)]) -> Vec<Finding> {
    let missing: Vec<&str> = rows
        .iter()
        .filter(|(_, exists, _)| !exists)
        .map(|(name, _, _)| name.as_str())
        .collect();
    let denied: Vec<&str> = rows
        .iter()
        .filter(|(_, exists, select)| *exists && !select)
        .map(|(name, _, _)| name.as_str())
        .collect();
    let mut findings = Vec::new();
    if !missing.is_empty() {
        findings.push(Finding::problem(
            format!(
                "tables missing from schema {schema}: {}; is this a Medusa v2 database?",
                missing.join(", ")
            ),
            "point `url` at the store's database (the one `medusa db:migrate` ran on) and `schema` at its schema",
        ));
    }
    if !denied.is_empty() {
        let list: Vec<String> = denied
            .iter()
            .map(|table| format!("{}.{}", quote_ident(schema), quote_ident(table)))
            .collect();
        findings.push(Finding::problem(
            format!("{user} cannot SELECT {}", denied.join(", ")),
            format!(
                "GRANT USAGE ON SCHEMA {} TO {user}; GRANT SELECT ON {} TO {user};",
                quote_ident(schema),
                list.join(", ")
            ),
        ));
    }
    if missing.is_empty() && denied.is_empty() {
        findings.push(Finding::ok(format!(
            "{user} can read Medusa's tables in schema {schema}"
        )));
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_missing_tables_and_the_grant() {
        let rows = vec![
            ("order".to_owned(), true, false),
            ("cart".to_owned(), false, false),
            ("product".to_owned(), true, true),
        ];
        let findings = table_findings("public", "ro", &rows);
        assert_eq!(findings.len(), 2);
        assert!(findings[0].what.contains("cart"), "{findings:?}");
        assert!(findings[0].what.contains("Medusa v2"), "{findings:?}");
        assert_eq!(
            findings[1].fix.as_deref(),
            Some(
                "GRANT USAGE ON SCHEMA \"public\" TO ro; GRANT SELECT ON \"public\".\"order\" TO ro;"
            )
        );
        let ok = table_findings("public", "ro", &[("order".to_owned(), true, true)]);
        assert!(ok[0].ok);
    }
}
