//! Registry logic: storing servers with their credentials sealed, listing what a caller may see,
//! jump-chain sanity, and the host-key pin.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, Set,
};
use wire::servers::{AuthMethod, ServerRequest, ServerView};

use super::{access, validate};
use crate::auth::Authenticated;
use crate::crypto::vault::Vault;
use crate::crypto::Secret;
use crate::db::server;
use crate::error::ApiError;

/// Longest jump chain accepted; a longer one is almost certainly a mistake.
pub const MAX_CHAIN_DEPTH: usize = 8;

pub fn json_list(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

fn to_json(list: &[String]) -> Result<String, ApiError> {
    serde_json::to_string(list).map_err(|e| ApiError::internal("encode list", e))
}

pub fn auth_method(m: &server::Model) -> AuthMethod {
    if m.auth_method == "key" {
        AuthMethod::Key
    } else {
        AuthMethod::Password
    }
}

pub fn view(m: &server::Model) -> ServerView {
    ServerView {
        id: m.id,
        name: m.name.clone(),
        hostname: m.hostname.clone(),
        port: u16::try_from(m.port).unwrap_or(22),
        username: m.username.clone(),
        auth_method: auth_method(m),
        has_password: m.password_enc.is_some(),
        has_private_key: m.private_key_enc.is_some(),
        group: m.group_name.clone(),
        tags: json_list(&m.tags),
        description: m.description.clone(),
        jump_via_id: m.jump_via_id,
        ssh_enabled: m.ssh_enabled,
        sftp_enabled: m.sftp_enabled,
        sftp_read_only: m.sftp_read_only,
        sftp_allowed_paths: json_list(&m.sftp_allowed_paths),
        record_sessions: m.record_sessions,
        host_key_fingerprint: m.host_key_fingerprint.clone(),
        host_key_pending: m.pending_host_key_fingerprint.clone(),
        created_at: m.created_at.to_rfc3339(),
        updated_at: m.updated_at.to_rfc3339(),
    }
}

pub async fn list_visible(
    db: &DatabaseConnection,
    caller: &Authenticated,
) -> Result<Vec<server::Model>, ApiError> {
    let all = server::Entity::find()
        .order_by_asc(server::Column::Name)
        .all(db)
        .await?;
    Ok(all
        .into_iter()
        .filter(|s| access::can_see(caller, s))
        .collect())
}

pub async fn get(db: &DatabaseConnection, id: i32) -> Result<server::Model, ApiError> {
    server::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("server"))
}

/// The server, if the caller may see it; "not found" otherwise.
pub async fn get_visible(
    db: &DatabaseConnection,
    caller: &Authenticated,
    id: i32,
) -> Result<server::Model, ApiError> {
    let s = get(db, id).await?;
    if access::can_see(caller, &s) {
        Ok(s)
    } else {
        Err(ApiError::NotFound("server"))
    }
}

async fn ensure_unique_name(
    db: &impl ConnectionTrait,
    name: &str,
    except: Option<i32>,
) -> Result<(), ApiError> {
    let mut q = server::Entity::find().filter(server::Column::Name.eq(name));
    if let Some(id) = except {
        q = q.filter(server::Column::Id.ne(id));
    }
    if q.one(db).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "a server named '{name}' already exists"
        )));
    }
    Ok(())
}

/// Refuses a jump host that does not exist, or a chain that loops back or runs too deep.
async fn check_jump_chain(
    db: &impl ConnectionTrait,
    id: Option<i32>,
    jump: Option<i32>,
) -> Result<(), ApiError> {
    let mut next = jump;
    let mut seen: Vec<i32> = id.into_iter().collect();
    while let Some(hop) = next {
        if seen.contains(&hop) {
            return Err(ApiError::Validation(
                "jump_via_id would create a cycle".into(),
            ));
        }
        if seen.len() > MAX_CHAIN_DEPTH {
            return Err(ApiError::Validation(format!(
                "jump chains are limited to {MAX_CHAIN_DEPTH} hops"
            )));
        }
        let hop_server = server::Entity::find_by_id(hop)
            .one(db)
            .await?
            .ok_or_else(|| ApiError::Validation(format!("jump host {hop} does not exist")))?;
        seen.push(hop);
        next = hop_server.jump_via_id;
    }
    Ok(())
}

fn seal(vault: &Vault, value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .filter(|v| !v.is_empty())
        .map(|v| vault.seal(v))
}

pub async fn create(
    db: &DatabaseConnection,
    vault: &Vault,
    req: ServerRequest,
) -> Result<server::Model, ApiError> {
    validate::check(&req, true)?;
    insert(db, vault, &req).await
}

/// Stores a server whose body `validate::check` accepted, once its name is free and its jump
/// chain sound. Takes any connection so an import can store many in one transaction; imported
/// servers are checked without `creating` (their credential is added afterwards).
pub async fn insert(
    db: &impl ConnectionTrait,
    vault: &Vault,
    req: &ServerRequest,
) -> Result<server::Model, ApiError> {
    ensure_unique_name(db, &req.name, None).await?;
    check_jump_chain(db, None, req.jump_via_id).await?;
    let now = Utc::now();
    let row = server::ActiveModel {
        name: Set(req.name.trim().to_string()),
        hostname: Set(req.hostname.trim().to_string()),
        port: Set(i32::from(req.port)),
        username: Set(req.username.clone()),
        auth_method: Set(req.auth_method.as_str().to_string()),
        password_enc: Set(seal(vault, &req.password)),
        private_key_enc: Set(seal(vault, &req.private_key)),
        passphrase_enc: Set(seal(vault, &req.passphrase)),
        group_name: Set(req.group.clone().filter(|g| !g.is_empty())),
        tags: Set(to_json(&req.tags)?),
        description: Set(req.description.clone()),
        jump_via_id: Set(req.jump_via_id),
        ssh_enabled: Set(req.ssh_enabled.unwrap_or(true)),
        sftp_enabled: Set(req.sftp_enabled.unwrap_or(true)),
        sftp_read_only: Set(req.sftp_read_only.unwrap_or(false)),
        sftp_allowed_paths: Set(to_json(
            req.sftp_allowed_paths.as_deref().unwrap_or_default(),
        )?),
        record_sessions: Set(req.record_sessions),
        host_key_fingerprint: Set(None),
        host_key_openssh: Set(None),
        host_key_pinned_at: Set(None),
        pending_host_key_fingerprint: Set(None),
        pending_host_key_openssh: Set(None),
        pending_host_key_seen_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok(row.insert(db).await?)
}

/// Replaces a server's settings. Absent secrets keep the stored ones; a new address drops the
/// host-key pin, since it names another machine.
pub async fn update(
    db: &DatabaseConnection,
    vault: &Vault,
    id: i32,
    req: ServerRequest,
) -> Result<server::Model, ApiError> {
    let current = get(db, id).await?;
    validate::check(&req, false)?;
    ensure_unique_name(db, &req.name, Some(id)).await?;
    check_jump_chain(db, Some(id), req.jump_via_id).await?;
    if req.private_key.is_none() {
        if let (Some(pass), Some(key)) = (&req.passphrase, &current.private_key_enc) {
            let key = vault
                .open(key)
                .map_err(|e| ApiError::internal("open key", e))?;
            validate::check_private_key(key.expose(), Some(pass))?;
        }
    }
    let moved = current.hostname != req.hostname.trim() || current.port != i32::from(req.port);
    let method = req.auth_method;
    let has_password = req.password.is_some() || current.password_enc.is_some();
    let has_key = req.private_key.is_some() || current.private_key_enc.is_some();
    match method {
        AuthMethod::Password if !has_password => {
            return Err(ApiError::Validation(
                "auth_method 'password' needs a password".into(),
            ))
        }
        AuthMethod::Key if !has_key => {
            return Err(ApiError::Validation(
                "auth_method 'key' needs a private_key".into(),
            ))
        }
        _ => {}
    }
    let mut row: server::ActiveModel = current.into();
    row.name = Set(req.name.trim().to_string());
    row.hostname = Set(req.hostname.trim().to_string());
    row.port = Set(i32::from(req.port));
    row.username = Set(req.username.clone());
    row.auth_method = Set(method.as_str().to_string());
    if req.password.is_some() {
        row.password_enc = Set(seal(vault, &req.password));
    }
    if req.private_key.is_some() {
        row.private_key_enc = Set(seal(vault, &req.private_key));
    }
    if req.passphrase.is_some() || req.private_key.is_some() {
        row.passphrase_enc = Set(seal(vault, &req.passphrase));
    }
    row.group_name = Set(req.group.clone().filter(|g| !g.is_empty()));
    row.tags = Set(to_json(&req.tags)?);
    row.description = Set(req.description.clone());
    row.jump_via_id = Set(req.jump_via_id);
    if let Some(v) = req.ssh_enabled {
        row.ssh_enabled = Set(v);
    }
    if let Some(v) = req.sftp_enabled {
        row.sftp_enabled = Set(v);
    }
    if let Some(v) = req.sftp_read_only {
        row.sftp_read_only = Set(v);
    }
    if let Some(paths) = &req.sftp_allowed_paths {
        row.sftp_allowed_paths = Set(to_json(paths)?);
    }
    row.record_sessions = Set(req.record_sessions);
    if moved {
        row.host_key_fingerprint = Set(None);
        row.host_key_openssh = Set(None);
        row.host_key_pinned_at = Set(None);
    }
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}

pub async fn delete(db: &DatabaseConnection, id: i32) -> Result<server::Model, ApiError> {
    let current = get(db, id).await?;
    server::Entity::delete_by_id(id).exec(db).await?;
    Ok(current)
}

/// Forgets the pinned host key: the next connection pins whatever key the host presents.
pub async fn clear_host_key(db: &DatabaseConnection, id: i32) -> Result<Option<String>, ApiError> {
    let current = get(db, id).await?;
    let old = current.host_key_fingerprint.clone();
    let mut row: server::ActiveModel = current.into();
    row.host_key_fingerprint = Set(None);
    row.host_key_openssh = Set(None);
    row.host_key_pinned_at = Set(None);
    row.update(db).await?;
    Ok(old)
}

/// Pins a host key on first use. Only writes when no pin exists yet, so two first connections
/// racing cannot overwrite each other's pin.
pub async fn pin_host_key(
    db: &DatabaseConnection,
    id: i32,
    fingerprint: &str,
    openssh: &str,
) -> Result<bool, ApiError> {
    let result = server::Entity::update_many()
        .col_expr(server::Column::HostKeyFingerprint, fingerprint.into())
        .col_expr(server::Column::HostKeyOpenssh, openssh.into())
        .col_expr(server::Column::HostKeyPinnedAt, Utc::now().into())
        .filter(server::Column::Id.eq(id))
        .filter(server::Column::HostKeyFingerprint.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The credential to log in with, decrypted for the duration of one connection.
pub enum Credential {
    Password(Secret<String>),
    Key {
        key: Secret<String>,
        passphrase: Option<Secret<String>>,
    },
}

#[derive(Debug, thiserror::Error)]
#[error("no usable credential is stored for this server")]
pub struct MissingCredential;

pub fn credential(vault: &Vault, m: &server::Model) -> Result<Credential, MissingCredential> {
    let open = |v: &Option<String>| v.as_deref().and_then(|e| vault.open(e).ok());
    match auth_method(m) {
        AuthMethod::Password => open(&m.password_enc)
            .map(Credential::Password)
            .ok_or(MissingCredential),
        AuthMethod::Key => Ok(Credential::Key {
            key: open(&m.private_key_enc).ok_or(MissingCredential)?,
            passphrase: open(&m.passphrase_enc),
        }),
    }
}

/// Strict policy: remembers the key an unpinned host presented, for an admin to approve.
/// Returns whether it is news (no key was held, or a different one).
pub async fn hold_host_key(
    db: &DatabaseConnection,
    id: i32,
    fingerprint: &str,
    openssh: &str,
) -> Result<bool, ApiError> {
    let result = server::Entity::update_many()
        .col_expr(
            server::Column::PendingHostKeyFingerprint,
            fingerprint.into(),
        )
        .col_expr(server::Column::PendingHostKeyOpenssh, openssh.into())
        .col_expr(server::Column::PendingHostKeySeenAt, Utc::now().into())
        .filter(server::Column::Id.eq(id))
        .filter(server::Column::HostKeyFingerprint.is_null())
        .filter(
            sea_orm::Condition::any()
                .add(server::Column::PendingHostKeyFingerprint.is_null())
                .add(server::Column::PendingHostKeyFingerprint.ne(fingerprint)),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// An admin approves the held key: it becomes the pin, provided it is still the key held
/// (`fingerprint` is what the admin saw) and no pin was set meanwhile.
pub async fn approve_host_key(
    db: &DatabaseConnection,
    id: i32,
    fingerprint: &str,
) -> Result<bool, ApiError> {
    let current = get(db, id).await?;
    let (Some(held), Some(openssh)) = (
        current.pending_host_key_fingerprint.as_deref(),
        current.pending_host_key_openssh.clone(),
    ) else {
        return Ok(false);
    };
    if held != fingerprint || current.host_key_fingerprint.is_some() {
        return Ok(false);
    }
    let result = server::Entity::update_many()
        .col_expr(server::Column::HostKeyFingerprint, fingerprint.into())
        .col_expr(server::Column::HostKeyOpenssh, openssh.into())
        .col_expr(server::Column::HostKeyPinnedAt, Utc::now().into())
        .col_expr(
            server::Column::PendingHostKeyFingerprint,
            Option::<String>::None.into(),
        )
        .col_expr(
            server::Column::PendingHostKeyOpenssh,
            Option::<String>::None.into(),
        )
        .col_expr(
            server::Column::PendingHostKeySeenAt,
            Option::<chrono::DateTime<Utc>>::None.into(),
        )
        .filter(server::Column::Id.eq(id))
        .filter(server::Column::HostKeyFingerprint.is_null())
        .filter(server::Column::PendingHostKeyFingerprint.eq(fingerprint))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}
