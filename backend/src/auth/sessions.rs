//! Server-side sign-in sessions. A session is a random token; the cookie (or a bearer header)
//! carries the token, the table keeps only its digest. Ending a session is deleting its row, so
//! logout, password changes and disabling a user take effect on the very next request.

use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};

use crate::crypto::token::{random_token, token_digest};
use crate::db::{session, user};
use crate::error::ApiError;

/// Don't rewrite `last_seen_at` on every request: once a minute is plenty and saves a write.
const TOUCH_INTERVAL_SECS: i64 = 60;

pub struct NewSession {
    pub token: String,
    pub id: i32,
}

pub async fn create(
    db: &DatabaseConnection,
    user_id: i32,
    ttl_hours: u64,
    client_ip: Option<String>,
) -> Result<NewSession, ApiError> {
    let token = random_token();
    let now = Utc::now();
    let ttl = Duration::hours(i64::try_from(ttl_hours).unwrap_or(12));
    let row = session::ActiveModel {
        token_hash: Set(token_digest(&token)),
        user_id: Set(user_id),
        created_at: Set(now),
        expires_at: Set(now + ttl),
        last_seen_at: Set(now),
        client_ip: Set(client_ip),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(NewSession { token, id: row.id })
}

/// Resolves a token to its live session and user. Expired sessions are deleted on sight.
pub async fn resolve(
    db: &DatabaseConnection,
    token: &str,
) -> Result<Option<(session::Model, user::Model)>, ApiError> {
    let found = session::Entity::find()
        .filter(session::Column::TokenHash.eq(token_digest(token)))
        .one(db)
        .await?;
    let Some(sess) = found else { return Ok(None) };
    let now = Utc::now();
    if sess.expires_at <= now {
        session::Entity::delete_by_id(sess.id).exec(db).await?;
        return Ok(None);
    }
    let Some(user) = user::Entity::find_by_id(sess.user_id).one(db).await? else {
        return Ok(None);
    };
    if user.disabled {
        return Ok(None);
    }
    if (now - sess.last_seen_at).num_seconds() >= TOUCH_INTERVAL_SECS {
        let mut active: session::ActiveModel = sess.clone().into();
        active.last_seen_at = Set(now);
        active.update(db).await?;
    }
    Ok(Some((sess, user)))
}

pub async fn end(db: &DatabaseConnection, session_id: i32) -> Result<(), ApiError> {
    session::Entity::delete_by_id(session_id).exec(db).await?;
    Ok(())
}

/// Ends every session of `user_id` except `keep` (the caller's own, after a password change).
pub async fn end_all_for_user(
    db: &DatabaseConnection,
    user_id: i32,
    keep: Option<i32>,
) -> Result<u64, ApiError> {
    let mut query = session::Entity::delete_many().filter(session::Column::UserId.eq(user_id));
    if let Some(keep) = keep {
        query = query.filter(session::Column::Id.ne(keep));
    }
    Ok(query.exec(db).await?.rows_affected)
}
