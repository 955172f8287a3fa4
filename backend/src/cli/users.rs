//! `gatehouse user add|passwd|list|disable|enable`: account work from a shell on the host, e.g.
//! to let someone in when the last admin forgot their password. Passwords come from standard
//! input (`--password-stdin`, never an argument, which `ps` would show) or are generated and
//! printed once, in which case the user must choose a new one at first sign-in.

use std::io::BufRead;

use clap::Subcommand;
use serde_json::json;
use wire::users::{CreateUserRequest, Role, UpdateUserRequest};

use super::Context;
use crate::audit::{self, Event};
use crate::config::Config;
use crate::crypto::token::random_password;
use crate::error::ApiError;
use crate::users::service;

#[derive(Subcommand)]
pub enum UserCommand {
    /// Create a local user.
    Add {
        username: String,
        /// admin, user or auditor.
        #[arg(long, default_value = "user")]
        role: String,
        /// Server groups the user may reach, comma-separated (admins reach all).
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a user's password (ends their sessions).
    Passwd {
        username: String,
        /// Read the password from the first line of standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List {
        /// One JSON object per line instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Disable a user (ends their sessions; the last active admin cannot be disabled).
    Disable { username: String },
    /// Enable a disabled user.
    Enable { username: String },
}

pub async fn run(config: &Config, command: UserCommand) -> anyhow::Result<bool> {
    let ctx = Context::open(config).await?;
    let result = dispatch(&ctx, command).await;
    ctx.close().await;
    result.map(|()| true)
}

async fn dispatch(ctx: &Context, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            username,
            role,
            groups,
            password_stdin,
        } => add(ctx, username, &role, groups, password_stdin).await,
        UserCommand::Passwd {
            username,
            password_stdin,
        } => passwd(ctx, &username, password_stdin).await,
        UserCommand::List { json } => list(ctx, json).await,
        UserCommand::Disable { username } => set_disabled(ctx, &username, true).await,
        UserCommand::Enable { username } => set_disabled(ctx, &username, false).await,
    }
}

fn parse_role(role: &str) -> anyhow::Result<Role> {
    match role {
        "admin" => Ok(Role::Admin),
        "user" => Ok(Role::User),
        "auditor" => Ok(Role::Auditor),
        other => anyhow::bail!("--role must be admin, user or auditor, not {other:?}"),
    }
}

/// The password to set, and whether it was generated (and so must be changed at first use).
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((random_password(), true));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        anyhow::bail!("no password on standard input");
    }
    Ok((password, false))
}

/// API errors read as what they say (`ApiError` is for HTTP answers).
fn plain(e: ApiError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

async fn find(ctx: &Context, username: &str) -> anyhow::Result<crate::db::user::Model> {
    service::find_by_username(&ctx.db, username)
        .await
        .map_err(plain)?
        .ok_or_else(|| anyhow::anyhow!("no user named {username:?}"))
}

async fn add(
    ctx: &Context,
    username: String,
    role: &str,
    groups: Vec<String>,
    from_stdin: bool,
) -> anyhow::Result<()> {
    let role = parse_role(role)?;
    let (password, generated) = password(from_stdin)?;
    let req = CreateUserRequest {
        username,
        password: password.clone(),
        role,
        allowed_groups: groups,
        must_change_password: generated,
    };
    let user = service::create(&ctx.db, req).await.map_err(plain)?;
    let details = json!({"user_id": user.id, "username": user.username, "role": user.role});
    let event = Event::new("user.create")
        .target(&user.username)
        .details(details);
    audit::record(&ctx.db, &ctx.actor, event).await;
    println!("created {} user {:?}", user.role, user.username);
    if generated {
        println!("password (shown once; to be changed at first sign-in): {password}");
    }
    Ok(())
}

async fn passwd(ctx: &Context, username: &str, from_stdin: bool) -> anyhow::Result<()> {
    let user = find(ctx, username).await?;
    let (password, generated) = password(from_stdin)?;
    let req = UpdateUserRequest {
        password: Some(password.clone()),
        ..Default::default()
    };
    // No acting user (0 is no user's id): the host's operator may reset anyone.
    let mut updated = service::update(&ctx.db, 0, user.id, req)
        .await
        .map_err(plain)?;
    if generated {
        updated = service::require_password_change(&ctx.db, updated)
            .await
            .map_err(plain)?;
    }
    let details = json!({"user_id": updated.id, "password_set": true, "generated": generated});
    let event = Event::new("user.update")
        .target(&updated.username)
        .details(details);
    audit::record(&ctx.db, &ctx.actor, event).await;
    println!(
        "password set for {:?}; their sessions were ended",
        updated.username
    );
    if generated {
        println!("password (shown once; to be changed at first sign-in): {password}");
    }
    Ok(())
}

async fn list(ctx: &Context, as_json: bool) -> anyhow::Result<()> {
    let users = service::list(&ctx.db).await.map_err(plain)?;
    if as_json {
        for user in &users {
            println!("{}", serde_json::to_string(&service::user_view(user))?);
        }
        return Ok(());
    }
    println!(
        "{:<5} {:<24} {:<8} {:<9} {:<6} GROUPS",
        "ID", "USERNAME", "ROLE", "STATE", "2FA"
    );
    for user in &users {
        println!(
            "{:<5} {:<24} {:<8} {:<9} {:<6} {}",
            user.id,
            user.username,
            user.role,
            if user.disabled { "disabled" } else { "active" },
            if user.totp_enabled { "on" } else { "-" },
            service::parse_groups(&user.allowed_groups).join(",")
        );
    }
    Ok(())
}

async fn set_disabled(ctx: &Context, username: &str, disabled: bool) -> anyhow::Result<()> {
    let user = find(ctx, username).await?;
    let req = UpdateUserRequest {
        disabled: Some(disabled),
        ..Default::default()
    };
    let updated = service::update(&ctx.db, 0, user.id, req)
        .await
        .map_err(plain)?;
    let event = Event::new("user.update")
        .target(&updated.username)
        .details(json!({"user_id": updated.id, "disabled": disabled}));
    audit::record(&ctx.db, &ctx.actor, event).await;
    let state = if disabled { "disabled" } else { "enabled" };
    println!("{state} {:?}", updated.username);
    Ok(())
}
