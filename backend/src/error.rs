//! The one place where domain errors become HTTP responses: `{"error": "...", "code": "..."}` with
//! the right status. Internal failures are logged with their detail and answered with a generic
//! message, so no type names, SQL or paths leak to clients.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use wire::ErrorBody;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error("you must change your password before doing anything else")]
    PasswordChangeRequired,
    #[error("you are not allowed to do that")]
    Forbidden,
    #[error("request origin does not match this gateway")]
    OriginMismatch,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("password must be at least {0} characters long")]
    WeakPassword(usize),
    #[error("{0}")]
    Conflict(String),
    #[error("internal error")]
    Internal(String),
    /// A feature-specific refusal with its own status and machine-readable code (file errors).
    #[error("{message}")]
    Coded {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated | ApiError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            ApiError::PasswordChangeRequired | ApiError::Forbidden | ApiError::OriginMismatch => {
                StatusCode::FORBIDDEN
            }
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Validation(_) | ApiError::BadRequest(_) | ApiError::WeakPassword(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Coded { status, .. } => *status,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::PasswordChangeRequired => "password_change_required",
            ApiError::Forbidden => "forbidden",
            ApiError::OriginMismatch => "origin_mismatch",
            ApiError::NotFound(_) => "not_found",
            ApiError::Validation(_) => "validation_failed",
            ApiError::BadRequest(_) => "invalid_request",
            ApiError::WeakPassword(_) => "weak_password",
            ApiError::Conflict(_) => "conflict",
            ApiError::Internal(_) => "internal_error",
            ApiError::Coded { code, .. } => code,
        }
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.to_string(),
            code: self.code().to_string(),
        }
    }

    pub fn coded(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Coded {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn internal(context: &str, err: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(format!("{context}: {err}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(detail = %detail, "request failed");
        }
        (self.status(), Json(self.body())).into_response()
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        ApiError::internal("database", e)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        ApiError::BadRequest(format!("invalid JSON body: {}", r.body_text()))
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::BadRequest(format!("invalid path: {}", r.body_text()))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::BadRequest(format!("invalid query: {}", r.body_text()))
    }
}

/// `axum::Json`, `Path` and `Query` with rejections in our error format.
pub mod extract {
    use axum::extract::FromRequest;
    use axum::extract::FromRequestParts;

    use super::ApiError;

    #[derive(FromRequest)]
    #[from_request(via(axum::Json), rejection(ApiError))]
    pub struct Json<T>(pub T);

    #[derive(FromRequestParts)]
    #[from_request(via(axum::extract::Path), rejection(ApiError))]
    pub struct Path<T>(pub T);

    #[derive(FromRequestParts)]
    #[from_request(via(axum::extract::Query), rejection(ApiError))]
    pub struct Query<T>(pub T);
}

pub type ApiResult<T> = Result<T, ApiError>;
