//! Why a statement, or one table of it, gets no index candidate at the
//! parse level (pure): each reason has a stable `code()` for
//! machines and a full sentence ([`Display`](std::fmt::Display)) for
//! people. Codes:
//!
//! | code | meaning |
//! |---|---|
//! | `parse_error` | PostgreSQL's parser rejects the text |
//! | `not_select` | not a single plain SELECT (UPDATE, UNION, WITH, several statements, …) |
//! | `no_table` | the SELECT reads no base table (no FROM, or only subqueries and functions) |
//! | `unsupported_or` | an OR across different columns, which no single index serves |
//! | `no_predicate` | a table of the statement has no condition on its columns at all |
//! | `no_usable_predicate` | a table has conditions, none an index serves (each named with why) |

use std::fmt;

/// A whole statement refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    #[error("The statement does not parse: {0}.")]
    Parse(String),
    #[error(
        "The statement is {0}, not a single plain SELECT; only SELECTs are examined for indexes."
    )]
    NotSelect(&'static str),
    #[error("The statement reads no base table (no FROM, or only subqueries and functions).")]
    NoTable,
    #[error(
        "Its conditions hold an OR across different columns ({0}), which no single index serves; the statement is skipped rather than guessed."
    )]
    Or(String),
}

impl Unsupported {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Parse(_) => "parse_error",
            Self::NotSelect(_) => "not_select",
            Self::NoTable => "no_table",
            Self::Or(_) => "unsupported_or",
        }
    }
}

/// A table of a statement that got no candidate, and what was seen of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unserved {
    /// The schema as written; `None` when unqualified.
    pub schema: Option<String>,
    pub table: String,
    /// Each condition on the table, and why no index serves it; empty when
    /// the statement has none.
    pub seen: Vec<String>,
}

impl Unserved {
    pub fn code(&self) -> &'static str {
        if self.seen.is_empty() {
            "no_predicate"
        } else {
            "no_usable_predicate"
        }
    }
}

impl fmt::Display for Unserved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let table = match &self.schema {
            Some(schema) => format!("{schema}.{}", self.table),
            None => self.table.clone(),
        };
        if self.seen.is_empty() {
            write!(
                f,
                "No index candidate for `{table}`: the statement has no condition on its columns, so an index could not narrow what it reads."
            )
        } else {
            write!(
                f,
                "No index candidate for `{table}`: {}.",
                self.seen.join("; ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_sentences_full() {
        let statements = [
            (
                Unsupported::Parse("syntax error at or near \"SELEC\"".into()),
                "parse_error",
            ),
            (Unsupported::NotSelect("an UPDATE"), "not_select"),
            (Unsupported::NoTable, "no_table"),
            (Unsupported::Or("email, phone".into()), "unsupported_or"),
        ];
        let tables = [
            (
                Unserved {
                    schema: None,
                    table: "orders".into(),
                    seen: vec![],
                },
                "no_predicate",
            ),
            (
                Unserved {
                    schema: Some("shop".into()),
                    table: "orders".into(),
                    seen: vec![
                        "`email` is compared with `ILIKE`, which a btree cannot serve".into(),
                    ],
                },
                "no_usable_predicate",
            ),
        ];
        let cases = statements
            .iter()
            .map(|(reason, code)| (reason.code(), reason.to_string(), *code))
            .chain(
                tables
                    .iter()
                    .map(|(reason, code)| (reason.code(), reason.to_string(), *code)),
            );
        for (actual, sentence, code) in cases {
            assert_eq!(actual, code);
            assert!(sentence.ends_with('.'), "{sentence}");
            assert!(
                sentence.chars().next().is_some_and(char::is_uppercase),
                "{sentence}"
            );
        }
    }
}
