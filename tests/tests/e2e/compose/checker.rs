//! The compose checker: a compose file is parsed as compose reads it (merge keys applied),
//! validated against the Compose Specification's JSON schema, and everything it names is looked
//! up — services, repository files, networks, volumes, environment variables. It returns the
//! problems as sentences, so a test can assert on a broken snippet as well as on a shipped file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gatehouse_tests::workspace_root;
use serde_json::Value;

/// Variables the official images used here document (their Docker Hub pages), by image name.
/// Images built from this repository document theirs in their build context (checked there).
const IMAGE_VARIABLES: &[(&str, &[&str])] = &[
    (
        "postgres",
        &[
            "POSTGRES_USER",
            "POSTGRES_PASSWORD",
            "POSTGRES_PASSWORD_FILE",
            "POSTGRES_DB",
            "POSTGRES_INITDB_ARGS",
            "PGDATA",
        ],
    ),
    ("redis", &[]),
    ("haproxy", &[]),
    // The interpreter's own: https://docs.python.org/3/using/cmdline.html#environment-variables
    ("python", &["PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"]),
];

/// Variables the gateway reads that are not settings (docs/configuration.md, "Logging").
const GATEHOUSE_NON_SETTINGS: &[&str] = &["GATEHOUSE_LOG"];

pub(super) fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The Compose Specification schema; the repository is cloned next to `shared/`.
fn schema() -> Value {
    let path = workspace_root().join("../shared/schemas/compose-spec.json");
    serde_json::from_str(&read(&path))
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every `GATEHOUSE_*` variable docs/configuration.md lists in a settings table.
pub(super) fn settings() -> BTreeSet<String> {
    let text = read(&workspace_root().join("docs/configuration.md"));
    let mut out: BTreeSet<String> = text
        .lines()
        .filter(|l| l.trim_start().starts_with('|'))
        .flat_map(|l| l.split('|'))
        .map(|cell| cell.trim().trim_matches('`'))
        .filter(|cell| {
            cell.starts_with("GATEHOUSE_")
                && cell
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_string)
        .collect();
    assert!(
        out.len() > 40,
        "found only {} settings in docs/configuration.md: has its table format changed?",
        out.len()
    );
    out.extend(GATEHOUSE_NON_SETTINGS.iter().map(|s| s.to_string()));
    out
}

/// A compose file as compose reads it: YAML with merge keys (`<<: *anchor`) applied, as JSON.
pub(super) fn parse(text: &str) -> Result<Value, String> {
    let mut yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    yaml.apply_merge().map_err(|e| e.to_string())?;
    serde_json::to_value(yaml).map_err(|e| e.to_string())
}

/// What is wrong with one compose file (`name` for messages), its relative paths resolved
/// against `dir`. Empty when nothing is.
pub(super) fn problems(
    name: &str,
    text: &str,
    dir: &Path,
    settings: &BTreeSet<String>,
) -> Vec<String> {
    let doc = match parse(text) {
        Ok(doc) => doc,
        Err(e) => return vec![format!("{name}: not valid YAML: {e}")],
    };
    let mut out = Vec::new();
    let validator = jsonschema::draft7::new(&schema())
        .unwrap_or_else(|e| panic!("the compose schema does not compile: {e}"));
    for error in validator.iter_errors(&doc) {
        out.push(format!(
            "{name}: schema: at `{}`: {error}",
            error.instance_path()
        ));
    }
    out.extend(interpolation_problems(name, text, settings));

    let empty = serde_json::Map::new();
    let services = doc
        .get("services")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let declared = |key: &str| -> BTreeSet<String> {
        doc.get(key)
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let (networks, volumes) = (declared("networks"), declared("volumes"));
    for section in ["configs", "secrets"] {
        for (key, item) in doc
            .get(section)
            .and_then(Value::as_object)
            .unwrap_or(&empty)
        {
            if let Some(file) = item.get("file").and_then(Value::as_str) {
                out.extend(missing_file(name, &format!("{section}.{key}"), dir, file));
            }
        }
    }

    for (service, spec) in services {
        let at = format!("{name}: service `{service}`");
        for target in service_references(spec) {
            if !services.contains_key(&target) {
                out.push(format!(
                    "{at}: names service `{target}`, which does not exist"
                ));
            }
        }
        for network in list_or_keys(spec.get("networks")) {
            if !networks.contains(&network) && network != "default" {
                out.push(format!("{at}: network `{network}` is not declared"));
            }
        }
        let mut repo_files = Vec::new();
        if let Some(build) = spec.get("build") {
            let (context, dockerfile) = match build {
                Value::String(c) => (c.as_str(), "Dockerfile"),
                _ => (
                    build.get("context").and_then(Value::as_str).unwrap_or("."),
                    build
                        .get("dockerfile")
                        .and_then(Value::as_str)
                        .unwrap_or("Dockerfile"),
                ),
            };
            let context_dir = dir.join(context);
            if !context_dir.is_dir() {
                out.push(format!(
                    "{at}: build context `{context}` is not a directory"
                ));
            } else {
                out.extend(missing_file(
                    name,
                    &format!("service `{service}` dockerfile"),
                    &context_dir,
                    dockerfile,
                ));
                repo_files.push(context_dir);
            }
        }
        for file in list_or_keys(spec.get("env_file")).into_iter().chain(
            spec.get("env_file")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("path").and_then(Value::as_str).map(str::to_string)),
        ) {
            out.extend(missing_file(
                name,
                &format!("service `{service}` env_file"),
                dir,
                &file,
            ));
            repo_files.push(dir.join(file));
        }
        for mount in spec
            .get("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (kind, source) = match mount {
                Value::String(short) => {
                    let source = short.split(':').next().unwrap_or("");
                    let is_path = source.starts_with(['.', '/', '~']);
                    (if is_path { "bind" } else { "volume" }, source.to_string())
                }
                _ => (
                    mount.get("type").and_then(Value::as_str).unwrap_or(""),
                    mount
                        .get("source")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                ),
            };
            match kind {
                "bind" if source.starts_with(['/', '~']) => out.push(format!(
                    "{at}: bind-mounts `{source}`, a host path outside the repository"
                )),
                "bind" => {
                    out.extend(missing_file(
                        name,
                        &format!("service `{service}` mount"),
                        dir,
                        &source,
                    ));
                    repo_files.push(dir.join(&source));
                }
                "volume" if !source.is_empty() && !volumes.contains(&source) => {
                    out.push(format!("{at}: volume `{source}` is not declared"));
                }
                _ => {}
            }
        }
        let image = spec.get("image").and_then(Value::as_str).unwrap_or("");
        let built_here = spec.get("build").is_some();
        let image_vars: Option<&[&str]> = IMAGE_VARIABLES
            .iter()
            .find(|(known, _)| image_name(image) == *known)
            .map(|(_, vars)| *vars);
        for var in environment_keys(spec.get("environment")) {
            if var.starts_with("GATEHOUSE_") {
                if !settings.contains(&var) {
                    out.push(format!(
                        "{at}: `{var}` is not a Gatehouse setting (docs/configuration.md)"
                    ));
                }
                continue;
            }
            let documented = image_vars.is_some_and(|vars| vars.contains(&var.as_str()))
                || mentions(&repo_files, &var);
            if !documented {
                out.push(format!(
                    "{at}: `{var}` is documented neither by image `{image}`{} nor in the files \
                     it mounts",
                    if built_here {
                        " (its build context)"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    out
}

/// `postgres` for `postgres:16`, `docker.io/library/postgres:16@sha256:…`.
pub(super) fn image_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

/// The other services one service names: `depends_on`, `links`, `extends` (same file),
/// `volumes_from`, `network_mode: service:…`.
fn service_references(spec: &Value) -> Vec<String> {
    let mut out = list_or_keys(spec.get("depends_on"));
    out.extend(
        list_or_keys(spec.get("links"))
            .into_iter()
            .map(|l| l.split(':').next().unwrap_or("").to_string()),
    );
    if let Some(extends) = spec.get("extends") {
        let service = match extends {
            Value::String(s) => Some(s.as_str()),
            _ if extends.get("file").is_none() => extends.get("service").and_then(Value::as_str),
            _ => None,
        };
        out.extend(service.map(str::to_string));
    }
    out.extend(
        list_or_keys(spec.get("volumes_from"))
            .into_iter()
            .filter(|v| !v.starts_with("container:"))
            .map(|v| v.split(':').next().unwrap_or("").to_string()),
    );
    if let Some(mode) = spec.get("network_mode").and_then(Value::as_str) {
        out.extend(mode.strip_prefix("service:").map(str::to_string));
    }
    out
}

/// A list's strings, or a map's keys (compose accepts both for many fields).
pub(super) fn list_or_keys(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// Variable names of `environment:` as a map or as a `KEY=value` list.
fn environment_keys(value: Option<&Value>) -> Vec<String> {
    list_or_keys(value)
        .into_iter()
        .map(|entry| entry.split('=').next().unwrap_or("").to_string())
        .collect()
}

/// The value of one service's environment variable, if it sets it.
pub(super) fn environment_value(spec: &Value, key: &str) -> Option<String> {
    match spec.get("environment")? {
        Value::Object(map) => map.get(key).map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .find_map(|e| e.strip_prefix(&format!("{key}=")).map(str::to_string)),
        _ => None,
    }
}

/// Whether `word` occurs in any of these files (a directory: any file in it).
fn mentions(paths: &[PathBuf], word: &str) -> bool {
    paths.iter().any(|path| {
        if path.is_dir() {
            std::fs::read_dir(path)
                .into_iter()
                .flatten()
                .flatten()
                .any(|e| mentions(&[e.path()], word))
        } else {
            std::fs::read_to_string(path).is_ok_and(|text| text.contains(word))
        }
    })
}

fn missing_file(name: &str, what: &str, dir: &Path, file: &str) -> Option<String> {
    (!dir.join(file).exists()).then(|| {
        format!(
            "{name}: {what} `{file}` does not exist (resolved against {})",
            dir.display()
        )
    })
}

/// `${VAR}` / `$VAR` substitutions that would silently become empty: each needs a default
/// (`${VAR:-x}`, `${VAR-x}`) or a message that stops compose when it is unset (`${VAR:?why}`).
/// A `GATEHOUSE_*` name must be a setting: the variable carries that setting's value.
fn interpolation_problems(name: &str, text: &str, settings: &BTreeSet<String>) -> Vec<String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let code = line.split(" #").next().unwrap_or(line);
        if code.trim_start().starts_with('#') {
            continue;
        }
        let mut rest = code;
        while let Some(at) = rest.find('$') {
            let after = &rest[at + 1..];
            if let Some(escaped) = after.strip_prefix('$') {
                rest = escaped; // `$$` is a literal dollar
                continue;
            }
            if let Some(body) = after.strip_prefix('{') {
                let end = body.find('}').unwrap_or(body.len());
                let inner = &body[..end];
                let var_end = inner
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(inner.len());
                let (var, modifier) = inner.split_at(var_end);
                if var.starts_with("GATEHOUSE_") && !settings.contains(var) {
                    out.push(format!(
                        "{name}:{}: `${{{var}}}` is not a Gatehouse setting",
                        n + 1
                    ));
                }
                let ok = ["-", "?", "+", ":-", ":?", ":+"]
                    .iter()
                    .any(|m| modifier.starts_with(m));
                if !ok {
                    out.push(format!(
                        "{name}:{}: `${{{inner}}}` has neither a default nor a message for when \
                         {var} is unset",
                        n + 1
                    ));
                }
                rest = &body[end.min(body.len())..];
            } else {
                let var: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !var.is_empty() {
                    out.push(format!(
                        "{name}:{}: `${var}` has no default: write `${{{var}:-…}}` or `${{{var}:?…}}`",
                        n + 1
                    ));
                }
                rest = after;
            }
        }
    }
    out
}
