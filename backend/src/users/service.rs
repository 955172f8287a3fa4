//! Account rules: valid usernames, password strength, role and group storage, and the guard rails
//! (an admin cannot lock themself out, the last admin cannot disappear).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use wire::auth::MIN_PASSWORD_LEN;
use wire::users::{CreateUserRequest, Role, UpdateUserRequest, UserView};

use crate::auth::sessions;
use crate::crypto::password::hash_password;
use crate::db::user;
use crate::error::ApiError;

pub fn user_view(u: &user::Model) -> UserView {
    let role = Role::parse(&u.role).unwrap_or(Role::User);
    UserView {
        id: u.id,
        username: u.username.clone(),
        role,
        is_admin: role == Role::Admin,
        allowed_groups: parse_groups(&u.allowed_groups),
        disabled: u.disabled,
        must_change_password: u.must_change_password,
        created_at: u.created_at.to_rfc3339(),
        totp_enabled: u.totp_enabled,
        must_enroll_totp: false,
        auth_source: u.auth_source.clone(),
    }
}

pub fn parse_groups(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

pub fn validate_username(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::Validation(
            "username must be 1-64 characters: letters, digits, '.', '_', '-', '@'".into(),
        ))
    }
}

pub fn validate_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(ApiError::WeakPassword(MIN_PASSWORD_LEN));
    }
    if password.len() > 1024 {
        return Err(ApiError::Validation("password is too long".into()));
    }
    Ok(())
}

fn validate_groups(groups: &[String]) -> Result<String, ApiError> {
    if groups.iter().any(|g| g.trim().is_empty() || g.len() > 128) {
        return Err(ApiError::Validation(
            "group names must be 1-128 characters".into(),
        ));
    }
    serde_json::to_string(groups).map_err(|e| ApiError::internal("encode groups", e))
}

pub async fn find_by_username(
    db: &DatabaseConnection,
    username: &str,
) -> Result<Option<user::Model>, ApiError> {
    Ok(user::Entity::find()
        .filter(user::Column::Username.eq(username))
        .one(db)
        .await?)
}

pub async fn create(
    db: &DatabaseConnection,
    req: CreateUserRequest,
) -> Result<user::Model, ApiError> {
    validate_username(&req.username)?;
    validate_password(&req.password)?;
    let groups = validate_groups(&req.allowed_groups)?;
    if find_by_username(db, &req.username).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "user '{}' already exists",
            req.username
        )));
    }
    let hash = hash_password(req.password)
        .await
        .map_err(|e| ApiError::internal("hash", e))?;
    let now = Utc::now();
    let row = user::ActiveModel {
        username: Set(req.username),
        password_hash: Set(Some(hash)),
        role: Set(req.role.as_str().to_string()),
        allowed_groups: Set(groups),
        disabled: Set(false),
        must_change_password: Set(req.must_change_password),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    Ok(row.insert(db).await?)
}

pub async fn list(db: &DatabaseConnection) -> Result<Vec<user::Model>, ApiError> {
    Ok(user::Entity::find()
        .order_by_asc(user::Column::Username)
        .all(db)
        .await?)
}

pub async fn get(db: &DatabaseConnection, id: i32) -> Result<user::Model, ApiError> {
    user::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(ApiError::NotFound("user"))
}

async fn other_active_admins(db: &DatabaseConnection, except: i32) -> Result<u64, ApiError> {
    Ok(user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin.as_str()))
        .filter(user::Column::Disabled.eq(false))
        .filter(user::Column::Id.ne(except))
        .count(db)
        .await?)
}

/// Applies an admin's update. Disabling a user or setting their password ends their sessions.
pub async fn update(
    db: &DatabaseConnection,
    actor_id: i32,
    id: i32,
    req: UpdateUserRequest,
) -> Result<user::Model, ApiError> {
    let current = get(db, id).await?;
    let demotes = req.role.is_some_and(|r| r != Role::Admin) || req.disabled == Some(true);
    if demotes && current.role == Role::Admin.as_str() {
        if id == actor_id {
            return Err(ApiError::Validation(
                "you cannot disable or demote yourself".into(),
            ));
        }
        if other_active_admins(db, id).await? == 0 {
            return Err(ApiError::Validation(
                "the last active admin cannot be disabled or demoted".into(),
            ));
        }
    }
    let mut end_sessions = false;
    let mut row: user::ActiveModel = current.into();
    if let Some(password) = req.password {
        validate_password(&password)?;
        let hash = hash_password(password)
            .await
            .map_err(|e| ApiError::internal("hash", e))?;
        row.password_hash = Set(Some(hash));
        end_sessions = true;
    }
    if let Some(role) = req.role {
        row.role = Set(role.as_str().to_string());
    }
    if let Some(groups) = req.allowed_groups {
        row.allowed_groups = Set(validate_groups(&groups)?);
    }
    if let Some(disabled) = req.disabled {
        row.disabled = Set(disabled);
        end_sessions |= disabled;
    }
    row.updated_at = Set(Utc::now());
    let updated = row.update(db).await?;
    if end_sessions {
        sessions::end_all_for_user(db, id, None).await?;
    }
    Ok(updated)
}

pub async fn delete(
    db: &DatabaseConnection,
    actor_id: i32,
    id: i32,
) -> Result<user::Model, ApiError> {
    let current = get(db, id).await?;
    if id == actor_id {
        return Err(ApiError::Validation("you cannot delete yourself".into()));
    }
    if current.role == Role::Admin.as_str() && other_active_admins(db, id).await? == 0 {
        return Err(ApiError::Validation(
            "the last active admin cannot be deleted".into(),
        ));
    }
    sessions::end_all_for_user(db, id, None).await?;
    user::Entity::delete_by_id(id).exec(db).await?;
    Ok(current)
}

/// Makes `user` choose a new password at the next sign-in (after a generated one was set).
pub async fn require_password_change(
    db: &DatabaseConnection,
    user: user::Model,
) -> Result<user::Model, ApiError> {
    let mut row: user::ActiveModel = user.into();
    row.must_change_password = Set(true);
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}
