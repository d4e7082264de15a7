//! The catalog is the only place a series name is spelled: these tests scan
//! the workspace's sources (`*.rs`) and dashboards (`dashboards/**/*.json`,
//! `*.js`) for names shaped like series (a catalog prefix: `pg_`,
//! `redis_`, …) and fail when
//!
//! 1. any of them (tests included) names a series the catalog lacks, or
//! 2. code outside tests and outside `proto/src/signals/` spells a catalog
//!    name as a string instead of using its constant.
//!
//! In Rust and JavaScript a name counts when it is a whole quoted string
//! (or one followed by `{`, a PromQL selector); in JSON every word counts
//! (Grafana's expressions). Test code may name a prefix of a catalog name
//! (`starts_with("pg_statement_")`). Names without `_` (`up`) are not
//! scanned: the word is also a label value.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{all, prefixes};

/// Strings that share a series prefix but are no series, and why.
const NOT_SERIES: &[(&str, &str)] = &[
    (
        "pg_query",
        "a text kind (the store's texts table): statement text",
    ),
    (
        "pg_query_fingerprint",
        "a text kind: a statement's fingerprint",
    ),
    ("pg_index", "a text kind: an index definition"),
    ("pg_index_candidate", "a text kind: an index candidate"),
    ("pg_index_verdict", "a text kind: the agent's index verdict"),
    ("pg_stat_statements", "PostgreSQL's extension"),
    ("pg_ctl", "PostgreSQL's server control program"),
    ("pg_sleep", "a PostgreSQL function"),
    ("pg_current_xact_id", "a PostgreSQL function"),
    ("pg_catalog", "PostgreSQL's catalog schema"),
    ("pg_monitor", "PostgreSQL's monitoring role"),
    ("redis_version", "a field of Redis' INFO"),
    ("http_listen", "a collector configuration key"),
    ("http_method", "an OpenTelemetry attribute key"),
    (
        "otlp_metrics",
        "the origin label of routes from OTLP metrics",
    ),
    ("access_log", "a source type"),
    (
        "agent_id",
        "a label of the collector's own figures, and an API field",
    ),
    ("agent_tokens", "a collector configuration key"),
    ("headroom_session", "the dashboard's session cookie"),
    (
        "headroom_candidate",
        "the name the index advisor gives a hypothetical index",
    ),
    (
        "headroom_test_",
        "the prefix of the end-to-end tests' database names",
    ),
];

/// This file: its strings are the allowlist and the scanner's examples.
const SCANNER: &str = "proto/src/signals/scan_tests.rs";

/// Index names Headroom suggests end in `_idx` (`headroom_<table>_…_idx`).
fn is_index_name(word: &str) -> bool {
    word.ends_with("_idx")
}

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the proto crate sits in the workspace")
        .to_path_buf()
}

/// Every file scanned, relative to the root, with its text.
fn files() -> Vec<(String, String)> {
    let root = root();
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = ["agent", "collector", "proto", "tests", "dashboards"]
        .iter()
        .map(|dir| root.join(dir))
        .collect();
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | "node_modules" | ".git") {
                    stack.push(path);
                }
                continue;
            }
            let relative = path
                .strip_prefix(&root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            let scanned = relative.ends_with(".rs")
                || (relative.starts_with("dashboards/")
                    && (relative.ends_with(".json") || relative.ends_with(".js")));
            if scanned {
                let text = std::fs::read_to_string(&path).expect("readable source");
                out.push((relative, text));
            }
        }
    }
    out.sort();
    out
}

/// Files that only tests compile: the `tests` crate, `tests.rs`,
/// `*_tests.rs`, and modules declared `#[cfg(test)] mod name;` (with
/// their folders).
fn test_files(files: &[(String, String)]) -> Vec<String> {
    let mut out = vec!["tests/".to_owned()];
    for (path, text) in files {
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for pair in lines.windows(2) {
            if pair[0] != "#[cfg(test)]" {
                continue;
            }
            let declared = pair[1]
                .strip_prefix("pub ")
                .unwrap_or(pair[1])
                .strip_prefix("mod ")
                .and_then(|rest| rest.strip_suffix(';'));
            if let Some(module) = declared {
                let (dir, file) = path.rsplit_once('/').expect("a file in a folder");
                let parent = match file {
                    "mod.rs" | "lib.rs" | "main.rs" => dir.to_owned(),
                    _ => format!("{dir}/{}", file.trim_end_matches(".rs")),
                };
                out.push(format!("{parent}/{module}.rs"));
                out.push(format!("{parent}/{module}/"));
            }
        }
    }
    out
}

/// Whether `path` is test code as a whole.
fn is_test_file(path: &str, tests: &[String]) -> bool {
    let file = path.rsplit('/').next().unwrap_or(path);
    file == "tests.rs"
        || file.ends_with("_tests.rs")
        || tests
            .iter()
            .any(|t| path == t || (t.ends_with('/') && path.starts_with(t.as_str())))
}

/// Where a file's inline tests start: the first `#[cfg(test)]` followed by
/// `mod … {` (by house style, at the end of the file).
fn test_module_start(text: &str) -> usize {
    let mut offset = 0;
    let mut previous: Option<&str> = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if previous == Some("#[cfg(test)]")
            && (trimmed.starts_with("mod ") || trimmed.starts_with("pub mod "))
            && trimmed.ends_with('{')
        {
            return offset;
        }
        if !trimmed.is_empty() {
            previous = Some(trimmed);
        }
        offset += line.len();
    }
    text.len()
}

/// A name found in a file: its text and byte offset.
type Found<'a> = (&'a str, usize);

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Quoted names (`"name"`, `'name'` as SQL quotes them, or `"name{`);
/// with `backticks`, also `` `name` `` (JavaScript's template strings; in
/// Rust, backticks are the docs' markup).
fn quoted_names(text: &str, backticks: bool) -> Vec<Found<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for (at, &b) in bytes.iter().enumerate() {
        let quote = matches!(b, b'"' | b'\'') || (backticks && b == b'`');
        if !quote {
            continue;
        }
        let start = at + 1;
        let mut end = start;
        while end < bytes.len() && is_word_byte(bytes[end]) {
            end += 1;
        }
        let closed = bytes
            .get(end)
            .is_some_and(|c| matches!(c, b'"' | b'\'' | b'`' | b'{'));
        if end > start && closed {
            out.push((&text[start..end], start));
        }
    }
    out
}

/// Every word (JSON: PromQL expressions inside strings).
fn words(text: &str) -> Vec<Found<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        if is_word_byte(bytes[at]) && (at == 0 || !is_word_byte(bytes[at - 1])) {
            let mut end = at;
            while end < bytes.len() && is_word_byte(bytes[end]) {
                end += 1;
            }
            out.push((&text[at..end], at));
            at = end;
        } else {
            at += 1;
        }
    }
    out
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

/// Every series-shaped name in the workspace: `(file, line, name, in test
/// code)`.
fn scan() -> Vec<(String, usize, String, bool)> {
    let prefixes: Vec<&str> = prefixes()
        .into_iter()
        .filter(|p| p.ends_with('_'))
        .collect();
    let files = files();
    let tests = test_files(&files);
    let mut out = Vec::new();
    for (path, text) in &files {
        let whole_test = is_test_file(path, &tests);
        let tests_from = test_module_start(text);
        if path == SCANNER {
            continue;
        }
        let found = if path.ends_with(".json") {
            words(text)
        } else {
            quoted_names(text, path.ends_with(".js"))
        };
        for (name, offset) in found {
            if prefixes
                .iter()
                .any(|p| name.starts_with(p) && name.len() > p.len())
            {
                let in_test = whole_test || offset >= tests_from;
                out.push((
                    path.clone(),
                    line_of(text, offset),
                    name.to_owned(),
                    in_test,
                ));
            }
        }
    }
    out
}

/// Every series name and every signal's own name (a histogram's too).
fn catalog_names() -> BTreeSet<&'static str> {
    all()
        .flat_map(|s| s.series.iter().copied().chain([s.name]))
        .collect()
}

#[test]
fn every_series_name_in_the_workspace_is_in_the_catalog() {
    let names = catalog_names();
    let allowed: BTreeSet<&str> = NOT_SERIES.iter().map(|(name, _)| *name).collect();
    let found = scan();
    let unknown: Vec<String> = found
        .iter()
        .filter(|(_, _, name, in_test)| {
            let name = name.as_str();
            let prefix_of_one = *in_test && names.iter().any(|n| n.starts_with(name));
            !names.contains(name)
                && !allowed.contains(name)
                && !is_index_name(name)
                && !prefix_of_one
        })
        .map(|(path, line, name, _)| format!("{path}:{line}: {name}"))
        .collect();
    assert!(
        unknown.is_empty(),
        "names shaped like series that the catalog (proto/src/signals/) lacks; add the \
         signal, or, if it is no series, add it to NOT_SERIES with the reason:\n{}",
        unknown.join("\n")
    );
    assert!(
        found.len() > 200,
        "the scan found only {} names: is it reading the workspace?",
        found.len()
    );
}

#[test]
fn code_names_series_only_through_the_catalogs_constants() {
    let names = catalog_names();
    let spelled: Vec<String> = scan()
        .into_iter()
        .filter(|(path, _, name, in_test)| {
            !in_test
                && path.ends_with(".rs")
                && !path.starts_with("proto/src/signals/")
                && names.contains(name.as_str())
        })
        .map(|(path, line, name, _)| format!("{path}:{line}: {name}"))
        .collect();
    assert!(
        spelled.is_empty(),
        "series names spelled as strings outside the catalog; use the constant in \
         headroom_proto::signals:\n{}",
        spelled.join("\n")
    );
}

#[test]
fn every_name_the_catalog_files_spell_is_listed_in_all() {
    let files = files();
    let mut missing = Vec::new();
    for (path, text) in files
        .iter()
        .filter(|(path, _)| path.starts_with("proto/src/signals/") && !path.ends_with("tests.rs"))
    {
        for (name, offset) in quoted_names(text, false) {
            let declared = text[..offset].trim_end().ends_with("gauge")
                || text[..offset].trim_end().ends_with("counter")
                || text[..offset].trim_end().ends_with("histogram");
            if declared && !all().any(|s| s.name == name) {
                missing.push(format!("{path}:{}: {name}", line_of(text, offset)));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "signals defined but missing from their family's ALL:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_scanner_sees_quoted_names_selectors_and_test_modules() {
    let text = "let a = \"pg_up\"; f(\"x{y}\"); q(\"headroom_agents{state=\\\"up\\\"}\");\n\
                #[cfg(test)]\nmod tests {\n    \"pg_down\"\n}\n";
    let found: Vec<&str> = quoted_names(text, false)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    for name in ["pg_up", "x", "headroom_agents", "pg_down"] {
        assert!(found.contains(&name), "{name}: {found:?}");
    }
    let start = test_module_start(text);
    assert!(text[start..].starts_with("mod tests"));
    let words: Vec<&str> = words("sum(headroom_series) by (agent_id)")
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(words, ["sum", "headroom_series", "by", "agent_id"]);
    let files = vec![(
        "collector/src/advisor/mod.rs".to_owned(),
        "#[cfg(test)]\nmod false_alarms;\npub mod load;\n".to_owned(),
    )];
    let tests = test_files(&files);
    assert!(is_test_file(
        "collector/src/advisor/false_alarms.rs",
        &tests
    ));
    assert!(!is_test_file("collector/src/advisor/load.rs", &tests));
    assert!(is_test_file("agent/src/spool/tests.rs", &tests));
}
