//! The docs book is checked against the code: every setting `Config` knows is documented in
//! `docs/configuration.md` (and nothing documented there is unknown), `docs/SUMMARY.md` lists
//! every page, and relative links between pages point at files and headings that exist.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::Config;

fn docs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The settings as the loader knows them: the keys `Config::default()` serialises to, the same
/// list `setting_names` filters the environment with.
fn code_settings() -> BTreeSet<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        other => panic!("Config does not serialise to an object: {other:?}"),
    }
}

/// Splits a Markdown table row into trimmed cells; `\|` stays inside its cell.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut out = Vec::new();
    let mut cell = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cell.push('|');
                chars.next();
            }
            '|' => out.push(std::mem::take(&mut cell).trim().to_string()),
            _ => cell.push(c),
        }
    }
    out.push(cell.trim().to_string());
    out
}

fn unquote(cell: &str) -> &str {
    cell.trim().trim_start_matches('`').trim_end_matches('`')
}

/// A documented setting: the rest of its row, by column name.
type Row = BTreeMap<String, String>;

/// Rows of every table in configuration.md whose first column is headed `setting…`.
fn documented_settings(text: &str) -> BTreeMap<String, Row> {
    let mut rows = BTreeMap::new();
    let mut header: Option<Vec<String>> = None;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if !line.trim_start().starts_with('|') {
            header = None;
            continue;
        }
        let row = cells(line);
        match &header {
            None => {
                let is_settings = row[0].to_lowercase().starts_with("setting");
                let next_is_rule = lines.peek().is_some_and(|l| l.contains("---"));
                if is_settings && next_is_rule {
                    lines.next();
                    header = Some(row.iter().map(|c| c.to_lowercase()).collect());
                } else {
                    // Another kind of table: skip it whole.
                    while lines
                        .peek()
                        .is_some_and(|l| l.trim_start().starts_with('|'))
                    {
                        lines.next();
                    }
                }
            }
            Some(names) => {
                let name = unquote(&row[0]).to_string();
                let columns = names
                    .iter()
                    .zip(row.iter())
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert!(
                    rows.insert(name.clone(), columns).is_none(),
                    "`{name}` is documented twice in docs/configuration.md"
                );
            }
        }
    }
    rows
}

#[test]
fn every_setting_is_documented_and_every_documented_setting_exists() {
    let code = code_settings();
    let docs = documented_settings(&read(&docs_dir().join("configuration.md")));
    let undocumented: Vec<_> = code.iter().filter(|s| !docs.contains_key(*s)).collect();
    let unknown: Vec<_> = docs.keys().filter(|s| !code.contains(*s)).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "docs/configuration.md is out of step with Config (backend/src/config.rs):\n  \
         settings missing from the docs: {undocumented:?}\n  \
         documented but not settings: {unknown:?}"
    );
    for (name, row) in &docs {
        let env = row
            .get("environment")
            .unwrap_or_else(|| panic!("`{name}`: its table has no `environment` column"));
        let expected = format!("GATEHOUSE_{}", name.to_uppercase());
        assert_eq!(unquote(env), expected, "`{name}`: environment variable");
        for column in ["default", "meaning"] {
            let value = row
                .get(column)
                .unwrap_or_else(|| panic!("`{name}`: its table has no `{column}` column"));
            assert!(!value.is_empty(), "`{name}`: empty `{column}`");
        }
    }
}

/// Every `*.md` under docs/, relative to it.
fn pages() -> BTreeSet<String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                let rel = path.strip_prefix(root).unwrap();
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&docs_dir(), &docs_dir(), &mut out);
    out
}

/// Targets of the inline links `[text](target)` outside code blocks and code spans.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Drop code spans so `a](b)` inside backticks is not taken for a link.
        let prose: String = line
            .split('`')
            .enumerate()
            .filter(|(i, _)| i % 2 == 0)
            .map(|(_, part)| part)
            .collect::<Vec<_>>()
            .join(" ");
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].trim().to_string());
            rest = &after[end..];
        }
    }
    out
}

/// The ids mdBook gives a page's headings: lower case, spaces to `-`, other punctuation dropped.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let title = line.trim_start_matches('#').trim();
        let id: String = title
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
                _ => None,
            })
            .collect();
        let mut unique = id.clone();
        let mut n = 1;
        while !out.insert(unique.clone()) {
            unique = format!("{id}-{n}");
            n += 1;
        }
    }
    out
}

#[test]
fn summary_lists_every_page_and_only_pages_that_exist() {
    let summary = read(&docs_dir().join("SUMMARY.md"));
    let listed: BTreeSet<String> = links(&summary)
        .into_iter()
        .map(|l| l.trim_start_matches("./").to_string())
        .collect();
    for page in &listed {
        assert!(
            docs_dir().join(page).is_file(),
            "docs/SUMMARY.md lists {page}, which does not exist"
        );
    }
    let missing: Vec<_> = pages()
        .into_iter()
        .filter(|p| p != "SUMMARY.md" && !listed.contains(p))
        .collect();
    assert!(
        missing.is_empty(),
        "pages missing from docs/SUMMARY.md: {missing:?}"
    );
}

#[test]
fn relative_links_between_pages_resolve() {
    let root = docs_dir();
    let mut broken = Vec::new();
    for page in pages() {
        let path = root.join(&page);
        let text = read(&path);
        for link in links(&text) {
            let target = link.split_whitespace().next().unwrap_or("");
            if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (file, fragment) = match target.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (target, None),
            };
            let resolved = if file.is_empty() {
                path.clone()
            } else {
                path.parent().unwrap().join(file)
            };
            if !resolved.exists() {
                broken.push(format!("{page}: ({target}) names no file"));
                continue;
            }
            if let Some(fragment) = fragment {
                if resolved.extension().is_some_and(|e| e == "md")
                    && !anchors(&read(&resolved)).contains(fragment)
                {
                    broken.push(format!("{page}: ({target}) names no heading"));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "broken links in docs/:\n{}",
        broken.join("\n")
    );
}
