//! `/api/auth/totp/*`: set up, confirm, disable and renew recovery codes for the caller's own
//! second factor; `DELETE /api/users/{id}/totp`: an admin's reset. Changing a second factor
//! always needs a current code (or a recovery code), except an admin's audited reset.
//!
//! These take `Authenticated`, so an account the policy obliges to enrol can reach them (and
//! nothing else) before it has; an account with a pending forced password change must change it
//! first.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::Router;
use chrono::Utc;
use sea_orm::{ActiveModelTrait, Set, TransactionTrait};
use serde_json::json;
use wire::auth::{RecoveryCodes, TotpCode, TotpSetup, TotpStatus};

use super::totp::{self, new_recovery_codes};
use super::{sessions, AdminUser, Authenticated};
use crate::audit::{self, Actor, Event, Outcome};
use crate::error::extract::{Json, Path};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::users;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/auth/totp", get(status))
        .route("/api/auth/totp/setup", post(setup))
        .route("/api/auth/totp/enable", post(enable))
        .route("/api/auth/totp/disable", post(disable))
        .route("/api/auth/totp/recovery-codes", post(renew_codes))
        .route("/api/users/{id}/totp", delete(reset))
}

fn not_enabled() -> ApiError {
    ApiError::coded(
        StatusCode::CONFLICT,
        "totp_not_enabled",
        "no authenticator is set up",
    )
}

fn already_enabled() -> ApiError {
    ApiError::coded(
        StatusCode::CONFLICT,
        "totp_already_enabled",
        "an authenticator is already set up; disable it first to replace it",
    )
}

fn no_pending_password_change(auth: &Authenticated) -> ApiResult<()> {
    if auth.user.must_change_password {
        return Err(ApiError::PasswordChangeRequired);
    }
    Ok(())
}

/// Checks a current code; a wrong one is audited and answered 401 `invalid_totp`.
async fn confirm(
    state: &AppState,
    auth: &Authenticated,
    code: &str,
    action: &str,
) -> ApiResult<()> {
    if code.len() <= 64 && totp::verify(state, &auth.user, code).await? {
        return Ok(());
    }
    let details = json!({"during": action});
    audit::record(
        &state.db,
        &Actor::from(auth),
        Event::new("auth.totp_failed")
            .outcome(Outcome::Failure)
            .details(details),
    )
    .await;
    Err(totp::invalid())
}

#[utoipa::path(
    get,
    path = "/api/auth/totp",
    tag = "totp",
    operation_id = "totp_status",
    responses(
        (status = 200, description = "The caller's second factor", body = wire::auth::TotpStatus),
    )
)]
async fn status(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<axum::Json<TotpStatus>> {
    let left = if auth.user.totp_enabled {
        totp::recovery_codes_left(&state.db, auth.user.id).await?
    } else {
        0
    };
    Ok(axum::Json(TotpStatus {
        enabled: auth.user.totp_enabled,
        required: totp::is_required(&state.config, &auth.user),
        recovery_codes_left: left,
    }))
}

/// A new secret, stored sealed but not in force until `enable` confirms a code from it.
#[utoipa::path(
    post,
    path = "/api/auth/totp/setup",
    tag = "totp",
    operation_id = "totp_setup",
    responses(
        (status = 200, description = "A new secret, shown once; in force after `enable`", body = wire::auth::TotpSetup),
        (status = 409, description = "Already enabled", body = wire::ErrorBody),
    )
)]
async fn setup(
    State(state): State<AppState>,
    auth: Authenticated,
) -> ApiResult<axum::Json<TotpSetup>> {
    no_pending_password_change(&auth)?;
    if auth.user.totp_enabled {
        return Err(already_enabled());
    }
    let secret = totp::new_secret();
    let base32 = secret.to_base32();
    let generator = totp::totp(secret, &state.config.totp_issuer, &auth.user.username)?;
    let otpauth_url = generator
        .to_url()
        .map_err(|e| ApiError::internal("totp url", e))?;
    let qr_png_base64 = generator
        .to_qr_base64()
        .map_err(|e| ApiError::internal("totp qr", e))?;
    let mut row: crate::db::user::ActiveModel = auth.user.clone().into();
    row.totp_secret_enc = Set(Some(state.vault.seal(&base32)));
    row.totp_last_step = Set(None);
    row.updated_at = Set(Utc::now());
    row.update(&state.db).await?;
    Ok(axum::Json(TotpSetup {
        secret: base32,
        otpauth_url,
        qr_png_base64,
    }))
}

/// Confirms the pending secret with a code from it; answers the recovery codes (shown once).
#[utoipa::path(
    post,
    path = "/api/auth/totp/enable",
    tag = "totp",
    operation_id = "totp_enable",
    request_body = wire::auth::TotpCode,
    responses(
        (status = 201, description = "Enabled; the recovery codes, shown once", body = wire::auth::RecoveryCodes),
        (status = 401, description = "Wrong code (`invalid_totp`)", body = wire::ErrorBody),
        (status = 409, description = "Nothing to enable, or already enabled", body = wire::ErrorBody),
    )
)]
async fn enable(
    State(state): State<AppState>,
    auth: Authenticated,
    Json(req): Json<TotpCode>,
) -> ApiResult<(StatusCode, axum::Json<RecoveryCodes>)> {
    no_pending_password_change(&auth)?;
    if auth.user.totp_enabled {
        return Err(already_enabled());
    }
    let generator = totp::user_totp(&state.vault, &state.config, &auth.user)?;
    let digits: String = req.code.chars().filter(|c| !c.is_whitespace()).collect();
    let now = u64::try_from(Utc::now().timestamp()).unwrap_or(0);
    let step = (digits.len() <= 10)
        .then(|| generator.check(&digits, now))
        .flatten();
    let Some(step) = step else {
        let details = json!({"during": "enable"});
        audit::record(
            &state.db,
            &Actor::from(&auth),
            Event::new("auth.totp_failed")
                .outcome(Outcome::Failure)
                .details(details),
        )
        .await;
        return Err(totp::invalid());
    };
    let txn = state.db.begin().await?;
    if !totp::claim_step(&txn, auth.user.id, i64::try_from(step).unwrap_or(i64::MAX)).await? {
        return Err(totp::invalid());
    }
    let mut row: crate::db::user::ActiveModel = auth.user.clone().into();
    row.totp_enabled = Set(true);
    row.updated_at = Set(Utc::now());
    row.update(&txn).await?;
    let codes = new_recovery_codes(&txn, auth.user.id).await?;
    txn.commit().await?;
    audit::record(
        &state.db,
        &Actor::from(&auth),
        Event::new("auth.totp_enabled"),
    )
    .await;
    Ok((StatusCode::CREATED, axum::Json(RecoveryCodes { codes })))
}

#[utoipa::path(
    post,
    path = "/api/auth/totp/disable",
    tag = "totp",
    operation_id = "totp_disable",
    request_body = wire::auth::TotpCode,
    responses(
        (status = 204, description = "Disabled"),
        (status = 401, description = "Wrong code (`invalid_totp`)", body = wire::ErrorBody),
        (status = 409, description = "Not enabled, or the policy requires it", body = wire::ErrorBody),
    )
)]
async fn disable(
    State(state): State<AppState>,
    auth: Authenticated,
    Json(req): Json<TotpCode>,
) -> ApiResult<StatusCode> {
    no_pending_password_change(&auth)?;
    if !auth.user.totp_enabled {
        return Err(not_enabled());
    }
    if totp::is_required(&state.config, &auth.user) {
        return Err(ApiError::coded(
            StatusCode::CONFLICT,
            "totp_required_by_policy",
            "this gateway requires a second factor for your account; it cannot be turned off",
        ));
    }
    confirm(&state, &auth, &req.code, "disable").await?;
    totp::disable(&state.db, auth.user.clone()).await?;
    audit::record(
        &state.db,
        &Actor::from(&auth),
        Event::new("auth.totp_disabled"),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post,
    path = "/api/auth/totp/recovery-codes",
    tag = "totp",
    operation_id = "totp_recovery_codes",
    request_body = wire::auth::TotpCode,
    responses(
        (status = 200, description = "New recovery codes (the old ones stop working), shown once", body = wire::auth::RecoveryCodes),
        (status = 401, description = "Wrong code (`invalid_totp`)", body = wire::ErrorBody),
    )
)]
async fn renew_codes(
    State(state): State<AppState>,
    auth: Authenticated,
    Json(req): Json<TotpCode>,
) -> ApiResult<axum::Json<RecoveryCodes>> {
    no_pending_password_change(&auth)?;
    if !auth.user.totp_enabled {
        return Err(not_enabled());
    }
    confirm(&state, &auth, &req.code, "recovery_codes").await?;
    let codes = new_recovery_codes(&state.db, auth.user.id).await?;
    let actor = Actor::from(&auth);
    audit::record(&state.db, &actor, Event::new("auth.recovery_codes_renewed")).await;
    Ok(axum::Json(RecoveryCodes { codes }))
}

/// An admin turns a user's second factor off (a lost phone); the user's sessions end, and if the
/// policy requires one they must enrol again at their next sign-in.
#[utoipa::path(
    delete,
    path = "/api/users/{id}/totp",
    tag = "users",
    operation_id = "user_totp_reset",
    params(("id" = i32, Path, description = "The user")),
    responses(
        (status = 204, description = "The user's second factor is off; their sessions end"),
    )
)]
async fn reset(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(id): Path<i32>,
) -> ApiResult<StatusCode> {
    let user = users::service::get(&state.db, id).await?;
    let username = user.username.clone();
    totp::disable(&state.db, user).await?;
    let ended = sessions::end_all_for_user(&state.db, id, None).await?;
    let details = json!({"user_id": id, "username": username, "sessions_ended": ended});
    audit::record(
        &state.db,
        &Actor::from(&*admin),
        Event::new("auth.totp_reset").details(details),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
