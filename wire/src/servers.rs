//! Server registry bodies. Requests may carry credentials; responses never do.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    #[default]
    Password,
    Key,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Password => "password",
            AuthMethod::Key => "key",
        }
    }
}

/// `POST /api/servers` and `PUT /api/servers/{id}`. On update, an absent `password`,
/// `private_key` or `passphrase` keeps the stored one, so a form never has to echo secrets back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerRequest {
    pub name: String,
    pub hostname: String,
    #[serde(default = "default_port")]
    pub port: u16,
    pub username: String,
    #[serde(default)]
    pub auth_method: AuthMethod,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jump_via_id: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sftp_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sftp_read_only: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sftp_allowed_paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_sessions: Option<bool>,
}

fn default_port() -> u16 {
    22
}

/// A registered server as responses show it. `has_password` / `has_private_key` say whether a
/// credential is stored without revealing it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerView {
    pub id: i32,
    pub name: String,
    pub hostname: String,
    pub port: u16,
    pub username: String,
    pub auth_method: AuthMethod,
    pub has_password: bool,
    pub has_private_key: bool,
    pub group: Option<String>,
    pub tags: Vec<String>,
    pub description: String,
    pub jump_via_id: Option<i32>,
    pub ssh_enabled: bool,
    pub sftp_enabled: bool,
    pub sftp_read_only: bool,
    pub sftp_allowed_paths: Vec<String>,
    pub record_sessions: Option<bool>,
    /// `SHA256:…` fingerprint of the pinned host key, once the first connection pinned one.
    pub host_key_fingerprint: Option<String>,
    /// Strict host-key policy: the fingerprint of the key the host presented, awaiting an
    /// admin's approval (`POST /api/servers/{id}/host-key/approve`).
    #[serde(default)]
    pub host_key_pending: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

/// `GET /api/servers/{id}/host-key` (admins): the pinned key and any key awaiting approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostKeyView {
    pub server_id: i32,
    /// `tofu` or `strict`: how a first key becomes trusted on this gateway.
    pub policy: String,
    pub pinned: Option<HostKey>,
    pub pending: Option<HostKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostKey {
    /// `SHA256:…`
    pub fingerprint: String,
    /// The OpenSSH public-key line (`ssh-ed25519 AAAA…`).
    pub openssh: String,
    /// When it was pinned, or (pending) last presented. RFC 3339.
    pub at: Option<String>,
}

/// `POST /api/servers/{id}/host-key/approve`: the fingerprint the admin saw and approves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApproveHostKey {
    pub fingerprint: String,
}

/// `POST /api/servers/{id}/test`: each hop of the server's chain (bastions first, the server
/// last), tried in order until one fails. Hops after a failure are listed with `ok: false` and no
/// `ms`, so the answer always names every hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TestReport {
    pub ok: bool,
    pub hops: Vec<HopResult>,
    /// Wall time of the whole test, in milliseconds.
    pub total_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HopResult {
    pub server_id: i32,
    pub name: String,
    pub host: String,
    pub port: u16,
    pub ok: bool,
    /// Time for this hop's TCP connect (or forwarded channel), handshake and authentication.
    pub ms: Option<u64>,
    /// The host key the hop presented (`SHA256:…`).
    pub fingerprint: Option<String>,
    /// Why the hop failed (the terminal error codes: `unreachable`, `auth_failed`,
    /// `host_key_mismatch`, `timeout`, `forwarding_prohibited`, …).
    pub code: Option<String>,
    pub error: Option<String>,
}

/// `POST /api/servers/import` (admins): servers read from another tool's configuration. Imported
/// servers carry no credential; an admin adds one in the server form afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportRequest {
    /// What `config` is: [`ImportRequest::OPENSSH_CONFIG`]; anything else is refused with
    /// `unsupported_format`.
    pub format: String,
    /// The configuration text (at most 1 MiB).
    pub config: String,
    /// The group every imported server gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The SSH user for hosts whose configuration names none (otherwise they are skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_username: Option<String>,
    /// Check and report everything, store nothing.
    #[serde(default)]
    pub dry_run: bool,
}

impl ImportRequest {
    /// An OpenSSH client configuration (`~/.ssh/config`).
    pub const OPENSSH_CONFIG: &'static str = "openssh_config";
}

/// The answer to an import (or to its dry run, where `id` and `jump_via_id` are provisional: they
/// show the links but are not kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportResponse {
    /// In the order they were created: every jump host before the servers behind it.
    pub created: Vec<ImportedServer>,
    pub skipped: Vec<SkippedHost>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportedServer {
    pub id: i32,
    pub name: String,
    pub hostname: String,
    pub port: u16,
    pub username: String,
    pub jump_via_id: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SkippedHost {
    pub name: String,
    pub reason: String,
}

// --- known_hosts import -----------------------------------------------------------------------

/// `POST /api/servers/known-hosts` (admins): pin registered servers' host keys from an OpenSSH
/// `known_hosts` file. `replace` overwrites pins that differ; `dry_run` reports and writes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnownHostsImportRequest {
    pub known_hosts: String,
    #[serde(default)]
    pub replace: bool,
    #[serde(default)]
    pub dry_run: bool,
}

/// What an import did (or, on a dry run, would do) with every registered server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnownHostsImportReport {
    pub pinned: Vec<KnownHostsPinned>,
    pub unchanged: Vec<KnownHostsUnchanged>,
    pub conflicts: Vec<KnownHostsConflict>,
    /// Servers the file lists no usable key for.
    pub unmatched_servers: usize,
    /// Lines skipped (`line N: …`) and other remarks.
    pub warnings: Vec<String>,
}

/// A server whose pin was set (or replaced) from the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnownHostsPinned {
    pub server_id: i32,
    pub name: String,
    /// `SHA256:…` of the key pinned now.
    pub fingerprint: String,
    /// The key's type, the one Gatehouse negotiates first among the file's (`ssh-ed25519`, …).
    pub key_type: String,
    /// The pin it replaced (`replace: true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_fingerprint: Option<String>,
}

/// A server already pinned to a key the file lists for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnownHostsUnchanged {
    pub server_id: i32,
    pub name: String,
}

/// A server left as it was: its pin differs from the file (`reason` = [`Self::DIFFERENT_KEY`]),
/// the key involved is `@revoked` ([`Self::REVOKED`]), or its pin changed while importing
/// ([`Self::CHANGED_DURING_IMPORT`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KnownHostsConflict {
    pub server_id: i32,
    pub name: String,
    /// The fingerprint pinned now, if any.
    pub pinned: Option<String>,
    /// The fingerprint the file offers.
    pub file: String,
    pub reason: String,
}

impl KnownHostsConflict {
    pub const DIFFERENT_KEY: &'static str = "different_key";
    pub const REVOKED: &'static str = "revoked";
    pub const CHANGED_DURING_IMPORT: &'static str = "changed_during_import";
}
