//! A reader for OpenSSH client configurations (`~/.ssh/config`, ssh_config(5)): the `Host` blocks
//! and the keywords a Gatehouse server needs (`HostName`, `User`, `Port`, `ProxyJump`,
//! `ProxyCommand`). Pure: text in, hosts and warnings out; what becomes a server is decided by
//! `import::plan`.
//!
//! As in OpenSSH, a host's settings come from every block whose patterns match its alias, read top
//! to bottom, and the first value obtained for each keyword wins; so wildcard blocks (`Host *`)
//! supply defaults to the literal hosts they match.

mod jump;

use super::host_pattern::{host_line_matches, is_literal};
pub use jump::{parse_jump_list, parse_port, JumpHop};

/// More literal hosts than this in one configuration is refused.
pub const MAX_HOSTS: usize = 1000;
/// Every host is resolved against every block; this keeps that cheap.
const MAX_BLOCKS: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("the configuration names more than {MAX_HOSTS} hosts")]
    TooManyHosts,
    #[error("the configuration has more than {MAX_BLOCKS} Host or Match blocks")]
    TooManyBlocks,
    #[error("line {0}: unterminated quote")]
    UnterminatedQuote(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    HostName,
    User,
    Port,
    ProxyJump,
    ProxyCommand,
}

impl Key {
    fn parse(keyword: &str) -> Option<Key> {
        Some(match keyword.to_ascii_lowercase().as_str() {
            "hostname" => Key::HostName,
            "user" => Key::User,
            "port" => Key::Port,
            "proxyjump" => Key::ProxyJump,
            "proxycommand" => Key::ProxyCommand,
            _ => return None,
        })
    }
}

#[derive(Debug)]
enum Scope {
    /// The lines before the first `Host` or `Match`: they apply to every host.
    Global,
    Host(Vec<String>),
    /// Not supported: its settings apply to nothing.
    Match,
}

#[derive(Debug)]
struct Block {
    scope: Scope,
    settings: Vec<(Key, String)>,
}

impl Block {
    fn applies_to(&self, host: &str) -> bool {
        match &self.scope {
            Scope::Global => true,
            Scope::Match => false,
            Scope::Host(patterns) => host_line_matches(patterns.iter().map(String::as_str), host),
        }
    }
}

/// How a host is reached, as its first `ProxyJump` or `ProxyCommand` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proxy {
    /// `ProxyJump none` / `ProxyCommand none`.
    Direct,
    /// The raw `ProxyJump` list; see [`parse_jump_list`].
    Jump(String),
    /// Anything else `ProxyCommand` runs: not supported.
    Command,
}

/// What the configuration says about one host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSettings {
    /// With `%h` already replaced by the alias.
    pub hostname: Option<String>,
    pub user: Option<String>,
    /// Raw; the caller checks it is a port number.
    pub port: Option<String>,
    pub proxy: Option<Proxy>,
}

#[derive(Debug)]
pub struct Config {
    blocks: Vec<Block>,
    aliases: Vec<String>,
    pub warnings: Vec<String>,
}

impl Config {
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let mut config = Config {
            blocks: vec![Block {
                scope: Scope::Global,
                settings: Vec::new(),
            }],
            aliases: Vec::new(),
            warnings: Vec::new(),
        };
        for (index, raw) in text.lines().enumerate() {
            config.read_line(index + 1, raw.trim())?;
        }
        Ok(config)
    }

    fn read_line(&mut self, line: usize, text: &str) -> Result<(), ConfigError> {
        if text.is_empty() || text.starts_with('#') {
            return Ok(());
        }
        let (keyword, rest) = split_keyword(text);
        let args = words(rest).ok_or(ConfigError::UnterminatedQuote(line))?;
        let lower = keyword.to_ascii_lowercase();
        if lower == "host" || lower == "match" {
            if self.blocks.len() > MAX_BLOCKS {
                return Err(ConfigError::TooManyBlocks);
            }
            let scope = if lower == "match" {
                self.warnings.push(format!(
                    "line {line}: Match blocks are not supported; the settings under it were ignored"
                ));
                Scope::Match
            } else {
                if args.is_empty() {
                    self.warnings.push(format!(
                        "line {line}: Host without a pattern matches nothing"
                    ));
                }
                for alias in args.iter().filter(|p| is_literal(p)) {
                    if !self.aliases.contains(alias) {
                        self.aliases.push(alias.clone());
                    }
                }
                if self.aliases.len() > MAX_HOSTS {
                    return Err(ConfigError::TooManyHosts);
                }
                Scope::Host(args)
            };
            self.blocks.push(Block {
                scope,
                settings: Vec::new(),
            });
        } else if lower == "include" {
            self.warnings.push(format!(
                "line {line}: Include is not supported; {} was not read",
                args.join(" ")
            ));
        } else if let Some(key) = Key::parse(keyword) {
            match (args.first(), self.blocks.last_mut()) {
                (Some(value), Some(block)) => block.settings.push((key, value.clone())),
                _ => self.warnings.push(format!(
                    "line {line}: {keyword} without a value was ignored"
                )),
            }
        }
        Ok(())
    }

    /// The literal host names of the `Host` lines, in the order they first appear.
    pub fn aliases(&self) -> &[String] {
        &self.aliases
    }

    /// The settings OpenSSH would use to connect to `host`: first value wins, blocks in order.
    pub fn resolve(&self, host: &str) -> HostSettings {
        let mut found = HostSettings::default();
        for block in self.blocks.iter().filter(|b| b.applies_to(host)) {
            for (key, value) in &block.settings {
                let direct = value.eq_ignore_ascii_case("none");
                match key {
                    Key::HostName => first(&mut found.hostname, || expand_host(value, host)),
                    Key::User => first(&mut found.user, || value.clone()),
                    Key::Port => first(&mut found.port, || value.clone()),
                    Key::ProxyJump | Key::ProxyCommand if direct => {
                        first(&mut found.proxy, || Proxy::Direct)
                    }
                    Key::ProxyJump => first(&mut found.proxy, || Proxy::Jump(value.clone())),
                    Key::ProxyCommand => first(&mut found.proxy, || Proxy::Command),
                }
            }
        }
        found
    }
}

fn first<T>(slot: &mut Option<T>, value: impl FnOnce() -> T) {
    if slot.is_none() {
        *slot = Some(value());
    }
}

/// `HostName` may say `%h` for the alias (and `%%` for a percent sign).
fn expand_host(value: &str, host: &str) -> String {
    value
        .replace("%%", "\u{0}")
        .replace("%h", host)
        .replace('\u{0}', "%")
}

/// A keyword ends at whitespace or `=`; `Key value`, `Key=value` and `Key = value` all work.
fn split_keyword(line: &str) -> (&str, &str) {
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let (keyword, rest) = line.split_at(end);
    let rest = rest.trim_start();
    (keyword, rest.strip_prefix('=').unwrap_or(rest).trim_start())
}

/// Splits arguments as OpenSSH does: whitespace separates, `"` and `'` quote, a backslash escapes a
/// quote, a backslash or a space, and `#` at the start of an argument begins a comment. `None` when
/// a quote is left open.
fn words(text: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        match chars.peek() {
            None | Some('#') => return Some(out),
            Some(_) => {}
        }
        let mut word = String::new();
        let mut quote = None;
        while let Some(c) = chars.next() {
            match c {
                '\\' if chars
                    .peek()
                    .is_some_and(|n| matches!(n, '\\' | '"' | '\'' | ' ')) =>
                {
                    word.extend(chars.next());
                }
                c if Some(c) == quote => quote = None,
                '"' | '\'' if quote.is_none() => quote = Some(c),
                c if quote.is_none() && c.is_whitespace() => break,
                c => word.push(c),
            }
        }
        if quote.is_some() {
            return None;
        }
        out.push(word);
    }
}

#[cfg(test)]
mod tests;
