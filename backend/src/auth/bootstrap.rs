//! The first admin. On a database with no users, create `admin`: with `GATEHOUSE_ADMIN_PASSWORD`
//! when given (not forced to change), otherwise with a random password printed once to stdout and
//! a forced change at first sign-in.

use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait};
use wire::users::{CreateUserRequest, Role};

use crate::crypto::token::random_password;
use crate::crypto::Secret;
use crate::db::user;
use crate::users::service;

pub const INITIAL_ADMIN: &str = "admin";

pub async fn ensure_initial_admin(
    db: &DatabaseConnection,
    configured: Option<&Secret<String>>,
) -> anyhow::Result<()> {
    if user::Entity::find().count(db).await? > 0 {
        return Ok(());
    }
    let (password, forced) = match configured {
        Some(p) => (p.expose().clone(), false),
        None => (random_password(), true),
    };
    let req = CreateUserRequest {
        username: INITIAL_ADMIN.to_string(),
        password: password.clone(),
        role: Role::Admin,
        allowed_groups: Vec::new(),
        must_change_password: forced,
    };
    service::create(db, req)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the initial admin: {e}"))?;
    if forced {
        // Printed, never logged: logs get shipped to places a one-time password must not go.
        println!(
            "gatehouse: created user '{INITIAL_ADMIN}' with initial admin password: {password}\n\
             gatehouse: it is shown only this once and must be changed at first sign-in."
        );
    } else {
        tracing::info!(
            user = INITIAL_ADMIN,
            "created the initial admin from GATEHOUSE_ADMIN_PASSWORD"
        );
    }
    Ok(())
}
