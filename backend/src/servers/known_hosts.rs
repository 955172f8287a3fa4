//! OpenSSH `known_hosts` files, read without trusting them: which keys a file lists for a
//! registered server's `hostname` + `port`, and which one Gatehouse's client would negotiate.
//! Pure text in, keys out; nothing here touches the database (see `known_hosts_import.rs`).
//!
//! Matching follows OpenSSH: a host is looked up as `host` on port 22 and `[host]:port`
//! otherwise, lower-cased; a line's comma-separated patterns may use `*`, `?` and `!negation`;
//! a hashed line (`|1|salt|hash`, `ssh-keygen -H`) matches when HMAC-SHA1(salt, name) = hash.

use super::host_pattern::host_line_matches;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use russh::keys::{Algorithm, EcdsaCurve, HashAlg, PublicKey};
use sha1::Sha1;
use wire::servers::KnownHostsConflict;

/// Most warnings an answer lists; the rest are counted in one last line.
const MAX_WARNINGS: usize = 100;

/// One key a file lists, as Gatehouse pins it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKey {
    /// 1-based line number in the file.
    pub line: usize,
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, …
    pub key_type: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// `type base64`, without the comment.
    pub openssh: String,
    /// Position in russh's host-key preference order (lower is negotiated first).
    rank: u8,
}

/// Who a line is for.
#[derive(Debug)]
enum Hosts {
    /// Lower-cased, comma-separated patterns.
    Patterns(String),
    Hashed {
        salt: Vec<u8>,
        hash: Vec<u8>,
    },
}

#[derive(Debug)]
struct Entry {
    hosts: Hosts,
    revoked: bool,
    key: HostKey,
}

/// A parsed file: its usable lines and what was wrong with the others.
#[derive(Debug, Default)]
pub struct KnownHosts {
    entries: Vec<Entry>,
    warnings: Vec<String>,
    dropped_warnings: usize,
}

/// The keys a file lists for one host: the ones it may present and the revoked ones.
#[derive(Debug, Clone, Default)]
pub struct HostKeys {
    pub keys: Vec<HostKey>,
    pub revoked: Vec<HostKey>,
}

/// What an import does with one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Pin `key`; `replaced` is the pin it overwrites.
    Pin {
        key: HostKey,
        replaced: Option<String>,
    },
    Unchanged,
    Conflict {
        pinned: Option<String>,
        file: String,
        reason: &'static str,
    },
    /// The file has no usable key for this server.
    Unmatched,
}

/// russh offers host-key algorithms in this order, so a host with several keys presents the
/// first one it has. `None`: a type the client never negotiates (DSA, security keys).
fn rank(algorithm: &Algorithm) -> Option<u8> {
    match algorithm {
        Algorithm::Ed25519 => Some(0),
        Algorithm::Ecdsa { curve } => Some(match curve {
            EcdsaCurve::NistP256 => 1,
            EcdsaCurve::NistP384 => 2,
            EcdsaCurve::NistP521 => 3,
        }),
        Algorithm::Rsa { .. } => Some(4),
        _ => None,
    }
}

/// The name OpenSSH looks a host up by.
pub fn lookup_name(hostname: &str, port: u16) -> String {
    let host = hostname.trim().to_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

fn hashed_match(salt: &[u8], hash: &[u8], name: &str) -> bool {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(salt) else {
        return false;
    };
    mac.update(name.as_bytes());
    mac.verify_slice(hash).is_ok()
}

fn parse_hashed(field: &str) -> Option<Hosts> {
    let mut parts = field.strip_prefix("|1|")?.split('|');
    let salt = STANDARD.decode(parts.next()?).ok()?;
    let hash = STANDARD.decode(parts.next()?).ok()?;
    (parts.next().is_none() && salt.len() == 20 && hash.len() == 20)
        .then_some(Hosts::Hashed { salt, hash })
}

/// At most 64 characters of something a file said, for a warning.
fn quote(text: &str) -> String {
    text.chars().take(64).collect()
}

impl KnownHosts {
    pub fn parse(text: &str) -> KnownHosts {
        let mut file = KnownHosts::default();
        for (index, raw) in text.lines().enumerate() {
            file.parse_line(index + 1, raw.trim());
        }
        file
    }

    fn warn(&mut self, line: usize, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(format!("line {line}: {message}"));
        } else {
            self.dropped_warnings += 1;
        }
    }

    fn parse_line(&mut self, line: usize, text: &str) {
        if text.is_empty() || text.starts_with('#') {
            return;
        }
        let mut fields = text.split_whitespace();
        let mut first = fields.next();
        let mut revoked = false;
        match first {
            Some("@cert-authority") => {
                return self.warn(
                    line,
                    "@cert-authority lines are not supported; skipped".into(),
                )
            }
            Some("@revoked") => {
                revoked = true;
                first = fields.next();
            }
            Some(marker) if marker.starts_with('@') => {
                return self.warn(line, format!("unknown marker {}; skipped", quote(marker)))
            }
            _ => {}
        }
        let (Some(hosts), Some(key_type), Some(base64)) = (first, fields.next(), fields.next())
        else {
            return self.warn(line, "expected `hosts key-type base64-key`; skipped".into());
        };
        let hosts = if hosts.starts_with('|') {
            match parse_hashed(hosts) {
                Some(hashed) => hashed,
                None => return self.warn(line, "malformed hashed host name; skipped".into()),
            }
        } else {
            Hosts::Patterns(hosts.to_lowercase())
        };
        let Ok(key) = PublicKey::from_openssh(&format!("{key_type} {base64}")) else {
            return self.warn(line, format!("invalid {} key; skipped", quote(key_type)));
        };
        let algorithm = key.algorithm();
        let Some(rank) = rank(&algorithm) else {
            let message = format!(
                "{} keys are not used by Gatehouse; skipped",
                quote(key_type)
            );
            return self.warn(line, message);
        };
        let key = HostKey {
            line,
            key_type: algorithm.as_str().to_string(),
            fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
            openssh: key
                .to_openssh()
                .unwrap_or_else(|_| format!("{key_type} {base64}")),
            rank,
        };
        self.entries.push(Entry {
            hosts,
            revoked,
            key,
        });
    }

    /// Every problem found while parsing, one line each, at most `MAX_WARNINGS` and a count.
    pub fn warnings(&self) -> Vec<String> {
        let mut all = self.warnings.clone();
        if self.dropped_warnings > 0 {
            all.push(format!("… and {} more warnings", self.dropped_warnings));
        }
        all
    }

    /// The keys the file lists for `hostname` on `port`.
    pub fn keys_for(&self, hostname: &str, port: u16) -> HostKeys {
        let name = lookup_name(hostname, port);
        let mut found = HostKeys::default();
        for entry in &self.entries {
            let matches = match &entry.hosts {
                Hosts::Patterns(patterns) => host_line_matches(patterns.split(','), &name),
                Hosts::Hashed { salt, hash } => hashed_match(salt, hash, &name),
            };
            if matches && entry.revoked {
                found.revoked.push(entry.key.clone());
            } else if matches {
                found.keys.push(entry.key.clone());
            }
        }
        found
    }
}

impl HostKeys {
    /// The key the host will present to Gatehouse: the best-ranked type, the first such line.
    pub fn preferred(&self) -> Option<&HostKey> {
        self.keys.iter().min_by_key(|k| (k.rank, k.line))
    }

    fn is_revoked(&self, fingerprint: &str) -> bool {
        self.revoked.iter().any(|k| k.fingerprint == fingerprint)
    }

    /// What to do for a server currently pinned to `pinned`. A pin the file also lists for the
    /// host (of whatever type) is unchanged; a revoked key is never pinned nor kept quietly.
    pub fn decide(&self, pinned: Option<&str>, replace: bool) -> Outcome {
        let chosen = self.preferred();
        let conflict = |file: &str, reason| Outcome::Conflict {
            pinned: pinned.map(str::to_string),
            file: file.to_string(),
            reason,
        };
        if let Some(pin) = pinned.filter(|p| self.is_revoked(p)) {
            return conflict(
                chosen.map_or(pin, |k| &k.fingerprint),
                KnownHostsConflict::REVOKED,
            );
        }
        let Some(chosen) = chosen else {
            return Outcome::Unmatched;
        };
        if self.is_revoked(&chosen.fingerprint) {
            return conflict(&chosen.fingerprint, KnownHostsConflict::REVOKED);
        }
        match pinned {
            Some(pin) if self.keys.iter().any(|k| k.fingerprint == pin) => Outcome::Unchanged,
            Some(_) if !replace => conflict(&chosen.fingerprint, KnownHostsConflict::DIFFERENT_KEY),
            _ => Outcome::Pin {
                key: chosen.clone(),
                replaced: pinned.map(str::to_string),
            },
        }
    }
}

#[cfg(test)]
mod tests;
