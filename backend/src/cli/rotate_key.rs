//! `gatehouse rotate-key`: moves everything the previous master secret protects over to the
//! current one, in one transaction. It runs with the configuration the rotation procedure puts on
//! every replica anyway: the new secret as `secret_key`, the old one as `secret_key_previous`
//! (docs/operations.md, "Key rotation"). First every sealed value (server passwords, private keys
//! and passphrases, TOTP secrets, webhook secrets) is opened, and the whole audit chain checked,
//! under the old or the new key; one that opens under neither stops the command with nothing
//! changed. Then each value is re-sealed under the new key and the chain re-keyed. A gateway may
//! keep running meanwhile: it already opens both and seals under the new key.

use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, EntityTrait};
use serde_json::json;

use super::{existing_master, Context};
use crate::audit::{self, chain, Event};
use crate::config::Config;
use crate::crypto::master_key;
use crate::crypto::vault::Vault;
use crate::db::{server, user, webhook};

/// One vault envelope in the database, and where it sits.
struct Sealed {
    table: &'static str,
    column: &'static str,
    id: i32,
    /// `server "db1" password`: names the value in errors, never shows it.
    label: String,
    envelope: String,
}

/// What a rotation did, for the summary and the audit row.
#[derive(Default)]
struct Counts {
    server_secrets: u64,
    totp_secrets: u64,
    webhook_secrets: u64,
    already_current: u64,
    audit_rows: u64,
}

pub async fn run(config: &Config) -> anyhow::Result<bool> {
    let previous =
        master_key::load_previous(config.secret_key_previous.as_ref())?.ok_or_else(|| {
            anyhow::anyhow!(
                "no previous key: run rotate-key with the new secret as GATEHOUSE_SECRET_KEY and \
                 the one it replaces as GATEHOUSE_SECRET_KEY_PREVIOUS (or _FILE)"
            )
        })?;
    let master = existing_master(config)?;
    if master.expose() == previous.expose() {
        anyhow::bail!("the secret key and the previous key are the same: nothing to rotate");
    }
    let ctx = Context::open(config).await?;
    let old_vault = Vault::from_master(&previous);
    let old_chain_key = chain::derive_key(&previous);
    let result = chain::retrying_when_busy(|| rotate_once(&ctx, &old_vault, &old_chain_key))
        .await
        .map_err(anyhow::Error::from);
    let counts = match result {
        Ok(Ok(counts)) => counts,
        Ok(Err(e)) | Err(e) => {
            ctx.close().await;
            return Err(e.context("nothing was changed"));
        }
    };
    let key_id = ctx.vault.key_id().to_owned();
    // Counts only: nothing about the keys themselves.
    let details = json!({
        "server_secrets": counts.server_secrets,
        "totp_secrets": counts.totp_secrets,
        "webhook_secrets": counts.webhook_secrets,
        "already_current": counts.already_current,
        "audit_rows": counts.audit_rows,
    });
    audit::record(
        &ctx.db,
        &ctx.actor,
        Event::new("cli.rotate_key").details(details),
    )
    .await;
    ctx.close().await;
    println!(
        "re-sealed {} server credential(s), {} TOTP secret(s) and {} webhook secret(s) under key \
         {}; {} value(s) were already under it; re-keyed {} audit row(s)",
        counts.server_secrets,
        counts.totp_secrets,
        counts.webhook_secrets,
        key_id,
        counts.already_current,
        counts.audit_rows
    );
    println!("now remove the previous key from every replica's configuration and restart them");
    Ok(true)
}

/// One attempt: `Err` (outer) is a database error worth retrying when SQLite was busy, `Ok(Err)`
/// a reason to stop. Either way the transaction is dropped, so nothing was written.
async fn rotate_once(
    ctx: &Context,
    old_vault: &Vault,
    old_chain_key: &[u8; 32],
) -> Result<anyhow::Result<Counts>, sea_orm::DbErr> {
    // The append lock: no audit row is linked to a hash this transaction is about to change.
    let (_guard, txn) = chain::exclusive(&ctx.db).await?;
    let sealed = sealed_values(&txn).await?;
    let mut counts = Counts::default();
    let mut changes = Vec::new();
    // Every value must open before any is touched.
    for value in sealed {
        if ctx.vault.is_current(&value.envelope) {
            if let Err(e) = ctx.vault.open(&value.envelope) {
                return Ok(Err(anyhow::anyhow!("{} does not open: {e}", value.label)));
            }
            counts.already_current += 1;
            continue;
        }
        match old_vault.open(&value.envelope) {
            Ok(plain) => changes.push((ctx.vault.seal(plain.expose()), value)),
            Err(e) => {
                return Ok(Err(anyhow::anyhow!(
                    "{} opens under neither the secret key nor the previous key: {e}",
                    value.label
                )))
            }
        }
    }
    for (resealed, value) in &changes {
        // Only if the value is still the one that was read: a running gateway may have just
        // replaced it (sealed under the new key already), and its change must win.
        let mut update = Query::update();
        update
            .table(Alias::new(value.table))
            .value(Alias::new(value.column), resealed.clone())
            .and_where(Expr::col(Alias::new("id")).eq(value.id))
            .and_where(Expr::col(Alias::new(value.column)).eq(value.envelope.clone()));
        let backend = txn.get_database_backend();
        let done = txn.execute(backend.build(&update)).await?;
        if done.rows_affected() == 0 {
            counts.already_current += 1;
            continue;
        }
        match value.table {
            "servers" => counts.server_secrets += 1,
            "users" => counts.totp_secrets += 1,
            _ => counts.webhook_secrets += 1,
        }
    }
    counts.audit_rows = match chain::rekey(&txn, old_chain_key).await {
        Ok(rows) => rows,
        Err(chain::RekeyError::Db(e)) => return Err(e),
        Err(e) => return Ok(Err(anyhow::Error::from(e))),
    };
    txn.commit().await?;
    Ok(Ok(counts))
}

/// Every vault envelope the database holds. OIDC sign-in cookies are sealed too but live in
/// browsers for minutes; a sign-in started before the previous key is dropped simply restarts.
async fn sealed_values(txn: &DatabaseTransaction) -> Result<Vec<Sealed>, sea_orm::DbErr> {
    let mut out = Vec::new();
    for s in server::Entity::find().all(txn).await? {
        for (column, what, value) in [
            ("password_enc", "password", s.password_enc),
            ("private_key_enc", "private key", s.private_key_enc),
            ("passphrase_enc", "key passphrase", s.passphrase_enc),
        ] {
            if let Some(envelope) = value {
                out.push(Sealed {
                    table: "servers",
                    column,
                    id: s.id,
                    label: format!("server {:?} {what}", s.name),
                    envelope,
                });
            }
        }
    }
    for u in user::Entity::find().all(txn).await? {
        if let Some(envelope) = u.totp_secret_enc {
            out.push(Sealed {
                table: "users",
                column: "totp_secret_enc",
                id: u.id,
                label: format!("user {:?} TOTP secret", u.username),
                envelope,
            });
        }
    }
    for w in webhook::Entity::find().all(txn).await? {
        out.push(Sealed {
            table: "webhooks",
            column: "secret",
            id: w.id,
            label: format!("webhook {:?} secret", w.name),
            envelope: w.secret,
        });
    }
    Ok(out)
}
