//! A `.env` file → its variables (pure): `KEY=value` lines as dotenv
//! writes and reads them, with `export ` prefixes, `#` comments, and
//! single-, double- or back-quoted values (double quotes expand `\n`).
//! `${VAR}` is not expanded; such a value is kept as written.

use std::collections::BTreeMap;

/// The variables of a `.env` text; a later line wins.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty()
            || !key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
        {
            continue;
        }
        vars.insert(key.to_owned(), value_of(value.trim()));
    }
    vars
}

fn value_of(raw: &str) -> String {
    for quote in ['"', '\'', '`'] {
        if let Some(rest) = raw.strip_prefix(quote) {
            let inner = rest.rfind(quote).map_or(rest, |end| &rest[..end]);
            return if quote == '"' {
                inner.replace("\\n", "\n").replace("\\\"", "\"")
            } else {
                inner.to_owned()
            };
        }
    }
    // Unquoted: a ` #` starts a comment.
    raw.split(" #").next().unwrap_or_default().trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shapes_dotenv_writes() {
        let vars = parse(
            "# Medusa\nDATABASE_URL=postgres://shop:pw@db:5432/medusa\n\
             export REDIS_URL = \"redis://:p#w@127.0.0.1:6379\"\n\
             OTEL_EXPORTER_OTLP_ENDPOINT='http://127.0.0.1:4317'  \n\
             JWT_SECRET=abc # a comment\n\
             EMPTY=\nnot a line\n=novalue\nMULTI=\"a\\nb\"\n",
        );
        assert_eq!(vars["DATABASE_URL"], "postgres://shop:pw@db:5432/medusa");
        assert_eq!(vars["REDIS_URL"], "redis://:p#w@127.0.0.1:6379");
        assert_eq!(vars["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://127.0.0.1:4317");
        assert_eq!(vars["JWT_SECRET"], "abc");
        assert_eq!(vars["EMPTY"], "");
        assert_eq!(vars["MULTI"], "a\nb");
        assert_eq!(vars.len(), 6);
    }

    #[test]
    fn a_later_line_wins() {
        let vars = parse("A=1\nA=2\n");
        assert_eq!(vars["A"], "2");
    }
}
