//! `gatehouse export`: reads users and servers, opens their sealed values with this gateway's
//! vault, and writes them sealed under the passphrase. A value that does not open stops the
//! export: a backup that silently lacks a credential would be found out at restore time.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;

use super::format::{self, EXPORT_KDF};
use super::payload::{
    ApiKeyRecord, IdentityRecord, Payload, RecoveryCodeRecord, ServerRecord, SnippetRecord,
    UserRecord, PAYLOAD_VERSION,
};
use crate::audit::{self, Event};
use crate::cli::Context;
use crate::config::Config;
use crate::crypto::vault::Vault;
use crate::crypto::{master_key, Secret};
use crate::db::{api_key, identity, recovery_code, server, snippet, user};

pub async fn export(
    config: &Config,
    out: &Path,
    passphrase: &Secret<String>,
) -> anyhow::Result<()> {
    // Checked before the work, and again by the exclusive create below.
    if out.exists() {
        anyhow::bail!("{} already exists: choose a new file name", out.display());
    }
    let ctx = Context::open(config).await?;
    let result = build(&ctx).await;
    let payload = match result {
        Ok(p) => p,
        Err(e) => {
            ctx.close().await;
            return Err(e);
        }
    };
    let json = serde_json::to_vec(&payload).context("encoding the backup")?;
    let file = format::seal(passphrase, &EXPORT_KDF, &json).context("encrypting the backup")?;
    if let Err(e) = master_key::write_private_file(out, &file) {
        ctx.close().await;
        return Err(e).with_context(|| format!("writing {}", out.display()));
    }
    let details = json!({
        "file": out.display().to_string(),
        "users": payload.users.len(),
        "servers": payload.servers.len(),
    });
    audit::record(
        &ctx.db,
        &ctx.actor,
        Event::new("cli.export").details(details),
    )
    .await;
    ctx.close().await;
    println!(
        "exported {} user(s) and {} server(s) to {} (encrypted under the passphrase; it holds \
         credentials in a form any gateway can use: keep it like the secret key)",
        payload.users.len(),
        payload.servers.len(),
        out.display()
    );
    Ok(())
}

fn open(
    vault: &Vault,
    sealed: &Option<String>,
    what: &str,
) -> anyhow::Result<Option<Secret<String>>> {
    sealed
        .as_deref()
        .map(|envelope| {
            vault
                .open(envelope)
                .map_err(|e| anyhow::anyhow!("{what} does not open with this gateway's key: {e}"))
        })
        .transpose()
}

async fn build(ctx: &Context) -> anyhow::Result<Payload> {
    let db = &ctx.db;
    let users = user::Entity::find()
        .order_by_asc(user::Column::Id)
        .all(db)
        .await?;
    let servers = server::Entity::find()
        .order_by_asc(server::Column::Id)
        .all(db)
        .await?;
    let mut identities = group_by_user(identity::Entity::find().all(db).await?, |i| i.user_id);
    let unused = recovery_code::Entity::find()
        .filter(recovery_code::Column::UsedAt.is_null())
        .all(db)
        .await?;
    let mut codes = group_by_user(unused, |c| c.user_id);
    let mut keys = group_by_user(api_key::Entity::find().all(db).await?, |k| k.user_id);
    let mut snippets = group_by_user(snippet::Entity::find().all(db).await?, |s| s.owner_id);

    let mut user_records = Vec::with_capacity(users.len());
    for u in users {
        let totp_secret = open(
            &ctx.vault,
            &u.totp_secret_enc,
            &format!("user {:?} TOTP secret", u.username),
        )?;
        user_records.push(UserRecord {
            identities: take(&mut identities, u.id)
                .into_iter()
                .map(|i| IdentityRecord {
                    provider: i.provider,
                    issuer: i.issuer,
                    subject: i.subject,
                    created_at: i.created_at,
                    last_login_at: i.last_login_at,
                })
                .collect(),
            recovery_codes: take(&mut codes, u.id)
                .into_iter()
                .map(|c| RecoveryCodeRecord {
                    code_hash: c.code_hash,
                    created_at: c.created_at,
                })
                .collect(),
            api_keys: take(&mut keys, u.id)
                .into_iter()
                .map(|k| ApiKeyRecord {
                    name: k.name,
                    prefix: k.prefix,
                    key_hash: k.key_hash,
                    scopes: k.scopes,
                    expires_at: k.expires_at,
                    last_used_at: k.last_used_at,
                    created_at: k.created_at,
                })
                .collect(),
            snippets: take(&mut snippets, u.id)
                .into_iter()
                .map(|s| SnippetRecord {
                    name: s.name,
                    command: s.command,
                    description: s.description,
                    shared: s.shared,
                    confirm: s.confirm,
                    created_at: s.created_at,
                    updated_at: s.updated_at,
                })
                .collect(),
            username: u.username,
            password_hash: u.password_hash,
            role: u.role,
            allowed_groups: u.allowed_groups,
            disabled: u.disabled,
            must_change_password: u.must_change_password,
            totp_secret,
            totp_enabled: u.totp_enabled,
            totp_last_step: u.totp_last_step,
            auth_source: u.auth_source,
            created_at: u.created_at,
            updated_at: u.updated_at,
        });
    }

    let names: HashMap<i32, String> = servers.iter().map(|s| (s.id, s.name.clone())).collect();
    let mut server_records = Vec::with_capacity(servers.len());
    for s in servers {
        let what = |field: &str| format!("server {:?} {field}", s.name);
        let jump_via =
            match s.jump_via_id {
                None => None,
                Some(id) => Some(names.get(&id).cloned().ok_or_else(|| {
                    anyhow::anyhow!("{} names a missing server", what("jump host"))
                })?),
            };
        server_records.push(ServerRecord {
            password: open(&ctx.vault, &s.password_enc, &what("password"))?,
            private_key: open(&ctx.vault, &s.private_key_enc, &what("private key"))?,
            passphrase: open(&ctx.vault, &s.passphrase_enc, &what("key passphrase"))?,
            jump_via,
            name: s.name,
            hostname: s.hostname,
            port: s.port,
            username: s.username,
            auth_method: s.auth_method,
            group_name: s.group_name,
            tags: s.tags,
            description: s.description,
            ssh_enabled: s.ssh_enabled,
            sftp_enabled: s.sftp_enabled,
            sftp_read_only: s.sftp_read_only,
            sftp_allowed_paths: s.sftp_allowed_paths,
            record_sessions: s.record_sessions,
            host_key_fingerprint: s.host_key_fingerprint,
            host_key_openssh: s.host_key_openssh,
            host_key_pinned_at: s.host_key_pinned_at,
            pending_host_key_fingerprint: s.pending_host_key_fingerprint,
            pending_host_key_openssh: s.pending_host_key_openssh,
            pending_host_key_seen_at: s.pending_host_key_seen_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
        });
    }
    Ok(Payload {
        payload_version: PAYLOAD_VERSION,
        created_at: Utc::now(),
        gatehouse_version: env!("CARGO_PKG_VERSION").to_owned(),
        users: user_records,
        servers: server_records,
    })
}

fn group_by_user<T>(rows: Vec<T>, user_id: impl Fn(&T) -> i32) -> HashMap<i32, Vec<T>> {
    let mut map: HashMap<i32, Vec<T>> = HashMap::new();
    for row in rows {
        map.entry(user_id(&row)).or_default().push(row);
    }
    map
}

fn take<T>(map: &mut HashMap<i32, Vec<T>>, user_id: i32) -> Vec<T> {
    map.remove(&user_id).unwrap_or_default()
}
