//! `/api/admin/oidc`: the single sign-on provider's settings (never the client secret) and a live
//! check of discovery and the signing keys, for admins.

use serde::{Deserialize, Serialize};

use crate::ldap::LdapTestStep;

/// `GET /api/admin/oidc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OidcStatus {
    /// Whether issuer, client id and redirect URL are all set and valid.
    pub configured: bool,
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub redirect_url: Option<String>,
    pub scopes: Vec<String>,
    pub groups_claim: String,
    pub button_label: String,
    /// Why the settings are refused, when they are (SSO is then off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST /api/admin/oidc/test`: steps `settings`, `discovery`, `jwks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OidcTestResult {
    pub ok: bool,
    /// Same shape as the LDAP test's steps.
    pub steps: Vec<LdapTestStep>,
}
