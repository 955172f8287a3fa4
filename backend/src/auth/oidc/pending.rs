//! The sign-in in progress between `/login` and `/callback`: state, nonce and PKCE verifier, kept
//! in a cookie sealed (encrypted and authenticated) with the vault. Any replica can open it, the
//! browser cannot read or forge it, and it expires after ten minutes.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::OidcError;
use crate::crypto::token::random_token;
use crate::crypto::vault::Vault;

/// The state cookie; scoped to the OIDC routes.
pub const COOKIE: &str = "gatehouse_oidc";
pub const COOKIE_PATH: &str = "/api/auth/oidc";
/// How long a sign-in may take at the provider.
pub const MAX_AGE_SECS: i64 = 600;

#[derive(Serialize, Deserialize)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// Unix seconds.
    pub created_at: i64,
}

impl Pending {
    pub fn new() -> Pending {
        Pending {
            state: random_token(),
            nonce: random_token(),
            // 43 characters of base64url: within PKCE's 43–128.
            verifier: random_token(),
            created_at: Utc::now().timestamp(),
        }
    }

    /// The S256 code challenge for the verifier.
    pub fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier.as_bytes()))
    }

    pub fn seal(&self, vault: &Vault) -> Result<String, OidcError> {
        let json = serde_json::to_string(self).map_err(|e| OidcError::Internal(e.to_string()))?;
        Ok(vault.seal(&json))
    }

    /// Opens the cookie and checks it belongs to this callback (`state`) and is fresh.
    pub fn open(vault: &Vault, cookie: Option<&str>, state: &str) -> Result<Pending, OidcError> {
        let sealed = cookie.ok_or(OidcError::BadState("no sign-in in progress"))?;
        let json = vault
            .open(sealed)
            .map_err(|_| OidcError::BadState("unreadable state cookie"))?;
        let pending: Pending = serde_json::from_str(json.expose())
            .map_err(|_| OidcError::BadState("unreadable state cookie"))?;
        if !bool::from(pending.state.as_bytes().ct_eq(state.as_bytes())) {
            return Err(OidcError::BadState("state does not match"));
        }
        let age = Utc::now().timestamp() - pending.created_at;
        if !(-60..=MAX_AGE_SECS).contains(&age) {
            return Err(OidcError::Expired);
        }
        Ok(pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Secret;

    fn vault() -> Vault {
        Vault::from_master(&Secret::new("0123456789abcdef0123456789abcdef".into()))
    }

    #[test]
    fn sealed_state_opens_only_for_its_own_state() {
        let v = vault();
        let p = Pending::new();
        let sealed = p.seal(&v).unwrap();
        assert!(!sealed.contains(&p.verifier));
        assert_eq!(
            Pending::open(&v, Some(&sealed), &p.state).unwrap().nonce,
            p.nonce
        );
        assert!(matches!(
            Pending::open(&v, Some(&sealed), "other"),
            Err(OidcError::BadState(_))
        ));
        assert!(matches!(
            Pending::open(&v, None, &p.state),
            Err(OidcError::BadState(_))
        ));
    }

    #[test]
    fn old_state_is_expired() {
        let v = vault();
        let mut p = Pending::new();
        p.created_at -= MAX_AGE_SECS + 1;
        let sealed = p.seal(&v).unwrap();
        assert!(matches!(
            Pending::open(&v, Some(&sealed), &p.state),
            Err(OidcError::Expired)
        ));
    }

    #[test]
    fn challenge_is_s256_of_the_verifier() {
        // RFC 7636, appendix B.
        let p = Pending {
            state: String::new(),
            nonce: String::new(),
            verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
            created_at: 0,
        };
        assert_eq!(p.challenge(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }
}
