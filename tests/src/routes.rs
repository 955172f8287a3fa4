//! The routes the backend mounts, read from its source: every `.route(PATH, METHOD(..)…)` call
//! under `backend/src`. Tests that must cover every route (the authorisation matrix, the OpenAPI
//! document) compare against this list, so a route added without them fails.

use std::collections::BTreeSet;
use std::path::Path;

/// Every `(METHOD, path)` mounted under `src` (`ANY` for `any(..)`), paths as axum spells them
/// (`/api/servers/{id}`).
pub fn mounted(src: &Path) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let mut files = vec![src.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            for entry in std::fs::read_dir(&path).expect("read backend/src") {
                files.push(entry.expect("dir entry").path());
            }
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        for (route, methods) in route_calls(&text, &path) {
            for method in methods {
                found.insert((method, route.clone()));
            }
        }
    }
    found
}

/// The `.route(PATH, METHOD(..).METHOD(..))` calls of one file. PATH may be a literal, a
/// `format!("{base}/x")` with `let base = "...";` in the file, or a `const` of the file.
fn route_calls(text: &str, file: &Path) -> Vec<(String, Vec<String>)> {
    let mut calls = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(".route(") {
        let body = &rest[at + ".route(".len()..];
        let mut depth = 1;
        let end = body
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(body.len(), |(i, _)| i);
        let call = &body[..end];
        rest = &body[end..];
        let (first, methods_part) = call.split_once(',').unwrap_or((call, ""));
        let first = first.trim();
        let path = if let Some(lit) = quoted(first) {
            lit
        } else if let Some(fmt) = first
            .strip_prefix("&format!(")
            .and_then(|f| quoted(f.trim_end_matches(')')))
        {
            let base = binding(text, "let base = ")
                .unwrap_or_else(|| panic!("{}: no `let base`", file.display()));
            fmt.replace("{base}", &base)
        } else {
            let name = first.trim_start_matches('&');
            binding(text, &format!("const {name}: &str = "))
                .unwrap_or_else(|| panic!("{}: cannot resolve route path {first}", file.display()))
        };
        let methods = ["get", "post", "put", "delete", "patch", "any"]
            .into_iter()
            .filter(|m| {
                methods_part.contains(&format!(" {m}("))
                    || methods_part.contains(&format!(".{m}("))
                    || methods_part.trim_start().starts_with(&format!("{m}("))
                    || methods_part.contains(&format!("::{m}("))
            })
            .map(|m| {
                if m == "any" {
                    "ANY".to_owned()
                } else {
                    m.to_uppercase()
                }
            })
            .collect();
        calls.push((path, methods));
    }
    calls
}

fn quoted(s: &str) -> Option<String> {
    let s = s.trim();
    let inner = s.strip_prefix('"')?;
    Some(inner[..inner.find('"')?].to_owned())
}

/// The string literal bound by `prefix` (e.g. `let base = `) somewhere in `text`.
fn binding(text: &str, prefix: &str) -> Option<String> {
    let at = text.find(prefix)?;
    quoted(&text[at + prefix.len()..])
}
