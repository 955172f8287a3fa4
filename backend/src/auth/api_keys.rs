//! API keys for scripts and agents: `Authorization: Bearer ghk_<prefix>_<secret>` on REST and
//! WebSocket alike.
//!
//! A key is 256 random bits behind a public 8-character prefix. The prefix finds the row; the
//! SHA-256 digest of the whole key, compared in constant time, proves it. A fast hash is right:
//! the key carries 256 bits of entropy, so there is nothing to brute-force, and a request costs a
//! lookup and one hash rather than a bcrypt run. The key is shown once, at creation.
//!
//! Scopes narrow what the key's user may do, checked centrally for every route by method and
//! path (`required_scope`): `read` (GET anywhere but terminals and files), `terminal` (terminal
//! sockets and terminal APIs), `files` (the file API), `admin` (changes elsewhere, and every
//! admin-only route, on top of the user being an admin). Keys never reach `/api/auth/*` except
//! `GET /api/auth/me`: a key cannot mint keys, change a password or touch a second factor.

use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use subtle::ConstantTimeEq;

use crate::crypto::token::token_digest;
use crate::db::{api_key, user};
use crate::error::ApiError;

pub const KEY_PREFIX: &str = "ghk_";

/// Don't rewrite `last_used_at` on every request.
const TOUCH_EVERY_SECS: i64 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Read,
    Terminal,
    Files,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::Read, Scope::Terminal, Scope::Files, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Terminal => "terminal",
            Scope::Files => "files",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|scope| scope.as_str() == s)
    }
}

/// What a request authenticated by a key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub key_id: i32,
    pub scopes: Vec<Scope>,
}

impl Grant {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// The scope a key needs for `method` on `path`; `None`: keys may never call it.
pub fn required_scope(method: &axum::http::Method, path: &str) -> Option<Scope> {
    let reading = method == axum::http::Method::GET || method == axum::http::Method::HEAD;
    if path.starts_with("/api/auth/") {
        return (reading && path == "/api/auth/me").then_some(Scope::Read);
    }
    if path.starts_with("/api/ws/terminal") || path.starts_with("/api/terminal/") {
        return Some(Scope::Terminal);
    }
    if path.starts_with("/api/files/") {
        return Some(Scope::Files);
    }
    Some(if reading { Scope::Read } else { Scope::Admin })
}

/// A new key: what to show once, and what to store.
pub struct NewKey {
    pub key: String,
    pub prefix: String,
    pub digest: String,
}

pub fn generate() -> NewKey {
    const ALPHANUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut bytes = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let prefix: String = bytes
        .iter()
        .map(|b| ALPHANUM[*b as usize % ALPHANUM.len()] as char)
        .collect();
    let key = format!(
        "{KEY_PREFIX}{prefix}_{}",
        crate::crypto::token::random_token()
    );
    let digest = token_digest(&key);
    NewKey {
        key,
        prefix,
        digest,
    }
}

/// The key's prefix, if `token` is shaped like a key.
pub fn prefix_of(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(KEY_PREFIX)?;
    let (prefix, secret) = rest.split_once('_')?;
    (prefix.len() == 8 && !secret.is_empty()).then_some(prefix)
}

pub fn parse_scopes(json: &str) -> Vec<Scope> {
    serde_json::from_str::<Vec<String>>(json)
        .unwrap_or_default()
        .iter()
        .filter_map(|s| Scope::parse(s))
        .collect()
}

/// The live key `token` names and its enabled user; `None` for anything else (unknown, wrong
/// secret, expired, disabled user).
pub async fn resolve(
    db: &DatabaseConnection,
    token: &str,
) -> Result<Option<(api_key::Model, user::Model)>, ApiError> {
    let Some(prefix) = prefix_of(token) else {
        return Ok(None);
    };
    let Some(key) = api_key::Entity::find()
        .filter(api_key::Column::Prefix.eq(prefix))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let presented = token_digest(token);
    if !bool::from(presented.as_bytes().ct_eq(key.key_hash.as_bytes())) {
        return Ok(None);
    }
    let now = Utc::now();
    if key.expires_at.is_some_and(|at| at <= now) {
        return Ok(None);
    }
    let Some(owner) = user::Entity::find_by_id(key.user_id).one(db).await? else {
        return Ok(None);
    };
    if owner.disabled {
        return Ok(None);
    }
    if key
        .last_used_at
        .is_none_or(|at| now - at > Duration::seconds(TOUCH_EVERY_SECS))
    {
        let mut row: api_key::ActiveModel = key.clone().into();
        row.last_used_at = Set(Some(now));
        row.update(db).await?;
    }
    Ok(Some((key, owner)))
}

/// When a key created now with `expires_in_days` expires.
pub fn expiry(expires_in_days: Option<u32>) -> Option<DateTime<Utc>> {
    expires_in_days.map(|d| Utc::now() + Duration::days(i64::from(d)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    #[test]
    fn keys_have_a_findable_prefix_and_a_secret() {
        let new = generate();
        assert_eq!(prefix_of(&new.key), Some(new.prefix.as_str()));
        assert_eq!(new.digest, token_digest(&new.key));
        assert!(new.key.len() > 50);
        assert_eq!(prefix_of("not-a-key"), None);
        assert_eq!(prefix_of("ghk_short_x"), None);
    }

    #[test]
    fn every_route_needs_its_scope_and_keys_never_reach_auth_routes() {
        let get = Method::GET;
        let post = Method::POST;
        assert_eq!(required_scope(&get, "/api/servers"), Some(Scope::Read));
        assert_eq!(required_scope(&post, "/api/servers"), Some(Scope::Admin));
        assert_eq!(
            required_scope(&get, "/api/ws/terminal/3"),
            Some(Scope::Terminal)
        );
        assert_eq!(
            required_scope(&get, "/api/terminal/sessions"),
            Some(Scope::Terminal)
        );
        assert_eq!(required_scope(&get, "/api/files/3/ls"), Some(Scope::Files));
        assert_eq!(
            required_scope(&Method::DELETE, "/api/files/3/delete"),
            Some(Scope::Files)
        );
        assert_eq!(required_scope(&get, "/api/auth/me"), Some(Scope::Read));
        assert_eq!(required_scope(&get, "/api/auth/api-keys"), None);
        assert_eq!(required_scope(&post, "/api/auth/totp/disable"), None);
        assert_eq!(required_scope(&post, "/api/auth/logout"), None);
    }
}
