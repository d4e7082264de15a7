//! The collector's module graph, checked: `store` imports neither `alerts`
//! nor `advisor` (their tables are queried beside them), and no two modules
//! of the same parent import each other, directly or around a longer loop.
//! The graph is read from the sources (`crate::…`, `super::…` and `self::…`
//! paths outside comments and test code), so a new cycle fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module's path from the crate root, e.g. `["alerts", "deliver"]`.
type ModPath = Vec<String>;

/// Cycles that exist today and are not this test's to break, each as
/// `(parent, from, to)`: an edge between two children of `parent` (`""` is
/// the crate root) that closes a loop. Remove an entry when its loop goes.
const KNOWN_CYCLES: &[(&str, &str, &str)] = &[
    // `alerts::probe` (the `probe` command) reads the whole `Config`, and
    // `config` embeds the alerts' sections.
    ("", "alerts", "config"),
    // `web::query` (the series/chart parameters) names `chart::ChartQuery`
    // and `series::SeriesQuery`, and both parse their parameters through it.
    ("web", "query", "chart"),
    ("web", "query", "series"),
];

/// Every `.rs` file under `dir`, with its module path.
fn modules(root: &Path, dir: &Path, out: &mut BTreeMap<ModPath, PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("reads the source dir")
        .map(|entry| entry.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            modules(root, &path, out);
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let relative = path.strip_prefix(root).expect("under the root");
        let mut parts: ModPath = relative
            .iter()
            .map(|part| part.to_string_lossy().trim_end_matches(".rs").to_owned())
            .collect();
        if matches!(
            parts.last().map(String::as_str),
            Some("mod" | "lib" | "main")
        ) {
            parts.pop();
        }
        out.insert(parts, path);
    }
}

/// The file's code without comments and without its inline test module.
fn code(text: &str) -> String {
    let mut kept = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if trimmed == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests"))
        {
            break;
        }
        if !trimmed.starts_with("//") {
            kept.push(line);
        }
    }
    kept.join("\n")
}

/// The paths named in `code`, each as its segments from the crate root
/// (`super::` and `self::` resolved against `module`; brace groups expanded).
fn references(code: &str, module: &ModPath) -> Vec<ModPath> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let rest = &bytes[i..];
        let base: Option<(ModPath, usize)> = if !starts_word {
            None
        } else if rest.starts_with(b"crate::") {
            Some((Vec::new(), "crate::".len()))
        } else if rest.starts_with(b"super::") || rest.starts_with(b"self::") {
            // A module's path already places a `mod.rs` file at its folder.
            let mut here = module.clone();
            if rest.starts_with(b"self::") {
                Some((here, "self::".len()))
            } else {
                let mut at = 0;
                while bytes[i + at..].starts_with(b"super::") {
                    here.pop();
                    at += "super::".len();
                }
                Some((here, at))
            }
        } else {
            None
        };
        match base {
            Some((prefix, skip)) => {
                let end = expand(code, i + skip, prefix, &mut found);
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    found
}

/// Reads a path tail (`a::b`, `a::{b, c::d}`) at `at`, pushing each full
/// path under `prefix`; returns where it ends.
fn expand(code: &str, mut at: usize, mut prefix: ModPath, found: &mut Vec<ModPath>) -> usize {
    let bytes = code.as_bytes();
    loop {
        let start = at;
        while at < bytes.len() && (bytes[at].is_ascii_alphanumeric() || bytes[at] == b'_') {
            at += 1;
        }
        if at > start {
            prefix.push(code[start..at].to_owned());
        }
        if bytes[at..].starts_with(b"::{") {
            at += 2;
        }
        if bytes.get(at) == Some(&b'{') {
            at += 1;
            loop {
                while at < bytes.len() && (bytes[at] as char).is_whitespace() {
                    at += 1;
                }
                if at >= bytes.len() || bytes[at] == b'}' {
                    return at + 1;
                }
                at = expand(code, at, prefix.clone(), found);
                while at < bytes.len() && bytes[at] != b',' && bytes[at] != b'}' {
                    at += 1;
                }
                if at < bytes.len() && bytes[at] == b',' {
                    at += 1;
                }
            }
        }
        if bytes[at..].starts_with(b"::") {
            at += 2;
            continue;
        }
        found.push(prefix);
        return at;
    }
}

/// The longest prefix of `path` that is a module.
fn resolve(path: &ModPath, known: &BTreeMap<ModPath, PathBuf>) -> ModPath {
    let mut path = path.clone();
    while !path.is_empty() && !known.contains_key(&path) {
        path.pop();
    }
    path
}

/// Edges between children of one parent: `parent → {(from, to)}`, with the
/// file that makes each edge, from every file outside test code.
fn sibling_edges() -> BTreeMap<ModPath, BTreeMap<(String, String), String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut known = BTreeMap::new();
    modules(&root, &root, &mut known);
    let mut edges: BTreeMap<ModPath, BTreeMap<(String, String), String>> = BTreeMap::new();
    for (module, path) in &known {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if name.as_deref().is_some_and(|n| n.ends_with("_tests.rs"))
            || module.last().is_some_and(|m| m == "layout")
        {
            continue;
        }
        let text = std::fs::read_to_string(path).expect("reads a source file");
        for reference in references(&code(&text), module) {
            let target = resolve(&reference, &known);
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common == module.len() || common == target.len() {
                continue; // a module and its own ancestor or descendant
            }
            let relative = path.strip_prefix(&root).unwrap_or(path);
            edges
                .entry(module[..common].to_vec())
                .or_default()
                .entry((module[common].clone(), target[common].clone()))
                .or_insert_with(|| relative.display().to_string());
        }
    }
    edges
}

/// A loop in `edges` (a list of modules, the first repeated at the end).
fn find_cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeSet<(String, String)>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for (_, to) in edges.iter().filter(|(from, _)| from == node) {
            if let Some(cycle) = visit(to, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for (from, _) in edges {
        if let Some(cycle) = visit(from, edges, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn the_store_imports_neither_the_alerts_nor_the_advisor() {
    let edges = sibling_edges();
    let root = edges.get(&Vec::new()).expect("the crate root has modules");
    for domain in ["alerts", "advisor"] {
        let edge = ("store".to_owned(), domain.to_owned());
        assert!(
            !root.contains_key(&edge),
            "{} imports crate::{domain}: query the {domain}' tables in {domain}/store.rs",
            root[&edge]
        );
    }
}

#[test]
fn no_two_modules_of_one_parent_import_each_other() {
    for (parent, edges) in sibling_edges() {
        let mut edges: BTreeSet<(String, String)> = edges.into_keys().collect();
        for (_, from, to) in KNOWN_CYCLES
            .iter()
            .filter(|(known, _, _)| *known == parent.join("::"))
        {
            edges.remove(&((*from).to_owned(), (*to).to_owned()));
        }
        if let Some(cycle) = find_cycle(&edges) {
            panic!(
                "modules of crate::{} import each other: {}",
                parent.join("::"),
                cycle.join(" → ")
            );
        }
    }
}

#[test]
fn the_scanner_sees_grouped_nested_and_inline_paths() {
    let module: ModPath = vec!["alerts".into(), "deliver".into()];
    let code = code(
        "use super::{format, retry::{self, Answer}};\n\
         // use crate::web::x;\n\
         let t = super::dispatch::WarnThrottle::default();\n\
         use crate::store::{Store, now_ms};\n\
         #[cfg(test)]\nmod tests {\n use crate::advisor::X;\n}\n",
    );
    let found = references(&code, &module);
    let has = |path: &[&str]| found.iter().any(|p| p == path);
    assert!(has(&["alerts", "format"]), "{found:?}");
    assert!(has(&["alerts", "retry", "self"]), "{found:?}");
    assert!(has(&["alerts", "retry", "Answer"]), "{found:?}");
    assert!(
        has(&["alerts", "dispatch", "WarnThrottle", "default"]),
        "{found:?}"
    );
    assert!(has(&["store", "Store"]), "{found:?}");
    assert!(!found.iter().any(|p| p.first().is_some_and(|m| m == "web")));
    assert!(
        !found
            .iter()
            .any(|p| p.first().is_some_and(|m| m == "advisor"))
    );
}
