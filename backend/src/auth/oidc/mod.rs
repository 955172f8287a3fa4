//! OIDC single sign-on: the authorization code flow with PKCE (S256), `state` and `nonce`, against
//! a provider found by discovery. The pending sign-in (state, nonce, PKCE verifier) travels in a
//! short-lived cookie sealed with the gateway's vault, so any replica can finish it and the browser
//! never sees the verifier. A verified ID token becomes an [`ExternalAccount`] linked by
//! (issuer, `sub`) — never by username — and then an ordinary session.
//!
//! [`ExternalAccount`]: crate::auth::external::ExternalAccount

pub mod handlers;
mod id_token;
mod pending;
mod provider;
mod settings;

/// Fails with a readable message when OIDC is partially or wrongly configured. Meant for start-up
/// (`serve::run`).
pub fn check_config(config: &crate::config::Config) -> Result<(), String> {
    settings::OidcSettings::from_config(config).map(|_| ())
}

/// Why a sign-in through the provider failed. `code()` is what the login page is told
/// (`/#/login-error/<code>`); the `Display` text goes to the audit log and never holds a token.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("single sign-on is not configured")]
    NotConfigured,
    #[error("the provider refused: {0}")]
    Denied(String),
    #[error("the provider answered with an error: {0}")]
    ProviderError(String),
    #[error("missing or invalid sign-in state: {0}")]
    BadState(&'static str),
    #[error("the sign-in took too long")]
    Expired,
    #[error("cannot reach the provider: {0}")]
    Unavailable(String),
    #[error("the token endpoint refused the code: {0}")]
    TokenRefused(String),
    #[error("invalid ID token: {0}")]
    InvalidToken(String),
    #[error("the account is disabled")]
    AccountDisabled,
    #[error("internal error: {0}")]
    Internal(String),
}

impl OidcError {
    /// The machine-readable reason the login page maps to words.
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::NotConfigured => "not_configured",
            OidcError::Denied(_) => "access_denied",
            OidcError::ProviderError(_) => "provider_error",
            OidcError::BadState(_) => "invalid_state",
            OidcError::Expired => "expired",
            OidcError::Unavailable(_) => "provider_unavailable",
            OidcError::TokenRefused(_) | OidcError::InvalidToken(_) => "invalid_token",
            OidcError::AccountDisabled => "account_disabled",
            OidcError::Internal(_) => "internal_error",
        }
    }
}
