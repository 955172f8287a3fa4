//! What a backup holds, as JSON inside the sealed file. Records refer to each other by name
//! (server and user names are unique), never by id, so an import can give them the target's ids.
//! Sealed credentials are carried in plaintext inside the encrypted file: a backup must restore
//! into a gateway with another master secret, which re-seals them under its own.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::crypto::Secret;

/// Bumped when a field changes meaning; new optional fields do not need it.
pub const PAYLOAD_VERSION: u32 = 1;

/// Read first, so a newer file is named as such rather than failing on a field it changed.
#[derive(Debug, Deserialize)]
pub struct VersionOnly {
    pub payload_version: u32,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Payload {
    pub payload_version: u32,
    pub created_at: DateTime<Utc>,
    /// The gatehouse version that wrote it.
    pub gatehouse_version: String,
    pub users: Vec<UserRecord>,
    pub servers: Vec<ServerRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct UserRecord {
    pub username: String,
    /// argon2id PHC string, portable as it is.
    pub password_hash: Option<String>,
    pub role: String,
    /// As stored: a JSON array of server group names.
    pub allowed_groups: String,
    pub disabled: bool,
    pub must_change_password: bool,
    /// Base32, in the clear inside the encrypted file.
    pub totp_secret: Option<Secret<String>>,
    pub totp_enabled: bool,
    /// Kept so a code already used on the source cannot be replayed on the target.
    pub totp_last_step: Option<i64>,
    pub auth_source: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default)]
    pub identities: Vec<IdentityRecord>,
    #[serde(default)]
    pub recovery_codes: Vec<RecoveryCodeRecord>,
    #[serde(default)]
    pub api_keys: Vec<ApiKeyRecord>,
    #[serde(default)]
    pub snippets: Vec<SnippetRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct IdentityRecord {
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

/// Unused TOTP recovery codes, as their digests (the codes themselves were never stored).
#[derive(Debug, Serialize, Deserialize)]
pub struct RecoveryCodeRecord {
    pub code_hash: String,
    pub created_at: DateTime<Utc>,
}

/// API keys as the digests they are stored as: automation keeps working after a restore.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    pub name: String,
    pub prefix: String,
    pub key_hash: String,
    pub scopes: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// The user's command snippets (shared ones included: they belong to their owner).
#[derive(Debug, Serialize, Deserialize)]
pub struct SnippetRecord {
    pub name: String,
    pub command: String,
    pub description: String,
    pub shared: bool,
    pub confirm: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ServerRecord {
    pub name: String,
    pub hostname: String,
    pub port: i32,
    pub username: String,
    pub auth_method: String,
    pub password: Option<Secret<String>>,
    pub private_key: Option<Secret<String>>,
    pub passphrase: Option<Secret<String>>,
    pub group_name: Option<String>,
    /// As stored: a JSON array.
    pub tags: String,
    pub description: String,
    /// The bastion's server name.
    pub jump_via: Option<String>,
    pub ssh_enabled: bool,
    pub sftp_enabled: bool,
    pub sftp_read_only: bool,
    /// As stored: a JSON array of path prefixes.
    pub sftp_allowed_paths: String,
    pub record_sessions: Option<bool>,
    pub host_key_fingerprint: Option<String>,
    pub host_key_openssh: Option<String>,
    pub host_key_pinned_at: Option<DateTime<Utc>>,
    pub pending_host_key_fingerprint: Option<String>,
    pub pending_host_key_openssh: Option<String>,
    pub pending_host_key_seen_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}
