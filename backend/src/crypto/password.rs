//! Password hashing with argon2id (the crate's defaults: 19 MiB, 2 passes), run off the async
//! runtime because each hash takes tens of milliseconds on purpose.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

pub async fn hash_password(password: String) -> Result<String, HashError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        let hashed = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError(e.to_string()));
        hashed
    })
    .await
    .map_err(|e| HashError(e.to_string()))?
}

/// Constant-time check of `password` against a stored PHC string. A malformed stored hash is a
/// failed check, never a panic.
pub async fn verify_password(password: String, stored: String) -> bool {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    })
    .await
    .unwrap_or(false)
}

/// A hash to verify against when the account does not exist, so an unknown username costs the
/// same time as a wrong password and timing does not reveal which accounts exist.
pub const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1dZHBNgkaGZ7yK5j8Xn3m0kQ3l0JvN2uWq5Zp6TQm0s";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_do_not() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse".into(), hash.clone()).await);
        assert!(!verify_password("wrong horse".into(), hash).await);
        assert!(!verify_password("x".into(), "not a hash".into()).await);
        // The dummy must parse, or an unknown user would be answered faster than a wrong password.
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("x".into(), DUMMY_HASH.into()).await);
    }
}
