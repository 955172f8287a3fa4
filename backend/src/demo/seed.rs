//! The demo's accounts and servers, made at every start in demo mode: the demo user
//! (`demo_username` / `demo_password`, a plain user who may reach the `demo` group) and the
//! servers of `demo_servers_file`. The settings are the truth: a restart brings the rows back in
//! line with them (matched by name) without creating duplicates. Servers left out of the file are
//! not deleted.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use chrono::Utc;
use figment::providers::{Format, Toml};
use figment::Figment;
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use serde::Deserialize;
use wire::servers::{AuthMethod, ServerRequest};
use wire::users::Role;

use crate::config::{Config, TotpRequired};
use crate::crypto::password::hash_password;
use crate::crypto::vault::Vault;
use crate::db::{server, user};
use crate::servers::service as servers;
use crate::users::service as users;

/// The server group every seeded server is in and the demo user may reach.
pub const DEMO_GROUP: &str = "demo";

/// `demo_servers_file`: a TOML file of `[[servers]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServersFile {
    #[serde(default)]
    servers: Vec<DemoServer>,
}

/// One seeded server: the server form's fields, with the jump host by name and the key
/// optionally from a file. The auth method follows from which credential is given.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoServer {
    name: String,
    hostname: String,
    #[serde(default = "default_port")]
    port: u16,
    username: String,
    password: Option<String>,
    private_key: Option<String>,
    private_key_file: Option<PathBuf>,
    passphrase: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: Vec<String>,
    /// The name of a server seeded before this one (or already registered).
    jump_via: Option<String>,
    sftp_enabled: Option<bool>,
    sftp_allowed_paths: Option<Vec<String>>,
    record_sessions: Option<bool>,
}

fn default_port() -> u16 {
    22
}

/// Creates or refreshes the demo user and servers; nothing outside demo mode.
pub async fn run(db: &DatabaseConnection, vault: &Vault, config: &Config) -> anyhow::Result<()> {
    if !config.demo_mode {
        return Ok(());
    }
    if config.totp_required == TotpRequired::All {
        tracing::warn!(
            "demo mode with totp_required = all: the demo user cannot enrol a second factor \
             (a write), so it cannot sign in"
        );
    }
    ensure_user(db, &config.demo_username, &config.demo_password).await?;
    let Some(path) = &config.demo_servers_file else {
        tracing::info!("demo mode without demo_servers_file: no servers seeded");
        return Ok(());
    };
    for demo in read_servers(path)? {
        let name = demo.name.clone();
        ensure_server(db, vault, demo)
            .await
            .with_context(|| format!("demo server \"{name}\""))?;
    }
    Ok(())
}

/// The demo user: a local plain user in the demo group, with the configured password, enabled,
/// with no forced change (a visitor could not make one: changing a password is a write).
async fn ensure_user(
    db: &DatabaseConnection,
    username: &str,
    password: &str,
) -> anyhow::Result<()> {
    users::validate_username(username).map_err(|e| anyhow::anyhow!("demo_username: {e}"))?;
    if password.is_empty() {
        bail!("demo_password must not be empty");
    }
    // Not `users::validate_password`: the demo password is public by design (the banner shows
    // it), so its length protects nothing and `demo` is allowed.
    let hash = hash_password(password.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("hash the demo password: {e}"))?;
    let groups = serde_json::to_string(&[DEMO_GROUP])?;
    let now = Utc::now();
    let existing = user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await?;
    match existing {
        Some(current) => {
            // Never quietly turn someone's real account into a public one.
            if current.role != Role::User.as_str() || current.auth_source != "local" {
                bail!(
                    "demo_username \"{username}\" names an existing {} {} account; pick another name",
                    current.auth_source,
                    current.role
                );
            }
            let mut row: user::ActiveModel = current.into();
            row.password_hash = Set(Some(hash));
            row.allowed_groups = Set(groups);
            row.disabled = Set(false);
            row.must_change_password = Set(false);
            row.updated_at = Set(now);
            row.update(db).await?;
            tracing::info!(user = username, "demo user refreshed");
        }
        None => {
            user::ActiveModel {
                username: Set(username.to_owned()),
                password_hash: Set(Some(hash)),
                role: Set(Role::User.as_str().to_owned()),
                allowed_groups: Set(groups),
                disabled: Set(false),
                must_change_password: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
                ..Default::default()
            }
            .insert(db)
            .await?;
            tracing::info!(user = username, "demo user created");
        }
    }
    Ok(())
}

fn read_servers(path: &Path) -> anyhow::Result<Vec<DemoServer>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read demo_servers_file {}", path.display()))?;
    let file = parse(&text).with_context(|| format!("demo_servers_file {}", path.display()))?;
    Ok(file.servers)
}

fn parse(text: &str) -> Result<ServersFile, Box<figment::Error>> {
    Figment::from(Toml::string(text))
        .extract()
        .map_err(Box::new)
}

/// Registers the server, or brings the one of that name in line with the file (its id, and so
/// its host-key pin and recordings, stay).
async fn ensure_server(
    db: &DatabaseConnection,
    vault: &Vault,
    demo: DemoServer,
) -> anyhow::Result<()> {
    let jump_via_id = match &demo.jump_via {
        Some(name) => Some(
            find_server(db, name)
                .await?
                .with_context(|| format!("jump_via \"{name}\" is not a server seeded before it"))?
                .id,
        ),
        None => None,
    };
    let private_key = match (&demo.private_key, &demo.private_key_file) {
        (Some(_), Some(_)) => bail!("give private_key or private_key_file, not both"),
        (Some(key), None) => Some(key.clone()),
        (None, Some(path)) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read private_key_file {}", path.display()))?,
        ),
        (None, None) => None,
    };
    let req = ServerRequest {
        name: demo.name.clone(),
        hostname: demo.hostname,
        port: demo.port,
        username: demo.username,
        auth_method: if private_key.is_some() {
            AuthMethod::Key
        } else {
            AuthMethod::Password
        },
        password: demo.password,
        private_key,
        passphrase: demo.passphrase,
        group: Some(DEMO_GROUP.to_owned()),
        tags: demo.tags,
        description: demo.description,
        jump_via_id,
        ssh_enabled: Some(true),
        sftp_enabled: demo.sftp_enabled,
        // Demo mode refuses SFTP writes anyway; marking the servers read-only as well keeps
        // them so should demo mode be switched off, and lets the file manager say so up front.
        sftp_read_only: Some(true),
        sftp_allowed_paths: demo.sftp_allowed_paths,
        record_sessions: demo.record_sessions,
    };
    match find_server(db, &demo.name).await? {
        Some(current) => {
            servers::update(db, vault, current.id, req)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            tracing::info!(server = demo.name, "demo server refreshed");
        }
        None => {
            servers::create(db, vault, req)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            tracing::info!(server = demo.name, "demo server created");
        }
    }
    Ok(())
}

async fn find_server(db: &DatabaseConnection, name: &str) -> anyhow::Result<Option<server::Model>> {
    Ok(server::Entity::find()
        .filter(server::Column::Name.eq(name))
        .one(db)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_servers_file_parses_and_typos_are_refused() {
        let file = parse(
            "[[servers]]\nname = \"web\"\nhostname = \"10.0.0.5\"\nusername = \"guest\"\n\
             password = \"pw\"\njump_via = \"bastion\"\n",
        )
        .expect("parse");
        assert_eq!(file.servers.len(), 1);
        assert_eq!(file.servers[0].port, 22);
        assert_eq!(file.servers[0].jump_via.as_deref(), Some("bastion"));
        let typo = parse(
            "[[servers]]\nname = \"web\"\nhostname = \"h\"\nusername = \"u\"\npasword = \"x\"\n",
        );
        assert!(typo.is_err());
    }
}
