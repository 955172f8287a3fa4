//! Accounts from an external directory or identity provider (LDAP, OIDC), linked to Gatehouse
//! users by a stable id — (`provider`, `issuer`, `subject`) — and never by username.
//!
//! The first sign-in of an external account creates its user. If the username is already taken
//! (a local account, or another provider's), the new user gets `<name>@<provider>` (then a
//! number): a local `admin` can never be taken over by a directory entry that happens to be
//! called `admin`. Every sign-in refreshes the user's role and groups from the directory's
//! answer, so a change there takes effect at the next sign-in. A disabled user stays disabled.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set,
    TransactionTrait,
};
use serde_json::json;
use wire::users::Role;

use crate::audit::{self, Actor, Event};
use crate::db::{identity, user};
use crate::error::ApiError;
use crate::users::service::find_by_username;

/// What a directory or provider vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalAccount {
    /// `ldap` or `oidc`.
    pub provider: &'static str,
    /// The directory URL, or the OIDC issuer.
    pub issuer: String,
    /// The stable id: entryUUID / objectGUID / DN, or the OIDC `sub`.
    pub subject: String,
    /// The name it would like (uid, sAMAccountName, preferred_username).
    pub username: String,
    /// From the admin / auditor group mappings; `User` otherwise.
    pub role: Role,
    /// Server groups, from the group mapping.
    pub groups: Vec<String>,
}

/// The user linked to `account`, created on its first sign-in, with role and groups refreshed.
/// Fails with `InvalidCredentials` for a disabled user (the same answer as a wrong password).
pub async fn sign_in(
    db: &DatabaseConnection,
    account: &ExternalAccount,
    client_ip: Option<String>,
) -> Result<user::Model, ApiError> {
    let groups = serde_json::to_string(&account.groups)
        .map_err(|e| ApiError::internal("encode groups", e))?;
    let now = Utc::now();
    let linked = identity::Entity::find()
        .filter(identity::Column::Provider.eq(account.provider))
        .filter(identity::Column::Issuer.eq(account.issuer.clone()))
        .filter(identity::Column::Subject.eq(account.subject.clone()))
        .one(db)
        .await?;
    if let Some(link) = linked {
        let user = user::Entity::find_by_id(link.user_id)
            .one(db)
            .await?
            .ok_or(ApiError::InvalidCredentials)?;
        if user.disabled {
            return Err(ApiError::InvalidCredentials);
        }
        let mut row: identity::ActiveModel = link.into();
        row.last_login_at = Set(Some(now));
        row.update(db).await?;
        if user.role == account.role.as_str() && user.allowed_groups == groups {
            return Ok(user);
        }
        let mut row: user::ActiveModel = user.into();
        row.role = Set(account.role.as_str().to_owned());
        row.allowed_groups = Set(groups);
        row.updated_at = Set(now);
        return Ok(row.update(db).await?);
    }

    let username = free_username(db, &account.username, account.provider).await?;
    let txn = db.begin().await?;
    let user = user::ActiveModel {
        username: Set(username.clone()),
        password_hash: Set(None),
        role: Set(account.role.as_str().to_owned()),
        allowed_groups: Set(groups),
        disabled: Set(false),
        must_change_password: Set(false),
        auth_source: Set(account.provider.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    identity::ActiveModel {
        user_id: Set(user.id),
        provider: Set(account.provider.to_owned()),
        issuer: Set(account.issuer.clone()),
        subject: Set(account.subject.clone()),
        created_at: Set(now),
        last_login_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    let actor = Actor {
        user_id: Some(user.id),
        username: Some(username),
        client_ip,
    };
    let details = json!({
        "user_id": user.id,
        "provider": account.provider,
        "issuer": account.issuer,
        "subject": account.subject,
        "role": account.role.as_str(),
    });
    audit::record(
        db,
        &actor,
        Event::new("user.create_external").details(details),
    )
    .await;
    Ok(user)
}

/// `wanted` if free, else `wanted@provider`, else `wanted@provider-2`, …
async fn free_username(
    db: &DatabaseConnection,
    wanted: &str,
    provider: &str,
) -> Result<String, ApiError> {
    let base: String = wanted
        .chars()
        .filter(|c| !c.is_control())
        .take(64)
        .collect();
    let base = if base.trim().is_empty() {
        "user".to_owned()
    } else {
        base
    };
    let mut candidates = vec![base.clone(), format!("{base}@{provider}")];
    candidates.extend((2..100).map(|n| format!("{base}@{provider}-{n}")));
    for candidate in candidates {
        if find_by_username(db, &candidate).await?.is_none() {
            return Ok(candidate);
        }
    }
    Err(ApiError::Conflict(format!(
        "no free username for the external account {wanted}"
    )))
}
