//! The statement text sent for a `pg_stat_statements` query: PostgreSQL
//! normalises only optimisable statements (SELECT, INSERT, UPDATE, DELETE,
//! WITH, MERGE, VALUES, TABLE: literals become `$n`); those keep their text,
//! cut at [`MAX_QUERY_BYTES`]. Utility statements are stored verbatim
//! (`ALTER ROLE x PASSWORD 'secret'`, `SET …`, `COPY … FROM '/path'`), so
//! only their leading keywords are sent (`ALTER ROLE …`), never a name or
//! a literal.

/// Longest query text sent, in bytes (cut at a character boundary).
pub const MAX_QUERY_BYTES: usize = 4096;

/// Statements whose text PostgreSQL normalises (literals become `$n`).
const NORMALISED: [&str; 8] = [
    "SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "MERGE", "VALUES", "TABLE",
];

/// Words kept from the head of a utility statement: commands, object types
/// and modifiers. Anything else (a name, a literal, a setting) ends the head.
const UTILITY_WORDS: &str = "\
ABORT ACCESS AGGREGATE ALL ALTER ANALYSE ANALYZE AUTHORIZATION BEGIN CALL CAST \
CHARACTERISTICS CHECKPOINT CLOSE CLUSTER COLLATION COMMENT COMMIT CONCURRENTLY \
CONFIGURATION CONVERSION COPY CREATE DATA DATABASE DEALLOCATE DECLARE DEFAULT \
DICTIONARY DISCARD DO DOMAIN DROP END EVENT EXECUTE EXISTS EXPLAIN EXTENSION FAMILY \
FETCH FOREIGN FREEZE FULL FUNCTION GLOBAL GRANT GROUP IF IMPORT INDEX ISOLATION \
LANGUAGE LARGE LEVEL LISTEN LOAD LOCAL LOCK MAPPING MATERIALIZED METHOD MOVE NOT \
NOTIFY OBJECT ONLY OPERATOR OR OWNED PARSER POLICY PREPARE PREPARED PRIVILEGES \
PROCEDURAL PROCEDURE PUBLICATION REASSIGN RECURSIVE REFRESH REINDEX RELEASE REPLACE \
RESET REVOKE ROLE ROLLBACK ROUTINE RULE SAVEPOINT SCHEMA SEARCH SECURITY SEQUENCE \
SERVER SESSION SET SHOW START STATISTICS SUBSCRIPTION SYSTEM TABLE TABLESPACE TEMP \
TEMPORARY TEXT TIME TRANSACTION TRANSFORM TRIGGER TRUNCATE TRUSTED TYPE UNIQUE \
UNLISTEN UNLOGGED USER VACUUM VERBOSE VIEW WORK WRAPPER ZONE";

/// Most words kept from the head of a utility statement.
const MAX_UTILITY_WORDS: usize = 6;

/// The text sent for `query`: normalised statements as they are (cut at
/// [`MAX_QUERY_BYTES`]), anything else reduced to its leading keywords.
pub fn safe_text(query: &str) -> String {
    let body = skip_comments(query);
    let first: String = body
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if NORMALISED
        .iter()
        .any(|keyword| first.eq_ignore_ascii_case(keyword))
    {
        truncate(query, MAX_QUERY_BYTES).to_owned()
    } else {
        utility_head(body)
    }
}

/// `text` without leading whitespace, comments (`--…`, nested `/*…*/`) and
/// opening parentheses.
fn skip_comments(mut text: &str) -> &str {
    loop {
        text = text.trim_start();
        if let Some(rest) = text.strip_prefix("--") {
            text = rest.split_once('\n').map_or("", |(_, after)| after);
        } else if text.starts_with("/*") {
            let mut depth = 0usize;
            let mut end = text.len();
            let bytes = text.as_bytes();
            let mut i = 0;
            while i + 1 < bytes.len() {
                match (bytes[i], bytes[i + 1]) {
                    (b'/', b'*') => {
                        depth += 1;
                        i += 2;
                    }
                    (b'*', b'/') => {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            end = i;
                            break;
                        }
                    }
                    _ => i += 1,
                }
            }
            text = &text[end..];
        } else if let Some(rest) = text.strip_prefix('(') {
            text = rest;
        } else {
            return text;
        }
    }
}

/// The leading keywords of a utility statement, upper-cased, then ` …`
/// when anything followed them; empty when it starts with no keyword.
fn utility_head(body: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut tokens = body.split_whitespace().peekable();
    while let Some(token) = tokens.peek() {
        let word = token.trim_end_matches(';');
        let known = !word.is_empty()
            && word.chars().all(|c| c.is_ascii_alphabetic())
            && UTILITY_WORDS
                .split_ascii_whitespace()
                .any(|keyword| word.eq_ignore_ascii_case(keyword));
        if !known || words.len() == MAX_UTILITY_WORDS {
            break;
        }
        words.push(word.to_ascii_uppercase());
        let ended = word.len() < token.len();
        tokens.next();
        if ended {
            break;
        }
    }
    let rest = tokens.next().is_some_and(|token| token != ";");
    match (words.is_empty(), rest) {
        (true, _) => String::new(),
        (false, true) => format!("{} …", words.join(" ")),
        (false, false) => words.join(" "),
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_statements_keep_their_text() {
        for query in [
            "SELECT * FROM orders WHERE email = $1",
            "  -- list\n/* nested /* comment */ */ select 1 + $1",
            "(SELECT $1) UNION (SELECT $2)",
            "WITH x AS (SELECT $1) INSERT INTO t SELECT * FROM x",
            "insert into t values ($1)",
            "UPDATE t SET a = $1",
            "DELETE FROM t WHERE id = $1",
            "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
            "VALUES ($1)",
            "TABLE orders",
        ] {
            assert_eq!(safe_text(query), query);
        }
    }

    #[test]
    fn utility_statements_keep_only_their_leading_keywords() {
        for (query, expected) in [
            (
                "ALTER ROLE headroom PASSWORD 'S3cretPassw0rd'",
                "ALTER ROLE …",
            ),
            ("alter user bob with password 'x'", "ALTER USER …"),
            ("SET search_path = 'secret'", "SET …"),
            (
                "/* c */ CREATE INDEX CONCURRENTLY idx ON t (a)",
                "CREATE INDEX CONCURRENTLY …",
            ),
            ("BEGIN", "BEGIN"),
            ("commit;", "COMMIT"),
            ("VACUUM ANALYZE;", "VACUUM ANALYZE"),
            ("COPY t FROM '/tmp/x.csv'", "COPY …"),
            ("DO $$ BEGIN PERFORM 1; END $$", "DO …"),
            ("CREATE ROLE x LOGIN PASSWORD 'y'", "CREATE ROLE …"),
            ("'literal' starts", ""),
            ("SELECTED stuff", ""),
            ("", ""),
        ] {
            assert_eq!(safe_text(query), expected, "{query}");
        }
    }

    #[test]
    fn texts_are_cut_at_four_kib_on_a_character_boundary() {
        let at = format!("SELECT '{}'", "a".repeat(MAX_QUERY_BYTES - 9));
        assert_eq!(at.len(), MAX_QUERY_BYTES);
        assert_eq!(safe_text(&at), at);
        let above = format!("SELECT {}", "é".repeat(MAX_QUERY_BYTES));
        let cut = safe_text(&above);
        assert!(cut.len() <= MAX_QUERY_BYTES && cut.len() >= MAX_QUERY_BYTES - 1);
        assert!(above.starts_with(&cut));
        assert_eq!(safe_text("SELECT 1"), "SELECT 1");
    }
}
