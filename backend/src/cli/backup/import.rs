//! `gatehouse import`: decrypts a backup (nothing is touched unless the passphrase and every
//! byte check out), then writes it in one transaction, all or nothing. Users and servers are
//! matched by name; what happens on a clash is the operator's choice (`OnConflict`). Records get
//! the target's ids, and jump hosts are linked by name once every server has one. Credentials
//! and TOTP secrets are sealed with this gateway's vault.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::Context as _;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use serde_json::json;

use super::format;
use super::payload::{Payload, ServerRecord, UserRecord, VersionOnly, PAYLOAD_VERSION};
use super::OnConflict;
use crate::audit::{self, Event};
use crate::cli::Context;
use crate::config::Config;
use crate::crypto::vault::Vault;
use crate::crypto::Secret;
use crate::db::{api_key, identity, recovery_code, server, session, snippet, user};

/// A jump chain longer than this is refused, as a cycle would be.
const MAX_HOPS: usize = 16;

#[derive(Default)]
struct Tally {
    created: u64,
    replaced: u64,
    skipped: u64,
}

pub async fn import(
    config: &Config,
    file: &Path,
    passphrase: &Secret<String>,
    rule: OnConflict,
) -> anyhow::Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let plain = format::open(passphrase, &bytes)
        .with_context(|| format!("{}: nothing was imported", file.display()))?;
    let unreadable = "the backup's contents do not read as a backup";
    let version: VersionOnly = serde_json::from_slice(&plain).context(unreadable)?;
    if version.payload_version > PAYLOAD_VERSION {
        anyhow::bail!(
            "the backup's contents are version {}, newer than this build reads \
             ({PAYLOAD_VERSION}); use a newer gatehouse",
            version.payload_version
        );
    }
    let payload: Payload = serde_json::from_slice(&plain).context(unreadable)?;
    validate(&payload).context("the backup is inconsistent; nothing was imported")?;

    let ctx = Context::open(config).await?;
    let result = write(&ctx, &payload, rule).await;
    let (users, servers) = match result {
        Ok(t) => t,
        Err(e) => {
            ctx.close().await;
            return Err(e.context("nothing was imported"));
        }
    };
    let details = json!({
        "file": file.display().to_string(),
        "on_conflict": format!("{rule:?}").to_lowercase(),
        "users": {"created": users.created, "replaced": users.replaced, "skipped": users.skipped},
        "servers": {"created": servers.created, "replaced": servers.replaced, "skipped": servers.skipped},
    });
    audit::record(
        &ctx.db,
        &ctx.actor,
        Event::new("cli.import").details(details),
    )
    .await;
    ctx.close().await;
    println!(
        "imported users: {} created, {} replaced, {} skipped; servers: {} created, {} replaced, \
         {} skipped",
        users.created,
        users.replaced,
        users.skipped,
        servers.created,
        servers.replaced,
        servers.skipped
    );
    Ok(())
}

/// What the file says must hang together before any of it is written.
fn validate(payload: &Payload) -> anyhow::Result<()> {
    let mut names = HashSet::new();
    for u in &payload.users {
        if !names.insert(u.username.as_str()) {
            anyhow::bail!("user {:?} appears twice", u.username);
        }
        if wire::users::Role::parse(&u.role).is_none() {
            anyhow::bail!("user {:?} has an unknown role {:?}", u.username, u.role);
        }
    }
    let mut jumps = HashMap::new();
    for s in &payload.servers {
        if jumps
            .insert(s.name.as_str(), s.jump_via.as_deref())
            .is_some()
        {
            anyhow::bail!("server {:?} appears twice", s.name);
        }
        if !matches!(s.auth_method.as_str(), "password" | "key") {
            anyhow::bail!(
                "server {:?} has an unknown auth method {:?}",
                s.name,
                s.auth_method
            );
        }
    }
    for s in &payload.servers {
        let mut at = s.name.as_str();
        for _ in 0..=MAX_HOPS {
            match jumps.get(at).copied().flatten() {
                None => break,
                Some(next) if !jumps.contains_key(next) => {
                    anyhow::bail!(
                        "server {at:?} jumps through {next:?}, which is not in the backup"
                    )
                }
                Some(next) => at = next,
            }
        }
        if jumps.get(at).copied().flatten().is_some() {
            anyhow::bail!("server {:?}'s jump chain is a cycle or too long", s.name);
        }
    }
    Ok(())
}

async fn write(
    ctx: &Context,
    payload: &Payload,
    rule: OnConflict,
) -> anyhow::Result<(Tally, Tally)> {
    let txn = ctx.db.begin().await?;
    let existing_users: HashMap<String, user::Model> = user::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|u| (u.username.clone(), u))
        .collect();
    let existing_servers: HashMap<String, server::Model> = server::Entity::find()
        .all(&txn)
        .await?
        .into_iter()
        .map(|s| (s.name.clone(), s))
        .collect();
    if rule == OnConflict::Refuse {
        let clashes: Vec<String> = payload
            .users
            .iter()
            .filter(|u| existing_users.contains_key(&u.username))
            .map(|u| format!("user {:?}", u.username))
            .chain(
                payload
                    .servers
                    .iter()
                    .filter(|s| existing_servers.contains_key(&s.name))
                    .map(|s| format!("server {:?}", s.name)),
            )
            .collect();
        if !clashes.is_empty() {
            anyhow::bail!(
                "already on this gateway: {} (use --skip-existing to keep them or --replace to \
                 overwrite them)",
                clashes.join(", ")
            );
        }
    }

    let mut users = Tally::default();
    for record in &payload.users {
        let current = existing_users.get(&record.username);
        if current.is_some() && rule == OnConflict::Skip {
            users.skipped += 1;
            continue;
        }
        let user_id = put_user(&txn, &ctx.vault, record, current)
            .await
            .with_context(|| format!("user {:?}", record.username))?;
        put_user_children(&txn, user_id, record)
            .await
            .with_context(|| format!("user {:?}", record.username))?;
        match current {
            Some(_) => users.replaced += 1,
            None => users.created += 1,
        }
    }

    let mut servers = Tally::default();
    let mut ids: HashMap<&str, i32> = existing_servers
        .iter()
        .map(|(name, s)| (name.as_str(), s.id))
        .collect();
    let mut written = Vec::new();
    for record in &payload.servers {
        let current = existing_servers.get(&record.name);
        if current.is_some() && rule == OnConflict::Skip {
            servers.skipped += 1;
            continue;
        }
        let id = put_server(&txn, &ctx.vault, record, current)
            .await
            .with_context(|| format!("server {:?}", record.name))?;
        ids.insert(record.name.as_str(), id);
        written.push((id, record));
        match current {
            Some(_) => servers.replaced += 1,
            None => servers.created += 1,
        }
    }
    // Every server has its id now: link the jump chains by name.
    for (id, record) in written {
        let Some(via) = record.jump_via.as_deref() else {
            continue;
        };
        let via_id = *ids.get(via).ok_or_else(|| {
            anyhow::anyhow!("server {:?}: jump host {via:?} is missing", record.name)
        })?;
        server::ActiveModel {
            id: Set(id),
            jump_via_id: Set(Some(via_id)),
            ..Default::default()
        }
        .update(&txn)
        .await?;
    }
    check_chains(&txn).await?;
    txn.commit().await.context("committing the import")?;
    Ok((users, servers))
}

async fn put_user(
    txn: &DatabaseTransaction,
    vault: &Vault,
    r: &UserRecord,
    current: Option<&user::Model>,
) -> anyhow::Result<i32> {
    let mut row = user::ActiveModel {
        username: Set(r.username.clone()),
        password_hash: Set(r.password_hash.clone()),
        role: Set(r.role.clone()),
        allowed_groups: Set(r.allowed_groups.clone()),
        disabled: Set(r.disabled),
        must_change_password: Set(r.must_change_password),
        totp_secret_enc: Set(r.totp_secret.as_ref().map(|s| vault.seal(s.expose()))),
        totp_enabled: Set(r.totp_enabled),
        totp_last_step: Set(r.totp_last_step),
        auth_source: Set(r.auth_source.clone()),
        created_at: Set(r.created_at),
        updated_at: Set(r.updated_at),
        ..Default::default()
    };
    let Some(current) = current else {
        return Ok(row.insert(txn).await?.id);
    };
    // Replaced: the backup's account, under the existing id. Its sign-ins end, and what hangs
    // off it is swapped for the backup's.
    row.id = Set(current.id);
    row.updated_at = Set(Utc::now());
    row.update(txn).await?;
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(current.id))
        .exec(txn)
        .await?;
    identity::Entity::delete_many()
        .filter(identity::Column::UserId.eq(current.id))
        .exec(txn)
        .await?;
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(current.id))
        .exec(txn)
        .await?;
    api_key::Entity::delete_many()
        .filter(api_key::Column::UserId.eq(current.id))
        .exec(txn)
        .await?;
    snippet::Entity::delete_many()
        .filter(snippet::Column::OwnerId.eq(current.id))
        .exec(txn)
        .await?;
    Ok(current.id)
}

async fn put_user_children(
    txn: &DatabaseTransaction,
    user_id: i32,
    r: &UserRecord,
) -> anyhow::Result<()> {
    for i in &r.identities {
        identity::ActiveModel {
            user_id: Set(user_id),
            provider: Set(i.provider.clone()),
            issuer: Set(i.issuer.clone()),
            subject: Set(i.subject.clone()),
            created_at: Set(i.created_at),
            last_login_at: Set(i.last_login_at),
            ..Default::default()
        }
        .insert(txn)
        .await
        .with_context(|| format!("its {} identity is linked to another user here", i.provider))?;
    }
    for c in &r.recovery_codes {
        recovery_code::ActiveModel {
            user_id: Set(user_id),
            code_hash: Set(c.code_hash.clone()),
            used_at: Set(None),
            created_at: Set(c.created_at),
            ..Default::default()
        }
        .insert(txn)
        .await?;
    }
    for k in &r.api_keys {
        api_key::ActiveModel {
            user_id: Set(user_id),
            name: Set(k.name.clone()),
            prefix: Set(k.prefix.clone()),
            key_hash: Set(k.key_hash.clone()),
            scopes: Set(k.scopes.clone()),
            expires_at: Set(k.expires_at),
            last_used_at: Set(k.last_used_at),
            created_at: Set(k.created_at),
            ..Default::default()
        }
        .insert(txn)
        .await
        .with_context(|| format!("API key {:?} clashes with one here", k.name))?;
    }
    for s in &r.snippets {
        snippet::ActiveModel {
            name: Set(s.name.clone()),
            command: Set(s.command.clone()),
            description: Set(s.description.clone()),
            shared: Set(s.shared),
            owner_id: Set(user_id),
            confirm: Set(s.confirm),
            created_at: Set(s.created_at),
            updated_at: Set(s.updated_at),
            ..Default::default()
        }
        .insert(txn)
        .await
        .with_context(|| format!("snippet {:?}", s.name))?;
    }
    Ok(())
}

/// Writes the server without its jump host (linked once every server has an id).
async fn put_server(
    txn: &DatabaseTransaction,
    vault: &Vault,
    r: &ServerRecord,
    current: Option<&server::Model>,
) -> anyhow::Result<i32> {
    let seal = |v: &Option<Secret<String>>| v.as_ref().map(|s| vault.seal(s.expose()));
    let mut row = server::ActiveModel {
        name: Set(r.name.clone()),
        hostname: Set(r.hostname.clone()),
        port: Set(r.port),
        username: Set(r.username.clone()),
        auth_method: Set(r.auth_method.clone()),
        password_enc: Set(seal(&r.password)),
        private_key_enc: Set(seal(&r.private_key)),
        passphrase_enc: Set(seal(&r.passphrase)),
        group_name: Set(r.group_name.clone()),
        tags: Set(r.tags.clone()),
        description: Set(r.description.clone()),
        jump_via_id: Set(None),
        ssh_enabled: Set(r.ssh_enabled),
        sftp_enabled: Set(r.sftp_enabled),
        sftp_read_only: Set(r.sftp_read_only),
        sftp_allowed_paths: Set(r.sftp_allowed_paths.clone()),
        record_sessions: Set(r.record_sessions),
        host_key_fingerprint: Set(r.host_key_fingerprint.clone()),
        host_key_openssh: Set(r.host_key_openssh.clone()),
        host_key_pinned_at: Set(r.host_key_pinned_at),
        pending_host_key_fingerprint: Set(r.pending_host_key_fingerprint.clone()),
        pending_host_key_openssh: Set(r.pending_host_key_openssh.clone()),
        pending_host_key_seen_at: Set(r.pending_host_key_seen_at),
        created_at: Set(r.created_at),
        updated_at: Set(r.updated_at),
        ..Default::default()
    };
    match current {
        None => Ok(row.insert(txn).await?.id),
        Some(current) => {
            row.id = Set(current.id);
            row.updated_at = Set(Utc::now());
            row.update(txn).await?;
            Ok(current.id)
        }
    }
}

/// The servers as they will be after the import: every jump chain ends, within `MAX_HOPS`.
async fn check_chains(txn: &DatabaseTransaction) -> anyhow::Result<()> {
    let all = server::Entity::find().all(txn).await?;
    let via: HashMap<i32, Option<i32>> = all.iter().map(|s| (s.id, s.jump_via_id)).collect();
    for s in &all {
        let mut at = s.jump_via_id;
        let mut hops = 0;
        while let Some(id) = at {
            hops += 1;
            if hops > MAX_HOPS {
                anyhow::bail!(
                    "server {:?}'s jump chain would be a cycle or too long",
                    s.name
                );
            }
            at = via.get(&id).copied().flatten();
        }
    }
    Ok(())
}
