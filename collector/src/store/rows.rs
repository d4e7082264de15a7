//! Strict decoding of stored rows. A stored value the code does not know
//! (an enum's unknown name, JSON that does not parse) is a [`BadRow`] that
//! names the table, the row and the column. The readers skip such a row and
//! log it at WARN (once per row and column per process, since the alerts'
//! dispatcher re-reads every tick): a default in its place would change
//! behaviour (an unknown state read as `open` pages someone; an unknown
//! delivery status read as `pending` sends again).

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use serde::de::DeserializeOwned;

/// A stored row that does not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("row {id} of table {table} does not decode: {column} {problem}")]
pub struct BadRow {
    pub table: &'static str,
    /// The row's key (`id`, or the columns of its key joined by `/`).
    pub id: String,
    pub column: &'static str,
    pub problem: String,
}

/// Parses the stored `text` of an enum column, or names the row.
pub fn parse_enum<T>(
    table: &'static str,
    id: &str,
    column: &'static str,
    text: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, BadRow> {
    parse(text).ok_or_else(|| BadRow {
        table,
        id: id.to_owned(),
        column,
        problem: format!("has the unknown value {text:?}"),
    })
}

/// Like [`parse_enum`] for a nullable column: NULL is `None`, an unknown
/// value is still an error.
pub fn parse_optional_enum<T>(
    table: &'static str,
    id: &str,
    column: &'static str,
    text: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, BadRow> {
    text.map(|text| parse_enum(table, id, column, text, parse))
        .transpose()
}

/// Parses the stored JSON of a column, or names the row.
pub fn parse_json<T: DeserializeOwned>(
    table: &'static str,
    id: &str,
    column: &'static str,
    text: &str,
) -> Result<T, BadRow> {
    serde_json::from_str(text).map_err(|error| BadRow {
        table,
        id: id.to_owned(),
        column,
        problem: format!("is not the expected JSON ({error})"),
    })
}

/// Rows read from a table: those that decoded, and the errors of the others.
#[derive(Debug)]
pub struct Decoded<T> {
    pub rows: Vec<T>,
    pub bad: Vec<BadRow>,
}

impl<T> FromIterator<Result<T, BadRow>> for Decoded<T> {
    fn from_iter<I: IntoIterator<Item = Result<T, BadRow>>>(iter: I) -> Self {
        let mut decoded = Decoded {
            rows: Vec::new(),
            bad: Vec::new(),
        };
        for row in iter {
            match row {
                Ok(row) => decoded.rows.push(row),
                Err(bad) => decoded.bad.push(bad),
            }
        }
        decoded
    }
}

impl<T> Decoded<T> {
    /// The rows that decoded; each that did not is logged (see [`warn`]).
    pub fn kept(self) -> Vec<T> {
        self.bad.iter().for_each(warn);
        self.rows
    }
}

/// Most rows remembered as already logged; past it, every read logs again.
const MAX_REMEMBERED: usize = 10_000;

/// Logs `bad` at WARN, once per table, row and column per process.
pub fn warn(bad: &BadRow) {
    /// `(table, row, column)` already logged.
    type Logged = HashSet<(&'static str, String, &'static str)>;
    static LOGGED: OnceLock<Mutex<Logged>> = OnceLock::new();
    let first = LOGGED
        .get_or_init(Default::default)
        .lock()
        .map(|mut logged| {
            logged.len() >= MAX_REMEMBERED || logged.insert((bad.table, bad.id.clone(), bad.column))
        })
        .unwrap_or(true);
    if first {
        tracing::warn!(
            table = bad.table,
            row = %bad.id,
            error = %bad,
            "a stored row does not decode; it is skipped"
        );
    }
}

/// What `tracing` writes on this thread while the guard lives, for tests
/// that assert a row was logged.
#[cfg(test)]
pub(crate) mod capture {
    use std::sync::{Arc, Mutex};

    /// The captured text.
    #[derive(Clone, Default)]
    pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Captured {
        /// The lines written so far that mention `needle`.
        pub(crate) fn lines_with(&self, needle: &str) -> Vec<String> {
            String::from_utf8_lossy(&self.0.lock().expect("lock"))
                .lines()
                .filter(|line| line.contains(needle))
                .map(str::to_owned)
                .collect()
        }
    }

    /// Starts capturing (a `#[tokio::test]` runs on this thread).
    pub(crate) fn start() -> (tracing::subscriber::DefaultGuard, Captured) {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        (tracing::subscriber::set_default(subscriber), captured)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_enum_value_is_an_error_naming_table_row_and_column() {
        let parse = |text: &str| (text == "open").then_some(1);
        assert_eq!(
            parse_enum("recommendations", "r-1", "state", "open", parse),
            Ok(1)
        );
        let error =
            parse_enum("recommendations", "r-1", "state", "archived", parse).expect_err("unknown");
        assert_eq!(
            error.to_string(),
            "row r-1 of table recommendations does not decode: state has the unknown value \"archived\""
        );
        assert_eq!(
            parse_optional_enum("silences", "s", "kind", None, parse),
            Ok(None)
        );
        assert!(parse_optional_enum("silences", "s", "kind", Some("x"), parse).is_err());
        let json = parse_json::<Vec<i64>>("headroom", "cpu", "data", "{").expect_err("bad");
        assert!(
            json.to_string().starts_with(
                "row cpu of table headroom does not decode: data is not the expected JSON"
            ),
            "{json}"
        );
    }

    #[test]
    fn a_bad_row_is_skipped_and_logged_at_warn_once() {
        let (_guard, captured) = capture::start();
        let read = || -> Decoded<i64> {
            [
                Ok(1),
                parse_enum("alert_outbox", "n-rows-test", "status", "bounced", |_| None),
                Ok(2),
            ]
            .into_iter()
            .collect()
        };
        assert_eq!(read().kept(), vec![1, 2]);
        assert_eq!(read().kept(), vec![1, 2]);
        let lines = captured.lines_with("n-rows-test");
        assert_eq!(lines.len(), 1, "logged once: {lines:?}");
        assert!(lines[0].contains("WARN"), "{lines:?}");
        assert!(lines[0].contains("table=\"alert_outbox\""), "{lines:?}");
    }
}
