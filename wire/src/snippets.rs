//! Command snippets: `GET/POST /api/snippets`, `GET/PUT/DELETE /api/snippets/{id}`, and the
//! `{param}` template language both sides read.
//!
//! The template parser lives here, not in the backend, so that the gateway refusing a command at
//! save time and the browser prompting for its parameters can never disagree about what a
//! placeholder is. Grammar: `{name}` is a parameter, `name` being `[A-Za-z_][A-Za-z0-9_]*`;
//! `{{` and `}}` stand for a literal `{` and `}` (so `awk '{{print $1}}'` or `${{HOME}}`);
//! any other brace is an error. Values are inserted verbatim, exactly as if typed.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest snippet name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest command, in bytes.
pub const MAX_COMMAND_BYTES: usize = 10_000;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;

/// A snippet as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnippetView {
    pub id: i32,
    pub name: String,
    /// The template, placeholders and escapes as written.
    pub command: String,
    pub description: String,
    /// Visible to every signed-in user; only admins share, edit or delete shared snippets.
    pub shared: bool,
    /// Show the rendered command and ask before sending it.
    pub confirm: bool,
    /// Username of whoever created it.
    pub owner: String,
    /// Whether the caller may change or delete it.
    pub editable: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// `POST /api/snippets` and `PUT /api/snippets/{id}` (a full replacement).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SnippetRequest {
    pub name: String,
    pub command: String,
    #[serde(default)]
    pub description: String,
    /// Admins only.
    #[serde(default)]
    pub shared: bool,
    #[serde(default)]
    pub confirm: bool,
}

/// Why a command is not a valid template. Positions are byte offsets into the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceholderError {
    /// A `{` with no matching `}` (write `{{` for a literal brace).
    Unclosed { at: usize },
    /// A `}` that closes nothing (write `}}` for a literal brace).
    Unopened { at: usize },
    /// `{...}` whose inside is not a parameter name.
    BadName { at: usize, name: String },
    /// `render` was given no value for this parameter.
    Missing { name: String },
}

impl fmt::Display for PlaceholderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlaceholderError::Unclosed { at } => write!(
                f,
                "unclosed `{{` at byte {at}; write `{{{{` for a literal brace"
            ),
            PlaceholderError::Unopened { at } => write!(
                f,
                "unmatched `}}` at byte {at}; write `}}}}` for a literal brace"
            ),
            PlaceholderError::BadName { at, name } => write!(
                f,
                "`{{{name}}}` at byte {at} is not a parameter: names are letters, digits and `_`, \
                 not starting with a digit; write `{{{{` and `}}}}` for literal braces"
            ),
            PlaceholderError::Missing { name } => write!(f, "no value for `{{{name}}}`"),
        }
    }
}

impl std::error::Error for PlaceholderError {}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Text sent as is (escapes already resolved).
    Text(String),
    /// A parameter's name.
    Param(&'a str),
}

/// A parsed command template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template<'a> {
    pieces: Vec<Piece<'a>>,
}

fn is_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl<'a> Template<'a> {
    pub fn parse(command: &'a str) -> Result<Template<'a>, PlaceholderError> {
        let bytes = command.as_bytes();
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut start = 0; // of the literal run not yet copied into `text`
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'{' if bytes.get(i + 1) == Some(&b'{') => {
                    text.push_str(&command[start..=i]);
                    i += 2;
                    start = i;
                }
                b'}' if bytes.get(i + 1) == Some(&b'}') => {
                    text.push_str(&command[start..=i]);
                    i += 2;
                    start = i;
                }
                b'{' => {
                    // Braces are ASCII, so these offsets are always char boundaries.
                    let close = command[i + 1..]
                        .find(['{', '}'])
                        .map(|n| i + 1 + n)
                        .filter(|&n| bytes[n] == b'}')
                        .ok_or(PlaceholderError::Unclosed { at: i })?;
                    let name = &command[i + 1..close];
                    if !is_name(name) {
                        return Err(PlaceholderError::BadName {
                            at: i,
                            name: name.to_owned(),
                        });
                    }
                    text.push_str(&command[start..i]);
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Param(name));
                    i = close + 1;
                    start = i;
                }
                b'}' => return Err(PlaceholderError::Unopened { at: i }),
                _ => i += 1,
            }
        }
        text.push_str(&command[start..]);
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template { pieces })
    }

    pub fn pieces(&self) -> &[Piece<'a>] {
        &self.pieces
    }

    /// The distinct parameter names, in order of first appearance.
    pub fn params(&self) -> Vec<&'a str> {
        let mut names: Vec<&'a str> = Vec::new();
        for piece in &self.pieces {
            if let Piece::Param(name) = piece {
                if !names.contains(name) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// The command with every parameter replaced by its value, verbatim.
    pub fn render(&self, values: &BTreeMap<String, String>) -> Result<String, PlaceholderError> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Param(name) => {
                    out.push_str(values.get(*name).ok_or_else(|| PlaceholderError::Missing {
                        name: (*name).to_owned(),
                    })?)
                }
            }
        }
        Ok(out)
    }
}

/// The distinct parameters of `command`, in order.
pub fn params(command: &str) -> Result<Vec<String>, PlaceholderError> {
    Ok(Template::parse(command)?
        .params()
        .into_iter()
        .map(str::to_owned)
        .collect())
}

/// `command` rendered with `values`.
pub fn render(
    command: &str,
    values: &BTreeMap<String, String>,
) -> Result<String, PlaceholderError> {
    Template::parse(command)?.render(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn params_are_distinct_and_in_order_of_first_use() {
        assert_eq!(
            params("ssh {host} -p {port} && ping {host} {_x1}").unwrap(),
            ["host", "port", "_x1"]
        );
        assert!(params("uptime").unwrap().is_empty());
        assert!(params("").unwrap().is_empty());
    }

    #[test]
    fn render_replaces_every_occurrence_verbatim() {
        let out = render(
            "echo {word} {word}; ls {dir}",
            &values(&[("word", "a b"), ("dir", "'$HOME'")]),
        )
        .unwrap();
        assert_eq!(out, "echo a b a b; ls '$HOME'");
    }

    #[test]
    fn doubled_braces_are_literal_braces() {
        let cmd = "awk '{{print $1}}' {file}; echo ${{HOME}}";
        assert_eq!(params(cmd).unwrap(), ["file"]);
        assert_eq!(
            render(cmd, &values(&[("file", "x.txt")])).unwrap(),
            "awk '{print $1}' x.txt; echo ${HOME}"
        );
        assert_eq!(render("{{{a}}}", &values(&[("a", "v")])).unwrap(), "{v}");
        assert_eq!(render("{{}}", &values(&[])).unwrap(), "{}");
    }

    #[test]
    fn unicode_around_placeholders_survives() {
        assert_eq!(
            render("écho «{mot}» ✓", &values(&[("mot", "ünï")])).unwrap(),
            "écho «ünï» ✓"
        );
    }

    #[test]
    fn unbalanced_braces_are_refused_with_their_position() {
        assert_eq!(
            params("echo {name").unwrap_err(),
            PlaceholderError::Unclosed { at: 5 }
        );
        assert_eq!(
            params("echo {a{b}").unwrap_err(),
            PlaceholderError::Unclosed { at: 5 }
        );
        assert_eq!(
            params("echo x}").unwrap_err(),
            PlaceholderError::Unopened { at: 6 }
        );
    }

    #[test]
    fn bad_names_are_refused() {
        for (cmd, name) in [
            ("{}", ""),
            ("{1abc}", "1abc"),
            ("{a-b}", "a-b"),
            ("{ a }", " a "),
            ("{é}", "é"),
        ] {
            assert_eq!(
                params(cmd).unwrap_err(),
                PlaceholderError::BadName {
                    at: 0,
                    name: name.to_owned()
                },
                "{cmd}"
            );
        }
    }

    #[test]
    fn a_missing_value_is_an_error_not_an_empty_string() {
        assert_eq!(
            render("rm {path}", &values(&[])).unwrap_err(),
            PlaceholderError::Missing {
                name: "path".into()
            }
        );
    }

    #[test]
    fn errors_read_well() {
        let msg = params("{a-b}").unwrap_err().to_string();
        assert!(
            msg.starts_with("`{a-b}` at byte 0 is not a parameter"),
            "{msg}"
        );
        assert!(params("}").unwrap_err().to_string().contains("`}}`"));
    }
}
