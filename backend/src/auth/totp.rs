//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s steps, one step of skew either way).
//!
//! - The secret is 160 random bits, sealed by the vault at rest; shown once at setup (as text and
//!   a QR code) and never again.
//! - Replay-safe: the step a code matched is stored with a conditional update, and a code of that
//!   step or an earlier one never works again, even from two sign-ins racing each other.
//! - Recovery codes: ten, random, shown once, stored as SHA-256 digests (they carry 50 random
//!   bits, so a fast hash is enough), each usable once, also by a conditional update.
//! - Sign-in asks for the code only after the password passed, and creates no session before the
//!   code passes (`login.rs`).

use chrono::Utc;
use rand::RngCore;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, Set,
};
use wire::users::Role;

use crate::config::{Config, TotpRequired};
use crate::crypto::token::token_digest;
use crate::crypto::vault::Vault;
use crate::db::{recovery_code, user};
use crate::error::ApiError;
use crate::state::AppState;

pub const RECOVERY_CODES: usize = 10;

/// What the second-factor step of a sign-in found.
pub enum LoginCheck {
    /// The account has no second factor.
    NotEnrolled,
    Passed,
    /// A code is needed and none was sent.
    Missing,
    Wrong,
}

/// 401 `totp_required`: send the sign-in again with `totp_code`.
pub fn required() -> ApiError {
    ApiError::coded(
        axum::http::StatusCode::UNAUTHORIZED,
        "totp_required",
        "enter the code from your authenticator app (or a recovery code)",
    )
}

/// 401 `invalid_totp`.
pub fn invalid() -> ApiError {
    ApiError::coded(
        axum::http::StatusCode::UNAUTHORIZED,
        "invalid_totp",
        "that code is not valid (a code works only once)",
    )
}

/// Whether `user` must have a second factor under the gateway's policy.
pub fn is_required(config: &Config, user: &user::Model) -> bool {
    match config.totp_required {
        TotpRequired::None => false,
        TotpRequired::All => true,
        TotpRequired::Admins => Role::parse(&user.role) == Some(Role::Admin),
    }
}

/// Whether `user` may only enrol until it has a second factor.
pub fn must_enroll(config: &Config, user: &user::Model) -> bool {
    !user.totp_enabled && is_required(config, user)
}

/// A fresh secret for `username`, not yet sealed.
pub fn new_secret() -> totp_rs::Secret {
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    totp_rs::Secret::new_stack(bytes)
}

pub fn totp(
    secret: totp_rs::Secret,
    issuer: &str,
    username: &str,
) -> Result<totp_rs::Totp, ApiError> {
    // The otpauth label may not contain a colon.
    let account = username.replace(':', "_");
    let issuer = issuer.replace(':', "_");
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(issuer))
        .build()
        .map_err(|e| ApiError::internal("totp", e))
}

/// The user's TOTP from its sealed secret.
pub fn user_totp(
    vault: &Vault,
    config: &Config,
    user: &user::Model,
) -> Result<totp_rs::Totp, ApiError> {
    let sealed = user
        .totp_secret_enc
        .as_deref()
        .ok_or_else(|| ApiError::Conflict("no authenticator is set up".into()))?;
    let base32 = vault
        .open(sealed)
        .map_err(|e| ApiError::internal("open totp secret", e))?;
    let secret = totp_rs::Secret::try_from_base32(base32.expose())
        .map_err(|e| ApiError::internal("totp secret", format!("{e:?}")))?;
    totp(secret, &config.totp_issuer, &user.username)
}

fn now_secs() -> u64 {
    u64::try_from(Utc::now().timestamp()).unwrap_or(0)
}

/// Accepts a TOTP code of a step later than the last accepted one, and records its step; or an
/// unused recovery code, and spends it. Both are single use, even under concurrent requests.
pub async fn verify(state: &AppState, user: &user::Model, code: &str) -> Result<bool, ApiError> {
    let code = code.trim();
    if code.chars().all(|c| c.is_ascii_digit() || c == ' ') {
        let digits: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let totp = user_totp(&state.vault, &state.config, user)?;
        let Some(step) = totp.check(&digits, now_secs()) else {
            return Ok(false);
        };
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        return claim_step(&state.db, user.id, step).await;
    }
    spend_recovery_code(&state.db, user.id, code).await
}

/// Stores `step` as the last accepted one unless it is not newer: true if this call won.
pub async fn claim_step(
    db: &impl ConnectionTrait,
    user_id: i32,
    step: i64,
) -> Result<bool, ApiError> {
    let result = user::Entity::update_many()
        .col_expr(user::Column::TotpLastStep, Expr::value(step))
        .filter(user::Column::Id.eq(user_id))
        .filter(
            Condition::any()
                .add(user::Column::TotpLastStep.is_null())
                .add(user::Column::TotpLastStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

fn normalise_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

async fn spend_recovery_code(
    db: &DatabaseConnection,
    user_id: i32,
    code: &str,
) -> Result<bool, ApiError> {
    let digest = token_digest(&normalise_recovery(code));
    let result = recovery_code::Entity::update_many()
        .col_expr(recovery_code::Column::UsedAt, Expr::value(Utc::now()))
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::CodeHash.eq(digest))
        .filter(recovery_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Replaces the user's recovery codes with fresh ones; returns them (shown once).
pub async fn new_recovery_codes(
    db: &impl ConnectionTrait,
    user_id: i32,
) -> Result<Vec<String>, ApiError> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    let mut codes = Vec::with_capacity(RECOVERY_CODES);
    let now = Utc::now();
    for _ in 0..RECOVERY_CODES {
        let mut bytes = [0u8; 7];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let raw: String = base32_lower(&bytes).chars().take(10).collect();
        let shown = format!("{}-{}", &raw[..5], &raw[5..]);
        recovery_code::ActiveModel {
            user_id: Set(user_id),
            code_hash: Set(token_digest(&raw)),
            used_at: Set(None),
            created_at: Set(now),
            ..Default::default()
        }
        .insert(db)
        .await?;
        codes.push(shown);
    }
    Ok(codes)
}

/// Recovery codes not used yet.
pub async fn recovery_codes_left(db: &DatabaseConnection, user_id: i32) -> Result<u64, ApiError> {
    use sea_orm::PaginatorTrait;
    Ok(recovery_code::Entity::find()
        .filter(recovery_code::Column::UserId.eq(user_id))
        .filter(recovery_code::Column::UsedAt.is_null())
        .count(db)
        .await?)
}

fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    out
}

/// The second-factor step of a sign-in for `user`, whose password already passed.
pub async fn check_login(
    state: &AppState,
    user: &user::Model,
    code: Option<&str>,
) -> Result<LoginCheck, ApiError> {
    if !user.totp_enabled {
        return Ok(LoginCheck::NotEnrolled);
    }
    let Some(code) = code.filter(|c| !c.trim().is_empty()) else {
        return Ok(LoginCheck::Missing);
    };
    if code.len() > 64 {
        return Ok(LoginCheck::Wrong);
    }
    Ok(if verify(state, user, code).await? {
        LoginCheck::Passed
    } else {
        LoginCheck::Wrong
    })
}

/// Turns the second factor off and forgets its secret, last step and recovery codes.
pub async fn disable(
    db: &impl ConnectionTrait,
    user: user::Model,
) -> Result<user::Model, ApiError> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user.id))
        .exec(db)
        .await?;
    let mut row: user::ActiveModel = user.into();
    row.totp_enabled = Set(false);
    row.totp_secret_enc = Set(None);
    row.totp_last_step = Set(None);
    row.updated_at = Set(Utc::now());
    Ok(row.update(db).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_are_read_however_they_are_typed() {
        assert_eq!(normalise_recovery(" AbCde-fgh2k "), "abcdefgh2k");
    }

    #[test]
    fn base32_uses_an_unambiguous_alphabet() {
        let s = base32_lower(&[0xff; 7]);
        assert_eq!(s.len(), 11);
        assert!(s.chars().all(|c| !"l01o".contains(c)));
    }
}
